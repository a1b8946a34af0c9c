/**
 * The one training-loop shape for every model (nanoGPT's train.py as a function): seeded batch → forward + loss →
 * backward → clip → AdamW step → log → checkpoint. What differs between models (how a batch is drawn, what the
 * loss is, what validation reports) is passed in as a TrainTask.
 *
 * Guarantees:
 * - same task + config + seed + backend → same weights (all randomness flows from the loop's Rng, saved in
 *   checkpoints);
 * - an interrupted run resumed from its last checkpoint ends with exactly the weights of an uninterrupted run;
 * - a non-finite loss or gradient norm stops the run with NonFiniteLossError naming the step, before any update is
 *   applied, and the last good checkpoint is left as it was.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { progress } from '../util/progress';
import { Rng } from '../util/rng';
import { resumeCheckpoint, saveCheckpoint } from './checkpoint';
import { AdamW, clipScale, globalNorm, learningRate, type AdamWConfig } from './optim';

export interface TrainTask<B> {
  /** Short name used in logs and checkpoint folders ("grounding-action", "policy", "planner-sft"). */
  name: string;
  /** Trainable parameters by name (the optimiser updates exactly these). */
  params: Map<string, tf.Variable>;
  /** Draws the next batch; every random number it needs (sampling, noise, t) must come from `rng`. */
  nextBatch(rng: Rng, step: number): B;
  /** The scalar loss of a batch (called inside the gradient tape). */
  loss(batch: B): tf.Scalar;
  /** Releases a batch's tensors. */
  disposeBatch?(batch: B): void;
  /** Periodic validation; its numbers are logged beside the loss. */
  validate?(): Promise<Record<string, number>> | Record<string, number>;
}

export interface TrainConfig {
  steps: number;
  peakLr: number;
  warmupSteps: number;
  finalLr: number;
  optimizer: Partial<AdamWConfig>;
  /** Global-norm clip (SmolVLA: 10). 0 disables. */
  clipNorm: number;
  seed: number;
  /** Folder for metrics.jsonl and checkpoints/<task>/. */
  runDir: string;
  /** Save every K steps (and always at the end); 0 = only at the end. */
  checkpointEvery: number;
  /** Validate every K steps (and at the end); 0 = only at the end. */
  validateEvery: number;
  /** Continue from checkpoints/<task>/ if it exists. */
  resume: boolean;
  /** Progress display. */
  progress?: 'auto' | 'lines' | 'silent';
  /** Stop (as if killed) after this many steps of this invocation; for tests of resume. */
  stopAfter?: number;
}

export class NonFiniteLossError extends Error {
  constructor(
    readonly task: string,
    readonly step: number,
    readonly value: number,
    readonly what: 'loss' | 'gradient norm',
    readonly checkpoint: string | null,
  ) {
    super(
      `${task}: non-finite ${what} (${value}) at step ${step}; training stopped before applying the update. ` +
        (checkpoint ? `The last good checkpoint is ${checkpoint} (step ${readStep(checkpoint)}).` : 'No checkpoint had been written yet.'),
    );
    this.name = 'NonFiniteLossError';
  }
}

function readStep(dir: string): string {
  try {
    return String(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).step);
  } catch {
    return '?';
  }
}

export interface TrainResult {
  steps: number;
  finalLoss: number;
  /** Loss per step of this invocation and earlier ones (from metrics.jsonl when resumed). */
  losses: number[];
  validation: Record<string, number>;
  seconds: number;
}

/** Appends one JSON line to RUN/metrics.jsonl. */
export function logMetrics(runDir: string, record: Record<string, unknown>): void {
  fs.mkdirSync(runDir, { recursive: true });
  fs.appendFileSync(path.join(runDir, 'metrics.jsonl'), JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n');
}

/** Reads metrics.jsonl (skipping a torn last line from a kill). */
export function readMetrics(runDir: string): Record<string, unknown>[] {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return [];
  const out: Record<string, unknown>[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      /* a line cut by a kill */
    }
  }
  return out;
}

/** Drops this task's training lines after `step` (they were logged after the checkpoint a resume starts from). */
function truncateMetrics(runDir: string, task: string, step: number): void {
  const kept = readMetrics(runDir).filter((r) => !(r.task === task && typeof r.step === 'number' && r.step > step));
  fs.writeFileSync(path.join(runDir, 'metrics.jsonl'), kept.map((r) => JSON.stringify(r) + '\n').join(''));
}

