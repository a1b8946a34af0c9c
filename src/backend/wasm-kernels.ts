/**
 * Kernels added to the tfjs `wasm` backend so that it can train.
 *
 * Stock tfjs-backend-wasm 4.22 lacks `UnsortedSegmentSum` (the gradient of `gather`, so every embedding) and
 * `Conv2DBackpropFilter` (every conv weight gradient), and its `BatchMatMul` only reaches XNNPACK for plain 2-D
 * products: transposed or batched products (every matmul gradient, every attention product) fall into a scalar
 * loop at 1–3 GFLOP/s (measured, see ../../../shared/reference/stack.md). The kernels here keep all products on
 * the XNNPACK path by transposing explicitly and by running batched products as per-batch 2-D products on views
 * into the wasm heap (no copies).
 *
 * Everything works on the backend's own heap: `dataIdMap` gives each tensor's id and byte offset, and
 * `wasm.tfjs.registerTensor` lets us register a view (a slice of an existing buffer) under a fresh id.
 */
import * as tf from '@tensorflow/tfjs';
import { activeNativeBlas, type NativeBlas } from './native-blas';
import { registerNativeElementwiseKernels } from './native-elementwise';
import { gatherRows } from './wasm-gather';

/** The parts of tfjs-backend-wasm's BackendWasm that these kernels use (it is not exported as a type). */
interface WasmBackend {
  wasm: {
    cwrap: (name: string, ret: null, args: string[]) => (...args: unknown[]) => void;
    HEAPF32: Float32Array;
    HEAP32: Int32Array;
    tfjs: { registerTensor: (id: number, size: number, offset: number) => void; disposeData: (id: number) => void };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number; shape: number[]; dtype: string } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

let wasmBatchMatMul: ((...args: unknown[]) => void) | null = null;

const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Registers a view of `size` floats at byte `offset` of the heap under a fresh wasm tensor id. */
function registerView(backend: WasmBackend, offset: number, size: number): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, offset);
  return id;
}

