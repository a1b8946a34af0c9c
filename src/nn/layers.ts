/**
 * Layers shared by the three models, as small functions over a ParamStore (nanoGPT's blocks, in functional form):
 * each `build*` registers its weights under a name prefix and returns a forward function. Inputs are [N, d] or
 * [B, T, d]; every weight product is a 2-D [rows, d]·[d, out] matmul (the fast XNNPACK path on wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { GELU_GRAD_KERNEL, GELU_KERNEL, hasNativeGelu } from '../backend/native-elementwise';
import { hasWebGpuGelu } from '../backend/webgpu-kernels';
import { layerNorm, rmsNorm } from './norms';
import type { ParamStore } from './params';

export type Fwd = (x: tf.Tensor) => tf.Tensor;

/** y = x·W (+ b). W stored [in, out] under `${name}.weight` (transposed relative to PyTorch's Linear). */
export function buildLinear(ps: ParamStore, name: string, din: number, dout: number, opts: { bias?: boolean; std?: number; zero?: boolean } = {}): Fwd {
  const w = ps.create(`${name}.weight`, [din, dout], opts.zero ? { kind: 'zeros' } : { kind: 'normal', std: opts.std ?? 0.02 });
  const b = opts.bias === false ? null : ps.create(`${name}.bias`, [dout], { kind: 'zeros' });
  return (x) => {
    const shape = x.shape;
    const flat = x.reshape([-1, din]);
    let y = tf.matMul(flat, w);
    if (b) y = y.add(b);
    return y.reshape([...shape.slice(0, -1), dout]);
  };
}


export function buildLayerNorm(ps: ParamStore, name: string, d: number, eps = 1e-6): Fwd {
  const g = ps.create(`${name}.weight`, [d], { kind: 'ones' });
  const b = ps.create(`${name}.bias`, [d], { kind: 'zeros' });
  return (x) => layerNorm(x, g, b, eps);
}

/** Gemma's RMSNorm: x / rms(x) · (1 + w), with w initialised to zero. */
export function buildRMSNorm(ps: ParamStore, name: string, d: number, eps = 1e-6): Fwd {
  const w = ps.create(`${name}.weight`, [d], { kind: 'zeros' });
  return (x) => rmsNorm(x, w, eps);
}

/**
 * GELU, tanh approximation (gelu_pytorch_tanh in SigLIP and Gemma): 0.5·x·(1 + tanh(z)), z = √(2/π)(x + 0.044715x³),
 * computed as x·σ(2z) — the same function, since (1 + tanh z)/2 = σ(2z) — because the wasm backend's Sigmoid runs on
 * XNNPACK and is about 6× faster than its scalar Tanh (bench: 12 vs 74 ms for 2.9M values), and it saves two ops.
 *
 * With its own gradient: d/dx = s + x·s·(1 − s)·(K + 3cK·x²) with s = σ(2z), K = 2√(2/π), c = 0.044715. Autograd
 * through the forward ops takes ~16 elementwise kernels on the MLP's widest tensor; this takes 8 (the profile of a
 * grounding step counted GELU's among a third of all elementwise time). With the native addon on wasm, forward and
 * backward are one fused kernel each (`npm run bench -- profile`: about 45 → 6 ms of a 200 ms step).
 */
const GELU_K = 2 * Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
const compositeGelu: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const u = x.mul(x);
  const s = tf.sigmoid(x.mul(u.mul(GELU_K * GELU_C).add(GELU_K)));
  save([x, u, s]);
  return {
    value: x.mul(s),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [x0, u0, s0] = saved;
      const slope = u0.mul(3 * GELU_K * GELU_C).add(GELU_K);
      return dy.mul(x0.mul(s0.mul(tf.scalar(1).sub(s0))).mul(slope).add(s0));
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/**
 * The same function and gradient as two fused kernels (one pass each): native on wasm (src/backend/native-elementwise.ts),
 * WGSL on webgpu (src/backend/webgpu-kernels.ts).
 */
const nativeGelu: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.engine().runKernel(GELU_KERNEL, { x }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel(GELU_GRAD_KERNEL, { x: saved[0], dy }) as tf.Tensor,
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

export const gelu = (x: tf.Tensor): tf.Tensor => (hasNativeGelu() || hasWebGpuGelu() ? nativeGelu(x) : compositeGelu(x));

/** SigLIP MLP: fc2(gelu(fc1(x))). */
export function buildMLP(ps: ParamStore, name: string, d: number, hidden: number, outStd = 0.02): Fwd {
  const fc1 = buildLinear(ps, `${name}.fc1`, d, hidden);
  const fc2 = buildLinear(ps, `${name}.fc2`, hidden, d, { std: outStd });
  return (x) => fc2(gelu(fc1(x)));
}

/** Gemma GeGLU: down(gelu(gate(x)) · up(x)), no biases. */
export function buildGeGLU(ps: ParamStore, name: string, d: number, hidden: number, outStd = 0.02): Fwd {
  const gate = buildLinear(ps, `${name}.gate_proj`, d, hidden, { bias: false });
  const up = buildLinear(ps, `${name}.up_proj`, d, hidden, { bias: false });
  const down = buildLinear(ps, `${name}.down_proj`, hidden, d, { bias: false, std: outStd });
  return (x) => down(gelu(gate(x)).mul(up(x)));
}

/** FiLM: x·(1 + γ) + β, with γ, β given per example ([B, d] broadcast over tokens). Identity when γ = β = 0. */
export function film(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  return x.mul(gamma.expandDims(1).add(1)).add(beta.expandDims(1));
}

/**
 * ViT patch embedding: images [B, H, W, C] → [B, (H/p)·(W/p), d], as a reshape into patches and one matmul (the same
 * linear map as a stride-p convolution), plus learned position embeddings.
 */
export function buildPatchEmbed(ps: ParamStore, name: string, image: number, patch: number, channels: number, d: number): { fwd: Fwd; tokens: number } {
  if (image % patch !== 0) throw new Error(`patch embedding: image size ${image} is not a multiple of the patch size ${patch}`);
  const g = image / patch;
  const proj = buildLinear(ps, `${name}.patch_embedding`, patch * patch * channels, d);
  const pos = ps.create(`${name}.position_embedding.weight`, [g * g, d], { kind: 'normal', std: 0.02 });
  return {
    tokens: g * g,
    fwd: (x) => {
      const B = x.shape[0];
      const patches = x.reshape([B, g, patch, g, patch, channels]).transpose([0, 1, 3, 2, 4, 5]).reshape([B, g * g, patch * patch * channels]);
      return proj(patches).add(pos);
    },
  };
}

/** Sinusoidal embedding of scalars t [B] → [B, d] with periods from minPeriod to maxPeriod (SmolVLA's time embedding). */
export function sinusoidal(t: tf.Tensor1D, d: number, minPeriod = 4e-3, maxPeriod = 4.0): tf.Tensor2D {
  const half = d / 2;
  const freqs = Array.from({ length: half }, (_, i) => (2 * Math.PI) / (minPeriod * Math.pow(maxPeriod / minPeriod, i / Math.max(1, half - 1))));
  const arg = t.expandDims(1).mul(tf.tensor1d(freqs).expandDims(0));
  return tf.concat([tf.sin(arg), tf.cos(arg)], 1) as tf.Tensor2D;
}
