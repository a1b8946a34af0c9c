/**
 * Element-wise work on `wasm` through the native addon (native/elementwise.h) when it is loaded: Add, Sub, Multiply,
 * RealDiv and Transpose in front of the stock kernels; GELU (src/nn/layers.ts) and LayerNorm / RMSNorm
 * (src/nn/norms.ts) forward and backward as fused kernels of their own.
 *
 * After the products went native, these four were the largest share of a grounding step (about 70 of 190 ms): the
 * stock kernels run XNNPACK's 4-wide wasm SIMD plus tfjs's per-call setup; the addon's loops run on the heap with the
 * CPU's full vector width (measured 0.45 → 0.18 ms for a 48×16×512 product). Float32 only, and only broadcasts that
 * fold into rows × cols (same shape, a trailing block such as a bias, a leading block such as a per-row statistic,
 * a scalar); anything else, and every call when the native path is off, goes to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { activeNativeBlas } from './native-blas';

interface WasmBackend {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Byte offset of a tensor on the wasm heap (what the addon's functions take). */
export const heapOffsets = (backend: Pick<WasmBackend, 'dataIdMap'>) => (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;

/** How one operand spreads over the rows × cols output (the codes of native/elementwise.h). */
export enum OperandKind {
  Full = 0,
  Row = 1,
  Col = 2,
  Scalar = 3,
}

export interface RowsCols {
  rows: number;
  cols: number;
  a: OperandKind;
  b: OperandKind;
}

const product = (xs: number[]) => xs.reduce((p, d) => p * d, 1);

/**
 * The operand's kind and, for Row and Col, the axis where output shape `out` splits into rows | cols; null when the
 * operand broadcasts some other way (e.g. [4, 1, 5] against [4, 3, 5]).
 */
function classify(shape: number[], out: number[]): { kind: OperandKind; split?: number } | null {
  const s = [...Array<number>(out.length - shape.length).fill(1), ...shape];
  if (product(s) === 1) return { kind: OperandKind.Scalar };
  if (s.every((d, i) => d === out[i])) return { kind: OperandKind.Full };
  // Row: ones, then exactly the output's trailing dims. Col: exactly the output's leading dims, then ones.
  const firstReal = s.findIndex((d) => d !== 1);
  if (s.slice(firstReal).every((d, i) => d === out[firstReal + i])) return { kind: OperandKind.Row, split: firstReal };
  let lastReal = s.length - 1;
  while (s[lastReal] === 1) lastReal--;
  if (s.slice(0, lastReal + 1).every((d, i) => d === out[i])) return { kind: OperandKind.Col, split: lastReal + 1 };
  return null;
}

/** Folds a broadcast of `a` and `b` to output shape `out` into rows × cols, or null when it does not fold. */
export function foldBroadcast(a: number[], b: number[], out: number[]): RowsCols | null {
  const ca = classify(a, out);
  const cb = classify(b, out);
  if (!ca || !cb) return null;
  if (ca.split !== undefined && cb.split !== undefined && ca.split !== cb.split) return null;
  const split = ca.split ?? cb.split ?? 0;
  return { rows: product(out.slice(0, split)), cols: product(out.slice(split)), a: ca.kind, b: cb.kind };
}

const OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 } as const;
export type NativeBinaryOp = keyof typeof OPS;
export const NATIVE_ELEMENTWISE_KERNELS = [...(Object.keys(OPS) as NativeBinaryOp[]), 'Transpose'] as const;

function nativeBinary(op: NativeBinaryOp, stock: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const native = activeNativeBlas();
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (!native || a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args as never) as tf.TensorInfo;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const fold = foldBroadcast(a.shape, b.shape, outShape);
    if (!fold || fold.rows * fold.cols === 0) return stock(args as never) as tf.TensorInfo;
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(outShape, 'float32');
    const off = heapOffsets(backend);
    // The buffer only after the allocation: a heap growth replaces it.
    native.binary(backend.wasm.HEAPF32.buffer as ArrayBuffer, OPS[op], off(a), fold.a, off(b), fold.b, off(out), fold.rows, fold.cols);
    return out;
  };
}

/**
 * Transpose of 4-byte tensors: the stock kernel moves one element at a time; the addon copies the trailing axes that
 * stay in place as blocks (the attention head split/merge [B, T, H, D] ↔ [B, H, T, D] moves rows of D floats).
 */
function nativeTranspose(stock: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const native = activeNativeBlas();
    const x = args.inputs.x as tf.TensorInfo;
    const perm = (args.attrs as { perm: number[] }).perm;
    if (!native || !(x.dtype === 'float32' || x.dtype === 'int32') || x.shape.length > 8 || x.shape.length === 0) return stock(args as never) as tf.TensorInfo;
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(perm.map((p) => x.shape[p]), x.dtype);
    const off = heapOffsets(backend);
    native.transpose(backend.wasm.HEAPF32.buffer as ArrayBuffer, off(x), off(out), x.shape, perm);
    return out;
  };
}

export const GELU_KERNEL = 'GplaGelu';
export const GELU_GRAD_KERNEL = 'GplaGeluGrad';

/** GplaGelu(x) and GplaGeluGrad(x, dy): one pass each instead of the composite's six and eight. */
function nativeGeluKernel(backward: boolean) {
  return (args: KernelArgs): tf.TensorInfo => {
    const native = activeNativeBlas();
    if (!native) throw new Error(`${backward ? GELU_GRAD_KERNEL : GELU_KERNEL}: the native addon is not active (use the composite GELU)`);
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy?: tf.TensorInfo };
    if (x.dtype !== 'float32' || (dy && (dy.dtype !== 'float32' || dy.shape.join() !== x.shape.join()))) {
      throw new Error(`${GELU_KERNEL}: float32 x${backward ? ' and dy of the same shape' : ''} expected, got x ${x.dtype} [${x.shape}]${dy ? `, dy ${dy.dtype} [${dy.shape}]` : ''}`);
    }
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(x.shape, 'float32');
    const off = heapOffsets(backend);
    native.gelu(backend.wasm.HEAPF32.buffer as ArrayBuffer, off(x), dy ? off(dy) : 0, off(out), tf.util.sizeFromShape(x.shape), backward);
    return out;
  };
}

