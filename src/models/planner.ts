/**
 * The high-level planner: a Gemma-3-style vision-language decoder that reads the camera image (as soft tokens from a
 * small SigLIP-style ViT, average-pooled to a fixed number of tokens and projected) and the long-horizon instruction,
 * and writes the next low-level sub-task.
 *
 * Sequence layout: [image soft tokens (N)] [prompt: <bos> instruction <sep>, left-padded to P] [completion + <eos>].
 * Every row's completion starts at position N + P, so teacher-forced log-probabilities and batched generation share
 * one layout; padding is masked out of attention. Decoder layers follow Gemma 3: RMSNorm before and after attention
 * and MLP, GeGLU, RoPE, grouped-query attention, QK-norm, local sliding-window layers interleaved with global ones
 * (5:1 by default), embeddings scaled by √d and tied to the output. As in Gemma 3, the image tokens attend to each
 * other bidirectionally; and every later token sees every image token in every layer, local layers included (the
 * sliding window applies to text keys only): with a window shorter than the prompt, a completion token would
 * otherwise see the image only in the global layers.
 */
import * as tf from '@tensorflow/tfjs';
import { buildDecoderLayer, buildEncoder, type EncoderDims } from '../nn/blocks';
import type { KVCache } from '../nn/attention';
import { buildLinear, buildPatchEmbed, buildRMSNorm } from '../nn/layers';
import { buildKeypoints } from '../nn/keypoints';
import { ParamStore } from '../nn/params';
import { EOS, PAD } from '../text/tokenizer';
import { Rng } from '../util/rng';

export interface PlannerConfig {
  // ---- language model (Gemma 3 text decoder)
  vocab: number;
  width: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  mlp: number;
  /** Sliding window of local layers, and every `globalEvery`-th layer is global (Gemma 3: 1024 and 6 → 5:1). */
  window: number;
  globalEvery: number;
  ropeTheta: number;
  // ---- vision (SigLIP encoder → pooled soft tokens → projector)
  image: number;
  patch: number;
  vision: EncoderDims;
  imageTokens: number;
  /** Per-channel standardisation of pixels in [0, 1] (SigLIP: 0.5 and 0.5); the simulator's board is mostly dark. */
  pixelMean: [number, number, number];
  pixelStd: [number, number, number];
  /** Spatial-softmax keypoint tokens (nn/keypoints.ts) beside the patch tokens in the vision tower; they reach the decoder as soft tokens after the pooled ones. */
  keypoints?: { keypoints: number; cell: number; hidden: number };
  /**
   * Learned query tokens ("slots") that join the vision encoder's input and reach the decoder as soft tokens after the
   * others, as a Q-Former's or Perceiver resampler's queries do; slot k is trained to say where block k is (detect()).
   */
  slots?: number;
  // ---- sequence budget
  maxPrompt: number;
  maxCompletion: number;
}

export function validatePlannerConfig(c: PlannerConfig): void {
  const pos = (field: string, v: number) => {
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`PlannerConfig.${field} must be a positive integer (got ${v})`);
  };
  for (const k of ['vocab', 'width', 'layers', 'heads', 'kvHeads', 'headDim', 'mlp', 'window', 'globalEvery', 'image', 'patch', 'imageTokens', 'maxPrompt', 'maxCompletion'] as const) pos(k, c[k]);
  if (c.heads % c.kvHeads !== 0) throw new Error(`PlannerConfig.heads must be a multiple of kvHeads (got ${c.heads} and ${c.kvHeads})`);
  if (c.headDim % 2 !== 0) throw new Error(`PlannerConfig.headDim must be even for RoPE (got ${c.headDim})`);
  if (c.image % c.patch !== 0) throw new Error(`PlannerConfig.image must be a multiple of patch (got ${c.image} with patch ${c.patch})`);
  const g = c.image / c.patch;
  const s = Math.round(Math.sqrt(c.imageTokens));
  if (s * s !== c.imageTokens || g % s !== 0) throw new Error(`PlannerConfig.imageTokens must be a square dividing the ${g}×${g} patch grid (got ${c.imageTokens})`);
  for (const k of ['pixelMean', 'pixelStd'] as const) {
    const v = c[k];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => Number.isFinite(x) && (k === 'pixelMean' || x > 0))) {
      throw new Error(`PlannerConfig.${k} must be 3 finite numbers${k === 'pixelStd' ? ' > 0' : ''} (got ${JSON.stringify(v)})`);
    }
  }
  if (c.keypoints) {
    for (const f of ['keypoints', 'cell', 'hidden'] as const) pos(`keypoints.${f}`, c.keypoints[f]);
    if (c.image % c.keypoints.cell !== 0) throw new Error(`PlannerConfig.image must be a multiple of keypoints.cell (got ${c.image} with cell ${c.keypoints.cell})`);
  }
  if (c.slots !== undefined && c.slots !== 0) pos('slots', c.slots);
  if (c.vision.width % c.vision.heads !== 0) throw new Error(`PlannerConfig.vision.width must be a positive multiple of heads (got ${c.vision.width} with ${c.vision.heads} heads)`);
}

