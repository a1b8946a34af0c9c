/**
 * The low-level policy: a SmolVLA-style vision-language-action model (languagetable.md §5.1).
 *
 * Backbone: image patch tokens, sub-task text tokens and one state token (effector x, y) pass through decoder-style
 * layers (RMSNorm, GQA, GeGLU; bidirectional over the prefix, as SmolVLA's image and language tokens are).
 * Action expert: 0.75× the backbone width, one layer per backbone layer. Even layers are joint self-attention: the
 * action tokens attend to the backbone's tokens at that layer (projected to the expert width) and causally to each
 * other; odd layers are cross-attention from the action tokens to the backbone layer's keys/values.
 * Flow matching: t ~ Beta(1.5, 1)·0.999 + 0.001, x_t = t·ε + (1 − t)·a, the expert predicts u = ε − a (MSE); at
 * inference the chunk starts at t = 1 from N(0, I) and takes N Euler steps of dt = −1/N, reusing the backbone pass.
 */
import * as tf from '@tensorflow/tfjs';
import { buildAttention } from '../nn/attention';
import { buildDecoderLayer, type DecoderDims } from '../nn/blocks';
import { buildKeypoints, type Keypoints } from '../nn/keypoints';
import { buildGeGLU, buildLinear, buildPatchEmbed, buildRMSNorm, sinusoidal } from '../nn/layers';
import { ParamStore } from '../nn/params';
import { CENTER_X, CENTER_Y } from '../sim/constants';
import { Rng } from '../util/rng';

export interface PolicyConfig {
  // ---- inputs
  image: number;
  patch: number;
  vocab: number;
  maxText: number;
  // ---- backbone (SmolVLM's text layers, truncated)
  backbone: DecoderDims & { layers: number };
  // ---- action expert (0.75× width in SmolVLA)
  expertWidth: number;
  expertHeads: number;
  expertMlp: number;
  // ---- actions
  chunk: number;
  actionDim: number;
  /** Euler steps at inference (SmolVLA: 10). */
  steps: number;
  /** Actions are divided by this before flow matching (≈ their std in metres per step). */
  actionScale: number;
  /**
   * What the action expert's output means: 'velocity' u = ε − a (SmolVLA, the default) or 'action' â, the clean chunk
   * (x-prediction; the velocity is then (x_t − â)/t and the loss is the MSE on â).
   */
  prediction?: 'velocity' | 'action';
  /** Actions of each chunk executed before the next observation (LeRobot's n_action_steps; default: the whole chunk). */
  executeSteps?: number;
  // ---- optional visual inputs (absent: pixels scaled to [−1, 1], patch tokens only)
  /** Per-channel pixel standardisation (the simulator's board is dark grey; blocks cover ~2% of it). */
  pixelMean?: [number, number, number];
  pixelStd?: [number, number, number];
  /**
   * Spatial-softmax keypoint tokens added to the prefix (nn/keypoints.ts): where each block is, to sub-cell precision;
   * `relative`: each token also carries its offsets to the other keypoints. `locate()` reads the keypoints'
   * coordinates, which a detection loss can tie to the blocks and the effector (experiments/tasks.ts policyTask).
   */
  keypoints?: { keypoints: number; cell: number; hidden: number; relative?: boolean };
}

