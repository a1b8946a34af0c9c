/**
 * Summary statistics and embedding geometry.
 *
 * - mean, sample standard deviation (n − 1), percentile quantiles (linear interpolation between order statistics,
 *   R's type 7 / numpy's default), and a seeded percentile-bootstrap confidence interval (Efron & Tibshirani 1993,
 *   §13.3) drawing from `Rng` so the same seed gives the same interval.
 * - Alignment and uniformity (Wang & Isola 2020): alignment = E‖f(x) − f(y)‖^α over positive pairs (α = 2),
 *   uniformity = log E exp(−t‖f(x) − f(y)‖²) over distinct pairs of one set (t = 2). Both are defined for features
 *   on the unit sphere, so inputs are L2-normalised first unless `normalize: false`.
 * - Modality gap (Liang et al. 2022, "Mind the Gap"): ‖mean of the normalised text embeddings − mean of the
 *   normalised image (here vision-action) embeddings‖.
 * - PCA to 2-D: eigenvectors of the covariance (or, when there are fewer points than dimensions, of the Gram matrix,
 *   mapped back), by cyclic Jacobi rotations when the matrix is small and subspace iteration with Rayleigh–Ritz
 *   otherwise. Sign convention: each component's loading with the largest magnitude is positive, so the picture does
 *   not flip between runs.
 */
import { Rng } from '../util/rng';

export type Vectors = ArrayLike<number>[];

// ---------------------------------------------------------------------------------------------------------------
// Scalars

function checkNonEmpty(what: string, xs: ArrayLike<number>, min = 1): void {
  if (xs.length < min) throw new Error(`${what}: needs at least ${min} value${min > 1 ? 's' : ''}, got ${xs.length}`);
}