export async function train<B>(task: TrainTask<B>, cfg: TrainConfig): Promise<TrainResult> {
  const t0 = Date.now();
  const ckptDir = path.join(cfg.runDir, 'checkpoints', task.name);
  const rng = new Rng(cfg.seed);
  const opt = new AdamW(cfg.optimizer);
  let start = 0;
  let losses: number[] = [];
  // A damaged newest checkpoint falls back to the previous good one, or to step 0, and says so.
  const ck = cfg.resume ? resumeCheckpoint(ckptDir, task.params, (line) => console.error(`${task.name}: ${line}`)) : null;
  // From scratch on resume (no usable checkpoint): this task's lines from the earlier attempt would be logged twice.
  if (cfg.resume && !ck && fs.existsSync(path.join(cfg.runDir, 'metrics.jsonl'))) truncateMetrics(cfg.runDir, task.name, -1);
  if (ck) {
    start = ck.step;
    rng.setState(ck.rngState);
    opt.loadState(ck.optimizerStep, ck.optimizerTensors);
    for (const t of Object.values(ck.optimizerTensors)) t.dispose();
    truncateMetrics(cfg.runDir, task.name, start);
    losses = readMetrics(cfg.runDir)
      .filter((r) => r.task === task.name && r.kind === 'train')
      .map((r) => r.loss as number);
  }
  const schedule = { peakLr: cfg.peakLr, warmupSteps: cfg.warmupSteps, totalSteps: cfg.steps, finalLr: cfg.finalLr };
  const vars = [...task.params.values()];
  const names = [...task.params.keys()];
  const bar = progress({ label: task.name, total: cfg.steps - start, unit: 'steps', mode: cfg.progress });
  let validation: Record<string, number> = {};
  let lastCheckpoint: string | null = fs.existsSync(path.join(ckptDir, 'state.json')) ? ckptDir : null;
  const save = (step: number) => {
    saveCheckpoint(ckptDir, { step, params: task.params, optimizerStep: opt.t, optimizerTensors: opt.stateTensors(), rngState: rng.getState() });
    lastCheckpoint = ckptDir;
  };
  const runValidation = async (step: number) => {
    if (!task.validate) return;
    validation = await task.validate();
    logMetrics(cfg.runDir, { task: task.name, kind: 'val', step, ...validation });
  };
  try {
    for (let step = start; step < cfg.steps; step++) {
      if (cfg.stopAfter !== undefined && step - start >= cfg.stopAfter) break;
      const batch = task.nextBatch(rng, step);
      const { value, grads } = tf.variableGrads(() => task.loss(batch), vars);
      task.disposeBatch?.(batch);
      const loss = (await value.data())[0];
      value.dispose();
      if (!Number.isFinite(loss)) {
        tf.dispose(Object.values(grads));
        throw new NonFiniteLossError(task.name, step, loss, 'loss', lastCheckpoint);
      }
      const named: Record<string, tf.Tensor> = {};
      vars.forEach((v, i) => {
        if (grads[v.name]) named[names[i]] = grads[v.name];
      });
      const gradNorm = globalNorm(named);
      if (!Number.isFinite(gradNorm)) {
        tf.dispose(Object.values(grads));
        throw new NonFiniteLossError(task.name, step, gradNorm, 'gradient norm', lastCheckpoint);
      }
      const lr = learningRate(schedule, step);
      // Clipping is a factor on the gradients, applied inside the optimiser's update.
      opt.step(task.params, named, lr, clipScale(gradNorm, cfg.clipNorm));
      tf.dispose(Object.values(grads));
      losses.push(loss);
      logMetrics(cfg.runDir, { task: task.name, kind: 'train', step: step + 1, loss, lr, gradNorm });
      bar.tick(1, { loss });
      // Let I/O callbacks run between steps (the step itself never yields on wasm/cpu): output of the other
      // processes of `reproduce --jobs` is forwarded as it comes, and their failures are noticed.
      await new Promise((r) => setImmediate(r));
      const done = step + 1;
      if (cfg.validateEvery > 0 && done % cfg.validateEvery === 0 && done < cfg.steps) await runValidation(done);
      if (cfg.checkpointEvery > 0 && done % cfg.checkpointEvery === 0 && done < cfg.steps) save(done);
      if (done === cfg.steps) {
        await runValidation(done);
        save(done);
      }
    }
  } finally {
    bar.stop();
    opt.dispose();
  }
  const finished = losses.length;
  return { steps: finished, finalLoss: losses[losses.length - 1] ?? NaN, losses, validation, seconds: (Date.now() - t0) / 1000 };
}
