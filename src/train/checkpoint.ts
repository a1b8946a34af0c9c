/**
 * Atomic training checkpoints: `model.safetensors` (parameters by name), `optimizer.safetensors` (AdamW moments),
 * `state.json` (step, optimiser step, RNG state). A checkpoint is written into a fresh temporary folder and renamed
 * over the previous one, so a kill at any moment leaves either the old or the new checkpoint, never a mix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readSafetensorsFile, writeSafetensorsFile } from '../nn/safetensors';
import { assignParams, paramsProblem, tensorsToNamed } from '../nn/weights';
import type { RngState } from '../util/rng';

export interface CheckpointData {
  step: number;
  params: Map<string, tf.Variable>;
  optimizerStep: number;
  optimizerTensors: Record<string, tf.Tensor>;
  rngState: RngState;
}

/**
 * Writes a checkpoint: into `<dir>.tmp-PID`, then the current one becomes `<dir>.prev` and the new one `<dir>`. A
 * kill at any moment leaves a whole checkpoint in `<dir>` or `<dir>.prev` (resumeCheckpoint tries both), and the
 * previous good checkpoint stays on disk in case the newest is damaged later.
 */
export function saveCheckpoint(dir: string, c: CheckpointData): void {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  writeSafetensorsFile(path.join(tmp, 'model.safetensors'), tensorsToNamed(c.params), { format: 'gpla', step: String(c.step) });
  writeSafetensorsFile(path.join(tmp, 'optimizer.safetensors'), tensorsToNamed(Object.entries(c.optimizerTensors)));
  fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify({ step: c.step, optimizerStep: c.optimizerStep, rngState: c.rngState }, null, 2));
  const prev = `${dir}.prev`;
  if (fs.existsSync(dir)) {
    fs.rmSync(prev, { recursive: true, force: true });
    fs.renameSync(dir, prev);
  }
  fs.renameSync(tmp, dir);
  removeStaleFolders(dir);
}

/** A checkpoint that cannot be used, naming the file and what is wrong with it. */
export class CheckpointError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

export interface LoadedCheckpoint {
  step: number;
  optimizerStep: number;
  optimizerTensors: Record<string, tf.Tensor>;
  rngState: RngState;
}

function readState(file: string): { step: number; optimizerStep: number; rngState: RngState } {
  if (!fs.existsSync(file)) throw new CheckpointError(file, 'missing');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(file, `not valid JSON (${(e as Error).message}); the file is truncated or damaged`);
  }
  const st = raw as { step?: unknown; optimizerStep?: unknown; rngState?: unknown };
  const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!count(st.step)) throw new CheckpointError(file, `field "step": expected a non-negative integer, found ${JSON.stringify(st.step)}`);
  if (!count(st.optimizerStep)) throw new CheckpointError(file, `field "optimizerStep": expected a non-negative integer, found ${JSON.stringify(st.optimizerStep)}`);
  const rng = st.rngState;
  if (!(Array.isArray(rng) && rng.length === 4 && rng.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32))) {
    throw new CheckpointError(file, `field "rngState": expected 4 unsigned 32-bit integers, found ${JSON.stringify(rng)}`);
  }
  return { step: st.step as number, optimizerStep: st.optimizerStep as number, rngState: rng as RngState };
}

function readTensors(file: string): ReturnType<typeof readSafetensorsFile> {
  if (!fs.existsSync(file)) throw new CheckpointError(file, 'missing');
  try {
    return readSafetensorsFile(file);
  } catch (e) {
    throw e instanceof CheckpointError ? e : new CheckpointError(file, (e as Error).message.replace(`${file}: `, ''));
  }
}

/**
 * Loads a checkpoint into `params`. Every file is read and checked first (state.json's fields, both safetensors
 * files whole, names, shapes, finite weights, the same step in state.json and the weights' metadata), so a damaged
 * checkpoint throws a CheckpointError naming the file and leaves `params` untouched.
 */