export interface PlannerInputs {
  /** [B, S, S, 3] in [0, 1], or null for text-only language modelling (image positions masked out). */
  images: tf.Tensor4D | null;
  /** Left-padded prompt ids [B, P] and mask. */
  promptIds: tf.Tensor2D;
  promptMask: tf.Tensor2D;
}

export interface GenerateOptions {
  maxNew: number;
  /** 0 → greedy. */
  temperature: number;
  topK?: number;
  topP?: number;
  rng?: Rng;
  useCache?: boolean;
}

/** tf.tidy for results that hold tensors inside plain objects (caches carry position arrays beside tensors). */
function tidyKeep<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

export class Planner {
  readonly ps: ParamStore;
  private readonly embed: tf.Variable;
  private readonly layers: ReturnType<typeof buildDecoderLayer>[];
  private readonly finalNorm;
  private readonly patch;
  private readonly visionEncoder;
  private readonly softNorm;
  private readonly projector;
  private readonly keypoints: ReturnType<typeof buildKeypoints> | null;
  private readonly slotQueries: tf.Variable | null;
  private readonly detectionHead: ReturnType<typeof buildLinear> | null;

  constructor(readonly config: PlannerConfig, seed: number, dry = false) {
    validatePlannerConfig(config);
    const c = config;
    this.ps = new ParamStore(new Rng(seed), dry);
    const ps = this.ps;
    this.patch = buildPatchEmbed(ps, 'vision_tower.vision_model.embeddings', c.image, c.patch, 3, c.vision.width);
    this.visionEncoder = buildEncoder(ps, 'vision_tower.vision_model', c.vision);
    this.keypoints = c.keypoints
      ? buildKeypoints(ps, 'vision_tower.vision_model.keypoints', { image: c.image, cell: c.keypoints.cell, channels: 3, hidden: c.keypoints.hidden, keypoints: c.keypoints.keypoints, d: c.vision.width })
      : null;
    this.slotQueries = c.slots ? ps.create('vision_tower.vision_model.slot_queries', [c.slots, c.vision.width], { kind: 'normal', std: 0.5 }) : null;
    this.detectionHead = c.slots ? buildLinear(ps, 'vision_tower.detection_head', c.vision.width, 2) : null;
    this.softNorm = buildRMSNorm(ps, 'multi_modal_projector.mm_soft_emb_norm', c.vision.width);
    // Unit-scale soft tokens, like the √d-scaled text embeddings (a 0.02-std projector made them 5× weaker than text).
    this.projector = buildLinear(ps, 'multi_modal_projector.mm_input_projection', c.vision.width, c.width, { bias: false, std: 1 / Math.sqrt(c.vision.width) });
    this.embed = ps.create('language_model.model.embed_tokens.weight', [c.vocab, c.width], { kind: 'normal', std: 1 / Math.sqrt(c.width) });
    const outStd = 0.02 / Math.sqrt(2 * c.layers);
    this.layers = Array.from({ length: c.layers }, (_, i) =>
      buildDecoderLayer(ps, `language_model.model.layers.${i}`, c, { outStd, ropeTheta: c.ropeTheta }),
    );
    this.finalNorm = buildRMSNorm(ps, 'language_model.model.norm', c.width);
  }

