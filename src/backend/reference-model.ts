/**
 * A small model that exercises every kernel the package's training needs — embedding gather (→ UnsortedSegmentSum
 * in the backward pass), strided convolutions (→ Conv2DBackpropFilter), batched attention products and the
 * transposed products of every matmul gradient, layer norm, softmax — used by the backend gradient test and by
 * `npm run bench -- backend` (the "reference model": d_model 128, 2 layers, batch 16, seq 32, 64×64 images, ≈0.5M
 * parameters, the same shape as the PyTorch comparison in the performance issue).
 *
 * Structure: a 3-layer conv encoder of the image yields FiLM (γ, β) for each transformer block; token embeddings
 * (+ learned positions) pass through pre-norm transformer blocks modulated by FiLM; logits are tied to the embedding;
 * the loss is next-token cross-entropy. GELU (tanh form) instead of ReLU keeps the loss smooth for finite differences.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';

export interface ReferenceModelConfig {
  vocab: number;
  dModel: number;
  heads: number;
  layers: number;
  seq: number;
  image: number;
  convChannels: [number, number, number];
}

export const REFERENCE_MODEL: ReferenceModelConfig = {
  vocab: 256,
  dModel: 128,
  heads: 4,
  layers: 2,
  seq: 32,
  image: 64,
  convChannels: [16, 32, 64],
};

export type Params = Record<string, tf.Variable>;

export function initReferenceModel(cfg: ReferenceModelConfig, seed: number): Params {
  const rng = new Rng(seed);
  const p: Params = {};
  const v = (name: string, shape: number[], std: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    p[name] = tf.variable(tf.tensor(std === 0 ? new Float32Array(n) : rng.normals(n, std), shape), true, name);
  };
  const ones = (name: string, shape: number[]) => {
    p[name] = tf.variable(tf.ones(shape), true, name);
  };
  const d = cfg.dModel;
  v('embed', [cfg.vocab, d], 0.02);
  v('pos', [cfg.seq, d], 0.02);
  let cin = 3;
  cfg.convChannels.forEach((c, i) => {
    v(`conv${i}.w`, [3, 3, cin, c], Math.sqrt(2 / (9 * cin)));
    v(`conv${i}.b`, [c], 0);
    cin = c;
  });
  for (let l = 0; l < cfg.layers; l++) {
    v(`film${l}.w`, [cin, 2 * d], 0.02);
    v(`film${l}.b`, [2 * d], 0);
    ones(`ln1_${l}.g`, [d]);
    v(`ln1_${l}.b`, [d], 0);
    v(`attn${l}.qkv`, [d, 3 * d], 0.02);
    v(`attn${l}.o`, [d, d], 0.02 / Math.sqrt(2 * cfg.layers));
    ones(`ln2_${l}.g`, [d]);
    v(`ln2_${l}.b`, [d], 0);
    v(`mlp${l}.w1`, [d, 4 * d], 0.02);
    v(`mlp${l}.w2`, [4 * d, d], 0.02 / Math.sqrt(2 * cfg.layers));
  }
  ones('lnf.g', [d]);
  v('lnf.b', [d], 0);
  return p;
}

const gelu = (x: tf.Tensor) =>
  tf.tidy(() => x.mul(0.5).mul(tf.tanh(x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1)));

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(1e-5))).mul(g).add(b);
}

/** Next-token cross-entropy of `tokens` [B, S] given `images` [B, H, W, 3]. */
export function referenceLoss(cfg: ReferenceModelConfig, p: Params, tokens: tf.Tensor2D, images: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [B, S] = tokens.shape;
    const d = cfg.dModel;
    const H = cfg.heads;
    const dh = d / H;
    let img: tf.Tensor = images;
    cfg.convChannels.forEach((_, i) => {
      img = gelu(tf.conv2d(img as tf.Tensor4D, p[`conv${i}.w`] as tf.Tensor4D, 2, 'same').add(p[`conv${i}.b`]));
    });
    const pooled = img.mean([1, 2]) as tf.Tensor2D; // [B, C]
    let x = tf.gather(p.embed, tokens.reshape([-1])).reshape([B, S, d]).add(p.pos.slice([0, 0], [S, d]));
    for (let l = 0; l < cfg.layers; l++) {
      const film = pooled.matMul(p[`film${l}.w`] as tf.Tensor2D).add(p[`film${l}.b`]).reshape([B, 1, 2 * d]);
      const gamma = film.slice([0, 0, 0], [B, 1, d]);
      const beta = film.slice([0, 0, d], [B, 1, d]);
      const h = layerNorm(x, p[`ln1_${l}.g`], p[`ln1_${l}.b`]).mul(gamma.add(1)).add(beta);
      const qkv = h.reshape([B * S, d]).matMul(p[`attn${l}.qkv`] as tf.Tensor2D).reshape([B, S, 3, H, dh]);
      const heads = (i: number) => qkv.slice([0, 0, i, 0, 0], [B, S, 1, H, dh]).reshape([B, S, H, dh]).transpose([0, 2, 1, 3]).reshape([B * H, S, dh]);
      const [q, k, v] = [heads(0), heads(1), heads(2)];
      const att = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(dh)));
      const o = tf.matMul(att, v).reshape([B, H, S, dh]).transpose([0, 2, 1, 3]).reshape([B * S, d]);
      x = x.add(o.matMul(p[`attn${l}.o`] as tf.Tensor2D).reshape([B, S, d]));
      const h2 = layerNorm(x, p[`ln2_${l}.g`], p[`ln2_${l}.b`]).reshape([B * S, d]);
      x = x.add(gelu(h2.matMul(p[`mlp${l}.w1`] as tf.Tensor2D)).matMul(p[`mlp${l}.w2`] as tf.Tensor2D).reshape([B, S, d]));
    }
    const hf = layerNorm(x, p['lnf.g'], p['lnf.b']).slice([0, 0, 0], [B, S - 1, d]).reshape([B * (S - 1), d]);
    const logits = hf.matMul(p.embed as tf.Tensor2D, false, true);
    const targets = tokens.slice([0, 1], [B, S - 1]).reshape([-1]);
    const logp = tf.logSoftmax(logits);
    const picked = tf.mul(logp, tf.oneHot(targets as tf.Tensor1D, cfg.vocab)).sum(-1);
    return picked.mean().neg() as tf.Scalar;
  });
}

/** A deterministic batch for the reference model. */
export function referenceBatch(cfg: ReferenceModelConfig, batch: number, seed: number): { tokens: tf.Tensor2D; images: tf.Tensor4D } {
  const rng = new Rng(seed);
  const tok = new Int32Array(batch * cfg.seq);
  for (let i = 0; i < tok.length; i++) tok[i] = rng.int(cfg.vocab);
  const img = new Float32Array(batch * cfg.image * cfg.image * 3);
  for (let i = 0; i < img.length; i++) img[i] = rng.random();
  return {
    tokens: tf.tensor2d(tok, [batch, cfg.seq], 'int32'),
    images: tf.tensor4d(img, [batch, cfg.image, cfg.image, 3]),
  };
}