function runKernel(name: string, backend: WasmBackend, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm backend has no ${name} kernel`);
  return kernel.kernelFunc({ inputs, backend: backend as never, attrs }) as tf.TensorInfo;
}

/**
 * Physically transposes the last two axes with a cache-blocked copy on the heap. The stock wasm Transpose is a
 * plain strided loop (4 ms for 512×512 here, a third of the product it feeds); 32×32 tiles keep both sides in cache.
 */
function transposeLastTwo(backend: WasmBackend, x: tf.TensorInfo): tf.TensorInfo {
  const r = x.shape.length;
  const rows = x.shape[r - 2];
  const cols = x.shape[r - 1];
  const batch = sizeOf(x.shape.slice(0, -2));
  const out = backend.makeOutput([...x.shape.slice(0, -2), cols, rows], x.dtype);
  const heap = backend.wasm.HEAPF32;
  const xOff = backend.dataIdMap.get(x.dataId).memoryOffset >> 2;
  const oOff = backend.dataIdMap.get(out.dataId).memoryOffset >> 2;
  const B = 32;
  for (let b = 0; b < batch; b++) {
    const src = xOff + b * rows * cols;
    const dst = oOff + b * rows * cols;
    for (let i0 = 0; i0 < rows; i0 += B) {
      const i1 = Math.min(rows, i0 + B);
      for (let j0 = 0; j0 < cols; j0 += B) {
        const j1 = Math.min(cols, j0 + B);
        for (let i = i0; i < i1; i++) {
          const s = src + i * cols;
          for (let j = j0; j < j1; j++) heap[dst + j * rows + i] = heap[s + j];
        }
      }
    }
  }
  return out;
}

/** A plain (non-transposed) product of a [1, m, k] view with a [1, k, n] view: the XNNPACK path. */
function plainProduct(backend: WasmBackend, aId: number, m: number, k: number, bId: number, n: number, outId: number) {
  wasmBatchMatMul!(aId, shapeBytes([1, m, k]), 3, bId, shapeBytes([1, k, n]), 3, false, false, outId);
}

/**
 * Sizes of op(A)·op(B) for [..., m, k]·[..., k, n] with transposes as flags: the inner-dimension check and the
 * broadcast batch shape, shared by the XNNPACK and the native product.
 */
function productShape(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean) {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [m, k] = transposeA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
  const [k2, n] = transposeB ? [b.shape[rb - 1], b.shape[rb - 2]] : [b.shape[rb - 2], b.shape[rb - 1]];
  if (k !== k2) {
    throw new Error(
      `BatchMatMul: inner dimensions differ (${k} vs ${k2}) for shapes [${a.shape}] and [${b.shape}] ` +
        `with transposeA=${transposeA}, transposeB=${transposeB}`,
    );
  }
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  return { m, k, n, outerA, outerB, outer, batchA: sizeOf(outerA), batchB: sizeOf(outerB), batch: sizeOf(outer) };
}

function batchMatMul({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo {
  const backend = anyBackend as WasmBackend;
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  let a = inputs.a as tf.TensorInfo;
  let b = inputs.b as tf.TensorInfo;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`BatchMatMul: only float32 is supported on wasm, got ${a.dtype} x ${b.dtype}`);
  }
  const native = activeNativeBlas();
  if (native) return nativeBatchMatMul(native, backend, a, b, transposeA, transposeB);
  // Sizes from the inputs as given (checked before any work), then explicit transposes for XNNPACK.
  const { m, k, n, outer, batchA, batchB, batch } = productShape(a, b, transposeA, transposeB);
  const temps: tf.TensorInfo[] = [];
  if (transposeA) temps.push((a = transposeLastTwo(backend, a)));
  if (transposeB) temps.push((b = transposeLastTwo(backend, b)));
  const out = backend.makeOutput([...outer, m, n], 'float32');
  const aInfo = backend.dataIdMap.get(a.dataId);
  const bInfo = backend.dataIdMap.get(b.dataId);
  const outInfo = backend.dataIdMap.get(out.dataId);

  if (batchB === 1) {
    // Shared right operand (a dense layer on a batch): one [batchA·m, k]·[k, n] product.
    plainProduct(backend, aInfo.id, batchA * m, k, bInfo.id, n, outInfo.id);
  } else if (batchA === batchB || batchA === 1) {
    // Batched product (attention): one 2-D product per batch, on views into the heap.
    const views: number[] = [];
    for (let i = 0; i < batch; i++) {
      const ai = batchA === 1 ? aInfo.id : registerView(backend, aInfo.memoryOffset + i * m * k * 4, m * k);
      const bi = registerView(backend, bInfo.memoryOffset + i * k * n * 4, k * n);
      const oi = registerView(backend, outInfo.memoryOffset + i * m * n * 4, m * n);
      plainProduct(backend, ai, m, k, bi, n, oi);
      if (batchA !== 1) views.push(ai);
      views.push(bi, oi);
    }
    for (const id of views) backend.wasm.tfjs.disposeData(id);
  } else {
    // General broadcasting of batch dims (not used by the models): fall back to the stock scalar loop.
    wasmBatchMatMul!(
      aInfo.id, shapeBytes([batchA, m, k]), 3, bInfo.id, shapeBytes([batchB, k, n]), 3, false, false, outInfo.id,
    );
  }
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
}

/**
 * The same product through the native addon (OpenBLAS sgemm on the heap itself): transposes are sgemm flags, a
 * broadcast operand has batch stride 0, and a dense layer on a batch is one tall product.
 */
function nativeBatchMatMul(
  native: NativeBlas, backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean,
): tf.TensorInfo {
  const { m, k, n, outerA, outerB, outer, batchA, batchB, batch } = productShape(a, b, transposeA, transposeB);
  if (!(batchA === batchB || batchA === 1 || batchB === 1)) {
    throw new Error(`BatchMatMul: batch broadcasting of [${outerA}] with [${outerB}] is not supported on the native path`);
  }
  const out = backend.makeOutput([...outer, m, n], 'float32');
  if (m * n === 0) return out;
  const aOff = backend.dataIdMap.get(a.dataId).memoryOffset;
  const bOff = backend.dataIdMap.get(b.dataId).memoryOffset;
  const cOff = backend.dataIdMap.get(out.dataId).memoryOffset;
  // Read the heap only after makeOutput: growing the memory replaces its ArrayBuffer.
  const heap = backend.wasm.HEAPF32.buffer as ArrayBuffer;
  if (k === 0) {
    new Float32Array(heap, cOff, m * n * batch).fill(0);
  } else if (batchB === 1 && !transposeA) {
    native.sgemm(heap, false, transposeB, batchA * m, n, k, aOff, bOff, cOff, 1, 0, 0, 0, 0);
  } else {
    native.sgemm(heap, transposeA, transposeB, m, n, k, aOff, bOff, cOff, batch, batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n, m * n, 0);
  }
  return out;
}

/**
 * dW = Σ_b Σ_{oh,ow} x[b, oh·s + i − pt, ow·s + j − pl, c] · dy[b, oh, ow, o], computed as a convolution of the
 * transposed inputs: x' = x transposed to [C, H, W, B] convolved with dy' = dy transposed to [OH, OW, B, O] at
 * dilation = stride gives [C, KH, KW, O]. The convolution runs on XNNPACK.
 */
function conv2DBackpropFilter({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo {
  const backend = anyBackend as WasmBackend;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast',
  );
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  const [, H, W] = x.shape;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  // Rows/cols needed: i + (oh−1)·sh − pt for i < kh. Pad the far side to reach them, or crop what is never read.
  const needH = kh + (oh - 1) * sh - pt;
  const needW = kw + (ow - 1) * sw - pl;
  let xNHWC = x;
  const temps: tf.TensorInfo[] = [];
  if (needH < H || needW < W) {
    const size = [x.shape[0], Math.min(H, needH), Math.min(W, needW), x.shape[3]];
    xNHWC = runKernel('Slice', backend, { x }, { begin: [0, 0, 0, 0], size });
    temps.push(xNHWC);
  }
  const pb = Math.max(0, needH - H);
  const pr = Math.max(0, needW - W);
  const xT = runKernel('Transpose', backend, { x: xNHWC }, { perm: [3, 1, 2, 0] });
  const dyT = runKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] });
  temps.push(xT, dyT);
  const convPad: tf.backend_util.ExplicitPadding = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
  const conv = runKernel('Conv2D', backend, { x: xT, filter: dyT }, {
    strides: [1, 1], pad: convPad as never, dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: undefined as never,
  });
  temps.push(conv);
  const dw = runKernel('Transpose', backend, { x: conv }, { perm: [1, 2, 0, 3] });
  for (const t of temps) backend.disposeData(t.dataId);
  return dw;
}

/** Scatter-add of rows: out[segmentIds[i]] += x[i]; ids outside [0, numSegments) are dropped, as in TensorFlow. */
function unsortedSegmentSum({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo {
  const backend = anyBackend as WasmBackend;
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as { numSegments: number };
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`UnsortedSegmentSum: unsupported dtype ${x.dtype}`);
  const idsRank = segmentIds.shape.length;
  const nIds = sizeOf(segmentIds.shape);
  const rowSize = sizeOf(x.shape.slice(idsRank));
  const out = backend.makeOutput([numSegments, ...x.shape.slice(idsRank)], x.dtype);
  // Read views only after every allocation: a heap growth replaces the underlying buffer.
  const heap = x.dtype === 'float32' ? backend.wasm.HEAPF32 : backend.wasm.HEAP32;
  const xOff = backend.dataIdMap.get(x.dataId).memoryOffset >> 2;
  const idOff = backend.dataIdMap.get(segmentIds.dataId).memoryOffset >> 2;
  const outOff = backend.dataIdMap.get(out.dataId).memoryOffset >> 2;
  const ids = backend.wasm.HEAP32;
  heap.fill(0, outOff, outOff + numSegments * rowSize);
  for (let i = 0; i < nIds; i++) {
    const s = ids[idOff + i];
    if (s < 0 || s >= numSegments) continue;
    const src = xOff + i * rowSize;
    const dst = outOff + s * rowSize;
    for (let j = 0; j < rowSize; j++) heap[dst + j] += heap[src + j];
  }
  return out;
}

/**
 * Strided slice copy of any rank. The stock wasm Slice handles ranks 2–4 with one `subarray` copy per innermost row
 * and falls back to the generic per-element CPU path for rank ≥ 5 (a [B, S, 3, H, dh] q/k/v split took half of a
 * training step). Here the trailing axes that are taken whole are merged with the last partial one into one
 * contiguous run, so each copy moves as many floats as possible.
 */
let stockSlice: tf.KernelFunc | null = null;

function slice(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend: anyBackend, attrs } = args;
  const backend = anyBackend as WasmBackend;
  const x = inputs.x as tf.TensorInfo;
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs!.begin as number[], attrs!.size as number[]);
  if (x.dtype === 'string' || x.dtype === 'complex64') throw new Error(`Slice: unsupported dtype ${x.dtype} on wasm`);
  // 4-byte elements only: a bool tensor has 1 byte per element on the wasm heap, and copying it as int32 wrote 4×
  // past its output, corrupting the allocator ("memory access out of bounds" in a later malloc or disposeData).
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return stockSlice!(args as never) as tf.TensorInfo;
  const out = backend.makeOutput(size, x.dtype);
  const total = sizeOf(size);
  if (total === 0) return out;
  const heap = x.dtype === 'float32' ? backend.wasm.HEAPF32 : backend.wasm.HEAP32;
  const xOff = backend.dataIdMap.get(x.dataId).memoryOffset >> 2;
  const outOff = backend.dataIdMap.get(out.dataId).memoryOffset >> 2;
  const shape = x.shape;
  const rank = shape.length;
  const strides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  // Innermost contiguous run: all trailing axes taken whole, times the first partial axis from the end.
  let axis = rank - 1;
  while (axis > 0 && begin[axis] === 0 && size[axis] === shape[axis]) axis--;
  const run = size[axis] * strides[axis];
  if (run === total) {
    let off = 0;
    for (let i = 0; i < rank; i++) off += begin[i] * strides[i];
    heap.copyWithin(outOff, xOff + off, xOff + off + total);
    return out;
  }
  // Odometer over the axes before `axis`.
  const idx = new Array<number>(axis).fill(0);
  let dst = outOff;
  for (;;) {
    let src = xOff + begin[axis] * strides[axis];
    for (let i = 0; i < axis; i++) src += (begin[i] + idx[i]) * strides[i];
    if (run < 16) for (let j = 0; j < run; j++) heap[dst + j] = heap[src + j];
    else heap.copyWithin(dst, src, src + run);
    dst += run;
    let i = axis - 1;
    while (i >= 0 && ++idx[i] === size[i]) idx[i--] = 0;
    if (i < 0) break;
  }
  return out;
}

/**
 * Identity without a copy: the stock wasm kernel copies the tensor, and the engine clones (Identity) every tensor a
 * gradient saves for the backward pass, ~1,000 activation copies per grounding-model step. Tensors are immutable, so
 * sharing the buffer under a reference count is what Reshape already does on wasm and Identity does on cpu.
 */
function identity({ inputs, backend: anyBackend }: KernelArgs): tf.TensorInfo {
  const backend = anyBackend as WasmBackend & { incRef(dataId: object): void; readSync(dataId: object): unknown };
  const x = inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return tf.tensor(backend.readSync(x.dataId) as Uint8Array[], x.shape, x.dtype);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let stockSum: tf.KernelFunc | null = null;

/**
 * Sum over a contiguous block of axes that is not the innermost one (bias gradients sum [rows, d] over rows; the
 * Add/Multiply gradients of broadcasts sum leading axes). The stock kernel transposes the reduced axes to the end
 * first, a strided copy that costs more than the sum. Here it is a matrix product, out[o] = 1ᵀ·x[o] with x[o] viewed
 * as [reduce, inner], so it runs on the product path (XNNPACK or OpenBLAS): 3–10× faster than the stock kernel or a
 * JS loop on [1152, 384]. Innermost reductions and other layouts go to the stock kernel.
 */
function sum(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const contiguous = axes.length > 0 && axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
  const last = axes[axes.length - 1];
  if (x.dtype !== 'float32' || !contiguous || last === rank - 1 || sizeOf(x.shape) === 0) return stockSum!(args as never) as tf.TensorInfo;
  const outer = sizeOf(x.shape.slice(0, axes[0]));
  const reduce = sizeOf(x.shape.slice(axes[0], last + 1));
  const inner = sizeOf(x.shape.slice(last + 1));
  const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  const ones = backend.makeOutput([1, reduce], 'float32');
  const out = backend.makeOutput(outShape, 'float32');
  const onesInfo = backend.dataIdMap.get(ones.dataId);
  backend.wasm.HEAPF32.fill(1, onesInfo.memoryOffset >> 2, (onesInfo.memoryOffset >> 2) + reduce);
  const xOff = backend.dataIdMap.get(x.dataId).memoryOffset;
  const oOff = backend.dataIdMap.get(out.dataId).memoryOffset;
  const native = activeNativeBlas();
  if (native) {
    native.sgemm(backend.wasm.HEAPF32.buffer as ArrayBuffer, false, false, 1, inner, reduce, onesInfo.memoryOffset, xOff, oOff, outer, 0, reduce * inner, inner, 0);
  } else {
    // Fresh view ids for x's slices, as in the batched products above. Passing x's own id here (viewed as
    // [reduce, inner]) crashed the planner's SFT step with "memory access out of bounds" in a later product that
    // used the same tensor; tfjs-wasm caches XNNPACK operators per right-operand id, which is the likely reason.
    for (let o = 0; o < outer; o++) {
      const bi = registerView(backend, xOff + o * reduce * inner * 4, reduce * inner);
      const oi = registerView(backend, oOff + o * inner * 4, inner);
      plainProduct(backend, onesInfo.id, 1, reduce, bi, inner, oi);
      backend.wasm.tfjs.disposeData(bi);
      backend.wasm.tfjs.disposeData(oi);
    }
  }
  backend.disposeData(ones.dataId);
  return out;
}

let stockCast: tf.KernelFunc | null = null;

/** Cast to the dtype a tensor already has shares its buffer (the Multiply gradient casts every dy to float32). */
function cast(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  if ((args.attrs as { dtype: tf.DataType }).dtype === x.dtype && x.dtype !== 'string') {
    (args.backend as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }
  return stockCast!(args as never) as tf.TensorInfo;
}

/** The kernels this module adds to (or replaces on) `wasm`, by tfjs kernel name. */
export const ADDED_WASM_KERNELS = ['BatchMatMul', 'Conv2DBackpropFilter', 'UnsortedSegmentSum', 'Slice', 'Identity', 'Cast', 'Sum', 'GatherV2'] as const;

/**
 * Registers the added kernels on the `wasm` backend (idempotent). `registerKernel` throws on a name already
 * registered, so the stock BatchMatMul is unregistered first; its cwrap'd C function is reused for the 2-D product.
 */
export function registerWasmKernels(): void {
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (stock && (stock as { gplaAdded?: boolean }).gplaAdded) return;
  if (stock) tf.unregisterKernel('BatchMatMul', 'wasm');
  const bmm: tf.KernelConfig & { gplaAdded: boolean } = {
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: (backend: unknown) => {
      const b = backend as WasmBackend;
      wasmBatchMatMul = b.wasm.cwrap('BatchMatMul', null, [
        'number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number',
      ]);
    },
    kernelFunc: batchMatMul as tf.KernelFunc,
    gplaAdded: true,
  };
  tf.registerKernel(bmm);
  // setupFunc runs when a backend initialises; if wasm is already up, run it now.
  const live = tf.engine().registry['wasm'] as unknown;
  if (live) bmm.setupFunc!(live as tf.KernelBackend);
  // The stock Cast and Sum stay as the fallbacks of ours (captured once: this function returns early after).
  stockCast = tf.getKernel('Cast', 'wasm')!.kernelFunc;
  stockSum = tf.getKernel('Sum', 'wasm')!.kernelFunc;
  stockSlice = tf.getKernel('Slice', 'wasm')!.kernelFunc;
  const gather = gatherRows(tf.getKernel('GatherV2', 'wasm')!.kernelFunc);
  for (const [name, fn] of [
    ['Conv2DBackpropFilter', conv2DBackpropFilter],
    ['UnsortedSegmentSum', unsortedSegmentSum],
    ['Slice', slice],
    ['Identity', identity],
    ['Cast', cast],
    ['Sum', sum],
    ['GatherV2', gather],
  ] as const) {
    const stockConfig = tf.getKernel(name, 'wasm');
    if (stockConfig) tf.unregisterKernel(name, 'wasm');
    // Keep the stock setupFunc (it cwraps the C function our fallback calls into).
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: fn as tf.KernelFunc, setupFunc: stockConfig?.setupFunc });
  }
  registerNativeElementwiseKernels();
}
