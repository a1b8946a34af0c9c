import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { switchBackend } from '../../src/backend';
import { CheckpointError, loadCheckpoint, resumeCheckpoint } from '../../src/train/checkpoint';
import { readMetrics, train, type TrainConfig, type TrainTask } from '../../src/train/loop';
import { makeRegressionTask } from './regression-task';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-ckpt-'));
const CONFIG = (runDir: string, steps = 30): TrainConfig => ({
  steps, peakLr: 0.3, warmupSteps: 5, finalLr: 0.01, optimizer: { weightDecay: 0.01 }, clipNorm: 5,
  seed: 3, runDir, checkpointEvery: 10, validateEvery: 10, resume: true, progress: 'silent',
});
const weights = async (task: TrainTask<unknown>) => {
  const out: Record<string, number[]> = {};
  for (const [n, v] of task.params) out[n] = Array.from(await v.data());
  return out;
};

/** Runs `fn` with console.error captured. */
async function captured<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    return { value: await fn(), lines };
  } finally {
    console.error = orig;
  }
}

describe('train/checkpoint: damaged checkpoints are detected and fall back', () => {
  before(async () => {
    await switchBackend('cpu');
  });
  let reference40: Record<string, number[]>;
  before(async () => {
    const full = makeRegressionTask(1);
    await train(full, { ...CONFIG(tmp(), 40), resume: false });
    reference40 = await weights(full);
  });

  async function trainedTo30(): Promise<string> {
    const dir = tmp();
    // The 40-step schedule, stopped after 35 steps without a save (as a kill would): checkpoints at 30 and 20.
    await train(makeRegressionTask(1), { ...CONFIG(dir, 40), stopAfter: 35 });
    const ck = path.join(dir, 'checkpoints', 'regression');
    assert.equal(JSON.parse(fs.readFileSync(path.join(ck, 'state.json'), 'utf8')).step, 30);
    assert.equal(JSON.parse(fs.readFileSync(path.join(`${ck}.prev`, 'state.json'), 'utf8')).step, 20, 'the previous checkpoint is kept');
    return dir;
  }

  it('a truncated model.safetensors: the stage resumes from the previous checkpoint, says so, and ends with the uninterrupted weights', async () => {
    const dir = await trainedTo30();
    const model = path.join(dir, 'checkpoints', 'regression', 'model.safetensors');
    fs.truncateSync(model, fs.statSync(model).size - 7);
    const task = makeRegressionTask(99);
    const { lines } = await captured(() => train(task, CONFIG(dir, 40)));
    assert.ok(lines.some((l) => l.includes(model) && /damaged.*truncated/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /resuming from the previous good checkpoint \(step 20/.test(l)), lines.join('\n'));
    assert.deepEqual(await weights(task), reference40);
    assert.ok(fs.existsSync(path.join(dir, 'checkpoints', 'regression.damaged', 'model.safetensors')), 'the damaged one is kept aside');
    assert.equal(readMetrics(dir).filter((r) => r.kind === 'train').length, 40, 'steps after the fallback point are logged once');
  });

  it('a truncated state.json is an error naming the file; with both checkpoints damaged the stage starts from scratch, saying so', async () => {
    const dir = await trainedTo30();
    const ck = path.join(dir, 'checkpoints', 'regression');
    const state = path.join(ck, 'state.json');
    fs.writeFileSync(state, fs.readFileSync(state, 'utf8').slice(0, 20));
    const probe = makeRegressionTask(5);
    const before = await weights(probe);
    assert.throws(() => loadCheckpoint(ck, probe.params), (e: unknown) => e instanceof CheckpointError && e.file === state && /not valid JSON/.test(e.message));
    assert.deepEqual(await weights(probe), before, 'nothing assigned from a damaged checkpoint');
    fs.writeFileSync(path.join(`${ck}.prev`, 'state.json'), JSON.stringify({ step: 'twenty', optimizerStep: 20, rngState: [1, 2, 3, 4] }));
    const task = makeRegressionTask(1);
    const { lines } = await captured(() => train(task, CONFIG(dir, 40)));
    assert.ok(lines.some((l) => /field "step": expected a non-negative integer, found "twenty"/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /starting this stage from scratch/.test(l)), lines.join('\n'));
    assert.deepEqual(await weights(task), reference40, 'from scratch with the same init and seed');
    assert.equal(readMetrics(dir).filter((r) => r.kind === 'train').length, 40);
  });

  it('weights and state.json from different steps are detected', async () => {
    const dir = await trainedTo30();
    const ck = path.join(dir, 'checkpoints', 'regression');
    fs.copyFileSync(path.join(`${ck}.prev`, 'model.safetensors'), path.join(ck, 'model.safetensors'));
    assert.throws(() => loadCheckpoint(ck, makeRegressionTask(1).params), /written at step 20, but .*state.json says step 30/);
  });

  it('stale .tmp-PID / .old-PID folders of finished processes are removed; a live process\'s are kept', async () => {
    const dir = await trainedTo30();
    const ck = path.join(dir, 'checkpoints', 'regression');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const live = process.ppid;
    for (const f of [`${ck}.tmp-${dead}`, `${ck}.old-${dead}`, `${ck}.tmp-${live}`]) fs.mkdirSync(f);
    const r = resumeCheckpoint(ck, makeRegressionTask(1).params, () => {});
    assert.equal(r?.step, 30);
    assert.ok(!fs.existsSync(`${ck}.tmp-${dead}`) && !fs.existsSync(`${ck}.old-${dead}`));
    assert.ok(fs.existsSync(`${ck}.tmp-${live}`));
  });

  it('a kill between the two renames of a save leaves only <dir>.prev: the resume uses it', async () => {
    const dir = await trainedTo30();
    const ck = path.join(dir, 'checkpoints', 'regression');
    fs.rmSync(ck, { recursive: true });
    const task = makeRegressionTask(1);
    const lines: string[] = [];
    const r = resumeCheckpoint(ck, task.params, (l) => lines.push(l));
    assert.equal(r?.step, 20);
    assert.ok(fs.existsSync(path.join(ck, 'state.json')));
    assert.match(lines.join('\n'), /previous good checkpoint \(step 20/);
  });
});
