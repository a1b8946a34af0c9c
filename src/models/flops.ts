/**
 * Forward FLOPs per example from a config (2 per multiply-add; matmuls and attention products only, which dominate).
 */
import type { GroundingConfig } from './grounding';
import type { PlannerConfig } from './planner';
import type { PolicyConfig } from './policy';

const encoderFlops = (tokens: number, width: number, layers: number, mlp: number) =>
  layers * (2 * tokens * (4 * width * width + 2 * width * mlp) + 4 * tokens * tokens * width);

/** The keypoint stem (nn/keypoints.ts): per-cell MLP, keypoint logits, the softmax-weighted sums and the token projections. */
function keypointFlops(image: number, k: { keypoints: number; cell: number; hidden: number } | undefined, d: number): number {
  if (!k) return 0;
  const cells = (image / k.cell) ** 2;
  return 2 * cells * (k.cell * k.cell * 3 * k.hidden + k.hidden * k.hidden + k.hidden * k.keypoints + k.keypoints * (k.hidden + 2)) + 2 * k.keypoints * (18 + k.hidden) * d;
}

export function groundingFlops(c: GroundingConfig, textLen = c.maxText): number {
  const patches = (c.image / c.patch) ** 2;
  const tokens = patches + (c.keypoints?.keypoints ?? 0);
  let f = 2 * patches * c.patch * c.patch * 3 * c.vision.width + keypointFlops(c.image, c.keypoints, c.vision.width) + encoderFlops(tokens, c.vision.width, c.vision.layers, c.vision.mlp);
  f += encoderFlops(textLen, c.text.width, c.text.layers, c.text.mlp) + 2 * (c.vision.width + c.text.width) * c.embed;
  if (c.conditioning === 'action') {
    f += encoderFlops(c.trajectoryLength, c.action.width, c.action.layers, c.action.mlp) + 2 * c.vision.layers * c.action.width * 2 * c.vision.width;
  }
  return f;
}

export function plannerFlops(c: PlannerConfig): number {
  const patches = (c.image / c.patch) ** 2;
  const extra = (c.keypoints?.keypoints ?? 0) + (c.slots ?? 0);
  const T = c.imageTokens + extra + c.maxPrompt + c.maxCompletion;
  const qkvo = 2 * c.width * (c.heads + c.kvHeads) * c.headDim;
  const perToken = c.layers * (qkvo + 2 * 3 * c.width * c.mlp) + 2 * c.width * c.vocab;
  let attn = 0;
  for (let i = 0; i < c.layers; i++) {
    const span = (i + 1) % c.globalEvery === 0 ? T : Math.min(T, c.window);
    attn += 4 * T * span * c.heads * c.headDim;
  }
  const vision = 2 * patches * c.patch * c.patch * 3 * c.vision.width + keypointFlops(c.image, c.keypoints, c.vision.width) + encoderFlops(patches + extra, c.vision.width, c.vision.layers, c.vision.mlp);
  return vision + T * perToken + attn;
}

export function policyFlops(c: PolicyConfig): number {
  const b = c.backbone;
  const P = (c.image / c.patch) ** 2 + (c.keypoints?.keypoints ?? 0) + c.maxText + 1;
  const layer = (tokens: number, d: number, heads: number, kv: number, hd: number, mlp: number, keys: number) =>
    2 * tokens * (d * (heads + kv) * hd * 2 + 3 * d * mlp) + 4 * tokens * keys * heads * hd;
  const backbone = b.layers * layer(P, b.width, b.heads, b.kvHeads, b.headDim, b.mlp, P);
  const expert = b.layers * (layer(c.chunk, c.expertWidth, c.expertHeads, c.expertHeads, c.expertWidth / c.expertHeads, c.expertMlp, P + c.chunk) + 2 * P * b.width * c.expertWidth);
  // One backbone pass and `steps` expert passes per sampled chunk.
  return 2 * (c.image / c.patch) ** 2 * c.patch * c.patch * 3 * b.width + keypointFlops(c.image, c.keypoints, b.width) + backbone + c.steps * expert;
}