/** Whether GELU can run as the fused native kernels on the active backend right now. */
export function hasNativeGelu(): boolean {
  return tf.getBackend() === 'wasm' && activeNativeBlas() !== null && tf.getKernel(GELU_KERNEL, 'wasm') !== undefined;
}

export const NORM_KERNEL = 'GplaNorm';
export const NORM_GRAD_KERNEL = 'GplaNormGrad';

/** Attributes of both norm kernels: RMSNorm (no centring, no bias) or LayerNorm, and eps. */
export interface NormAttrs {
  rms: boolean;
  eps: number;
}

/**
 * GplaNorm(x [..., D], g [D], b [D] for LayerNorm) → [y, xhat, r]; GplaNormGrad(dy, xhat, r, g) → [dx, dg, db for
 * LayerNorm]. One pass each instead of the ~9 forward and ~11 backward kernels of the closed forms in norms.ts.
 */
function nativeNorm({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo[] {
  const native = activeNativeBlas();
  if (!native) throw new Error(`${NORM_KERNEL}: the native addon is not active (use the closed forms in norms.ts)`);
  const { x, g, b } = inputs as { x: tf.TensorInfo; g: tf.TensorInfo; b?: tf.TensorInfo };
  const { rms, eps } = attrs as unknown as NormAttrs;
  const D = x.shape[x.shape.length - 1];
  if ([x, g, b].some((t) => t && t.dtype !== 'float32') || g.shape.join() !== String(D) || (b && b.shape.join() !== String(D)) || (!rms && !b)) {
    throw new Error(`${NORM_KERNEL}: float32 x [..., D] and g${rms ? '' : ', b'} [D] expected, got x [${x.shape}], g [${g.shape}]${b ? `, b [${b.shape}]` : ''}`);
  }
  const backend = anyBackend as WasmBackend;
  const rows = tf.util.sizeFromShape(x.shape) / D;
  const y = backend.makeOutput(x.shape, 'float32');
  const xhat = backend.makeOutput(x.shape, 'float32');
  const r = backend.makeOutput([...x.shape.slice(0, -1), 1], 'float32');
  const off = heapOffsets(backend);
  native.normForward(backend.wasm.HEAPF32.buffer as ArrayBuffer, off(x), off(g), b && !rms ? off(b) : -1, off(y), off(xhat), off(r), rows, D, eps, rms);
  return [y, xhat, r];
}

function nativeNormGrad({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo[] {
  const native = activeNativeBlas();
  if (!native) throw new Error(`${NORM_GRAD_KERNEL}: the native addon is not active`);
  const { dy, xhat, r, g } = inputs as Record<string, tf.TensorInfo>;
  const { rms } = attrs as unknown as NormAttrs;
  const D = xhat.shape[xhat.shape.length - 1];
  if (dy.shape.join() !== xhat.shape.join() || g.shape.join() !== String(D)) {
    throw new Error(`${NORM_GRAD_KERNEL}: dy [${dy.shape}] must match xhat [${xhat.shape}] and g [${g.shape}] be [${D}]`);
  }
  const backend = anyBackend as WasmBackend;
  const rows = tf.util.sizeFromShape(xhat.shape) / D;
  const dx = backend.makeOutput(xhat.shape, 'float32');
  const dg = backend.makeOutput([D], 'float32');
  const db = rms ? null : backend.makeOutput([D], 'float32');
  const off = heapOffsets(backend);
  native.normBackward(backend.wasm.HEAPF32.buffer as ArrayBuffer, off(dy), off(xhat), off(r), off(g), off(dx), off(dg), db ? off(db) : -1, rows, D, rms);
  return db ? [dx, dg, db] : [dx, dg];
}

/** Whether the norms can run as the fused native kernels on the active backend right now. */
export function hasNativeNorm(): boolean {
  return tf.getBackend() === 'wasm' && activeNativeBlas() !== null && tf.getKernel(NORM_KERNEL, 'wasm') !== undefined;
}

/** Puts the native versions in front of the stock wasm kernels (idempotent; the stock ones stay as fallbacks). */
export function registerNativeElementwiseKernels(): void {
  for (const op of NATIVE_ELEMENTWISE_KERNELS) {
    const stock = tf.getKernel(op, 'wasm');
    if (!stock || (stock as { gplaAdded?: boolean }).gplaAdded) continue;
    tf.unregisterKernel(op, 'wasm');
    const config: tf.KernelConfig & { gplaAdded: boolean } = {
      kernelName: op,
      backendName: 'wasm',
      kernelFunc: (op === 'Transpose' ? nativeTranspose(stock.kernelFunc) : nativeBinary(op, stock.kernelFunc)) as tf.KernelFunc,
      // The stock setupFunc cwraps the C function the fallback calls.
      setupFunc: stock.setupFunc,
      gplaAdded: true,
    };
    tf.registerKernel(config);
  }
  for (const [name, fn] of [
    [GELU_KERNEL, nativeGeluKernel(false)],
    [GELU_GRAD_KERNEL, nativeGeluKernel(true)],
    [NORM_KERNEL, nativeNorm],
    [NORM_GRAD_KERNEL, nativeNormGrad],
  ] as const) {
    if (!tf.getKernel(name, 'wasm')) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: fn as unknown as tf.KernelFunc });
  }
}
