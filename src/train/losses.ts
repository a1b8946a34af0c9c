/**
 * Losses as pure functions: tensors in, scalar out (open_clip's loss.py habit). Each is tested against a hand
 * computation in test/train/losses.test.ts.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Symmetric InfoNCE (CLIP): logits = scale · ẑ_img ẑ_txtᵀ over L2-normalised embeddings; cross-entropy with the
 * diagonal as targets, row-wise (image → text) and column-wise (text → image), averaged. The grounding model uses
 * this, not SigLIP's sigmoid loss (method.md).
 * @param imageEmb [B, D] vision(-action) embeddings (normalised here)
 * @param textEmb  [B, D] text embeddings (normalised here)
 * @param logitScale scalar tensor: the temperature's inverse, exp(t') — already exponentiated
 */
export function symmetricInfoNCE(imageEmb: tf.Tensor2D, textEmb: tf.Tensor2D, logitScale: tf.Tensor | number): tf.Scalar {
  return tf.tidy(() => {
    const zi = tf.div(imageEmb, tf.norm(imageEmb, 'euclidean', -1, true).add(1e-12));
    const zt = tf.div(textEmb, tf.norm(textEmb, 'euclidean', -1, true).add(1e-12));
    const logits = tf.matMul(zi, zt, false, true).mul(logitScale) as tf.Tensor2D;
    const n = logits.shape[0];
    const eye = tf.oneHot(tf.range(0, n, 1, 'int32'), n);
    const rows = tf.logSoftmax(logits, 1).mul(eye).sum().neg().div(n);
    // tfjs's logSoftmax works on the last axis only: the column direction is the row direction of the transpose.
    const cols = tf.logSoftmax(logits.transpose()).mul(eye).sum().neg().div(n);
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
