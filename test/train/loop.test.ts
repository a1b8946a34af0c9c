import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { NonFiniteLossError, readMetrics, train, type TrainConfig, type TrainTask } from '../../src/train/loop';
import { AdamW, clipByGlobalNorm, learningRate } from '../../src/train/optim';
import { makeRegressionTask } from './regression-task';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-loop-'));

const CONFIG = (runDir: string): TrainConfig => ({
  steps: 30, peakLr: 0.3, warmupSteps: 5, finalLr: 0.01, optimizer: { weightDecay: 0.01 }, clipNorm: 5,
  seed: 3, runDir, checkpointEvery: 10, validateEvery: 10, resume: false, progress: 'silent',
});

async function weights(task: TrainTask<unknown>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [n, v] of task.params) out[n] = Array.from(await v.data());
  return out;
}

describe('train/optim: AdamW, schedule, clipping', () => {
  before(async () => {
    await switchBackend('cpu');
  });

  it('one AdamW step equals the hand computation (bias-corrected first step is lr·sign(g), plus decoupled decay)', async () => {
    const p = new Map<string, tf.Variable>([['w', tf.variable(tf.tensor2d([[1, -2]]))], ['b', tf.variable(tf.tensor1d([0.5]))]]);
    const opt = new AdamW({ beta1: 0.9, beta2: 0.95, eps: 0, weightDecay: 0.1 });
    opt.step(p, { w: tf.tensor2d([[0.3, -4]]), b: tf.tensor1d([2]) }, 0.01);
    // m̂ = g, v̂ = g² → update = g/|g| = sign(g); w has rank 2 so it also decays by lr·wd·w.
    const w = await p.get('w')!.data();
    assert.ok(Math.abs(w[0] - (1 - 0.01 - 0.01 * 0.1 * 1)) < 1e-6);
    assert.ok(Math.abs(w[1] - (-2 + 0.01 - 0.01 * 0.1 * -2)) < 1e-6);
    assert.ok(Math.abs((await p.get('b')!.data())[0] - (0.5 - 0.01)) < 1e-6, 'bias is not decayed');
    opt.dispose();
  });

  it('warm-up is linear to the peak, then cosine reaches the final rate', () => {
    const s = { peakLr: 1, warmupSteps: 4, totalSteps: 14, finalLr: 0.1 };
    assert.deepEqual([0, 1, 2, 3].map((i) => learningRate(s, i)), [0.25, 0.5, 0.75, 1]);
    assert.ok(Math.abs(learningRate(s, 4) - 1) < 1e-12);
    assert.ok(Math.abs(learningRate(s, 9) - 0.55) < 1e-12, 'half-way down the cosine is the mid-point');
    assert.ok(Math.abs(learningRate(s, 14) - 0.1) < 1e-12);
  });

  it('clipping scales to the max norm and reports the norm before clipping', async () => {
    const { grads, norm } = clipByGlobalNorm({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) }, 1);
    assert.ok(Math.abs(norm - 5) < 1e-6);
    assert.ok(Math.abs((await grads.a.data())[0] - 0.6) < 1e-5);
    assert.ok(Math.abs((await grads.b.data())[0] - 0.8) < 1e-5);
  });
});

describe('train/optim: the fused AdamW kernel equals the op-by-op update', () => {
  after(async () => {
    await switchBackend('cpu');
  });
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`${backend}: 6 steps with decay, clipping factor and a changing rate agree within float32 rounding`, async () => {
      await switchBackend(backend);
      const rng = { s: 7, next() { this.s = (this.s * 1103515245 + 12345) % 2147483648; return this.s / 2147483648 - 0.5; } };
      const init = { w: Array.from({ length: 35 }, () => rng.next()), b: Array.from({ length: 5 }, () => rng.next()) };
      const grads = Array.from({ length: 6 }, () => ({ w: Array.from({ length: 35 }, () => rng.next()), b: Array.from({ length: 5 }, () => rng.next()) }));
      const run = async (fused: boolean) => {
        const p = new Map<string, tf.Variable>([['w', tf.variable(tf.tensor2d(init.w, [7, 5]))], ['b', tf.variable(tf.tensor1d(init.b))]]);
        const opt = new AdamW({ weightDecay: 0.1 });
        grads.forEach((g, i) => {
          const gt = { w: tf.tensor2d(g.w, [7, 5]), b: tf.tensor1d(g.b) };
          opt.step(p, gt, 0.01 * (i + 1), i % 2 ? 0.5 : 1, fused);
          tf.dispose(Object.values(gt));
        });
        const out = { w: Array.from(await p.get('w')!.data()), b: Array.from(await p.get('b')!.data()), m: Array.from(await opt.stateTensors()['w.exp_avg'].data()) };
        opt.dispose();
        p.forEach((v) => v.dispose());
        return out;
      };
      const [fused, ops] = [await run(true), await run(false)];
      for (const k of ['w', 'b', 'm'] as const) {
        const err = Math.max(...fused[k].map((x, i) => Math.abs(x - ops[k][i])));
        assert.ok(err < 2e-6, `${k} differs by ${err}`);
      }
      assert.ok(Math.abs(fused.w[0] - init.w[0]) > 1e-3, 'the parameters moved');
    });
  }
});