  get params(): Map<string, tf.Variable> {
    return this.ps.params;
  }

  /** Soft tokens of the image in the decoder's prefix: the pooled patch tokens, then the keypoint and slot tokens if any. */
  get prefixTokens(): number {
    return this.config.imageTokens + (this.config.keypoints?.keypoints ?? 0) + (this.config.slots ?? 0);
  }

  /** Window of layer i: Infinity for global layers. */
  layerWindow(i: number): number | undefined {
    return (i + 1) % this.config.globalEvery === 0 ? undefined : this.config.window;
  }

  /** The attention rules of layer i: causal, its window over text keys, the image tokens always visible. */
  layerAttention(i: number): { causal: true; window: number | undefined; prefix: number } {
    return { causal: true, window: this.layerWindow(i), prefix: this.prefixTokens };
  }

  /**
   * The vision tower on images [B, S, S, 3]: patch tokens, then keypoint tokens, then slot queries go through the
   * SigLIP encoder together. Returns the soft tokens for the decoder (pooled patches, keypoints, slots, projected) and
   * the encoder's slot outputs (for the detection head).
   */
  private vision(images: tf.Tensor4D): { soft: tf.Tensor3D; slots: tf.Tensor3D | null } {
    const c = this.config;
    const B = images.shape[0];
    const w = c.vision.width;
    const x = images.sub(tf.tensor1d(c.pixelMean)).div(tf.tensor1d(c.pixelStd));
    const g = c.image / c.patch;
    const K = c.keypoints?.keypoints ?? 0;
    const Q = c.slots ?? 0;
    const parts: tf.Tensor[] = [this.patch.fwd(x)];
    if (this.keypoints) parts.push(this.keypoints.fwd(x));
    if (this.slotQueries) parts.push(this.slotQueries.expandDims(0).tile([B, 1, 1]));
    const h = this.visionEncoder(parts.length > 1 ? tf.concat(parts, 1) : parts[0]);
    const s = Math.round(Math.sqrt(c.imageTokens));
    const f = g / s;
    const patches = parts.length > 1 ? h.slice([0, 0, 0], [B, g * g, w]) : h;
    const pooled = patches.reshape([B, s, f, s, f, w]).mean([2, 4]).reshape([B, c.imageTokens, w]);
    const rest = K + Q > 0 ? h.slice([0, g * g, 0], [B, K + Q, w]) : null;
    const soft = rest ? tf.concat([pooled, rest], 1) : pooled;
    return { soft: this.projector(this.softNorm(soft)) as tf.Tensor3D, slots: Q > 0 ? (h.slice([0, g * g + K, 0], [B, Q, w]) as tf.Tensor3D) : null };
  }

  private imageTokens(images: tf.Tensor4D): tf.Tensor3D {
    return this.vision(images).soft;
  }

  /**
   * Detection (PaliGemma's pre-training task, as regression): slot k's estimate of where block k of the block set is,
   * in the board coordinates the policy and grounding models use ([B, slots, 2]). Only the base planner's scene
   * pre-training trains it; it needs `slots`.
   */
  detect(images: tf.Tensor4D): tf.Tensor3D {
    if (!this.detectionHead) throw new Error('Planner.detect: this planner has no detection slots (PlannerConfig.slots)');
    const slots = this.vision(images).slots!;
    const [B, Q, w] = slots.shape;
    return this.detectionHead(slots.reshape([B * Q, w])).reshape([B, Q, 2]) as tf.Tensor3D;
  }

  private embedIds(ids: tf.Tensor2D): tf.Tensor3D {
    const [B, L] = ids.shape;
    // Gemma scales token embeddings by √d (image soft tokens are not scaled).
    return tf.gather(this.embed, ids.reshape([-1])).reshape([B, L, this.config.width]).mul(Math.sqrt(this.config.width)) as tf.Tensor3D;
  }

