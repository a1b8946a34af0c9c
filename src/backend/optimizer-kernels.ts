/**
 * A fused AdamW update as one kernel per parameter, for the `wasm` and `cpu` backends.
 *
 * Written with tf ops, one AdamW update is ~15 kernels per parameter tensor (moments, bias corrections, sqrt, decay,
 * assigns): for the small grounding model that is ~1,500 kernel launches per step, each with tfjs's bookkeeping, and
 * the profile put them at a quarter of a training step. Here the update reads p, m, v, g straight from the backend's
 * memory and writes p', m', v' in one pass. Same arithmetic as the op path (see AdamW.step), in float64 per element
 * with float32 storage, so results agree with it to float32 rounding.
 */
import * as tf from '@tensorflow/tfjs';
import { activeNativeBlas } from './native-blas';
import { heapOffsets } from './native-elementwise';

export const ADAMW_KERNEL = 'GplaAdamW';

export interface AdamWKernelAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − beta1^t and 1 − beta2^t. */
  bc1: number;
  bc2: number;
  /** lr·weightDecay, or 0 for parameters without decay. */
  decay: number;
  /** Multiplies g first (global-norm clipping without materialising scaled gradients). */
  gradScale: number;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

interface WasmLike {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}
interface CpuLike {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
}

function update(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, po: Float32Array, mo: Float32Array, vo: Float32Array, a: AdamWKernelAttrs) {
  const { lr, beta1, beta2, eps, bc1, bc2, decay, gradScale } = a;
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] * gradScale;
    const mi = beta1 * m[i] + c1 * gi;
    const vi = beta2 * v[i] + c2 * gi * gi;
    mo[i] = mi;
    vo[i] = vi;
    po[i] = p[i] - lr * ((mi / bc1) / (Math.sqrt(vi / bc2) + eps)) - decay * p[i];
  }
}

function checkInputs(inputs: tf.NamedTensorInfoMap): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
  const { p, m, v, g } = inputs as Record<string, tf.TensorInfo>;
  for (const [name, t] of [['m', m], ['v', v], ['g', g]] as const) {
    if (t.shape.join() !== p.shape.join()) throw new Error(`${ADAMW_KERNEL}: ${name} has shape [${t.shape}], the parameter [${p.shape}]`);
  }
  for (const t of [p, m, v, g]) if (t.dtype !== 'float32') throw new Error(`${ADAMW_KERNEL}: float32 only, got ${t.dtype}`);
  return [p, m, v, g];
}

function wasmAdamW({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo[] {
  const backend = anyBackend as WasmLike;
  const [p, m, v, g] = checkInputs(inputs);
  const outs = [backend.makeOutput(p.shape, 'float32'), backend.makeOutput(p.shape, 'float32'), backend.makeOutput(p.shape, 'float32')];
  // Views only after the allocations: a heap growth replaces the buffer.
  const heap = backend.wasm.HEAPF32;
  const n = tf.util.sizeFromShape(p.shape);
  const native = activeNativeBlas();
  if (native) {
    // The same update in the addon (native/elementwise.h), vectorised: about 5× the JS loop.
    const a = attrs as unknown as AdamWKernelAttrs;
    const off = heapOffsets(backend);
    native.adamw(heap.buffer as ArrayBuffer, off(p), off(m), off(v), off(g), off(outs[0]), off(outs[1]), off(outs[2]), n, a.lr, a.beta1, a.beta2, a.eps, a.bc1, a.bc2, a.decay, a.gradScale);
    return outs;
  }
  const view = (t: tf.TensorInfo) => {
    const start = backend.dataIdMap.get(t.dataId).memoryOffset >> 2;
    return heap.subarray(start, start + n);
  };
  update(view(p), view(m), view(v), view(g), view(outs[0]), view(outs[1]), view(outs[2]), attrs as unknown as AdamWKernelAttrs);
  return outs;
}

function cpuAdamW({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo[] {
  const backend = anyBackend as CpuLike;
  const [p, m, v, g] = checkInputs(inputs);
  const n = tf.util.sizeFromShape(p.shape);
  const outs = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const val = (t: tf.TensorInfo) => backend.data.get(t.dataId).values;
  update(val(p), val(m), val(v), val(g), outs[0], outs[1], outs[2], attrs as unknown as AdamWKernelAttrs);
  return outs.map((o) => backend.makeTensorInfo(p.shape, 'float32', o));
}

/** Registers the fused update for wasm and cpu (idempotent). */
export function registerOptimizerKernels(): void {
  for (const [backendName, fn] of [['wasm', wasmAdamW], ['cpu', cpuAdamW]] as const) {
    if (!tf.getKernel(ADAMW_KERNEL, backendName)) tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName, kernelFunc: fn as unknown as tf.KernelFunc });
  }
}

// Registered on import, like tfjs's own kernels, so the per-step check below is a registry lookup.
registerOptimizerKernels();

/** Whether the active backend has the fused update. */
export function hasFusedAdamW(): boolean {
  return tf.getKernel(ADAMW_KERNEL, tf.getBackend()) !== undefined;
}

/** Runs the fused update: returns [p', m', v']. */
export function fusedAdamW(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, attrs: AdamWKernelAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(ADAMW_KERNEL, { p, m, v, g }, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}
