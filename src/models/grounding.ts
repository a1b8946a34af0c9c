/**
 * The action-conditioned grounding model (GPLA §2): a SigLIP-2-style dual encoder whose vision tower is modulated by
 * FiLM from an encoded action trajectory, so the visual side embeds "this scene and these actions"; the text side
 * embeds a sub-task description; the cosine of the two scores how well the language describes what was done.
 * Trained with symmetric InfoNCE (src/train/losses.ts), not SigLIP's sigmoid loss. `conditioning: 'none'` gives the
 * plain image–text model (the ablation).
 *
 * Pooling: text — mean over valid tokens, then a linear head. Vision — `pooling: 'mean'` averages the patch tokens;
 * `'attention'` adds a one-query attention pool over them (SigLIP's MAP head, cut to its core) whose query is a learned
 * probe plus, with action conditioning, a projection of the encoded trajectory. The blocks cover ~2% of the pixels and
 * the one that moved is where the effector went, so a mean over the board dilutes exactly what the text names; the
 * trajectory-driven query lets the model look where the actions were. Its projections start at zero, so the pool
 * starts as the mean and the model as the plain one.
 *
 * Input standardisation: pixels are standardised per channel (`pixelMean`, `pixelStd`; the small preset uses the
 * simulator's measured statistics, presets.ts): the board is dark and uniform, so (x − 0.5)/0.5 maps nearly every
 * pixel to the same value and the blocks to small deviations.
 *
 * Keypoint tokens (`keypoints`, nn/keypoints.ts) join the patch tokens in the vision tower, so FiLM and the pools see
 * where each block is to sub-cell precision: which block the trajectory started at is what the text's block name
 * says (validation semantic recall@5 0.49 → 0.71 in environment.md's probe).
 */
import * as tf from '@tensorflow/tfjs';
import { buildEncoder, maskedMean, type EncoderDims } from '../nn/blocks';
import { buildKeypoints } from '../nn/keypoints';
import { buildLinear, buildPatchEmbed } from '../nn/layers';
import { ParamStore } from '../nn/params';
import { Rng } from '../util/rng';

export interface GroundingConfig {
  // ---- conditioning (the paper's contribution and its ablation)
  conditioning: 'action' | 'none';
  // ---- vision tower (ViT)
  image: number;
  patch: number;
  vision: EncoderDims;
  /** Per-channel pixel statistics of the training images (RGB in [0, 1]); [0.5, 0.5, 0.5] twice is SigLIP's (x − 0.5)/0.5. */
  pixelMean: [number, number, number];
  pixelStd: [number, number, number];
  /** Spatial-softmax keypoint tokens (nn/keypoints.ts) beside the patch tokens: where each block is, to sub-cell precision. */
  keypoints?: { keypoints: number; cell: number; hidden: number };
  /** 'mean' over patch tokens, or 'attention': mean + a probe/trajectory-query attention pool (see above). */
  pooling: 'mean' | 'attention';
  // ---- text tower
  vocab: number;
  maxText: number;
  text: EncoderDims;
  // ---- trajectory encoder (per step: action Δx, Δy, effector x, y)
  trajectoryLength: number;
  action: EncoderDims;
  // ---- shared embedding and temperature (CLIP: 1/0.07, clamped at 100)
  embed: number;
  logitScaleInit: number;
  logitScaleMax: number;
}

export function validateGroundingConfig(c: GroundingConfig): void {
  const pos = (field: string, v: number) => {
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`GroundingConfig.${field} must be a positive integer (got ${v})`);
  };
  if (c.conditioning !== 'action' && c.conditioning !== 'none') throw new Error(`GroundingConfig.conditioning must be "action" or "none" (got ${c.conditioning})`);
  for (const [k, v] of [['image', c.image], ['patch', c.patch], ['vocab', c.vocab], ['maxText', c.maxText], ['trajectoryLength', c.trajectoryLength], ['embed', c.embed]] as const) pos(k, v);
  if (c.pooling !== 'mean' && c.pooling !== 'attention') throw new Error(`GroundingConfig.pooling must be "mean" or "attention" (got ${c.pooling})`);
  for (const f of ['pixelMean', 'pixelStd'] as const) {
    const v = c[f];
    if (!(Array.isArray(v) && v.length === 3 && v.every((x) => Number.isFinite(x) && (f === 'pixelMean' || x > 0)))) throw new Error(`GroundingConfig.${f} must be 3 finite numbers${f === 'pixelStd' ? ' > 0' : ''} (got ${JSON.stringify(v)})`);
  }
  if (c.image % c.patch !== 0) throw new Error(`GroundingConfig.image must be a multiple of patch (got ${c.image} with patch ${c.patch})`);
  if (c.keypoints) {
    for (const f of ['keypoints', 'cell', 'hidden'] as const) pos(`keypoints.${f}`, c.keypoints[f]);
    if (c.image % c.keypoints.cell !== 0) throw new Error(`GroundingConfig.image must be a multiple of keypoints.cell (got ${c.image} with cell ${c.keypoints.cell})`);
  }
  for (const tower of ['vision', 'text', 'action'] as const) {
    const d = c[tower];
    for (const k of ['width', 'layers', 'heads', 'mlp'] as const) pos(`${tower}.${k}`, d[k]);
    if (d.width % d.heads !== 0) throw new Error(`GroundingConfig.${tower}.width must be a positive multiple of heads (got ${d.width} with ${d.heads} heads)`);
  }
  if (!(c.logitScaleInit > 0 && c.logitScaleInit <= c.logitScaleMax)) throw new Error(`GroundingConfig.logitScaleInit must be in (0, logitScaleMax] (got ${c.logitScaleInit})`);
}