  /** Runs the decoder on embeddings x [B, T, d] at positions; returns final hidden states and per-layer caches. */
  private decode(x: tf.Tensor, positions: number[], keyMask: tf.Tensor2D, caches?: KVCache[]): { h: tf.Tensor; caches: KVCache[] } {
    const out: KVCache[] = [];
    this.layers.forEach((layer, i) => {
      const r = layer(x, { qPos: positions, keyMask, ...this.layerAttention(i), cache: caches?.[i] });
      x = r.x;
      out.push(r.cache);
    });
    return { h: this.finalNorm(x), caches: out };
  }

  private logits(h: tf.Tensor): tf.Tensor {
    const [B, T] = h.shape;
    return tf.matMul(h.reshape([B * T, this.config.width]), this.embed, false, true).reshape([B, T, this.config.vocab]);
  }

  /** Prefix embeddings and key mask: [image tokens (masked out when images is null)][prompt]. */
  private prefix(inp: PlannerInputs): { x: tf.Tensor3D; mask: tf.Tensor2D } {
    const B = inp.promptIds.shape[0];
    const N = this.prefixTokens;
    const img = inp.images ? this.imageTokens(inp.images) : tf.zeros([B, N, this.config.width]);
    const imgMask = inp.images ? tf.ones([B, N]) : tf.zeros([B, N]);
    return { x: tf.concat([img, this.embedIds(inp.promptIds)], 1) as tf.Tensor3D, mask: tf.concat([imgMask, inp.promptMask], 1) as tf.Tensor2D };
  }

  /**
   * Teacher-forced log-probabilities of completions [B, C] (right-padded, ending in <eos>) given the inputs: per-token
   * log-probs (0 where masked), their sum, and their mean over valid tokens (SimPO's length-normalised score).
   */
  logProb(inp: PlannerInputs, completionIds: tf.Tensor2D, completionMask: tf.Tensor2D): { perToken: tf.Tensor2D; sum: tf.Tensor1D; mean: tf.Tensor1D } {
    return tf.tidy(() => {
      const [B, C] = completionIds.shape;
      const pre = this.prefix(inp);
      const L0 = pre.x.shape[1];
      // Input is the prefix plus all completion tokens but the last; position L0−1+j predicts completion token j.
      const inIds = completionIds.slice([0, 0], [B, C - 1]);
      const x = C > 1 ? tf.concat([pre.x, this.embedIds(inIds)], 1) : pre.x;
      const mask = C > 1 ? tf.concat([pre.mask, completionMask.slice([0, 0], [B, C - 1])], 1) : pre.mask;
      const T = x.shape[1]!;
      const { h } = this.decode(x, [...Array(T).keys()], mask as tf.Tensor2D);
      const hc = h.slice([0, L0 - 1, 0], [B, C, this.config.width]);
      const logp = tf.logSoftmax(this.logits(hc));
      const picked = logp.mul(tf.oneHot(completionIds.reshape([-1]).toInt(), this.config.vocab).reshape([B, C, this.config.vocab])).sum(-1);
      const perToken = picked.mul(completionMask) as tf.Tensor2D;
      const sum = perToken.sum(1) as tf.Tensor1D;
      return { perToken, sum, mean: sum.div(completionMask.sum(1).maximum(1)) as tf.Tensor1D };
    });
  }

  /** Samples (or greedily decodes) completions token by token; returns token ids per row, without <eos>. */
  generate(inp: PlannerInputs, opts: GenerateOptions): number[][] {
    return this.generateWithLogProbs(inp, opts).ids;
  }