export function validatePolicyConfig(c: PolicyConfig): void {
  const pos = (field: string, v: number) => {
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`PolicyConfig.${field} must be a positive integer (got ${v})`);
  };
  for (const k of ['image', 'patch', 'vocab', 'maxText', 'expertWidth', 'expertHeads', 'expertMlp', 'chunk', 'actionDim', 'steps'] as const) pos(k, c[k]);
  for (const k of ['width', 'layers', 'heads', 'kvHeads', 'headDim', 'mlp'] as const) pos(`backbone.${k}`, c.backbone[k]);
  if (c.image % c.patch !== 0) throw new Error(`PolicyConfig.image must be a multiple of patch (got ${c.image} with patch ${c.patch})`);
  if (c.expertWidth % c.expertHeads !== 0) throw new Error(`PolicyConfig.expertWidth must be a positive multiple of expertHeads (got ${c.expertWidth} with ${c.expertHeads} heads)`);
  if (!(c.actionScale > 0)) throw new Error(`PolicyConfig.actionScale must be > 0 (got ${c.actionScale})`);
  if (c.prediction !== undefined && c.prediction !== 'velocity' && c.prediction !== 'action') throw new Error(`PolicyConfig.prediction must be "velocity" or "action" (got ${JSON.stringify(c.prediction)})`);
  if (c.executeSteps !== undefined && !(Number.isInteger(c.executeSteps) && c.executeSteps >= 1 && c.executeSteps <= c.chunk)) {
    throw new Error(`PolicyConfig.executeSteps must be an integer in 1..chunk (${c.chunk}) (got ${c.executeSteps})`);
  }
  if ((c.pixelMean === undefined) !== (c.pixelStd === undefined)) throw new Error('PolicyConfig.pixelMean and pixelStd go together (one of them is missing)');
  for (const k of ['pixelMean', 'pixelStd'] as const) {
    const v = c[k];
    if (v !== undefined && !(Array.isArray(v) && v.length === 3 && v.every((x) => Number.isFinite(x) && (k === 'pixelMean' || x > 0)))) {
      throw new Error(`PolicyConfig.${k} must be 3 finite numbers${k === 'pixelStd' ? ' > 0' : ''} (got ${JSON.stringify(v)})`);
    }
  }
  if (c.keypoints) {
    const k = c.keypoints;
    for (const f of ['keypoints', 'cell', 'hidden'] as const) pos(`keypoints.${f}`, k[f]);
    if (c.image % k.cell !== 0) throw new Error(`PolicyConfig.image must be a multiple of keypoints.cell (got ${c.image} with cell ${k.cell})`);
    if (k.relative !== undefined && typeof k.relative !== 'boolean') throw new Error(`PolicyConfig.keypoints.relative must be true or false (got ${JSON.stringify(k.relative)})`);
  }
}

export interface PolicyInputs {
  images: tf.Tensor4D; // [B, S, S, 3] in [0, 1]
  textIds: tf.Tensor2D; // [B, L]
  textMask: tf.Tensor2D;
  state: tf.Tensor2D; // [B, 2] effector xy (metres)
}

/**
 * PyTorch's default nn.Linear initialisation (uniform ±1/√fan_in, std 1/√(3·fan_in)), which SmolVLA's projections
 * (state, action in/out, time MLP, the expert's view of the backbone) start from. The package's GPT-style 0.02 suits
 * wide layers; for a 2-input projection it is 20× smaller than PyTorch's, so the noisy action and the state entered
 * the expert at a fiftieth of the time embedding's size and the policy could not fit 64 samples in 300 steps.
 */
const torchStd = (fanIn: number) => 1 / Math.sqrt(3 * fanIn);

/** The effector state enters centred on the board and scaled by ≈ 1 / (half the board's width): about unit range. */
const STATE_SCALE = 5;

export class Policy {
  readonly ps: ParamStore;
  private readonly patch;
  private readonly keypoints: Keypoints | null;
  private readonly tokenEmbed: tf.Variable;
  private readonly stateProj;
  private readonly backbone: ReturnType<typeof buildDecoderLayer>[];
  private readonly actionIn;
  private readonly timeMlpIn;
  private readonly timeMlpOut;
  private readonly expert: {
    norm1: ReturnType<typeof buildRMSNorm>;
    prefixProj: ReturnType<typeof buildLinear>;
    attn: ReturnType<typeof buildAttention>;
    cross: boolean;
    norm2: ReturnType<typeof buildRMSNorm>;
    mlp: ReturnType<typeof buildGeGLU>;
  }[];
  private readonly expertNorm;
  private readonly actionOut;

