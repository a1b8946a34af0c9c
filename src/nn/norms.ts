/**
 * LayerNorm and Gemma's RMSNorm with their own gradients. Autograd through the forward ops (moments, sub, rsqrt,
 * scale, shift) launches ~20 kernels per norm in the backward pass; the closed forms below take ~11, and every
 * encoder layer has two norms. Per row of the last axis (D values), with x̂ the normalised input and r = 1/σ:
 *
 *   LayerNorm  y = x̂·g + b,        dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),  dx̂ = dy·g,  dg = Σ dy·x̂,  db = Σ dy
 *   RMSNorm    y = x̂·(1 + w),      dx = r·(dx̂ − x̂·mean(dx̂·x̂)),            dx̂ = dy·(1 + w),  dw = Σ dy·x̂
 *
 * (Σ over every axis but the last.) The tests check both against autograd of the plain forward.
 */
import * as tf from '@tensorflow/tfjs';

type Custom = Parameters<typeof tf.customGrad>[0];

/** Sums [..., D] over every axis but the last → [D]. */
const sumRows = (t: tf.Tensor) => t.reshape([-1, t.shape[t.rank - 1]]).sum(0);

const layerNormCache = new Map<number, (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor>();

/** LayerNorm over the last axis: (x − μ)/√(σ² + eps)·g + b. */
export function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps = 1e-6): tf.Tensor {
  let f = layerNormCache.get(eps);
  if (!f) {
    f = tf.customGrad(((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const { mean, variance } = tf.moments(x, -1, true);
      const r = tf.rsqrt(variance.add(eps));
      const xhat = x.sub(mean).mul(r);
      save([xhat, r, g]);
      return {
        value: xhat.mul(g).add(b),
        gradFunc: (dy: tf.Tensor, [xh, r0, g0]: tf.Tensor[]) => {
          const dxhat = dy.mul(g0);
          const dx = dxhat.sub(dxhat.mean(-1, true)).sub(xh.mul(dxhat.mul(xh).mean(-1, true))).mul(r0);
          return [dx, sumRows(dy.mul(xh)), sumRows(dy)];
        },
      };
    }) as unknown as Custom) as unknown as (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
    layerNormCache.set(eps, f);
  }
  return f(x, g, b);
}

const rmsNormCache = new Map<number, (x: tf.Tensor, w: tf.Tensor) => tf.Tensor>();

/** Gemma's RMSNorm over the last axis: x/√(mean(x²) + eps)·(1 + w). */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps = 1e-6): tf.Tensor {
  let f = rmsNormCache.get(eps);
  if (!f) {
    f = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
      const r = tf.rsqrt(x.square().mean(-1, true).add(eps));
      const xhat = x.mul(r);
      const scale = w.add(1);
      save([xhat, r, scale]);
      return {
        value: xhat.mul(scale),
        gradFunc: (dy: tf.Tensor, [xh, r0, s0]: tf.Tensor[]) => {
          const dxhat = dy.mul(s0);
          const dx = dxhat.sub(xh.mul(dxhat.mul(xh).mean(-1, true))).mul(r0);
          return [dx, sumRows(dy.mul(xh))];
        },
      };
    }) as unknown as Custom) as unknown as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;
    rmsNormCache.set(eps, f);
  }
  return f(x, w);
}
