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
import { CENTER_X, CENTER_Y, DIRECTIONS, LOCATIONS, type DirectionName, type LocationName } from '../sim/constants';
import { imagePoint } from '../sim/render';
import { blockRelativeOffset } from '../sim/tasks';
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
  /**
   * With prediction 'action': train at t = 1 only and sample with one step, so the expert regresses the clean chunk on
   * the context from pure noise (MSE; a deterministic policy, as the state MLP that clones the oracle). Flow matching
   * over t ~ Beta learned the pointer's push 2–4× worse in the same steps (environment.md).
   */
  regression?: boolean;
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
  /**
   * Object-centric goal conditioning (needs keypoints, with keypoint k on block k): from the pooled sub-task text the
   * policy chooses which keypoint is the moved block and what its target is — one of the board's locations, another
   * block, or another block plus a block-relative offset — reads that goal's point off the keypoints, and adds the
   * geometry (block − effector, goal − block, goal − effector, in the top-down image frame) to every action token. The choice is
   * trained against the parse of the policy's own instruction (experiments/tasks.ts policyTask). `blocks`: how many
   * of the keypoints are blocks (the rest are free). `head` (a width): beside the expert, a 3-layer SiLU MLP from the
   * geometry, the noisy chunk x_t and t to the expert's output, added to it — the state-MLP path that clones the
   * oracle from these differences (bench/probes/demonstrations.ts), which the expert alone learns too slowly.
   */
  pointer?: { blocks: number; head?: number };
}

