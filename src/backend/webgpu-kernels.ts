/**
 * The package's fused kernels on the `webgpu` backend, as WGSL programs run through tfjs-backend-webgpu's own
 * program runner (shader cache, uniforms, dispatch):
 *
 * - `GplaAdamW` (optimizer-kernels.ts): the op path is ~15 kernels per parameter; here it is three dispatches (m′, v′,
 *   then p′ from them; a tfjs program has one output), in float32 (the wasm/cpu update computes in float64 per
 *   element, so results agree to float32 rounding, not bit for bit).
 * - `GplaGelu` / `GplaGeluGrad` (native-elementwise.ts names): GELU's forward and backward in one pass each, the same
 *   formulas as the composite GELU in nn/layers.ts (6 and 8 kernels there).
 *
 * - `PadV2` at rank ≥ 5 (the gradient of every rank-5 Slice): the stock program declares a `vec5`, which WGSL does not
 *   have, so its shader fails validation and the result is silently left unwritten. Above rank 4 it is done here as
 *   one Concat with constant blocks per padded axis (stock Concat and Fill work at any rank); rank ≤ 4 stays stock.
 *
 * Everything else the package adds on wasm has a stock webgpu kernel or runs through tfjs ops on webgpu: the wasm
 * replacements (BatchMatMul, Conv2DBackpropFilter, UnsortedSegmentSum, Slice, Identity, Cast, Sum, GatherV2) exist
 * as stock webgpu kernels, and LayerNorm/RMSNorm use their closed-form gradients through tf ops (norms.ts). The tests
 * (test/backend/webgpu.test.ts) compare every one of these with the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import { GELU_GRAD_KERNEL, GELU_KERNEL } from './native-elementwise';
import { ADAMW_KERNEL, type AdamWKernelAttrs } from './optimizer-kernels';

export const ADDED_WEBGPU_KERNELS = [ADAMW_KERNEL, GELU_KERNEL, GELU_GRAD_KERNEL, 'PadV2 (rank ≥ 5)'] as const;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type StockKernel = (args: { inputs: unknown; backend: unknown; attrs?: unknown }) => tf.TensorInfo;
type Uniform = { type: 'float32'; data: number[] };
interface WebGpuBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: Uniform[]): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}
interface WebGpuUtil {
  flatDispatchLayout(shape: number[]): { x: number[] };
  computeDispatch(layout: { x: number[] }, shape: number[], workgroup: [number, number, number]): [number, number, number];
}

function webgpuUtil(): WebGpuUtil {
  // Loaded by backend/webgpu.ts before the backend exists, so this require only returns the cached module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@tensorflow/tfjs-backend-webgpu') as { webgpu_util: WebGpuUtil }).webgpu_util;
}

/**
 * An element-wise program over inputs of the output's shape: `body` computes `let r : f32` from `inputs` read as
 * `a`, `b`, … (variable names A, B, …) and the named f32 uniforms.
 */
