import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { loadNativeBlas, setNativeBlasEnabled } from '../../src/backend/native-blas';
import { hasNativeNorm } from '../../src/backend/native-elementwise';
import { layerNorm, rmsNorm } from '../../src/nn/norms';
import { Rng } from '../../src/util/rng';

/** The plain forward passes whose autograd gradients the closed forms must reproduce. */
const plainLayerNorm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number) => {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(g).add(b);
};
const plainRmsNorm = (x: tf.Tensor, w: tf.Tensor, eps: number) => x.mul(tf.rsqrt(x.square().mean(-1, true).add(eps))).mul(w.add(1));

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);
}

describe('nn/norms: LayerNorm and RMSNorm with closed-form gradients', () => {
  after(async () => {
    setNativeBlasEnabled(true);
    await switchBackend('wasm');
  });
  // wasm runs the fused native kernels when the addon is built, the closed forms with it turned off.
  for (const path of ['cpu', 'wasm', 'wasm without the addon'] as const) {
    it(`${path}: values and gradients (x, scale, shift) equal autograd of the plain forward`, async function () {
      const backend = path === 'cpu' ? 'cpu' : 'wasm';
      await switchBackend(backend);
      if (path === 'wasm') {
        if (!loadNativeBlas()) this.skip();
        assert.ok(hasNativeNorm(), 'the fused native norms should be in use');
      }
      setNativeBlasEnabled(path !== 'wasm without the addon');
      const rng = new Rng(4);
      const shape = [3, 5, 16];
      const x = tf.tensor(rng.normals(3 * 5 * 16).map((v) => 2 * v + 0.5), shape);
      const g = tf.tensor1d(rng.normals(16));
      const b = tf.tensor1d(rng.normals(16));
      const w = tf.tensor1d(rng.normals(16).map((v) => 0.3 * v));
      // A non-uniform upstream gradient so every term of the closed form matters.
      const dy = tf.tensor(rng.normals(3 * 5 * 16), shape);
      const lnOurs = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => layerNorm(a, c, d, 1e-5).mul(dy).sum())([x, g, b]);
      const lnPlain = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => plainLayerNorm(a, c, d, 1e-5).mul(dy).sum())([x, g, b]);
      assert.ok(maxAbs(layerNorm(x, g, b, 1e-5), plainLayerNorm(x, g, b, 1e-5)) < 1e-5, 'layer norm values');
      lnOurs.forEach((t, i) => {
        assert.deepEqual(t.shape, [x, g, b][i].shape);
        assert.ok(maxAbs(t, lnPlain[i]) < 2e-5, `layer norm gradient ${i}: ${maxAbs(t, lnPlain[i])}`);
      });
      const rmsOurs = tf.grads((a: tf.Tensor, c: tf.Tensor) => rmsNorm(a, c).mul(dy).sum())([x, w]);
      const rmsPlain = tf.grads((a: tf.Tensor, c: tf.Tensor) => plainRmsNorm(a, c, 1e-6).mul(dy).sum())([x, w]);
      assert.ok(maxAbs(rmsNorm(x, w), plainRmsNorm(x, w, 1e-6)) < 1e-5, 'rms norm values');
      rmsOurs.forEach((t, i) => assert.ok(maxAbs(t, rmsPlain[i]) < 2e-5, `rms norm gradient ${i}: ${maxAbs(t, rmsPlain[i])}`));
      setNativeBlasEnabled(true);
    });
  }

  it('the layer-norm gradient matches central finite differences (float64 reference on cpu)', async () => {
    await switchBackend('cpu');
    const x = [0.3, -1.2, 2.0, 0.7, -0.4, 1.1];
    const g = [1.5, -0.5, 0.8];
    const b = [0.1, 0.2, -0.3];
    const dy = [0.7, -1.1, 0.4, 0.2, 0.9, -0.6];
    // f64 reference of L = Σ dy·LN(x) for rows of 3
    const L = (xs: number[]) => {
      let s = 0;
      for (let r = 0; r < 2; r++) {
        const row = xs.slice(3 * r, 3 * r + 3);
        const mu = row.reduce((a, c) => a + c, 0) / 3;
        const v = row.reduce((a, c) => a + (c - mu) ** 2, 0) / 3;
        row.forEach((c, j) => (s += dy[3 * r + j] * (((c - mu) / Math.sqrt(v + 1e-6)) * g[j] + b[j])));
      }
      return s;
    };
    const [dx] = tf.grads((a: tf.Tensor) => layerNorm(a, tf.tensor1d(g), tf.tensor1d(b)).mul(tf.tensor2d(dy, [2, 3])).sum())([tf.tensor2d(x, [2, 3])]);
    const got = dx.dataSync();
    x.forEach((_, i) => {
      const h = 1e-5;
      const up = x.slice();
      const dn = x.slice();
      up[i] += h;
      dn[i] -= h;
      const fd = (L(up) - L(dn)) / (2 * h);
      assert.ok(Math.abs(got[i] - fd) < 1e-4, `dx[${i}] = ${got[i]}, finite difference ${fd}`);
    });
  });
});
