/**
 * Weight I/O in one place: named tensors to and from safetensors arrays, and the checks a file's weights must pass
 * before any is assigned to a model (every parameter present, same shape, float32, finite values). ParamStore's
 * save/load and the training checkpoints (src/train/checkpoint.ts) both go through here.
 */
import * as tf from '@tensorflow/tfjs';
import { readSafetensorsFile, writeSafetensorsFile, type NamedArray } from './safetensors';

function toNamed(t: tf.Tensor): NamedArray {
  if (t.dtype === 'int32') return { dtype: 'I32', shape: t.shape, data: t.dataSync() as Int32Array };
  return { dtype: 'F32', shape: t.shape, data: t.dataSync() as Float32Array };
}

export function tensorsToNamed(tensors: Iterable<[string, tf.Tensor]>): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [n, t] of tensors) out[n] = toNamed(t);
  return out;
}

/** The first reason the file's tensors cannot be a model's parameters, or null. */
export function paramsProblem(tensors: Record<string, NamedArray>, params: Map<string, tf.Variable>): string | null {
  for (const [name, v] of params) {
    const t = tensors[name];
    if (!t) return `parameter "${name}" is missing`;
    if (t.dtype !== 'F32') return `parameter "${name}" has dtype ${t.dtype}, the model expects F32`;
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) return `parameter "${name}" has shape [${t.shape}], the model expects [${v.shape}]`;
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) return `parameter "${name}" holds ${t.data[i]} at index ${i}`;
  }
  return null;
}

/** Assigns checked tensors to the parameters by name. */
export function assignParams(tensors: Record<string, NamedArray>, params: Map<string, tf.Variable>): void {
  for (const [name, v] of params) {
    const value = tf.tensor(tensors[name].data, tensors[name].shape, v.dtype);
    v.assign(value);
    value.dispose();
  }
}

export function saveWeights(file: string, params: Map<string, tf.Variable>, metadata: Record<string, string> = {}): void {
  writeSafetensorsFile(file, tensorsToNamed(params), metadata);
}

/** Loads a weights file into `params`; a bad file throws naming it and the parameter, and assigns nothing. */
export function loadWeights(file: string, params: Map<string, tf.Variable>): void {
  const { tensors } = readSafetensorsFile(file);
  const problem = paramsProblem(tensors, params);
  if (problem) throw new Error(`${file}: ${problem}`);
  assignParams(tensors, params);
}
