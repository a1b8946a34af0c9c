import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { buildKeypoints, cellGrid, fourierFeatures, pairwiseOffsets, spatialSoftmax } from '../../src/nn/keypoints';
import { buildLinear } from '../../src/nn/layers';
import { ParamStore } from '../../src/nn/params';
import { AdamW } from '../../src/train/optim';
import { Rng } from '../../src/util/rng';

describe('nn: spatial-softmax keypoints', () => {
  before(async () => {
    await switchBackend('cpu');
  });

  it('cell grid: centres of a 2×2 grid in [−1, 1], row-major as (row, column)', () => {
    assert.deepEqual(Array.from(cellGrid(2).dataSync()), [-0.5, -0.5, -0.5, 0.5, 0.5, -0.5, 0.5, 0.5]);
  });

  it('spatial softmax: a peaked channel reports its cell and features, a flat one the centre and the mean', () => {
    const grid = cellGrid(3);
    const logits = new Float32Array(9 * 2);
    logits[5 * 2 + 0] = 50; // channel 0 peaks at cell 5 = (row 1, column 2)
    const features = tf.tensor3d(Float32Array.from({ length: 9 }, (_, i) => i), [1, 9, 1]);
    const { coords, pooled } = spatialSoftmax(tf.tensor3d(logits, [1, 9, 2]), features, grid);
    const c = coords.dataSync();
    const p = pooled.dataSync();
    assert.ok(Math.abs(c[0] - 0) < 1e-6 && Math.abs(c[1] - 2 / 3) < 1e-6, `peaked channel at (${c[0]}, ${c[1]})`);
    assert.ok(Math.abs(c[2]) < 1e-6 && Math.abs(c[3]) < 1e-6, `flat channel at (${c[2]}, ${c[3]})`);
    assert.ok(Math.abs(p[0] - 5) < 1e-5 && Math.abs(p[1] - 4) < 1e-5, `pooled ${p[0]}, ${p[1]}`);
  });

  it('Fourier features: the coordinates, then sin and cos of π·2^i·u', () => {
    const f = fourierFeatures(tf.tensor2d([[0.25, -0.5]]), 2).dataSync();
    const want = [0.25, -0.5, Math.sin(Math.PI * 0.25), Math.sin(2 * Math.PI * 0.25), Math.sin(-Math.PI * 0.5), Math.sin(-2 * Math.PI * 0.5),
      Math.cos(Math.PI * 0.25), Math.cos(2 * Math.PI * 0.25), Math.cos(-Math.PI * 0.5), Math.cos(-2 * Math.PI * 0.5)];
    want.forEach((w, i) => assert.ok(Math.abs(f[i] - w) < 1e-6, `[${i}] ${f[i]} vs ${w}`));
  });

  it('pairwise offsets: entry (k, j) is c_k − c_j', () => {
    const o = pairwiseOffsets(tf.tensor3d([[[0.5, -0.25], [-0.5, 0.25], [0, 1]]])).arraySync()[0];
    assert.deepEqual(o[0][1], [1, -0.5]);
    assert.deepEqual(o[2][0], [-0.5, 1.25]);
    assert.deepEqual(o[1][1], [0, 0]);
  });

  it('relative keypoint tokens: an offset projection is added, and forward returns the coordinates behind the tokens', () => {
    const x = tf.tensor4d(new Rng(2).normals(2 * 8 * 8 * 3), [2, 8, 8, 3]);
    const plain = new ParamStore(new Rng(4));
    const rel = new ParamStore(new Rng(4));
    const a = buildKeypoints(plain, 'kp', { image: 8, cell: 2, channels: 3, hidden: 6, keypoints: 3, d: 5, frequencies: 1 });
    const b = buildKeypoints(rel, 'kp', { image: 8, cell: 2, channels: 3, hidden: 6, keypoints: 3, d: 5, frequencies: 1, relative: true });
    assert.deepEqual(rel.params.get('kp.offset_proj.weight')!.shape, [3 * 6, 5]);
    assert.equal(plain.params.has('kp.offset_proj.weight'), false);
    const fa = a.forward(x), fb = b.forward(x);
    assert.deepEqual(fb.tokens.shape, [2, 3, 5]);
    // Same seeds up to the offset projection: same coordinates, tokens differ by exactly the projected offsets.
    assert.ok(fa.coords.sub(fb.coords).abs().max().dataSync()[0] < 1e-6);
    const w = rel.params.get('kp.offset_proj.weight')!;
    const want = fourierFeatures(pairwiseOffsets(fb.coords), 1).reshape([2 * 3, 3 * 6]).matMul(w).reshape([2, 3, 5]);
    assert.ok(fb.tokens.sub(fa.tokens).sub(want).abs().max().dataSync()[0] < 1e-5);
  });

  it('the gradient with respect to the logits matches central finite differences', () => {
    const rng = new Rng(3);
    const grid = cellGrid(2);
    const feats = tf.tensor3d(rng.normals(4 * 3), [1, 4, 3]);
    const wc = tf.tensor3d(rng.normals(2 * 2), [1, 2, 2]);
    const wp = tf.tensor3d(rng.normals(2 * 3), [1, 2, 3]);
    const L = (lg: tf.Tensor3D) => {
      const { coords, pooled } = spatialSoftmax(lg, feats, grid);
      return coords.mul(wc).sum().add(pooled.mul(wp).sum()) as tf.Scalar;
    };
    const x0 = rng.normals(4 * 2);
    const g = tf.grad((lg: tf.Tensor) => L(lg as tf.Tensor3D))(tf.tensor3d(x0, [1, 4, 2])).dataSync();
    for (let i = 0; i < x0.length; i++) {
      const h = 1e-2;
      const up = Float32Array.from(x0);
      const dn = Float32Array.from(x0);
      up[i] += h;
      dn[i] -= h;
      const fd = (L(tf.tensor3d(up, [1, 4, 2])).dataSync()[0] - L(tf.tensor3d(dn, [1, 4, 2])).dataSync()[0]) / (2 * h);
      assert.ok(Math.abs(g[i] - fd) < 2e-3, `d/dlogit[${i}] = ${g[i]}, finite difference ${fd}`);
    }
  });

  it('learns to report where a coloured dot is: position error falls to a fraction of a cell', function () {
    this.timeout(120000);
    // 16×16 images with one 2×2 red dot on a dark board (and a green distractor); the target is the red dot's centre.
    const S = 16;
    const rng = new Rng(7);
    const make = (n: number) => {
      const img = new Float32Array(n * S * S * 3).fill(-1);
      const target = new Float32Array(n * 2);
      for (let b = 0; b < n; b++) {
        const dot = (r: number, c: number, ch: number) => {
          for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]]) img[((b * S + r + dr) * S + c + dc) * 3 + ch] = 1;
        };
        const [r, c] = [rng.int(S - 1), rng.int(S - 1)];
        dot(rng.int(S - 1), rng.int(S - 1), 1);
        dot(r, c, 0);
        target[2 * b] = ((r + 1) / S) * 2 - 1;
        target[2 * b + 1] = ((c + 1) / S) * 2 - 1;
      }
      return { x: tf.tensor4d(img, [n, S, S, 3]), y: tf.tensor2d(target, [n, 2]) };
    };
    const ps = new ParamStore(new Rng(1));
    const kp = buildKeypoints(ps, 'kp', { image: S, cell: 2, channels: 3, hidden: 16, keypoints: 4, d: 16, frequencies: 2 });
    const head = buildLinear(ps, 'head', 4 * 16, 2);
    const opt = new AdamW({ weightDecay: 0 });
    const loss = (x: tf.Tensor4D, y: tf.Tensor2D) => tf.losses.meanSquaredError(y, head(kp.fwd(x).reshape([x.shape[0], -1]))) as tf.Scalar;
    const test = make(64);
    const before = loss(test.x, test.y).dataSync()[0];
    for (let step = 0; step < 300; step++) {
      const b = make(32);
      const { value, grads } = tf.variableGrads(() => loss(b.x, b.y), [...ps.params.values()]);
      const named = Object.fromEntries([...ps.params].map(([n, v]) => [n, grads[v.name]]));
      opt.step(ps.params, named, 3e-3);
      tf.dispose([b.x, b.y, value, ...Object.values(grads)]);
    }
    const after = loss(test.x, test.y).dataSync()[0];
    // One 2-px cell is 0.25 in these units; an RMS error below a third of a cell means it localises within cells.
    assert.ok(Math.sqrt(after) < 0.25 / 3, `RMS position error ${Math.sqrt(after).toFixed(3)} (before training ${Math.sqrt(before).toFixed(3)})`);
  });
});
