/**
 * Spatial-softmax keypoint tokens (Levine, Finn et al. 2016, "End-to-end training of deep visuomotor policies";
 * robomimic's and Diffusion Policy's `SpatialSoftmax`): a small per-cell feature map, one softmax over the cells per
 * keypoint channel, and the expected image coordinates under it. Each keypoint becomes one token: a learned
 * embedding of its index, plus a projection of its coordinates (with Fourier features, for precision) and of the
 * features averaged under its softmax (what it is looking at).
 *
 * Why the models need it: the simulator's blocks are ~5 px wide on a 64 px image and cover ~2% of it; a 16-px ViT
 * patch sees where a block is only to a quarter of the board, while pushing a block, naming where it is, or telling
 * which block the effector moved needs its position to about a block's width. A keypoint channel that learns "red
 * pixels" reports the red block's position to sub-cell precision from its first training steps — the inductive bias
 * that visuomotor policies have used since 2016 — and the transformer above reads coordinates, not textures.
 *
 * The feature map is a stride-`cell` patchify and a two-layer per-cell MLP (a 1×1-convolution stack after a
 * cell×cell convolution), so every product is a 2-D matmul, as everywhere else in the package.
 */
import * as tf from '@tensorflow/tfjs';
import { buildLinear, gelu } from './layers';
import type { ParamStore } from './params';

export interface KeypointDims {
  /** Input image side (square) and the cell side of the feature map (image % cell === 0). */
  image: number;
  cell: number;
  channels: number;
  /** Width of the per-cell feature MLP. */
  hidden: number;
  /** Keypoint channels (tokens out). */
  keypoints: number;
  /** Token width. */
  d: number;
  /** Fourier frequencies of the coordinates: sin/cos(π·2^i·u) for i < frequencies. */
  frequencies?: number;
  /**
   * Each token also carries its keypoint's offsets to every other keypoint (c_k − c_j, with the same Fourier
   * features). A push needs the block's position relative to the effector and the goal to a few millimetres; from
   * absolute coordinates a network has to learn that subtraction, from offsets it reads it (environment.md, "The
   * demonstrations can be cloned": a state MLP succeeds closed loop in 0.95 of sub-tasks from offsets, 0.12 from
   * absolute positions).
   */
  relative?: boolean;
}

/** Keypoint tokens and the coordinates behind them: what `buildKeypoints` returns. */
export interface Keypoints {
  /** Tokens [B, K, d] of standardised images [B, S, S, C]. */
  fwd: (x: tf.Tensor) => tf.Tensor3D;
  /** Tokens and the expected (row, column) of each keypoint in [−1, 1] ([B, K, 2]), from one pass. */
  forward: (x: tf.Tensor) => { tokens: tf.Tensor3D; coords: tf.Tensor3D };
  tokens: number;
}

/** Pairwise offsets of coordinates [B, K, 2] → [B, K, K, 2]: entry (k, j) is c_k − c_j. */
export function pairwiseOffsets(coords: tf.Tensor3D): tf.Tensor4D {
  return coords.expandDims(2).sub(coords.expandDims(1)) as tf.Tensor4D;
}

/** Cell centres of a g×g grid in [−1, 1]: [g·g, 2] as (row, column), row-major like the patchify below. */
export function cellGrid(g: number): tf.Tensor2D {
  const v = new Float32Array(g * g * 2);
  for (let r = 0; r < g; r++) {
    for (let c = 0; c < g; c++) {
      v[2 * (r * g + c)] = ((r + 0.5) / g) * 2 - 1;
      v[2 * (r * g + c) + 1] = ((c + 0.5) / g) * 2 - 1;
    }
  }
  return tf.tensor2d(v, [g * g, 2]);
}

/** Coordinates [..., 2] → [..., 2 + 4·F]: the coordinates, then sin and cos of π·2^i times each. */
export function fourierFeatures(u: tf.Tensor, frequencies: number): tf.Tensor {
  if (frequencies === 0) return u;
  const scales = tf.tensor1d(Array.from({ length: frequencies }, (_, i) => Math.PI * 2 ** i));
  const shape = u.shape;
  const arg = u.expandDims(-1).mul(scales).reshape([...shape.slice(0, -1), 2 * frequencies]);
  return tf.concat([u, tf.sin(arg), tf.cos(arg)], -1);
}

