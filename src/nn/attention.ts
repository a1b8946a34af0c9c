/**
 * Multi-head attention with grouped-query heads (Hk key/value heads shared by H/Hk query heads each), rotary position
 * embeddings (RoPE, rotate-half form as in Gemma/Llama), optional QK-norm (RMSNorm over the head dimension, Gemma 3),
 * masks (causal, key padding, sliding window) and a key/value cache for generation.
 */
import * as tf from '@tensorflow/tfjs';
import { rmsNorm } from './norms';
import { buildLinear, type Fwd } from './layers';
import type { ParamStore } from './params';

export interface AttentionConfig {
  d: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Width of the key/value source when it differs from d (cross-attention). */
  kvInput?: number;
  rope: boolean;
  ropeTheta?: number;
  qkNorm: boolean;
  bias: boolean;
  outStd?: number;
}

export interface KVCache {
  k: tf.Tensor4D; // [B, Hk, T, dh]
  v: tf.Tensor4D;
  /** Absolute positions of the cached keys. */
  pos: number[];
}

export interface AttendOptions {
  /** Key/value source [B, Tk, kvInput] (cross-attention); defaults to x. */
  kv?: tf.Tensor;
  /** Absolute positions of the query rows and of the new key rows (RoPE, masks). */
  qPos: number[];
  kPos?: number[];
  /** 1 = key may be attended, 0 = padding; [B, Tk_total] over cached + new keys. */
  keyMask?: tf.Tensor2D;
  causal?: boolean;
  /** Sliding window: a query attends keys with qPos − kPos < window. */
  window?: number;
  /**
   * Keys at positions < prefix are visible to every query, whatever the causal and window rules (and so attend each
   * other both ways): Gemma 3's bidirectional image tokens, kept in sight of every later token in local layers too.
   */
  prefix?: number;
  /** Past keys/values (generation); the result's cache includes the new ones. */
  cache?: KVCache;
}

export interface Attention {
  (x: tf.Tensor, opts: AttendOptions): { out: tf.Tensor; cache: KVCache };
}

/** cos/sin tables [T, dh] for positions (frequencies θ^(−2i/dh), halves duplicated for rotate-half). */
export function ropeTables(positions: number[], dh: number, theta = 10000): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = dh / 2;
  // Generation asks for one position per step: keep a small JS-side cache of single-position rows.
  if (positions.length === 1) {
    const key = `${positions[0]}:${dh}:${theta}`;
    let row = ropeRowCache.get(key);
    if (!row) {
      row = { cos: new Float32Array(dh), sin: new Float32Array(dh) };
      for (let i = 0; i < half; i++) {
        const a = positions[0] * Math.pow(theta, (-2 * i) / dh);
        row.cos[i] = row.cos[i + half] = Math.cos(a);
        row.sin[i] = row.sin[i + half] = Math.sin(a);
      }
      if (ropeRowCache.size > 4096) ropeRowCache.clear();
      ropeRowCache.set(key, row);
    }
    return { cos: tf.tensor2d(row.cos, [1, dh]), sin: tf.tensor2d(row.sin, [1, dh]) };
  }
  const cos = new Float32Array(positions.length * dh);
  const sin = new Float32Array(positions.length * dh);
  positions.forEach((p, t) => {
    for (let i = 0; i < half; i++) {
      const a = p * Math.pow(theta, (-2 * i) / dh);
      cos[t * dh + i] = cos[t * dh + i + half] = Math.cos(a);
      sin[t * dh + i] = sin[t * dh + i + half] = Math.sin(a);
    }
  });
  return { cos: tf.tensor2d(cos, [positions.length, dh]), sin: tf.tensor2d(sin, [positions.length, dh]) };
}

const ropeRowCache = new Map<string, { cos: Float32Array; sin: Float32Array }>();

/**
 * rotate-half as a product with a fixed signed permutation R [dh, dh] (x·R = [−x₂, x₁]). Slicing x into halves and
 * concatenating them costs SplitV, Concat, Slice and PadV2 kernels in the backward pass (~43 ms of a ~500 ms planner
 * SFT step on a Zen-1 EPYC); a product is one kernel each way, on every backend (a 5-D Reverse was not: see
 * environment.md).
 */
function rotateHalfMatrix(dh: number): tf.Tensor2D {
  const key = `${tf.getBackend()}:${dh}`; // one per backend: a switch must not hand a kernel another backend's tensor
  let r = rotateCache.get(key);
  if (!r || r.isDisposed) {
    const half = dh / 2;
    const v = new Float32Array(dh * dh);
    for (let i = 0; i < half; i++) {
      v[(i + half) * dh + i] = -1;
      v[i * dh + i + half] = 1;
    }
    r = tf.keep(tf.tensor2d(v, [dh, dh]));
    rotateCache.set(key, r);
  }
  return r;
}
const rotateCache = new Map<string, tf.Tensor2D>();

