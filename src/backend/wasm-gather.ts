/**
 * GatherV2 on `wasm` for the embedding lookup (axis 0, no batch dims, 4-byte dtypes): one heap `copyWithin` per
 * gathered row. The stock kernel computes every element's source index on its own and took 3.3 ms of a grounding step
 * for 1,152 rows of 96 floats (`npm run bench -- profile`); this takes a few hundredths of that. Every other case goes
 * to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';

interface WasmBackend {
  wasm: { HEAP32: Int32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

export function gatherRows(stock: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
    const ax = x.shape.length ? tf.util.parseAxisParam(axis, x.shape)[0] : 0;
    if (ax !== 0 || (batchDims ?? 0) !== 0 || indices.dtype !== 'int32' || !(x.dtype === 'float32' || x.dtype === 'int32')) {
      return stock(args as never) as tf.TensorInfo;
    }
    const backend = args.backend as WasmBackend;
    const rows = x.shape[0];
    const row = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    const heap = backend.wasm.HEAP32; // 4-byte elements: the bits move unchanged, float or int
    const xOff = backend.dataIdMap.get(x.dataId).memoryOffset >> 2;
    const iOff = backend.dataIdMap.get(indices.dataId).memoryOffset >> 2;
    const oOff = backend.dataIdMap.get(out.dataId).memoryOffset >> 2;
    const n = indices.shape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < n; i++) {
      const r = heap[iOff + i];
      // The cpu backend's check and message: an index outside the table is an error, not a read elsewhere.
      if (!(r >= 0 && r < rows)) throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}]`);
      heap.copyWithin(oOff + i * row, xOff + r * row, xOff + (r + 1) * row);
    }
    return out;
  };
}