export function loadCheckpoint(dir: string, params: Map<string, tf.Variable>): LoadedCheckpoint {
  const stateFile = path.join(dir, 'state.json');
  const state = readState(stateFile);
  const modelFile = path.join(dir, 'model.safetensors');
  const model = readTensors(modelFile);
  const problem = paramsProblem(model.tensors, params);
  if (problem) throw new CheckpointError(modelFile, problem);
  if (model.metadata.step !== undefined && model.metadata.step !== String(state.step)) {
    throw new CheckpointError(modelFile, `written at step ${model.metadata.step}, but ${stateFile} says step ${state.step}`);
  }
  const opt = readTensors(path.join(dir, 'optimizer.safetensors')).tensors;
  assignParams(model.tensors, params);
  const optimizerTensors: Record<string, tf.Tensor> = {};
  for (const [n, a] of Object.entries(opt)) optimizerTensors[n] = tf.tensor(a.data, a.shape, a.dtype === 'I32' ? 'int32' : 'float32');
  return { step: state.step, optimizerStep: state.optimizerStep, optimizerTensors, rngState: state.rngState };
}

/** Whether a process id is running (signal 0 tests without signalling). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `<dir>.tmp-PID` / `<dir>.old-PID` folders left by processes that are gone (a kill mid-save), oldest first. */
function staleFolders(dir: string): string[] {
  const parent = path.dirname(dir);
  if (!fs.existsSync(parent)) return [];
  const base = path.basename(dir);
  return fs
    .readdirSync(parent)
    .map((n) => ({ n, m: new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(tmp|old)-(\\d+)$`).exec(n) }))
    .filter((x) => x.m && +x.m[2] !== process.pid && !pidAlive(+x.m[2]))
    .map((x) => path.join(parent, x.n));
}

function removeStaleFolders(dir: string): string[] {
  const stale = staleFolders(dir);
  for (const f of stale) fs.rmSync(f, { recursive: true, force: true });
  return stale;
}

/**
 * Resumes from the newest usable checkpoint of `dir`: `<dir>` itself, else `<dir>.prev` (the one before), else an
 * `.old-PID` folder a killed save left. Each damaged one is reported through `log` and moved to `<dir>.damaged` (kept
 * for inspection, out of the way of the next save); a usable older one becomes `<dir>`. Returns null, having said so,
 * when none is usable (the stage then starts from scratch). Stale `.tmp-PID` / `.old-PID` folders are removed.
 */
export function resumeCheckpoint(dir: string, params: Map<string, tf.Variable>, log: (line: string) => void): (LoadedCheckpoint & { from: string }) | null {
  const stale = staleFolders(dir);
  const candidates = [dir, `${dir}.prev`, ...stale.filter((f) => /\.old-\d+$/.test(f)).reverse()].filter((d) => fs.existsSync(path.join(d, 'state.json')) || fs.existsSync(path.join(d, 'model.safetensors')));
  if (candidates.length === 0) {
    removeStaleFolders(dir);
    return null;
  }
  let damaged = false;
  for (const c of candidates) {
    try {
      const ck = loadCheckpoint(c, params);
      if (c !== dir) {
        if (fs.existsSync(dir)) {
          fs.rmSync(`${dir}.damaged`, { recursive: true, force: true });
          fs.renameSync(dir, `${dir}.damaged`);
        }
        fs.renameSync(c, dir);
        log(`resuming from the previous good checkpoint (step ${ck.step}, was ${path.basename(c)})${damaged ? `; the damaged one is kept in ${path.basename(dir)}.damaged` : ''}`);
      }
      removeStaleFolders(dir);
      return { ...ck, from: c };
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      damaged = true;
      log(`checkpoint ${c} is damaged: ${e.message}`);
    }
  }
  if (fs.existsSync(dir)) {
    fs.rmSync(`${dir}.damaged`, { recursive: true, force: true });
    fs.renameSync(dir, `${dir}.damaged`);
  }
  fs.rmSync(`${dir}.prev`, { recursive: true, force: true });
  removeStaleFolders(dir);
  log(`no usable checkpoint in ${path.dirname(dir)}: starting this stage from scratch (the damaged checkpoint is kept in ${path.basename(dir)}.damaged)`);
  return null;
}
