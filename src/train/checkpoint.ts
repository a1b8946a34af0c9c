/**
 * Atomic training checkpoints: `model.safetensors` (parameters by name), `optimizer.safetensors` (AdamW moments),
 * `state.json` (step, optimiser step, RNG state). A checkpoint is written into a fresh temporary folder and renamed
 * over the previous one, so a kill at any moment leaves either the old or the new checkpoint, never a mix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readSafetensorsFile, writeSafetensorsFile, type NamedArray } from '../nn/safetensors';
import type { RngState } from '../util/rng';

export interface CheckpointData {
  step: number;
  params: Map<string, tf.Variable>;
  optimizerStep: number;
  optimizerTensors: Record<string, tf.Tensor>;
  rngState: RngState;
}

function toNamed(t: tf.Tensor): NamedArray {
  if (t.dtype === 'int32') return { dtype: 'I32', shape: t.shape, data: t.dataSync() as Int32Array };
  return { dtype: 'F32', shape: t.shape, data: t.dataSync() as Float32Array };
}

export function tensorsToNamed(tensors: Iterable<[string, tf.Tensor]>): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [n, t] of tensors) out[n] = toNamed(t);
  return out;
}

export function saveCheckpoint(dir: string, c: CheckpointData): void {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  writeSafetensorsFile(path.join(tmp, 'model.safetensors'), tensorsToNamed(c.params), { format: 'gpla', step: String(c.step) });
  writeSafetensorsFile(path.join(tmp, 'optimizer.safetensors'), tensorsToNamed(Object.entries(c.optimizerTensors)));
  fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify({ step: c.step, optimizerStep: c.optimizerStep, rngState: c.rngState }, null, 2));
  const old = `${dir}.old-${process.pid}`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

/** Loads a checkpoint into `params` (shapes must match, every parameter must be present). */
export function loadCheckpoint(
  dir: string,
  params: Map<string, tf.Variable>,
): { step: number; optimizerStep: number; optimizerTensors: Record<string, tf.Tensor>; rngState: RngState } {
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  loadParams(path.join(dir, 'model.safetensors'), params);
  const opt = readSafetensorsFile(path.join(dir, 'optimizer.safetensors')).tensors;
  const optimizerTensors: Record<string, tf.Tensor> = {};
  for (const [n, a] of Object.entries(opt)) optimizerTensors[n] = tf.tensor(a.data, a.shape, a.dtype === 'I32' ? 'int32' : 'float32');
  return { step: state.step, optimizerStep: state.optimizerStep, optimizerTensors, rngState: state.rngState };
}

/** Assigns the weights in a safetensors file to `params` by name, checking names and shapes. */
export function loadParams(file: string, params: Map<string, tf.Variable>): void {
  const { tensors } = readSafetensorsFile(file);
  for (const [name, v] of params) {
    const t = tensors[name];
    if (!t) throw new Error(`${file}: parameter "${name}" is missing`);
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
      throw new Error(`${file}: parameter "${name}" has shape [${t.shape}], the model expects [${v.shape}]`);
    }
    const value = tf.tensor(t.data, t.shape, v.dtype);
    v.assign(value);
    value.dispose();
  }
}

/** Writes parameters alone (final weights of a model). */
export function saveParams(file: string, params: Map<string, tf.Variable>, metadata: Record<string, string> = {}): void {
  writeSafetensorsFile(file, tensorsToNamed(params), metadata);
}
