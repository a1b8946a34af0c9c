/**
 * UMAP projection to 2-D (umap-js, McInnes et al. 2018), seeded through our Rng so the same embeddings and seed give
 * the same picture. PCA (stats.ts, pca2d) shows global linear structure; UMAP shows neighbourhoods: whether
 * sub-tasks that name the same block or target cluster, and whether the two modalities share neighbourhoods.
 */
import { UMAP } from 'umap-js';
import { Rng } from '../util/rng';

export interface UmapOptions {
  seed?: number;
  /** Neighbours per point (default 15, capped at n − 1). */
  nNeighbors?: number;
  minDist?: number;
  nEpochs?: number;
}

export function umap2d(xs: ArrayLike<number>[], o: UmapOptions = {}): [number, number][] {
  if (xs.length < 3) throw new Error(`umap2d: needs at least 3 points, got ${xs.length}`);
  const dim = xs[0].length;
  xs.forEach((x, i) => {
    if (x.length !== dim) throw new Error(`umap2d: point ${i} has ${x.length} dimensions, point 0 has ${dim}`);
    for (let k = 0; k < dim; k++) if (!Number.isFinite(x[k])) throw new Error(`umap2d: point ${i} has a non-finite value at dimension ${k}`);
  });
  const rng = new Rng(o.seed ?? 0);
  const umap = new UMAP({
    nComponents: 2, nNeighbors: Math.min(o.nNeighbors ?? 15, xs.length - 1), minDist: o.minDist ?? 0.1, nEpochs: o.nEpochs,
    random: () => rng.random(),
  });
  return umap.fit(xs.map((x) => Array.from(x))).map((p) => [p[0], p[1]] as [number, number]);
}