/** Fixed scaling of trajectory features to O(1): actions are centimetres per step, positions centred on the board. */
export const TRAJECTORY_NORMALISATION = { actionScale: 20, xCenter: 0.375, xScale: 1 / 0.15, yScale: 1 / 0.2 };

export interface GroundingBatch {
  images: tf.Tensor4D; // [B, S, S, 3] in [0, 1]
  trajectories: tf.Tensor3D; // [B, T, 4]
  trajectoryMask: tf.Tensor2D; // [B, T]
}

export class GroundingModel {
  readonly ps: ParamStore;
  private readonly patch;
  private readonly visionEncoder;
  private readonly visionHead;
  private readonly keypoints: ReturnType<typeof buildKeypoints> | null;
  private readonly tokenEmbed: tf.Variable;
  private readonly textPos: tf.Variable;
  private readonly textEncoder;
  private readonly textHead;
  private readonly actionIn?: ReturnType<typeof buildLinear>;
  private readonly actionPos?: tf.Variable;
  private readonly actionEncoder?: ReturnType<typeof buildEncoder>;
  private readonly filmHeads: ReturnType<typeof buildLinear>[] = [];
  private readonly poolProbe?: tf.Variable;
  private readonly poolQuery?: ReturnType<typeof buildLinear>;
  readonly logitScale: tf.Variable;

  constructor(readonly config: GroundingConfig, seed: number, dry = false) {
    validateGroundingConfig(config);
    const c = config;
    this.ps = new ParamStore(new Rng(seed), dry);
    const ps = this.ps;
    this.patch = buildPatchEmbed(ps, 'vision_model.embeddings', c.image, c.patch, 3, c.vision.width);
    this.visionEncoder = buildEncoder(ps, 'vision_model', c.vision);
    this.visionHead = buildLinear(ps, 'vision_model.head', c.vision.width, c.embed);
    this.keypoints = c.keypoints
      ? buildKeypoints(ps, 'vision_model.keypoints', { image: c.image, cell: c.keypoints.cell, channels: 3, hidden: c.keypoints.hidden, keypoints: c.keypoints.keypoints, d: c.vision.width })
      : null;
    this.tokenEmbed = ps.create('text_model.embeddings.token_embedding.weight', [c.vocab, c.text.width], { kind: 'normal', std: 0.02 });
    this.textPos = ps.create('text_model.embeddings.position_embedding.weight', [c.maxText, c.text.width], { kind: 'normal', std: 0.02 });
    this.textEncoder = buildEncoder(ps, 'text_model', c.text, 'final_layer_norm');
    this.textHead = buildLinear(ps, 'text_model.head', c.text.width, c.embed);
    if (c.conditioning === 'action') {
      this.actionIn = buildLinear(ps, 'action_model.input_proj', 4, c.action.width);
      this.actionPos = ps.create('action_model.position_embedding.weight', [c.trajectoryLength, c.action.width], { kind: 'normal', std: 0.02 });
      this.actionEncoder = buildEncoder(ps, 'action_model', c.action);
      // FiLM generators start at zero: the conditioned tower starts as the plain image tower (identity FiLM).
      for (let l = 0; l < c.vision.layers; l++) this.filmHeads.push(buildLinear(ps, `film.layers.${l}`, c.action.width, 2 * c.vision.width, { zero: true }));
    }
    if (c.pooling === 'attention') {
      this.poolProbe = ps.create('vision_model.head.probe', [c.vision.width], { kind: 'zeros' });
      if (c.conditioning === 'action') this.poolQuery = buildLinear(ps, 'film.pool_query', c.action.width, c.vision.width, { zero: true });
    }
    this.logitScale = ps.create('logit_scale', [], { kind: 'const', value: Math.log(c.logitScaleInit) });
  }

