import { strict as assert } from 'node:assert';
import { umap2d } from '../../src/eval/projection';
import { Rng } from '../../src/util/rng';

describe('eval/projection: seeded UMAP to 2-D', () => {
  // Two well-separated Gaussian clusters in 16-D.
  const rng = new Rng(1);
  const pts = Array.from({ length: 40 }, (_, i) => Array.from({ length: 16 }, (_, k) => (i < 20 ? (k === 0 ? 5 : 0) : k === 1 ? 5 : 0) + rng.normal(0, 0.3)));

  it('keeps clusters apart: every point\'s nearest 2-D neighbour is in its own cluster', () => {
    const p = umap2d(pts, { seed: 3, nEpochs: 200 });
    assert.equal(p.length, 40);
    p.forEach((a, i) => {
      let best = -1;
      let bd = Infinity;
      p.forEach((b, j) => {
        const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
        if (j !== i && d < bd) [bd, best] = [d, j];
      });
      assert.equal(best < 20, i < 20, `point ${i}'s nearest neighbour is ${best}`);
    });
  });

  it('is reproducible from the seed, and rejects bad input', () => {
    assert.deepEqual(umap2d(pts, { seed: 5, nEpochs: 50 }), umap2d(pts, { seed: 5, nEpochs: 50 }));
    assert.throws(() => umap2d([[1], [2]]), /at least 3 points/);
    assert.throws(() => umap2d([[1, 2], [2, 3], [1]]), /point 2 has 1 dimensions/);
    assert.throws(() => umap2d([[1, 2], [2, NaN], [1, 1]]), /point 1 has a non-finite value at dimension 1/);
  });
});
