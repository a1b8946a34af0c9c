/**
 * Representation analysis of the grounding models' embeddings (unit vectors): the modality gap (distance between
 * the text and vision-action centroids, Liang et al. 2022), alignment and uniformity (Wang & Isola 2020), and a 2-D
 * PCA projection (power iteration on the covariance, deterministic sign: the largest |loading| is positive).
 */
export type Vec = number[];

const mean = (xs: Vec[]): Vec => xs[0].map((_, j) => xs.reduce((a, x) => a + x[j], 0) / xs.length);
const dist2 = (a: Vec, b: Vec) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);

export function modalityGap(text: Vec[], vision: Vec[]): number {
  return Math.sqrt(dist2(mean(text), mean(vision)));
}

/** E‖f(x) − g(y)‖² over positive pairs (lower = better aligned). */
export function alignment(text: Vec[], vision: Vec[]): number {
  return text.reduce((a, t, i) => a + dist2(t, vision[i]), 0) / text.length;
}

/** log E exp(−2‖x − y‖²) over distinct pairs (lower = more uniform on the sphere). */
export function uniformity(xs: Vec[]): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) {
    s += Math.exp(-2 * dist2(xs[i], xs[j]));
    n++;
  }
  return Math.log(s / Math.max(1, n));
}

/** Projects rows onto their first two principal components. */
export function pca2(xs: Vec[], iterations = 200): [number, number][] {
  const mu = mean(xs);
  const c = xs.map((x) => x.map((v, j) => v - mu[j]));
  const d = mu.length;
  const cov = (v: Vec): Vec => {
    const proj = c.map((x) => x.reduce((a, xv, j) => a + xv * v[j], 0));
    return Array.from({ length: d }, (_, j) => c.reduce((a, x, i) => a + x[j] * proj[i], 0));
  };
  const comps: Vec[] = [];
  for (let k = 0; k < 2; k++) {
    let v = Array.from({ length: d }, (_, j) => Math.cos(j + k));
    for (let it = 0; it < iterations; it++) {
      let w = cov(v);
      for (const p of comps) {
        const dot = w.reduce((a, x, j) => a + x * p[j], 0);
        w = w.map((x, j) => x - dot * p[j]);
      }
      const n = Math.hypot(...w) || 1;
      v = w.map((x) => x / n);
    }
    const big = v.reduce((bi, x, j) => (Math.abs(x) > Math.abs(v[bi]) ? j : bi), 0);
    if (v[big] < 0) v = v.map((x) => -x);
    comps.push(v);
  }
  return c.map((x) => [x.reduce((a, v, j) => a + v * comps[0][j], 0), x.reduce((a, v, j) => a + v * comps[1][j], 0)] as [number, number]);
}