  constructor(readonly config: PolicyConfig, seed: number, dry = false) {
    validatePolicyConfig(config);
    const c = config;
    const b = c.backbone;
    this.ps = new ParamStore(new Rng(seed), dry);
    const ps = this.ps;
    this.patch = buildPatchEmbed(ps, 'vlm.vision.embeddings', c.image, c.patch, 3, b.width);
    this.keypoints = c.keypoints ? buildKeypoints(ps, 'vlm.vision.keypoints', { image: c.image, cell: c.keypoints.cell, channels: 3, hidden: c.keypoints.hidden, keypoints: c.keypoints.keypoints, d: b.width, relative: c.keypoints.relative }) : null;
    this.tokenEmbed = ps.create('vlm.text_model.embed_tokens.weight', [c.vocab, b.width], { kind: 'normal', std: 0.02 });
    this.stateProj = buildLinear(ps, 'state_proj', 2, b.width, { std: torchStd(2) });
    const outStd = 0.02 / Math.sqrt(2 * b.layers);
    this.backbone = Array.from({ length: b.layers }, (_, i) => buildDecoderLayer(ps, `vlm.text_model.layers.${i}`, b, { outStd, ropeTheta: 10000 }));
    const we = c.expertWidth;
    this.actionIn = buildLinear(ps, 'action_in_proj', c.actionDim, we, { std: torchStd(c.actionDim) });
    this.timeMlpIn = buildLinear(ps, 'action_time_mlp_in', 2 * we, we, { std: torchStd(2 * we) });
    this.timeMlpOut = buildLinear(ps, 'action_time_mlp_out', we, we, { std: torchStd(we) });
    this.expert = Array.from({ length: b.layers }, (_, i) => {
      const cross = i % 2 === 1;
      const name = `lm_expert.layers.${i}`;
      return {
        cross,
        norm1: buildRMSNorm(ps, `${name}.input_layernorm`, we),
        prefixProj: buildLinear(ps, `${name}.prefix_proj`, b.width, we, { bias: false, std: torchStd(b.width) }),
        attn: buildAttention(ps, `${name}.self_attn`, { d: we, heads: c.expertHeads, kvHeads: c.expertHeads, headDim: we / c.expertHeads, rope: false, qkNorm: false, bias: false, outStd }),
        norm2: buildRMSNorm(ps, `${name}.post_attention_layernorm`, we),
        mlp: buildGeGLU(ps, `${name}.mlp`, we, c.expertMlp, outStd),
      };
    });
    this.expertNorm = buildRMSNorm(ps, 'lm_expert.norm', we);
    this.actionOut = buildLinear(ps, 'action_out_proj', we, c.actionDim, { std: torchStd(we) });
  }

  get params(): Map<string, tf.Variable> {
    return this.ps.params;
  }

  private pixels(images: tf.Tensor4D): tf.Tensor4D {
    const c = this.config;
    return (c.pixelMean && c.pixelStd ? images.sub(tf.tensor1d(c.pixelMean)).div(tf.tensor1d(c.pixelStd)) : images.sub(0.5).div(0.5)) as tf.Tensor4D;
  }

  /**
   * Where the keypoints of images [B, S, S, 3] in [0, 1] look: (row, column) in [−1, 1] per keypoint ([B, K, 2]), the
   * frame of sim/render.ts imagePoint.
   */
  locate(images: tf.Tensor4D): tf.Tensor3D {
    if (!this.keypoints) throw new Error('Policy.locate: this policy has no keypoint tokens (PolicyConfig.keypoints)');
    return this.keypoints.forward(this.pixels(images)).coords;
  }

  /** Backbone pass: the hidden states after each layer ([B, P, d] each; expert layer i reads layer i's) and the mask. */
  prefix(inp: PolicyInputs): { hidden: tf.Tensor3D[]; mask: tf.Tensor2D } {
    const c = this.config;
    const B = inp.images.shape[0];
    const L = inp.textIds.shape[1];
    const pixels = this.pixels(inp.images);
    const patches = this.patch.fwd(pixels);
    const img = this.keypoints ? tf.concat([patches, this.keypoints.fwd(pixels)], 1) : patches;
    const imageTokens = img.shape[1]!;
    const txt = tf.gather(this.tokenEmbed, inp.textIds.reshape([-1])).reshape([B, L, c.backbone.width]).mul(Math.sqrt(c.backbone.width));
    const state = this.stateProj(inp.state.sub(tf.tensor1d([CENTER_X, CENTER_Y])).mul(STATE_SCALE)).reshape([B, 1, c.backbone.width]);
    let x: tf.Tensor = tf.concat([img, txt, state], 1);
    const mask = tf.concat([tf.ones([B, imageTokens]), inp.textMask, tf.ones([B, 1])], 1) as tf.Tensor2D;
    const P = x.shape[1]!;
    const positions = [...Array(P).keys()];
    const hidden: tf.Tensor3D[] = [];
    for (const layer of this.backbone) {
      x = layer(x, { qPos: positions, keyMask: mask }).x;
      hidden.push(x as tf.Tensor3D);
    }
    return { hidden, mask };
  }

