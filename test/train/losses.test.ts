import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { flowMatchingLoss, simpoLoss, symmetricInfoNCE, tokenCrossEntropy } from '../../src/train/losses';

const val = (t: tf.Tensor) => t.dataSync()[0];
const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

describe('train/losses: pure losses against hand computations', () => {
  before(async () => {
    await switchBackend('cpu');
  });

  it('symmetric InfoNCE on a 2×2 example', () => {
    // Unit vectors: img = [e1, e2], txt = [e1, (e1+e2)/√2]; cosines S = [[1, 1/√2], [0, 1/√2]], scale 2.
    const img = tf.tensor2d([[1, 0], [0, 3]]); // the second row is normalised by the loss
    const txt = tf.tensor2d([[1, 0], [1, 1]]);
    const s = Math.SQRT1_2;
    const L = [[2, 2 * s], [0, 2 * s]];
    const lse = (xs: number[]) => Math.log(xs.reduce((a, x) => a + Math.exp(x), 0));
    const rows = (lse(L[0]) - L[0][0] + lse(L[1]) - L[1][1]) / 2;
    const cols = (lse([L[0][0], L[1][0]]) - L[0][0] + lse([L[0][1], L[1][1]]) - L[1][1]) / 2;
    close(val(symmetricInfoNCE(img, txt, 2)), (rows + cols) / 2);
  });

  it('symmetric InfoNCE is symmetric in its two modalities and small for well-separated pairs', () => {
    const a = tf.tensor2d([[1, 0.2, 0], [0, 1, 0.3], [0.1, 0, 1]]);
    const b = tf.tensor2d([[0.9, 0, 0.1], [0.2, 1, 0], [0, 0.1, 1]]);
    close(val(symmetricInfoNCE(a, b, 5)), val(symmetricInfoNCE(b, a, 5)));
    assert.ok(val(symmetricInfoNCE(a, b, 50)) < 1e-3);
    // With identical embeddings for all items the loss is log B in both directions.
    const same = tf.ones([4, 3]) as tf.Tensor2D;
    close(val(symmetricInfoNCE(same, same, 10)), Math.log(4));
  });

  it('symmetric InfoNCE with groups: a same-group negative leaves both softmaxes', () => {
    // Three pairs, pairs 0 and 1 in one group. Logits S·scale with S = [[1, .5, 0], [.5, 1, .2], [0, .2, 1]], scale 1.
    const e = tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    const S = [[1, 0.5, 0], [0.5, 1, 0.2], [0, 0.2, 1]];
    const txt = tf.tensor2d(S); // rows not unit: normalised by the loss, so compute with the normalised rows
    const norm = S.map((r) => Math.hypot(...r));
    const L = [0, 1, 2].map((i) => [0, 1, 2].map((j) => S[j][i] / norm[j])); // L[i][j] = ⟨e_i, t_j/|t_j|⟩
    const lse = (xs: number[]) => Math.log(xs.reduce((a, x) => a + Math.exp(x), 0));
    const keep = (i: number, j: number) => i === j || !((i === 0 && j === 1) || (i === 1 && j === 0));
    const rowTerm = (i: number) => lse([0, 1, 2].filter((j) => keep(i, j)).map((j) => L[i][j])) - L[i][i];
    const colTerm = (j: number) => lse([0, 1, 2].filter((i) => keep(i, j)).map((i) => L[i][j])) - L[j][j];
    const expect = ([0, 1, 2].map(rowTerm).reduce((a, b) => a + b) / 3 + [0, 1, 2].map(colTerm).reduce((a, b) => a + b) / 3) / 2;
    close(val(symmetricInfoNCE(e, txt, 1, { groups: [7, 7, 3] })), expect);
    // All in one group: every softmax holds only its positive, so the loss is 0.
    close(val(symmetricInfoNCE(e, txt, 1, { groups: [1, 1, 1] })), 0);
    // Distinct groups change nothing.
    close(val(symmetricInfoNCE(e, txt, 1, { groups: [0, 1, 2] })), val(symmetricInfoNCE(e, txt, 1)));
    assert.throws(() => symmetricInfoNCE(e, txt, 1, { groups: [0, 1] }), /2 groups for a batch of 3/);
  });

  it('symmetric InfoNCE with hard negatives: extra columns in the image → text direction only', () => {
    // Two orthogonal pairs, scale 2; image i's hard negatives h_i0, h_i1 (unit after normalisation).
    const img = tf.tensor2d([[1, 0], [0, 1]]);
    const txt = tf.tensor2d([[1, 0], [0, 1]]);
    const hard = tf.tensor2d([[1, 1], [0, -1], [3, 0], [-1, 0]]); // image 0: (1,1)/√2, (0,−1); image 1: (1,0), (−1,0) — all but the first orthogonal to their image
    const lse = (xs: number[]) => Math.log(xs.reduce((a, x) => a + Math.exp(x), 0));
    const s = Math.SQRT1_2;
    const rows = (lse([2, 0, 2 * s, 0]) - 2 + lse([0, 2, 0, 0]) - 2) / 2;
    const cols = (lse([2, 0]) - 2 + lse([0, 2]) - 2) / 2;
    close(val(symmetricInfoNCE(img, txt, 2, { hardNegatives: hard })), (rows + cols) / 2);
    assert.throws(() => symmetricInfoNCE(img, txt, 2, { hardNegatives: tf.tensor2d([[1, 0], [0, 1], [1, 1]]) }), /hardNegatives \[3,2\] must be \[B·H, 2\] for B = 2/);
  });

  it('SimPO equals −log σ(β(r_w − r_l) − γ) with γ = β·ratio, averaged over pairs', () => {
    const rw = [-0.5, -1.2];
    const rl = [-1.0, -0.8];
    const beta = 2;
    const ratio = 0.5;
    const expect = rw.map((w, i) => -Math.log(1 / (1 + Math.exp(-(beta * (w - rl[i]) - beta * ratio))))).reduce((a, b) => a + b) / 2;
    close(val(simpoLoss(tf.tensor1d(rw), tf.tensor1d(rl), beta, ratio)), expect);
    // Stable far in the tails.
    close(val(simpoLoss(tf.tensor1d([100]), tf.tensor1d([-100]), 10, 0)), 0, 1e-6);
    close(val(simpoLoss(tf.tensor1d([-100]), tf.tensor1d([100]), 10, 0)), 2000, 1e-6);
  });

  it('flow-matching MSE averages over unmasked steps only', () => {
    const pred = tf.tensor3d([[[1, 2], [3, 4]]]);
    const target = tf.tensor3d([[[0, 0], [100, 100]]]);
    close(val(flowMatchingLoss(pred, target, tf.tensor2d([[1, 0]]))), (1 + 4) / 2);
    close(val(flowMatchingLoss(pred, target)), (1 + 4 + 97 ** 2 + 96 ** 2) / 4);
  });

  it('token cross-entropy is the masked mean negative log-likelihood', () => {
    const logits = tf.tensor3d([[[0, Math.log(3)], [Math.log(2), 0]]]); // p = [1/4, 3/4], [2/3, 1/3]
    const targets = tf.tensor2d([[1, 1]], [1, 2], 'int32');
    close(val(tokenCrossEntropy(logits, targets, tf.tensor2d([[1, 1]]))), (-Math.log(3 / 4) - Math.log(1 / 3)) / 2);
    close(val(tokenCrossEntropy(logits, targets, tf.tensor2d([[1, 0]]))), -Math.log(3 / 4));
  });
});
