import { strict as assert } from 'node:assert';
import { alignment, bootstrapCI, mean, modalityGap, pca2d, quantile, std, summarize, symmetricEigen, uniformity } from '../../src/eval/stats';
import { Rng } from '../../src/util/rng';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b} (tol ${tol})`);

describe('eval/stats: mean, std, quantile, bootstrap', () => {
  it('known values', () => {
    assert.equal(mean([1, 2, 3, 4]), 2.5);
    // Squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5 → sample variance 5/3, population 5/4.
    close(std([1, 2, 3, 4]), Math.sqrt(5 / 3));
    close(std(new Float32Array([1, 2, 3, 4]), 0), Math.sqrt(5 / 4));
    // Type 7: h = (4 − 1)·0.25 = 0.75 → 1 + 0.75·(2 − 1) = 1.75 (numpy.quantile gives the same).
    assert.equal(quantile([4, 1, 3, 2], 0.25), 1.75);
    assert.equal(quantile([4, 1, 3, 2], 1), 4);
    assert.throws(() => mean([]), /mean: needs at least 1 value, got 0/);
    assert.throws(() => std([1]), /std: needs at least 2 values, got 1/);
    assert.throws(() => quantile([1], 2), /q must be in \[0, 1\], got 2/);
  });

  it('bootstrap: {0, 1} gives [0, 1]; a constant sample a point; same seed same interval', () => {
    // Resample means of {0, 1} take 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: out of 1000 draws the 2.5% and
    // 97.5% quantiles fall inside the 0 and 1 blocks (≈250 draws each; fewer than 26 would be a > 30σ event).
    const b = bootstrapCI([0, 1], { seed: 1 });
    assert.deepEqual([b.estimate, b.lo, b.hi, b.level], [0.5, 0, 1, 0.95]);
    assert.deepEqual(bootstrapCI([3, 3, 3]), { estimate: 3, lo: 3, hi: 3, level: 0.95 });
    const xs = new Rng(7).normals(50).map((v) => 2 + v);
    assert.deepEqual(bootstrapCI(xs, { seed: 5 }), bootstrapCI(xs, { seed: 5 }));
    assert.notDeepEqual(bootstrapCI(xs, { seed: 5 }), bootstrapCI(xs, { seed: 6 }));
    const med = bootstrapCI([1, 2, 100], { statistic: (v) => quantile(v, 0.5) });
    assert.equal(med.estimate, 2);
    assert.throws(() => bootstrapCI([1], { level: 1.2 }), /level must be in \(0, 1\), got 1.2/);
  });

  it('bootstrap CI of the mean matches the normal approximation on a large sample', () => {
    // n = 400 standard normals: the percentile interval ≈ mean ± 1.96·s/√n (≈ ±0.098); allow 15% on the half-width.
    const xs = Array.from(new Rng(11).normals(400));
    const ci = bootstrapCI(xs, { seed: 3, resamples: 2000 });
    const half = (1.96 * std(xs)) / Math.sqrt(xs.length);
    assert.ok(ci.lo < ci.estimate && ci.estimate < ci.hi);
    close((ci.hi - ci.lo) / 2, half, 0.15 * half);
    close((ci.hi + ci.lo) / 2, ci.estimate, 0.2 * half);
    const s = summarize(xs, { seed: 3, resamples: 2000 });
    assert.deepEqual([s.n, s.mean, s.std, s.lo, s.hi], [400, ci.estimate, std(xs), ci.lo, ci.hi]);
  });
});

describe('eval/stats: alignment, uniformity, modality gap (on normalised embeddings)', () => {
  it('hand-made embeddings', () => {
    const text = [[1, 0], [0, 1]];
    const image = [[-1, 0], [0, -1]];
    // Each positive pair is antipodal: ‖t − v‖² = 4. Inputs are normalised first, so scale does not matter.
    assert.equal(alignment(text, image), 4);
    assert.equal(alignment([[3, 0]], [[0, 5]]), 2);
    close(alignment([[3, 0]], [[0, 5]], { alpha: 1 }), Math.SQRT2);
    assert.equal(alignment([[3, 0]], [[0, 5]], { normalize: false }), 34);
    // Two orthogonal unit vectors: ‖x − y‖² = 2 → log e^(−4) = −4.
    close(uniformity(text), -4);
    // Three unit vectors 120° apart: ‖x − y‖² = 2 − 2·cos 120° = 3 for every pair → −6.
    const tri = [0, 1, 2].map((k) => [Math.cos((2 * Math.PI * k) / 3), Math.sin((2 * Math.PI * k) / 3)]);
    close(uniformity(tri), -6, 1e-12);
    // ±e1, ±e2: two antipodal pairs (‖·‖² = 4) and four orthogonal ones (2) → log((2e^−8 + 4e^−4)/6).
    close(uniformity([[1, 0], [-1, 0], [0, 1], [0, -1]]), Math.log((2 * Math.exp(-8) + 4 * Math.exp(-4)) / 6));
    // Far-apart unnormalised points do not underflow to −∞: one pair at ‖·‖² = 10⁶ → −2·10⁶ exactly.
    close(uniformity([[0, 0], [1000, 0]], { normalize: false }), -2e6, 1e-6);
    // Centroids (0.5, 0.5) and (−0.5, −0.5) → gap √2; scaling an embedding changes nothing.
    close(modalityGap(text, image), Math.SQRT2);
    close(modalityGap([[7, 0], [0, 0.1]], image), Math.SQRT2);
    assert.equal(modalityGap(text, text), 0);
    assert.throws(() => alignment(text, [[1, 0]]), /2 vs 1 vectors/);
    assert.throws(() => modalityGap(text, [[1, 0, 0]]), /vector 0 of set 1 has 3 dimensions, expected 2/);
    assert.throws(() => uniformity([[0, 0], [1, 0]]), /norm 0/);
  });
});

describe('eval/stats: PCA to 2-D', () => {
  it('symmetric eigen-decomposition of [[2, 1], [1, 2]]: 3 along (1, 1)/√2, 1 along (1, −1)/√2', () => {
    const e = symmetricEigen([2, 1, 1, 2], 2);
    close(e.values[0], 3);
    close(e.values[1], 1);
    close(Math.abs(e.vectors[0][0]), Math.SQRT1_2);
    close(e.vectors[0][0] * e.vectors[0][1], 0.5);
  });

  // Points a_i·u + b_i·w with u = (0.6, 0.8, 0), w = (0, 0, 1), a = (−2, −1, 1, 2), b = (0.1, −0.1, −0.1, 0.1):
  // a and b have mean 0 and Σ a·b = 0, so the covariance eigenpairs are (Σa²/3 = 10/3, u) and (Σb²/3 = 0.04/3, w).
  // Sign rule: u's largest loading (0.8) and w's (1) are positive, so the scores are exactly a and b.
  const a = [-2, -1, 1, 2];
  const b = [0.1, -0.1, -0.1, 0.1];
  const pts = a.map((ai, i) => [0.6 * ai, 0.8 * ai, b[i]]);

  it('recovers the planted axes, variances and signs (covariance path)', () => {
    const p = pca2d(pts.map((x) => x.map((v, j) => v + [5, -3, 1][j]))); // an offset is removed by centring
    p.points.forEach(([x, y], i) => {
      close(x, a[i], 1e-9);
      close(y, b[i], 1e-9);
    });
    [0.6, 0.8, 0].forEach((v, j) => close(p.components[0][j], v, 1e-9));
    [0, 0, 1].forEach((v, j) => close(p.components[1][j], v, 1e-9));
    close(p.explainedVariance[0], 10 / 3, 1e-9);
    close(p.explainedVariance[1], 0.04 / 3, 1e-9);
    close(p.explainedVarianceRatio[0], 10 / 10.04, 1e-9);
    // Flipping the data flips nothing in the picture's orientation rule: loadings stay positive, scores negate.
    const q = pca2d(pts.map((x) => x.map((v) => -v)));
    q.points.forEach(([x], i) => close(x, -a[i], 1e-9));
  });

  it('fewer points than dimensions (Gram path) gives the same projection', () => {
    const wide = pts.map((x) => [...x, 0, 0, 0, 0, 0, 0, 0]); // n = 4 < d = 10
    const p = pca2d(wide);
    p.points.forEach(([x, y], i) => {
      close(x, a[i], 1e-9);
      close(y, b[i], 1e-9);
    });
    close(p.components[0][1], 0.8, 1e-9);
  });

  it('subspace iteration agrees with the exact Jacobi solution on a 150×120 problem', () => {
    // Planted standard deviations 3 and 2 on two random orthogonal directions, isotropic noise 0.1.
    const rng = new Rng(21);
    const d = 120;
    const dirs = [Array.from(rng.normals(d)), Array.from(rng.normals(d))];
    const n0 = Math.hypot(...dirs[0]);
    dirs[0] = dirs[0].map((v) => v / n0);
    const dot = dirs[1].reduce((s, v, j) => s + v * dirs[0][j], 0);
    dirs[1] = dirs[1].map((v, j) => v - dot * dirs[0][j]);
    const n1 = Math.hypot(...dirs[1]);
    dirs[1] = dirs[1].map((v) => v / n1);
    const xs = Array.from({ length: 150 }, () => {
      const [s0, s1] = [3 * rng.normal(), 2 * rng.normal()];
      const noise = rng.normals(d, 0.1);
      return dirs[0].map((v, j) => s0 * v + s1 * dirs[1][j] + noise[j]);
    });
    const fast = pca2d(xs); // m = 120 > 96 → subspace iteration
    const exact = pca2d(xs, { exactUpTo: 1000 });
    fast.points.forEach(([x, y], i) => {
      close(x, exact.points[i][0], 1e-6);
      close(y, exact.points[i][1], 1e-6);
    });
    close(fast.explainedVariance[0], exact.explainedVariance[0], 1e-8);
    // Both components lie in the planted plane. Sampling tilts component k out of it by about
    // √(d·σ²·λ_k/n)/λ_k (= 0.03 for λ = 9, 0.045 for λ = 4 here), so > 0.99 of the unit length stays in the plane.
    for (const c of fast.components) {
      const inPlane = Math.hypot(...dirs.map((u) => c.reduce((s, v, j) => s + v * u[j], 0)));
      assert.ok(inPlane > 0.99, `in-plane norm ${inPlane}`);
    }
    assert.throws(() => pca2d([[1, 2]]), /needs at least 2 points, got 1/);
  });
});
