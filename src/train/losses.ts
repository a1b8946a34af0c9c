/**
 * Losses as pure functions: tensors in, scalar out (open_clip's loss.py habit). Each is tested against a hand
 * computation in test/train/losses.test.ts.
 */
import * as tf from '@tensorflow/tfjs';

/** Options of symmetricInfoNCE: false-negative masking and extra text negatives. */
export interface InfoNCEOptions {
  /**
   * A group id per pair (e.g. the sub-task's parsed block and target). An off-diagonal pair (i, j) with
   * groups[i] = groups[j] is not a negative: it is left out of both softmaxes. Without masking, a batch of 48 drawn
   * from the small preset has a same-(block, target) negative for about half its samples, and the loss pushes apart
   * descriptions that are equally right.
   */
  groups?: ArrayLike<number>;
  /**
   * [B·H, D] extra text negatives, H per image: rows i·H … i·H+H−1 are image i's (a swapped block, a swapped target,
   * …). They join image i's row of the image → text softmax only (they have no image of their own).
   */
  hardNegatives?: tf.Tensor2D;
}

/** Additive logit mask [B, B]: −1e9 where j ≠ i and groups agree (exp underflows to exactly 0), else 0. */
function falseNegativeMask(groups: ArrayLike<number>, n: number): tf.Tensor2D {
  if (groups.length !== n) throw new Error(`symmetricInfoNCE: ${groups.length} groups for a batch of ${n}`);
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j && groups[i] === groups[j]) m[i * n + j] = -1e9;
  return tf.tensor2d(m, [n, n]);
}

/**
 * Symmetric InfoNCE (CLIP): logits = scale · ẑ_img ẑ_txtᵀ over L2-normalised embeddings; cross-entropy with the
 * diagonal as targets, row-wise (image → text) and column-wise (text → image), averaged. The grounding model uses
 * this, not SigLIP's sigmoid loss (method.md). With `groups`, same-group negatives are masked out; with
 * `hardNegatives`, image i's row also holds its H extra texts.
 * @param imageEmb [B, D] vision(-action) embeddings (normalised here)
 * @param textEmb  [B, D] text embeddings (normalised here)
 * @param logitScale scalar tensor: the temperature's inverse, exp(t') — already exponentiated
 */
export function symmetricInfoNCE(imageEmb: tf.Tensor2D, textEmb: tf.Tensor2D, logitScale: tf.Tensor | number, opts: InfoNCEOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    const unit = (x: tf.Tensor2D) => tf.div(x, tf.norm(x, 'euclidean', -1, true).add(1e-12)) as tf.Tensor2D;
    const zi = unit(imageEmb);
    const zt = unit(textEmb);
    let logits = tf.matMul(zi, zt, false, true).mul(logitScale) as tf.Tensor2D;
    const n = logits.shape[0];
    if (opts.groups) logits = logits.add(falseNegativeMask(opts.groups, n));
    const eye = tf.oneHot(tf.range(0, n, 1, 'int32'), n);
    // tfjs's logSoftmax works on the last axis only: the column direction is the row direction of the transpose.
    const cols = tf.logSoftmax(logits.transpose()).mul(eye).sum().neg().div(n);
    let rowLogits: tf.Tensor2D = logits;
    let rowTargets: tf.Tensor = eye;
    if (opts.hardNegatives) {
      const hn = opts.hardNegatives;
      if (hn.shape[0] % n !== 0 || hn.shape[1] !== zi.shape[1]) throw new Error(`symmetricInfoNCE: hardNegatives [${hn.shape}] must be [B·H, ${zi.shape[1]}] for B = ${n}`);
      const H = hn.shape[0] / n;
      const zh = unit(hn).reshape([n, H, -1]);
      const hard = zh.mul(zi.expandDims(1)).sum(2).mul(logitScale) as tf.Tensor2D; // [B, H]
      rowLogits = tf.concat([logits, hard], 1);
      rowTargets = tf.concat([eye, tf.zeros([n, H])], 1);
    }
    const rows = tf.logSoftmax(rowLogits, 1).mul(rowTargets).sum().neg().div(n);
    return rows.add(cols).div(2) as tf.Scalar;
  });
}

/**
 * SimPO (Meng et al. 2024; princeton-nlp/SimPO simpo_trainer.py): with r(y) the mean per-token log-probability,
 * L = −log σ(β·(r(y_w) − r(y_l)) − γ), γ = β·gammaBetaRatio, averaged over pairs. No reference model.
 * log σ(x) is computed as −softplus(−x), which is stable for large |x|.
 */
export function simpoLoss(chosenMeanLogp: tf.Tensor1D, rejectedMeanLogp: tf.Tensor1D, beta = 2.0, gammaBetaRatio = 0.5): tf.Scalar {
  return tf.tidy(() => {
    const z = chosenMeanLogp.sub(rejectedMeanLogp).sub(gammaBetaRatio).mul(beta);
    return tf.softplus(z.neg()).mean() as tf.Scalar;
  });
}

/**
 * Flow-matching regression (SmolVLA): MSE between the predicted velocity and the target u = noise − actions,
 * averaged over the valid (unpadded) action steps and dimensions. mask: [B, T] of 0/1, or omitted.
 */
export function flowMatchingLoss(pred: tf.Tensor3D, target: tf.Tensor3D, mask?: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const se = pred.sub(target).square(); // [B, T, A]
    if (!mask) return se.mean() as tf.Scalar;
    const m = mask.expandDims(-1);
    return se.mul(m).sum().div(m.sum().mul(pred.shape[2]).maximum(1)) as tf.Scalar;
  });
}

/**
 * Token cross-entropy, mean over unmasked positions. logits [B, T, V], targets [B, T] int32, mask [B, T] of 0/1.
 * Computed as logsumexp − picked logit (stable for large logits).
 */
export function tokenCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const flat = logits.reshape([B * T, V]);
    const lse = tf.logSumExp(flat, 1);
    const picked = tf.sum(flat.mul(tf.oneHot(targets.reshape([B * T]).toInt(), V)), 1);
    const nll = lse.sub(picked).reshape([B, T]);
    return nll.mul(mask).sum().div(mask.sum().maximum(1)) as tf.Scalar;
  });
}