  get params(): Map<string, tf.Variable> {
    return this.ps.params;
  }

  /** exp(logit_scale), clamped as CLIP does. */
  scale(): tf.Scalar {
    return tf.exp(this.logitScale).minimum(this.config.logitScaleMax) as tf.Scalar;
  }

  /** Normalised text embeddings [B, D] from token ids [B, L] and mask [B, L]. */
  encodeText(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, L] = ids.shape;
      const x = tf.gather(this.tokenEmbed, ids.reshape([-1])).reshape([B, L, this.config.text.width]).add(this.textPos.slice([0, 0], [L, -1]));
      const h = this.textEncoder(x, mask);
      return l2normalize(this.textHead(maskedMean(h, mask)) as tf.Tensor2D);
    });
  }

  /** The encoded trajectory, mean over valid steps [B, action.width], or null without conditioning. */
  private encodeTrajectory(traj: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D | null {
    if (!this.actionEncoder || !this.actionIn || !this.actionPos) return null;
    const n = TRAJECTORY_NORMALISATION;
    const T = traj.shape[1];
    const scaled = traj.mul(tf.tensor1d([n.actionScale, n.actionScale, n.xScale, n.yScale])).sub(tf.tensor1d([0, 0, n.xCenter * n.xScale, 0]));
    const h = this.actionEncoder(this.actionIn(scaled).add(this.actionPos.slice([0, 0], [T, -1])), mask);
    return maskedMean(h, mask);
  }

  /** Per-layer FiLM (γ, β) [B, width] from an encoded trajectory. */
  private filmFrom(pooled: tf.Tensor2D): { gamma: tf.Tensor; beta: tf.Tensor }[] {
    const w = this.config.vision.width;
    return this.filmHeads.map((head) => {
      const gb = head(pooled);
      return { gamma: gb.slice([0, 0], [-1, w]), beta: gb.slice([0, w], [-1, w]) };
    });
  }

  /** Per-layer FiLM (γ, β) [B, width] from trajectories, or null without conditioning. */
  filmParams(traj: tf.Tensor3D, mask: tf.Tensor2D): { gamma: tf.Tensor; beta: tf.Tensor }[] | null {
    const pooled = this.encodeTrajectory(traj, mask);
    return pooled ? this.filmFrom(pooled) : null;
  }

  /** Normalised vision(-action) embeddings [B, D]. */
  encodeVisionAction(b: GroundingBatch): tf.Tensor2D {
    return tf.tidy(() => {
      const c = this.config;
      const traj = this.encodeTrajectory(b.trajectories, b.trajectoryMask);
      const pixels = b.images.sub(tf.tensor1d(c.pixelMean)).div(tf.tensor1d(c.pixelStd));
      const patches = this.patch.fwd(pixels);
      const tokens = this.keypoints ? tf.concat([patches, this.keypoints.fwd(pixels)], 1) : patches;
      const h = this.visionEncoder(tokens, undefined, traj ? this.filmFrom(traj) : undefined); // [B, N, W]
      let pooled = h.mean(1) as tf.Tensor2D;
      if (this.poolProbe) {
        // One query per example: the probe, plus the trajectory's projection when conditioned.
        let q: tf.Tensor = this.poolProbe.expandDims(0);
        if (this.poolQuery && traj) q = q.add(this.poolQuery(traj));
        const att = tf.softmax(h.mul(q.expandDims(1)).sum(2).div(Math.sqrt(c.vision.width))); // [B, N]
        pooled = pooled.add(h.mul(att.expandDims(2)).sum(1)) as tf.Tensor2D;
      }
      return l2normalize(this.visionHead(pooled) as tf.Tensor2D);
    });
  }

  /** Cosine score of each (image, trajectory, text) triple [B]. */
  score(b: GroundingBatch, ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => this.encodeVisionAction(b).mul(this.encodeText(ids, mask)).sum(1) as tf.Tensor1D);
  }

  /** Mean |γ| and |β| per vision layer for a batch (the FiLM analysis); empty without conditioning. */
  filmMagnitudes(traj: tf.Tensor3D, mask: tf.Tensor2D): { layer: number; gamma: number; beta: number }[] {
    return tf.tidy(() => (this.filmParams(traj, mask) ?? []).map((m, layer) => ({ layer, gamma: m.gamma.abs().mean().dataSync()[0], beta: m.beta.abs().mean().dataSync()[0] })));
  }

  dispose(): void {
    this.ps.dispose();
  }
}

export function l2normalize(x: tf.Tensor2D): tf.Tensor2D {
  return x.div(tf.norm(x, 'euclidean', -1, true).add(1e-8)) as tf.Tensor2D;
}