function elementwise(key: string, shape: number[], inputs: number, uniforms: string[], body: string) {
  const util = webgpuUtil();
  const names = 'ABCD'.slice(0, inputs).split('');
  const workgroupSize: [number, number, number] = [64, 1, 1];
  const dispatchLayout = util.flatDispatchLayout(shape);
  return {
    variableNames: names,
    outputShape: shape,
    shaderKey: `gpla_${key}`,
    dispatchLayout,
    dispatch: util.computeDispatch(dispatchLayout, shape, workgroupSize),
    workgroupSize,
    size: true,
    uniforms: uniforms.map((u) => `${u} : f32,`).join(' '),
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${names.map((n) => `let ${n.toLowerCase()} = get${n}ByOutputIndex(index);`).join('\n          ')}
          ${body}
          setOutputAtIndex(index, r);
        }
      }`,
  };
}

const f32 = (...data: number[]): Uniform[] => data.map((d) => ({ type: 'float32', data: [d] }));

function checkFloat(name: string, ts: [string, tf.TensorInfo][], shape: number[]): void {
  for (const [n, t] of ts) {
    if (t.dtype !== 'float32') throw new Error(`${name} (webgpu): float32 only, got ${n} ${t.dtype}`);
    if (t.shape.join() !== shape.join()) throw new Error(`${name} (webgpu): ${n} has shape [${t.shape}], expected [${shape}]`);
  }
}

function adamW({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo[] {
  const backend = anyBackend as WebGpuBackendLike;
  const { p, m, v, g } = inputs as Record<string, tf.TensorInfo>;
  checkFloat(ADAMW_KERNEL, [['m', m], ['v', v], ['g', g]], p.shape);
  checkFloat(ADAMW_KERNEL, [['p', p]], p.shape);
  const a = attrs as unknown as AdamWKernelAttrs;
  const shape = p.shape;
  const m1 = backend.runWebGPUProgram(elementwise('adamw_m', shape, 2, ['beta', 'gs'], 'let r = uniforms.beta * a + (1.0 - uniforms.beta) * (b * uniforms.gs);'), [m, g], 'float32', f32(a.beta1, a.gradScale));
  const v1 = backend.runWebGPUProgram(
    elementwise('adamw_v', shape, 2, ['beta', 'gs'], 'let gi = b * uniforms.gs;\n          let r = uniforms.beta * a + (1.0 - uniforms.beta) * gi * gi;'),
    [v, g], 'float32', f32(a.beta2, a.gradScale),
  );
  const p1 = backend.runWebGPUProgram(
    elementwise('adamw_p', shape, 3, ['lr', 'bc1', 'bc2', 'eps', 'decay'], 'let r = a - uniforms.lr * ((b / uniforms.bc1) / (sqrt(c / uniforms.bc2) + uniforms.eps)) - uniforms.decay * a;'),
    [p, m1, v1], 'float32', f32(a.lr, a.bc1, a.bc2, a.eps, a.decay),
  );
  return [p1, m1, v1];
}

// The composite GELU's constants (nn/layers.ts): s = σ(K·x·(1 + c·x²)), K = 2√(2/π), c = 0.044715.
const GELU_K = 2 * Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
// σ(t) as 1/(1 + e^−t): e^−t overflows to +inf for t ≪ 0, giving 0, the limit; no NaN either way.
const SIGMOID = `let s = 1.0 / (1.0 + exp(-(${GELU_K} * a * (1.0 + ${GELU_C} * a * a))));`;

function gelu(backward: boolean) {
  return ({ inputs, backend: anyBackend }: KernelArgs): tf.TensorInfo => {
    const backend = anyBackend as WebGpuBackendLike;
    const { x, dy } = inputs as { x: tf.TensorInfo; dy?: tf.TensorInfo };
    const name = backward ? GELU_GRAD_KERNEL : GELU_KERNEL;
    checkFloat(name, dy ? [['x', x], ['dy', dy]] : [['x', x]], x.shape);
    if (!backward) return backend.runWebGPUProgram(elementwise('gelu', x.shape, 1, [], `${SIGMOID}\n          let r = a * s;`), [x], 'float32');
    return backend.runWebGPUProgram(
      elementwise('gelu_grad', x.shape, 2, [], `${SIGMOID}\n          let r = b * (s + a * s * (1.0 - s) * (${GELU_K} + ${3 * GELU_K * GELU_C} * a * a));`),
      [x, dy!], 'float32',
    );
  };
}

/** Pad above rank 4 as Concat([fill, x, fill]) along each padded axis, with the stock kernels; else the stock Pad. */
function padAnyRank(stockPad: StockKernel) {
  return (args: KernelArgs): tf.TensorInfo => {
    const x = (args.inputs as { x: tf.TensorInfo }).x;
    if (x.shape.length <= 4) return stockPad(args);
    const backend = args.backend as WebGpuBackendLike;
    const { paddings, constantValue } = args.attrs as unknown as { paddings: [number, number][]; constantValue: number };
    const stock = (name: string) => tf.getKernel(name, 'webgpu')!.kernelFunc as unknown as StockKernel;
    let cur = x;
    paddings.forEach(([before, after], axis) => {
      if (before === 0 && after === 0) return;
      const block = (n: number) => stock('Fill')({ inputs: {}, backend, attrs: { shape: cur.shape.map((d, i) => (i === axis ? n : d)), value: constantValue, dtype: x.dtype } });
      const parts = [...(before > 0 ? [block(before)] : []), cur, ...(after > 0 ? [block(after)] : [])];
      const next = stock('Concat')({ inputs: parts, backend, attrs: { axis } });
      for (const t of parts) if (t !== x) backend.disposeData(t.dataId);
      cur = next;
    });
    return cur === x ? stock('Identity')({ inputs: { x }, backend }) : cur;
  };
}

/** Registers the kernels on `webgpu` (idempotent; needs tfjs-backend-webgpu loaded, see webgpu.ts). */
export function registerWebGpuKernels(): void {
  const pad = tf.getKernel('PadV2', 'webgpu') as (tf.KernelConfig & { gplaAdded?: boolean }) | undefined;
  if (pad && !pad.gplaAdded) {
    tf.unregisterKernel('PadV2', 'webgpu');
    tf.registerKernel({ kernelName: 'PadV2', backendName: 'webgpu', kernelFunc: padAnyRank(pad.kernelFunc as unknown as StockKernel) as unknown as tf.KernelFunc, gplaAdded: true } as tf.KernelConfig);
  }
  for (const [name, fn] of [
    [ADAMW_KERNEL, adamW],
    [GELU_KERNEL, gelu(false)],
    [GELU_GRAD_KERNEL, gelu(true)],
  ] as const) {
    if (!tf.getKernel(name, 'webgpu')) tf.registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc: fn as unknown as tf.KernelFunc });
  }
}

/** Whether GELU runs as the fused WGSL kernels on the active backend now. */
export function hasWebGpuGelu(): boolean {
  return tf.getBackend() === 'webgpu' && tf.getKernel(GELU_KERNEL, 'webgpu') !== undefined;
}