/**
 * Softmax over cells of logits [B, N, K] → expected coordinates [B, K, 2] and features [B, K, F] averaged under it
 * (features [B, N, F], grid [N, 2]). Pure: the tested core of the module.
 */
export function spatialSoftmax(logits: tf.Tensor3D, features: tf.Tensor3D, grid: tf.Tensor2D): { coords: tf.Tensor3D; pooled: tf.Tensor3D; attention: tf.Tensor3D } {
  const [B, N, K] = logits.shape;
  const attention = tf.softmax(logits.transpose([0, 2, 1])) as tf.Tensor3D; // [B, K, N], softmax over cells
  const coords = tf.matMul(attention.reshape([B * K, N]), grid).reshape([B, K, 2]) as tf.Tensor3D;
  const pooled = tf.matMul(attention, features) as tf.Tensor3D; // [B, K, F]
  return { coords, pooled, attention };
}

/** Keypoint tokens of images [B, S, S, C] (already standardised) → [B, K, d]. */
export function buildKeypoints(ps: ParamStore, name: string, k: KeypointDims): Keypoints {
  if (k.image % k.cell !== 0) throw new Error(`keypoints: image size ${k.image} is not a multiple of the cell size ${k.cell}`);
  const F = k.frequencies ?? 4;
  const g = k.image / k.cell;
  const N = g * g;
  const fc1 = buildLinear(ps, `${name}.cell_proj`, k.cell * k.cell * k.channels, k.hidden, { std: Math.sqrt(1 / (k.cell * k.cell * k.channels)) });
  const fc2 = buildLinear(ps, `${name}.cell_mlp`, k.hidden, k.hidden, { std: Math.sqrt(1 / k.hidden) });
  // No bias: a per-channel constant cancels in the softmax over cells, so its gradient is zero up to rounding, and
  // Adam would turn that rounding into full-size steps (weights that differ between summation orders).
  const logitsProj = buildLinear(ps, `${name}.keypoint_logits`, k.hidden, k.keypoints, { bias: false, std: Math.sqrt(1 / k.hidden) });
  const coordProj = buildLinear(ps, `${name}.coord_proj`, 2 + 4 * F, k.d, { std: 0.5 / Math.sqrt(2 + 4 * F) });
  const featProj = buildLinear(ps, `${name}.feature_proj`, k.hidden, k.d, { bias: false, std: 0.5 / Math.sqrt(k.hidden) });
  const index = ps.create(`${name}.index_embedding.weight`, [k.keypoints, k.d], { kind: 'normal', std: 0.02 });
  const K = k.keypoints;
  const relProj = k.relative ? buildLinear(ps, `${name}.offset_proj`, K * (2 + 4 * F), k.d, { bias: false, std: 0.5 / Math.sqrt(K * (2 + 4 * F)) }) : null;
  const forward = (x: tf.Tensor) => {
    const B = x.shape[0]!;
    const cells = x.reshape([B, g, k.cell, g, k.cell, k.channels]).transpose([0, 1, 3, 2, 4, 5]).reshape([B, N, k.cell * k.cell * k.channels]);
    const h = gelu(fc2(gelu(fc1(cells)))) as tf.Tensor3D;
    const grid = cellGrid(g);
    const { coords, pooled } = spatialSoftmax(logitsProj(h) as tf.Tensor3D, h, grid);
    let tokens = coordProj(fourierFeatures(coords, F)).add(featProj(pooled)).add(index) as tf.Tensor3D;
    if (relProj) tokens = tokens.add(relProj(fourierFeatures(pairwiseOffsets(coords), F).reshape([B, K, K * (2 + 4 * F)]))) as tf.Tensor3D;
    return { tokens, coords };
  };
  return { tokens: K, forward, fwd: (x) => forward(x).tokens };
}
