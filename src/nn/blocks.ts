/**
 * Transformer blocks built from the shared layers: the SigLIP encoder layer (pre-LayerNorm, GELU MLP, optional FiLM
 * after the first norm) and the Gemma 3 decoder layer (RMSNorm before and after attention and MLP, GeGLU).
 */
import * as tf from '@tensorflow/tfjs';
import { buildAttention, type AttendOptions, type KVCache } from './attention';
import { buildGeGLU, buildLayerNorm, buildMLP, buildRMSNorm, film } from './layers';
import type { ParamStore } from './params';

export interface EncoderDims {
  width: number;
  layers: number;
  heads: number;
  mlp: number;
}

/** SigLIP encoder layer: x + attn(FiLM(LN(x))); x + mlp(LN(x)). FiLM (γ, β) per example when given. */
export function buildEncoderLayer(ps: ParamStore, name: string, d: EncoderDims) {
  const ln1 = buildLayerNorm(ps, `${name}.layer_norm1`, d.width);
  const attn = buildAttention(ps, `${name}.self_attn`, { d: d.width, heads: d.heads, kvHeads: d.heads, headDim: d.width / d.heads, rope: false, qkNorm: false, bias: true });
  const ln2 = buildLayerNorm(ps, `${name}.layer_norm2`, d.width);
  const mlp = buildMLP(ps, `${name}.mlp`, d.width, d.mlp);
  return (x: tf.Tensor, keyMask?: tf.Tensor2D, mod?: { gamma: tf.Tensor; beta: tf.Tensor }) => {
    let h = ln1(x);
    if (mod) h = film(h, mod.gamma, mod.beta);
    const T = x.shape[1]!;
    x = x.add(attn(h, { qPos: [...Array(T).keys()], keyMask }).out);
    return x.add(mlp(ln2(x)));
  };
}

/** A stack of encoder layers with a final LayerNorm (the SigLIP towers' `encoder` + `post_layernorm`). */
export function buildEncoder(ps: ParamStore, name: string, d: EncoderDims, finalNorm = 'post_layernorm') {
  const layers = Array.from({ length: d.layers }, (_, i) => buildEncoderLayer(ps, `${name}.encoder.layers.${i}`, d));
  const post = buildLayerNorm(ps, `${name}.${finalNorm}`, d.width);
  return (x: tf.Tensor, keyMask?: tf.Tensor2D, mods?: { gamma: tf.Tensor; beta: tf.Tensor }[]) => {
    layers.forEach((layer, i) => {
      x = layer(x, keyMask, mods?.[i]);
    });
    return post(x);
  };
}

/** Masked mean over tokens: x [B, T, d], mask [B, T] → [B, d]. */
export function maskedMean(x: tf.Tensor, mask?: tf.Tensor2D): tf.Tensor2D {
  if (!mask) return x.mean(1) as tf.Tensor2D;
  const m = mask.expandDims(-1);
  return x.mul(m).sum(1).div(m.sum(1).maximum(1)) as tf.Tensor2D;
}

export interface DecoderDims {
  width: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  mlp: number;
}

/** Gemma 3 decoder layer (pre- and post-norms around attention and MLP; GQA, RoPE, QK-norm). */
export function buildDecoderLayer(ps: ParamStore, name: string, d: DecoderDims, opts: { outStd: number; ropeTheta: number }) {
  const inNorm = buildRMSNorm(ps, `${name}.input_layernorm`, d.width);
  const attn = buildAttention(ps, `${name}.self_attn`, { d: d.width, heads: d.heads, kvHeads: d.kvHeads, headDim: d.headDim, rope: true, ropeTheta: opts.ropeTheta, qkNorm: true, bias: false, outStd: opts.outStd });
  const postAttn = buildRMSNorm(ps, `${name}.post_attention_layernorm`, d.width);
  const preFfw = buildRMSNorm(ps, `${name}.pre_feedforward_layernorm`, d.width);
  const mlp = buildGeGLU(ps, `${name}.mlp`, d.width, d.mlp, opts.outStd);
  const postFfw = buildRMSNorm(ps, `${name}.post_feedforward_layernorm`, d.width);
  return (x: tf.Tensor, att: AttendOptions): { x: tf.Tensor; cache: KVCache } => {
    const a = attn(inNorm(x), att);
    x = x.add(postAttn(a.out));
    x = x.add(postFfw(mlp(preFfw(x))));
    return { x, cache: a.cache };
  };
}