  /** Predicted velocity v(x_t, t) [B, chunk, A] given the backbone's prefix. */
  velocity(pre: { hidden: tf.Tensor3D[]; mask: tf.Tensor2D }, xt: tf.Tensor3D, t: tf.Tensor1D): tf.Tensor3D {
    const c = this.config;
    const we = c.expertWidth;
    const [B, H] = [xt.shape[0], c.chunk];
    const te = sinusoidal(t, we).expandDims(1).tile([1, H, 1]);
    const z = this.timeMlpIn(tf.concat([this.actionIn(xt), te], 2));
    let x = this.timeMlpOut(z.mul(tf.sigmoid(z))); // SiLU
    const P = pre.hidden[0].shape[1];
    const actPos = Array.from({ length: H }, (_, i) => P + i);
    const prefPos = [...Array(P).keys()];
    this.expert.forEach((layer, i) => {
      const h = layer.norm1(x);
      const prefix = layer.prefixProj(pre.hidden[i]);
      let out: tf.Tensor;
      if (layer.cross) {
        out = layer.attn(h, { kv: prefix, qPos: actPos, kPos: prefPos, keyMask: pre.mask }).out;
      } else {
        // Joint attention: keys = backbone tokens (all visible) then action tokens (causal among themselves).
        const kv = tf.concat([prefix, h], 1);
        const km = tf.concat([pre.mask, tf.ones([B, H])], 1) as tf.Tensor2D;
        out = layer.attn(h, { kv, qPos: actPos, kPos: [...prefPos, ...actPos], keyMask: km, causal: true }).out;
      }
      x = x.add(out);
      x = x.add(layer.mlp(layer.norm2(x)));
    });
    return this.actionOut(this.expertNorm(x)) as tf.Tensor3D;
  }

  /**
   * Flow-matching training pair for actions [B, chunk, A] (metres): returns the prediction and the target u = ε − a
   * in normalised units. `noise` [B, chunk, A] and `t` [B] come from the caller's seeded Rng.
   */
  flowMatching(inp: PolicyInputs, actions: tf.Tensor3D, noise: tf.Tensor3D, t: tf.Tensor1D): { pred: tf.Tensor3D; target: tf.Tensor3D } {
    const a = actions.div(this.config.actionScale);
    const tt = t.reshape([-1, 1, 1]);
    const xt = noise.mul(tt).add(a.mul(tf.scalar(1).sub(tt))) as tf.Tensor3D;
    const out = this.velocity(this.prefix(inp), xt, t);
    return this.config.prediction === 'action' ? { pred: out, target: a as tf.Tensor3D } : { pred: out, target: noise.sub(a) as tf.Tensor3D };
  }

  /** Samples an action chunk [B, chunk, A] in metres with N Euler steps from t = 1 (the prefix is computed once). */
  sampleActions(inp: PolicyInputs, rng: Rng, steps = this.config.steps): tf.Tensor3D {
    return tf.tidy(() => {
      const c = this.config;
      const B = inp.images.shape[0];
      const pre = this.prefix(inp);
      let x = tf.tensor3d(rng.normals(B * c.chunk * c.actionDim), [B, c.chunk, c.actionDim]);
      const dt = -1 / steps;
      for (let k = 0; k < steps; k++) {
        const t = tf.fill([B], 1 + k * dt) as tf.Tensor1D;
        const out = this.velocity(pre, x, t);
        const v = c.prediction === 'action' ? x.sub(out).div(1 + k * dt) : out;
        x = x.add(v.mul(dt));
      }
      return x.mul(c.actionScale) as tf.Tensor3D;
    });
  }

  dispose(): void {
    this.ps.dispose();
  }
}

/** Flow-matching time t ~ Beta(1.5, 1)·0.999 + 0.001 (SmolVLA). */
export function sampleFlowTime(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.beta(1.5, 1) * 0.999 + 0.001);
}