export function mean(xs: ArrayLike<number>): number {
  checkNonEmpty('mean', xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Sample standard deviation (divides by n − 1; `ddof = 0` for the population one). */
export function std(xs: ArrayLike<number>, ddof = 1): number {
  checkNonEmpty('std', xs, ddof + 1);
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return Math.sqrt(s / (xs.length - ddof));
}

/** q-quantile (0 ≤ q ≤ 1) with linear interpolation between order statistics (R type 7, numpy default). */
export function quantile(xs: ArrayLike<number>, q: number): number {
  checkNonEmpty('quantile', xs);
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q must be in [0, 1], got ${q}`);
  const s = Array.from(xs).sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  return lo + 1 < s.length ? s[lo] + (h - lo) * (s[lo + 1] - s[lo]) : s[lo];
}

export interface BootstrapOptions {
  /** Seed of the resampling stream. */
  seed?: number;
  /** Number of bootstrap resamples (1000 is the usual minimum for a 95% percentile interval). */
  resamples?: number;
  /** Coverage of the interval. */
  level?: number;
  /** The statistic (default: the mean). */
  statistic?: (xs: number[]) => number;
}

export interface Interval {
  /** The statistic on the original sample. */
  estimate: number;
  lo: number;
  hi: number;
  level: number;
}

/** Percentile bootstrap confidence interval of a statistic (default the mean, 95%, 1000 resamples, seed 0). */
export function bootstrapCI(xs: ArrayLike<number>, opts: BootstrapOptions = {}): Interval {
  const { seed = 0, resamples = 1000, level = 0.95, statistic } = opts;
  checkNonEmpty('bootstrapCI', xs);
  if (!(level > 0 && level < 1)) throw new Error(`bootstrapCI: level must be in (0, 1), got ${level}`);
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`bootstrapCI: resamples must be a positive integer, got ${resamples}`);
  const data = Array.from(xs);
  const n = data.length;
  const stat = statistic ?? ((v: number[]) => mean(v));
  const rng = new Rng(seed);
  const draws = new Float64Array(resamples);
  const sample = new Array<number>(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) sample[i] = data[rng.int(n)];
    draws[b] = stat(sample);
  }
  const a = (1 - level) / 2;
  return { estimate: stat(data), lo: quantile(draws, a), hi: quantile(draws, 1 - a), level };
}

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (0 for a single value). */
  std: number;
  /** Bootstrap interval of the mean (equal to the value for a single value). */
  lo: number;
  hi: number;
}

/** n, mean, sample std and the bootstrap CI of the mean: what a results table needs per (condition, metric). */
export function summarize(xs: ArrayLike<number>, opts: BootstrapOptions = {}): Summary {
  const ci = bootstrapCI(xs, { ...opts, statistic: undefined });
  return { n: xs.length, mean: ci.estimate, std: xs.length > 1 ? std(xs) : 0, lo: ci.lo, hi: ci.hi };
}

// ---------------------------------------------------------------------------------------------------------------
// Embedding geometry

function dims(what: string, ...sets: Vectors[]): number {
  for (const s of sets) if (s.length === 0) throw new Error(`${what}: empty set of vectors`);
  const d = sets[0][0].length;
  sets.forEach((s, k) =>
    s.forEach((v, i) => {
      if (v.length !== d) throw new Error(`${what}: vector ${i} of set ${k} has ${v.length} dimensions, expected ${d}`);
    }),
  );
  return d;
}

export function l2normalize(v: ArrayLike<number>): number[] {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const norm = Math.sqrt(s);
  if (!(norm > 0)) throw new Error(`l2normalize: the vector has norm ${norm} (a non-zero finite vector expected)`);
  return Array.from(v, (x) => x / norm);
}

const asRows = (xs: Vectors, normalize: boolean): number[][] => xs.map((v) => (normalize ? l2normalize(v) : Array.from(v)));

function sqDist(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/** Mean of the vectors. */
export function centroid(xs: Vectors): number[] {
  const d = dims('centroid', xs);
  const m = new Array<number>(d).fill(0);
  for (const x of xs) for (let j = 0; j < d; j++) m[j] += x[j];
  return m.map((v) => v / xs.length);
}

/** Wang & Isola's alignment E‖x_i − y_i‖^α over positive pairs (x_i, y_i); lower is better aligned. */
export function alignment(x: Vectors, y: Vectors, opts: { alpha?: number; normalize?: boolean } = {}): number {
  const { alpha = 2, normalize = true } = opts;
  dims('alignment', x, y);
  if (x.length !== y.length) throw new Error(`alignment: ${x.length} vs ${y.length} vectors (positive pairs need equal counts)`);
  const a = asRows(x, normalize);
  const b = asRows(y, normalize);
  return a.reduce((s, v, i) => s + Math.pow(sqDist(v, b[i]), alpha / 2), 0) / a.length;
}

/** Wang & Isola's uniformity log E exp(−t‖x_i − x_j‖²) over pairs i < j; lower is more uniform on the sphere. */
export function uniformity(xs: Vectors, opts: { t?: number; normalize?: boolean } = {}): number {
  const { t = 2, normalize = true } = opts;
  dims('uniformity', xs);
  if (xs.length < 2) throw new Error(`uniformity: needs at least 2 vectors, got ${xs.length}`);
  const a = asRows(xs, normalize);
  // log-mean-exp with the largest exponent factored out, so unnormalised inputs far apart do not underflow to log 0.
  const e: number[] = [];
  for (let i = 0; i < a.length; i++) for (let j = i + 1; j < a.length; j++) e.push(-t * sqDist(a[i], a[j]));
  const m = Math.max(...e);
  return m + Math.log(e.reduce((s, v) => s + Math.exp(v - m), 0) / e.length);
}

/** Liang et al.'s modality gap: distance between the centroids of the L2-normalised text and image embeddings. */
export function modalityGap(text: Vectors, image: Vectors): number {
  dims('modalityGap', text, image);
  return Math.sqrt(sqDist(centroid(asRows(text, true)), centroid(asRows(image, true))));
}

// ---------------------------------------------------------------------------------------------------------------
// PCA

/** Eigen-decomposition of a symmetric m×m matrix (row-major) by cyclic Jacobi rotations; values descending. */
export function symmetricEigen(a: ArrayLike<number>, m: number): { values: number[]; vectors: number[][] } {
  if (a.length !== m * m) throw new Error(`symmetricEigen: ${a.length} entries for m = ${m}`);
  const A = Float64Array.from(a);
  const V = new Float64Array(m * m);
  for (let i = 0; i < m; i++) V[i * m + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < m; p++) {
      diag += A[p * m + p] ** 2;
      for (let q = p + 1; q < m; q++) off += A[p * m + q] ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = A[p * m + q];
        if (apq === 0) continue;
        // Rotation J (J_pp = J_qq = c, J_pq = s, J_qp = −s) with (JᵀAJ)_pq = 0; t is the smaller root of
        // t² + 2θt − 1 = 0, θ = (a_qq − a_pp) / 2a_pq, for stability.
        const theta = (A[q * m + q] - A[p * m + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < m; k++) {
          const akp = A[k * m + p];
          const akq = A[k * m + q];
          A[k * m + p] = c * akp - s * akq;
          A[k * m + q] = s * akp + c * akq;
        }
        for (let k = 0; k < m; k++) {
          const apk = A[p * m + k];
          const aqk = A[q * m + k];
          A[p * m + k] = c * apk - s * aqk;
          A[q * m + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < m; k++) {
          const vkp = V[k * m + p];
          const vkq = V[k * m + q];
          V[k * m + p] = c * vkp - s * vkq;
          V[k * m + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => A[j * m + j] - A[i * m + i]);
  return { values: order.map((i) => A[i * m + i]), vectors: order.map((i) => Array.from({ length: m }, (_, k) => V[k * m + i])) };
}

function orthonormalize(cols: Float64Array[]): void {
  // Modified Gram–Schmidt applied twice ("twice is enough", Giraud et al. 2005); a column that vanishes is replaced
  // by a unit basis vector made orthogonal to the previous ones.
  const project = (v: Float64Array, k: number) => {
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < k; j++) {
        let d = 0;
        for (let i = 0; i < v.length; i++) d += v[i] * cols[j][i];
        for (let i = 0; i < v.length; i++) v[i] -= d * cols[j][i];
      }
    }
    return Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  };
  cols.forEach((v, k) => {
    const before = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    let n = project(v, k);
    // Relative test: what is left after removing the earlier directions must not be rounding noise.
    for (let e = 0; !(n > 1e-10 * before && n > 1e-300) && e < v.length; e++) {
      v.fill(0);
      v[(k + e) % v.length] = 1;
      n = project(v, k);
      if (n > 1e-8) break;
    }
    for (let i = 0; i < v.length; i++) v[i] /= n;
  });
}

/** Top-k eigenpairs of a symmetric m×m matrix by subspace iteration with Rayleigh–Ritz (deterministic start). */
function topEigenSubspace(A: Float64Array, m: number, k: number, maxIter = 3000, tol = 1e-10): { values: number[]; vectors: number[][] } {
  const p = Math.min(m, k + 6); // oversampling: convergence goes as (λ_{p+1}/λ_k)^iter
  const rng = new Rng(0x9ca);
  let Q = Array.from({ length: p }, () => Float64Array.from(rng.normals(m)));
  orthonormalize(Q);
  const mul = (v: Float64Array) => {
    const out = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += A[i * m + j] * v[j];
      out[i] = s;
    }
    return out;
  };
  let result = { values: [] as number[], vectors: [] as number[][] };
  for (let it = 0; it < maxIter; it++) {
    const Z = Q.map(mul);
    const T = new Float64Array(p * p);
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += Q[a][i] * Z[b][i];
      T[a * p + b] = s;
    }
    for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) T[a * p + b] = T[b * p + a] = (T[a * p + b] + T[b * p + a]) / 2;
    const ritz = symmetricEigen(T, p);
    let worst = 0;
    const vectors: number[][] = [];
    for (let r = 0; r < k; r++) {
      const w = ritz.vectors[r];
      const y = new Array<number>(m).fill(0);
      let res = 0;
      for (let i = 0; i < m; i++) {
        let yi = 0;
        let ay = 0;
        for (let b = 0; b < p; b++) {
          yi += Q[b][i] * w[b];
          ay += Z[b][i] * w[b];
        }
        y[i] = yi;
        res += (ay - ritz.values[r] * yi) ** 2;
      }
      worst = Math.max(worst, Math.sqrt(res));
      vectors.push(y);
    }
    result = { values: ritz.values.slice(0, k), vectors };
    if (worst <= tol * Math.max(Math.abs(ritz.values[0]), 1e-300)) break;
    Q = Z;
    orthonormalize(Q);
  }
  return result;
}

export interface Pca2d {
  /** Each input row projected on the two components (centred). */
  points: [number, number][];
  /** Unit loading vectors (input space). */
  components: [number[], number[]];
  /** Variance along each component (covariance eigenvalues, n − 1 denominator). */
  explainedVariance: [number, number];
  /** Share of the total variance along each component. */
  explainedVarianceRatio: [number, number];
  mean: number[];
}

/** Projects rows onto their first two principal components (see the file comment for the method and sign rule). */
export function pca2d(xs: Vectors, opts: { exactUpTo?: number } = {}): Pca2d {
  const exactUpTo = opts.exactUpTo ?? 96;
  const d = dims('pca2d', xs);
  const n = xs.length;
  if (n < 2) throw new Error(`pca2d: needs at least 2 points, got ${n}`);
  if (d < 2) throw new Error(`pca2d: needs at least 2 dimensions, got ${d}`);
  const mu = centroid(xs);
  const X = xs.map((x) => Float64Array.from(x, (v, j) => v - mu[j]));
  for (const [i, x] of X.entries()) if (x.some((v) => !Number.isFinite(v))) throw new Error(`pca2d: point ${i} has a non-finite coordinate`);
  const total = X.reduce((s, x) => s + x.reduce((a, v) => a + v * v, 0), 0) / (n - 1);
  // Work in the smaller of the d×d covariance and the n×n Gram matrix: both have the same non-zero spectrum.
  const useGram = n < d;
  const m = useGram ? n : d;
  const M = new Float64Array(m * m);
  if (useGram) {
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += X[i][k] * X[j][k];
      M[i * n + j] = M[j * n + i] = s / (n - 1);
    }
  } else {
    for (const x of X) for (let a = 0; a < d; a++) {
      const xa = x[a];
      if (xa === 0) continue;
      for (let b = a; b < d; b++) M[a * d + b] += xa * x[b];
    }
    for (let a = 0; a < d; a++) for (let b = a; b < d; b++) M[a * d + b] = M[b * d + a] = M[a * d + b] / (n - 1);
  }
  const eig = m <= exactUpTo ? symmetricEigen(M, m) : topEigenSubspace(M, m, 2);
  const comps = [0, 1].map((k) => {
    let v: number[];
    if (useGram) {
      // Covariance eigenvector = Xᵀu / ‖Xᵀu‖ for a Gram eigenvector u.
      v = new Array<number>(d).fill(0);
      X.forEach((x, i) => {
        const ui = eig.vectors[k][i];
        for (let j = 0; j < d; j++) v[j] += ui * x[j];
      });
      const norm = Math.hypot(...v);
      v = norm > 1e-12 * Math.sqrt(total || 1) ? v.map((x) => x / norm) : Array.from({ length: d }, (_, j) => (j === k ? 1 : 0));
    } else {
      v = eig.vectors[k];
    }
    const big = v.reduce((bi, x, j) => (Math.abs(x) > Math.abs(v[bi]) + 1e-12 ? j : bi), 0);
    return v[big] < 0 ? v.map((x) => -x) : v;
  });
  const points = X.map((x) => [0, 1].map((k) => x.reduce((s, v, j) => s + v * comps[k][j], 0)) as [number, number]);
  const ev: [number, number] = [Math.max(0, eig.values[0]), Math.max(0, eig.values[1] ?? 0)];
  return {
    points,
    components: [comps[0], comps[1]],
    explainedVariance: ev,
    explainedVarianceRatio: total > 0 ? [ev[0] / total, ev[1] / total] : [0, 0],
    mean: mu,
  };
}