  /** As generate, also returning log p of every emitted token (including <eos>) under the model (temperature 1). */
  generateWithLogProbs(inp: PlannerInputs, opts: GenerateOptions): { ids: number[][]; logProbs: number[][] } {
    const B = inp.promptIds.shape[0];
    const rng = opts.rng ?? new Rng(0);
    const out: number[][] = Array.from({ length: B }, () => []);
    const done = new Array<boolean>(B).fill(false);
    const pre = tidyKeep(() => this.prefix(inp));
    const L0 = pre.x.shape[1];
    let caches: KVCache[] | undefined;
    let keyMask = pre.mask;
    let last: tf.Tensor2D;
    // Prefill: one pass over the whole prefix.
    {
      const r = tidyKeep(() => {
        const d = this.decode(pre.x, [...Array(L0).keys()], pre.mask);
        return { logits: this.logits(d.h.slice([0, L0 - 1, 0], [B, 1, -1])).reshape([B, this.config.vocab]), caches: d.caches };
      });
      last = r.logits as tf.Tensor2D;
      caches = opts.useCache === false ? undefined : r.caches;
      if (opts.useCache === false) tf.dispose(r.caches.flatMap((c) => [c.k, c.v]));
    }
    const generated: number[][] = Array.from({ length: B }, () => []);
    const logProbs: number[][] = Array.from({ length: B }, () => []);
    for (let step = 0; step < opts.maxNew; step++) {
      const logits = last.arraySync() as number[][];
      last.dispose();
      const next = logits.map((row, b) => (done[b] ? PAD : sampleToken(row, opts, rng)));
      next.forEach((t, b) => {
        if (done[b]) return;
        const row = logits[b];
        const max = Math.max(...row);
        logProbs[b].push(row[t] - max - Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)));
        if (t === EOS) done[b] = true;
        else out[b].push(t);
      });
      next.forEach((t, b) => generated[b].push(t));
      if (done.every(Boolean) || step === opts.maxNew - 1) break;
      const pos = L0 + step;
      const nextMask = tf.tensor2d(next.map((t) => (t === PAD ? 0 : 1)), [B, 1]);
      if (caches) {
        const r = tidyKeep(() => {
          const km = tf.concat([keyMask, nextMask], 1) as tf.Tensor2D;
          const d = this.decode(this.embedIds(tf.tensor2d(next, [B, 1], 'int32')), [pos], km, caches);
          return { logits: this.logits(d.h).reshape([B, this.config.vocab]) as tf.Tensor2D, caches: d.caches, km };
        });
        tf.dispose(caches.flatMap((c) => [c.k, c.v]));
        if (keyMask !== pre.mask) keyMask.dispose();
        caches = r.caches;
        keyMask = r.km;
        last = r.logits;
      } else {
        // No cache: recompute the whole sequence (only for the speed comparison in bench/models.ts).
        last = tf.tidy(() => {
          const ids = tf.tensor2d(generated.map((g) => g), [B, generated[0].length], 'int32');
          const x = tf.concat([pre.x, this.embedIds(ids)], 1);
          const km = tf.concat([pre.mask, tf.ones(ids.shape)], 1) as tf.Tensor2D;
          const T = x.shape[1]!;
          const d = this.decode(x, [...Array(T).keys()], km);
          return this.logits(d.h.slice([0, T - 1, 0], [B, 1, -1])).reshape([B, this.config.vocab]) as tf.Tensor2D;
        });
      }
      nextMask.dispose();
    }
    if (caches) tf.dispose(caches.flatMap((c) => [c.k, c.v]));
    if (keyMask !== pre.mask) keyMask.dispose();
    tf.dispose([pre.x, pre.mask]);
    return { ids: out, logProbs };
  }

  dispose(): void {
    this.ps.dispose();
  }
}

/** Greedy when temperature is 0; otherwise temperature, then top-k, then top-p (nucleus) filtering, then a draw. */
export function sampleToken(logits: number[], opts: { temperature: number; topK?: number; topP?: number }, rng: Rng): number {
  if (!(opts.temperature > 0)) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  const order = [...logits.keys()].sort((a, b) => logits[b] - logits[a]);
  const k = Math.min(opts.topK && opts.topK > 0 ? opts.topK : order.length, order.length);
  const kept = order.slice(0, k);
  const max = logits[kept[0]];
  let probs = kept.map((i) => Math.exp((logits[i] - max) / opts.temperature));
  let z = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / z);
  if (opts.topP !== undefined && opts.topP < 1) {
    let cum = 0;
    let n = 0;
    while (n < probs.length && cum < opts.topP) cum += probs[n++];
    probs = probs.slice(0, Math.max(1, n));
    z = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / z);
  }
  let u = rng.random();
  for (let i = 0; i < probs.length; i++) {
    u -= probs[i];
    if (u <= 0) return kept[i];
  }
  return kept[probs.length - 1];
}
