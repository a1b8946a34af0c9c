import { strict as assert } from 'node:assert';
import { alignment, modalityGap, pca2, uniformity } from '../../src/eval/representations';

describe('eval/representations: modality gap, alignment, uniformity, PCA', () => {
  it('known values on hand-made embeddings', () => {
    const text = [[1, 0], [0, 1]];
    const vision = [[-1, 0], [0, -1]];
    // Centroids (0.5, 0.5) and (−0.5, −0.5): gap √2. Each positive pair is antipodal: ‖t − v‖² = 4.
    assert.ok(Math.abs(modalityGap(text, vision) - Math.SQRT2) < 1e-12);
    assert.equal(alignment(text, vision), 4);
    assert.equal(alignment(text, text), 0);
    // Two orthogonal unit vectors: ‖x − y‖² = 2 → log exp(−4) = −4.
    assert.ok(Math.abs(uniformity(text) + 4) < 1e-12);
  });

  it('PCA recovers the direction of largest variance, with a fixed sign', () => {
    const pts = [[-2, 0.1, 0], [-1, -0.1, 0], [1, -0.1, 0], [2, 0.1, 0]]; // x and y uncorrelated
    const p = pca2(pts);
    // The first component is ±x; the sign rule makes its largest loading positive, so x order is kept.
    assert.deepEqual(p.map((q) => Math.sign(q[0])), [-1, -1, 1, 1]);
    assert.ok(Math.abs(Math.abs(p[3][0]) - 2) < 1e-6);
    assert.ok(Math.abs(Math.abs(p[0][1]) - 0.1) < 1e-3);
  });
});