/** The pointer's target classes: the board's locations, then per block "at it", then per (direction, block) its offset. */
export const POINTER_LOCATIONS = Object.keys(LOCATIONS) as LocationName[];
export const POINTER_DIRECTIONS = Object.keys(DIRECTIONS) as DirectionName[];
export const pointerTargets = (blocks: number) => POINTER_LOCATIONS.length + blocks + POINTER_DIRECTIONS.length * blocks;

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
  if (c.regression !== undefined && typeof c.regression !== 'boolean') throw new Error(`PolicyConfig.regression must be true or false (got ${JSON.stringify(c.regression)})`);
  if (c.regression && c.prediction !== 'action') throw new Error(`PolicyConfig.regression needs prediction "action" (got ${JSON.stringify(c.prediction ?? 'velocity')})`);
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
  if (c.pointer) {
    pos('pointer.blocks', c.pointer.blocks);
    if (c.pointer.head !== undefined) pos('pointer.head', c.pointer.head);
    if (!c.keypoints || c.keypoints.keypoints < c.pointer.blocks) throw new Error(`PolicyConfig.pointer needs keypoints with at least pointer.blocks (${c.pointer.blocks}) of them (keypoints is ${JSON.stringify(c.keypoints)})`);
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
  private readonly pointer: { block: ReturnType<typeof buildLinear>; target: ReturnType<typeof buildLinear>; geometryIn: ReturnType<typeof buildLinear>; geometryOut: ReturnType<typeof buildLinear>; head: ReturnType<typeof buildLinear>[] } | null;

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
    this.pointer = c.pointer ? {
      block: buildLinear(ps, 'pointer.block', b.width, c.pointer.blocks),
      target: buildLinear(ps, 'pointer.target', b.width, pointerTargets(c.pointer.blocks)),
      // A SiLU MLP, as the time embedding's: which action the geometry asks for (approach, then push) is not linear in it.
      geometryIn: buildLinear(ps, 'pointer.geometry_mlp_in', POINTER_GEOMETRY, 2 * we, { std: torchStd(POINTER_GEOMETRY) }),
      geometryOut: buildLinear(ps, 'pointer.geometry_mlp_out', 2 * we, we, { std: torchStd(2 * we) }),
      head: c.pointer.head ? ((w: number, n = POINTER_GEOMETRY + c.chunk * c.actionDim + 1) => [
        buildLinear(ps, 'pointer.head.0', n, w, { std: torchStd(n) }),
        buildLinear(ps, 'pointer.head.1', w, w, { std: torchStd(w) }),
        buildLinear(ps, 'pointer.head.2', w, c.chunk * c.actionDim, { std: torchStd(w) }),
      ])(c.pointer.head) : [],
    } : null;
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
  prefix(inp: PolicyInputs): PolicyPrefix {
    const c = this.config;
    const B = inp.images.shape[0];
    const L = inp.textIds.shape[1];
    const pixels = this.pixels(inp.images);
    const patches = this.patch.fwd(pixels);
    const kp = this.keypoints ? this.keypoints.forward(pixels) : null;
    const img = kp ? tf.concat([patches, kp.tokens], 1) : patches;
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
    if (!this.pointer || !kp) return { hidden, mask };
    // The pointer reads the last layer's text tokens (masked mean).
    const tm = inp.textMask.expandDims(2);
    const text = (x as tf.Tensor3D).slice([0, imageTokens, 0], [-1, L, -1]).mul(tm).sum(1).div(tm.sum(1).maximum(1)) as tf.Tensor2D;
    const pointer = pointerGeometry(this.pointer.block(text) as tf.Tensor2D, this.pointer.target(text) as tf.Tensor2D, kp.coords, inp.state);
    const h = this.pointer.geometryIn(pointer.geometry);
    return { hidden, mask, pointer: { ...pointer, cond: this.pointer.geometryOut(h.mul(tf.sigmoid(h))) as tf.Tensor2D } };
  }

  /** Predicted velocity v(x_t, t) [B, chunk, A] given the backbone's prefix. */
  velocity(pre: PolicyPrefix, xt: tf.Tensor3D, t: tf.Tensor1D): tf.Tensor3D {
    const c = this.config;
    const we = c.expertWidth;
    const [B, H] = [xt.shape[0], c.chunk];
    const te = sinusoidal(t, we).expandDims(1).tile([1, H, 1]);
    const z = this.timeMlpIn(tf.concat([this.actionIn(xt), te], 2));
    let x = this.timeMlpOut(z.mul(tf.sigmoid(z))); // SiLU
    if (pre.pointer) x = x.add(pre.pointer.cond.expandDims(1));
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
    const out = this.actionOut(this.expertNorm(x)) as tf.Tensor3D;
    if (!pre.pointer || !this.pointer || this.pointer.head.length === 0) return out;
    let h: tf.Tensor = tf.concat([pre.pointer.geometry, xt.reshape([B, -1]), t.reshape([B, 1])], 1);
    this.pointer.head.forEach((layer, i) => {
      h = layer(h);
      if (i < this.pointer!.head.length - 1) h = h.mul(tf.sigmoid(h));
    });
    return out.add(h.reshape(out.shape)) as tf.Tensor3D;
  }

  /**
   * Flow-matching training pair for actions [B, chunk, A] (metres): returns the prediction and the target u = ε − a
   * in normalised units. `noise` [B, chunk, A] and `t` [B] come from the caller's seeded Rng.
   */
  flowMatching(inp: PolicyInputs, actions: tf.Tensor3D, noise: tf.Tensor3D, t: tf.Tensor1D): { pred: tf.Tensor3D; target: tf.Tensor3D; pointer?: PolicyPrefix['pointer'] } {
    const a = actions.div(this.config.actionScale);
    const tt = t.reshape([-1, 1, 1]);
    const xt = noise.mul(tt).add(a.mul(tf.scalar(1).sub(tt))) as tf.Tensor3D;
    const pre = this.prefix(inp);
    const out = this.velocity(pre, xt, t);
    const target = (this.config.prediction === 'action' ? a : noise.sub(a)) as tf.Tensor3D;
    return pre.pointer ? { pred: out, target, pointer: pre.pointer } : { pred: out, target };
  }

  /** Samples an action chunk [B, chunk, A] in metres with N Euler steps from t = 1 (the prefix is computed once). */
  sampleActions(inp: PolicyInputs, rng: Rng | Rng[], steps = this.config.regression ? 1 : this.config.steps): tf.Tensor3D {
    return tf.tidy(() => {
      const c = this.config;
      const B = inp.images.shape[0];
      const n = c.chunk * c.actionDim;
      if (Array.isArray(rng) && rng.length !== B) throw new Error(`Policy.sampleActions: ${rng.length} random streams for a batch of ${B}`);
      // One stream per row (closed-loop episodes batched together keep their own noise), or one for the batch.
      const noise = Array.isArray(rng) ? Float32Array.from(rng.flatMap((r) => Array.from(r.normals(n)))) : rng.normals(B * n);
      const pre = this.prefix(inp);
      let x = tf.tensor3d(noise, [B, c.chunk, c.actionDim]);
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

/** What the backbone pass hands the action expert. */
export interface PolicyPrefix {
  /** Hidden states after each backbone layer ([B, P, d]; expert layer i reads layer i's) and the prefix's key mask. */
  hidden: tf.Tensor3D[];
  mask: tf.Tensor2D;
  /** With `pointer`: its logits, the goal geometry and that geometry at the expert's width (added to every action token). */
  pointer?: { blockLogits: tf.Tensor2D; targetLogits: tf.Tensor2D; geometry: tf.Tensor2D; cond: tf.Tensor2D };
}

/** block − effector, goal − block, goal − effector: (row, column) each, in the keypoints' frame. */
const POINTER_GEOMETRY = 6;
/** The frame spans 2 units over the board (≈ 0.46 m × 0.61 m); ×2 brings a block's typical offsets to about unit size. */
const POINTER_SCALE = 2;

/**
 * The pointer's goal geometry from its logits, keypoints [B, K, 2] (the first `blocks` on the blocks) and the effector
 * state [B, 2] (metres): the moved block is the softmax-weighted keypoint, the goal the softmax-weighted target point
 * (a location's point; a block's keypoint; a block's keypoint plus a block-relative offset). Top-down frame
 * (sim/render.ts imagePoint), where offsets are the same everywhere on the board.
 */
export function pointerGeometry(blockLogits: tf.Tensor2D, targetLogits: tf.Tensor2D, coords: tf.Tensor3D, state: tf.Tensor2D): { blockLogits: tf.Tensor2D; targetLogits: tf.Tensor2D; geometry: tf.Tensor2D } {
  const nb = blockLogits.shape[1];
  const nl = POINTER_LOCATIONS.length;
  const nd = POINTER_DIRECTIONS.length;
  const blocks = coords.slice([0, 0, 0], [-1, nb, -1]); // [B, nb, 2]
  const moved = tf.softmax(blockLogits).expandDims(1).matMul(blocks).squeeze([1]); // [B, 2]
  const o = imagePoint('topdown', [0, 0]);
  const unit = imagePoint('topdown', [1, 1]).map((v, i) => v - o[i]);
  const locations = tf.tensor2d(POINTER_LOCATIONS.flatMap((l) => imagePoint('topdown', [...LOCATIONS[l]] as [number, number])), [nl, 2]);
  const offsets = tf.tensor2d(POINTER_DIRECTIONS.flatMap((d) => blockRelativeOffset(d).map((v, i) => v * unit[i])), [nd, 2]);
  const B = coords.shape[0];
  // Candidate goal points [B, T, 2] in the order of pointerTargets: locations, blocks, (direction, block) offsets.
  const relative = offsets.reshape([1, nd, 1, 2]).add(blocks.expandDims(1)).reshape([B, nd * nb, 2]);
  const points = tf.concat([locations.expandDims(0).tile([B, 1, 1]), blocks, relative], 1);
  const goal = tf.softmax(targetLogits).expandDims(1).matMul(points).squeeze([1]);
  const effector = state.mul(tf.tensor1d(unit)).add(tf.tensor1d(o));
  const geometry = tf.concat([moved.sub(effector), goal.sub(moved), goal.sub(effector)], 1).mul(POINTER_SCALE) as tf.Tensor2D;
  return { blockLogits, targetLogits, geometry };
}

/**
 * The pointer's labels from a parsed sub-task: the moved block's index among the keypoint blocks and the target
 * class of pointerTargets (−1 where the text names something the pointer has no class for).
 */
export function pointerLabels(parsed: { block: string; target: string | null } | null, blockNames: string[]): [number, number] {
  const nb = blockNames.length;
  const nl = POINTER_LOCATIONS.length;
  const block = parsed ? blockNames.indexOf(parsed.block) : -1;
  const t = parsed?.target ?? '';
  let target = -1;
  const [kind, a, b] = t.split(':');
  if (kind === 'location') target = POINTER_LOCATIONS.indexOf(a as LocationName);
  else if (kind === 'block' && blockNames.includes(a)) target = nl + blockNames.indexOf(a);
  else if (kind === 'block-relative' && blockNames.includes(b) && POINTER_DIRECTIONS.includes(a as DirectionName)) target = nl + nb + POINTER_DIRECTIONS.indexOf(a as DirectionName) * nb + blockNames.indexOf(b);
  return [block, target];
}

/** Flow-matching time t ~ Beta(1.5, 1)·0.999 + 0.001 (SmolVLA); t = 1 for a regression policy. */
export function sampleFlowTime(rng: Rng, n: number, regression = false): Float32Array {
  return Float32Array.from({ length: n }, () => (regression ? 1 : rng.beta(1.5, 1) * 0.999 + 0.001));
}