/** Applies RoPE to x [B, H, T, dh]: x·cos + rotate_half(x)·sin. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const dh = x.shape[3];
  const rotated = x.reshape([-1, dh]).matMul(rotateHalfMatrix(dh)).reshape(x.shape);
  return x.mul(cos).add(rotated.mul(sin)) as tf.Tensor4D;
}

/** Additive mask [1 or B, 1, Tq, Tk]: 0 where allowed, −1e9 where masked. */
export function attentionMask(qPos: number[], kPos: number[], opts: { causal?: boolean; window?: number; prefix?: number; keyMask?: tf.Tensor2D }): tf.Tensor4D | null {
  let mask: tf.Tensor4D | null = null;
  const prefix = opts.prefix ?? 0;
  // Nothing to mask when every key is in the prefix, or at or before every query and inside the window (a generation step).
  const minQ = Math.min(...qPos);
  const maxQ = Math.max(...qPos);
  const trivial = kPos.every((k) => k < prefix || (k <= minQ && (!opts.window || maxQ - k < opts.window)));
  if ((opts.causal || opts.window) && !trivial) {
    const m = new Float32Array(qPos.length * kPos.length);
    qPos.forEach((q, i) =>
      kPos.forEach((k, j) => {
        const ok = k < prefix || ((!opts.causal || k <= q) && (!opts.window || q - k < opts.window));
        m[i * kPos.length + j] = ok ? 0 : -1e9;
      }),
    );
    mask = tf.tensor4d(m, [1, 1, qPos.length, kPos.length]);
  }
  if (opts.keyMask) {
    const km = opts.keyMask.sub(1).mul(1e9).expandDims(1).expandDims(1) as tf.Tensor4D; // [B,1,1,Tk]
    mask = mask ? (mask.add(km) as tf.Tensor4D) : km;
  }
  return mask;
}

export function buildAttention(ps: ParamStore, name: string, c: AttentionConfig): Attention {
  if (c.heads % c.kvHeads !== 0) throw new Error(`${name}: heads (${c.heads}) must be a multiple of kvHeads (${c.kvHeads})`);
  const kvIn = c.kvInput ?? c.d;
  const q = buildLinear(ps, `${name}.q_proj`, c.d, c.heads * c.headDim, { bias: c.bias });
  const k = buildLinear(ps, `${name}.k_proj`, kvIn, c.kvHeads * c.headDim, { bias: c.bias });
  const v = buildLinear(ps, `${name}.v_proj`, kvIn, c.kvHeads * c.headDim, { bias: c.bias });
  const o = buildLinear(ps, `${name}.o_proj`, c.heads * c.headDim, c.d, { bias: c.bias, std: c.outStd });
  const qNorm = c.qkNorm ? ps.create(`${name}.q_norm.weight`, [c.headDim], { kind: 'zeros' }) : null;
  const kNorm = c.qkNorm ? ps.create(`${name}.k_norm.weight`, [c.headDim], { kind: 'zeros' }) : null;
  const rms = (x: tf.Tensor, w: tf.Tensor) => rmsNorm(x, w, 1e-6);
  const group = c.heads / c.kvHeads;
  const split = (x: tf.Tensor, heads: number) => {
    const [B, T] = x.shape;
    return x.reshape([B, T, heads, c.headDim]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
  };
  return (x, opts) => {
    const [B, Tq] = x.shape;
    const src = opts.kv ?? x;
    let qh = split(q(x), c.heads);
    let kh = split(k(src), c.kvHeads);
    const vh = split(v(src), c.kvHeads);
    if (qNorm && kNorm) {
      qh = rms(qh, qNorm) as tf.Tensor4D;
      kh = rms(kh, kNorm) as tf.Tensor4D;
    }
    const kPosNew = opts.kPos ?? opts.qPos;
    if (c.rope) {
      const tq = ropeTables(opts.qPos, c.headDim, c.ropeTheta);
      qh = applyRope(qh, tq.cos, tq.sin);
      const tk = ropeTables(kPosNew, c.headDim, c.ropeTheta);
      kh = applyRope(kh, tk.cos, tk.sin);
    }
    const kAll = opts.cache ? (tf.concat([opts.cache.k, kh], 2) as tf.Tensor4D) : kh;
    const vAll = opts.cache ? (tf.concat([opts.cache.v, vh], 2) as tf.Tensor4D) : vh;
    const Tk = kAll.shape[2];
    // Grouped-query attention without materialising repeated keys/values: the `group` query heads that share a
    // key/value head are stacked as extra query rows, so each product is [B·Hk, group·Tq, dh] × [B·Hk, Tk, dh]ᵀ.
    // (Head h uses key/value head ⌊h / group⌋, as in Gemma and Llama.)
    const qG = qh.reshape([B * c.kvHeads, group * Tq, c.headDim]);
    const kG = kAll.reshape([B * c.kvHeads, Tk, c.headDim]);
    const vG = vAll.reshape([B * c.kvHeads, Tk, c.headDim]);
    let scores = tf.matMul(qG, kG, false, true).mul(1 / Math.sqrt(c.headDim)).reshape([B, c.heads, Tq, Tk]);
    const kPosAll = opts.cache ? [...opts.cache.pos, ...kPosNew] : kPosNew;
    const mask = attentionMask(opts.qPos, kPosAll, { causal: opts.causal, window: opts.window, prefix: opts.prefix, keyMask: opts.keyMask });
    if (mask) scores = scores.add(mask);
    const att = tf.softmax(scores).reshape([B * c.kvHeads, group * Tq, Tk]);
    const out = tf.matMul(att, vG).reshape([B, c.heads, Tq, c.headDim]).transpose([0, 2, 1, 3]).reshape([B, Tq, c.heads * c.headDim]);
    return { out: o(out), cache: { k: kAll, v: vAll, pos: kPosAll } };
  };
}