describe('train/loop: one loop for every model', () => {
  before(async () => {
    await switchBackend('cpu');
  });

  it('trains (loss falls), logs metrics.jsonl, validates and checkpoints', async () => {
    const dir = tmp();
    const task = makeRegressionTask(1);
    const r = await train(task, CONFIG(dir));
    assert.equal(r.steps, 30);
    assert.ok(r.losses[29] < 0.2 * r.losses[0], `loss ${r.losses[0]} → ${r.losses[29]}`);
    const m = readMetrics(dir);
    assert.equal(m.filter((x) => x.kind === 'train').length, 30);
    assert.deepEqual(m.filter((x) => x.kind === 'val').map((x) => x.step), [10, 20, 30]);
    assert.ok(fs.existsSync(path.join(dir, 'checkpoints', 'regression', 'model.safetensors')));
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', 'regression', 'state.json'), 'utf8')).step, 30);
  });

  it('an interrupted run resumed from its checkpoint ends with exactly the uninterrupted weights', async () => {
    const full = makeRegressionTask(1);
    await train(full, CONFIG(tmp()));
    const dir = tmp();
    // Stops after 17 steps without saving (as a kill would): the checkpoint on disk is step 10.
    await train(makeRegressionTask(1), { ...CONFIG(dir), stopAfter: 17 });
    const resumed = makeRegressionTask(99); // different init: everything must come from the checkpoint
    const r = await train(resumed, { ...CONFIG(dir), resume: true });
    assert.deepEqual(await weights(resumed), await weights(full));
    assert.equal(r.losses.length, 30, 'metrics after the checkpoint were dropped and re-logged once');
    assert.equal(readMetrics(dir).filter((x) => x.kind === 'train').length, 30);
  });

  it('a real SIGKILL mid-run, then --resume, gives the uninterrupted weights', async function () {
    this.timeout(120000);
    const full = makeRegressionTask(1);
    await train(full, { ...CONFIG(tmp()), steps: 60 });
    const dir = tmp();
    const script = path.join(__dirname, 'regression-child.ts');
    // The child kills itself with SIGKILL right after the step-40 checkpoint is on disk, mid-run.
    const child = spawnSync(process.execPath, ['--require', 'tsx/cjs', script, dir, '40'], { encoding: 'utf8', cwd: path.join(__dirname, '../..') });
    assert.equal(child.signal, 'SIGKILL', `child ended with ${child.status} ${child.signal}: ${child.stderr.slice(-500)}`);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', 'regression', 'state.json'), 'utf8')).step, 40);
    const resumed = makeRegressionTask(5);
    await train(resumed, { ...CONFIG(dir), steps: 60, resume: true });
    assert.deepEqual(await weights(resumed), await weights(full));
  });

  it('a non-finite loss stops with the step named and keeps the last good checkpoint', async () => {
    const dir = tmp();
    const task = makeRegressionTask(1, 23); // the loss turns NaN at step 23 (0-based)
    await assert.rejects(train(task, CONFIG(dir)), (e: unknown) => {
      assert.ok(e instanceof NonFiniteLossError);
      assert.equal(e.step, 23);
      assert.match(e.message, /non-finite loss \(NaN\) at step 23/);
      assert.match(e.message, /last good checkpoint .* \(step 20\)/);
      return true;
    });
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', 'regression', 'state.json'), 'utf8'));
    assert.equal(state.step, 20);
  });
});
