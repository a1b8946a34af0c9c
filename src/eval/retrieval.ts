/**
 * Retrieval metrics from a similarity matrix S [N×N]: row i is query i (e.g. a trajectory) and its true match is
 * column i (its description). Both directions are scored: rows → columns (each row ranks the N columns) and
 * columns → rows (each column ranks the N rows).
 *
 * Ranks are 1-based and pessimistic about ties: the true item's rank is 1 + the number of OTHER items whose score is
 * ≥ the true score. A model that scores everything equally therefore gets rank N, not a lucky 1 (so a collapsed
 * encoder cannot look good); with no ties this is the usual rank.
 *
 * Reported: recall@k (share of queries whose rank ≤ k), the median rank (mean of the two middle ranks when N is
 * even) and the mean reciprocal rank.
 */

/** A square similarity matrix: rows of numbers, or N×N values in row-major order. */
export type SimilarityMatrix = ArrayLike<number>[] | { values: ArrayLike<number>; n: number };

export interface DirectionMetrics {
  /** recall@k for each requested k. */
  recall: Record<number, number>;
  medianRank: number;
  meanReciprocalRank: number;
  /** The 1-based rank of every query's true match. */
  ranks: number[];
}

export interface RetrievalResult {
  n: number;
  /** recall@k, rows → columns. */
  rowToCol: Record<number, number>;
  /** recall@k, columns → rows. */
  colToRow: Record<number, number>;
  medianRankRowToCol: number;
  medianRankColToRow: number;
  mrrRowToCol: number;
  mrrColToRow: number;
}

export const DEFAULT_KS = [1, 5, 10];

/** Reads a similarity matrix into an accessor, checking it is square, non-empty and finite. */
function accessor(sim: SimilarityMatrix): { n: number; at: (i: number, j: number) => number } {
  let n: number;
  let at: (i: number, j: number) => number;
  if (Array.isArray(sim)) {
    n = sim.length;
    sim.forEach((row, i) => {
      if (row.length !== n) throw new Error(`retrieval: the similarity matrix must be square and non-empty: row ${i} has ${row.length} entries, expected ${n}`);
    });
    at = (i, j) => sim[i][j];
  } else {
    const { values, n: m } = sim as { values: ArrayLike<number>; n: number };
    n = m;
    if (!Number.isInteger(n) || values.length !== n * n) throw new Error(`retrieval: the similarity matrix must be square and non-empty: ${values.length} values for n = ${n} (n² expected)`);
    at = (i, j) => values[i * n + j];
  }
  if (n === 0) throw new Error('retrieval: the similarity matrix must be square and non-empty (got 0 rows)');
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    if (!Number.isFinite(at(i, j))) throw new Error(`retrieval: similarity [${i}][${j}] is ${at(i, j)} (finite numbers expected)`);
  }
  return { n, at };
}

/** 1-based pessimistic rank of each query's true match; byColumn ranks the rows for each column instead. */
export function ranks(sim: SimilarityMatrix, byColumn = false): number[] {
  const { n, at: raw } = accessor(sim);
  const at = byColumn ? (i: number, j: number) => raw(j, i) : raw;
  return Array.from({ length: n }, (_, i) => {
    const truth = at(i, i);
    let ahead = 0;
    for (let j = 0; j < n; j++) if (j !== i && at(i, j) >= truth) ahead++;
    return ahead + 1;
  });
}

export function median(xs: number[]): number {
  if (xs.length === 0) throw new Error('median: empty list');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Metrics of one direction from its ranks. */
export function directionMetrics(rs: number[], ks: number[] = DEFAULT_KS): DirectionMetrics {
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new Error(`retrieval: k must be a positive integer, got ${k}`);
  const n = rs.length;
  return {
    recall: Object.fromEntries(ks.map((k) => [k, rs.filter((r) => r <= k).length / n])),
    medianRank: median(rs),
    meanReciprocalRank: rs.reduce((a, r) => a + 1 / r, 0) / n,
    ranks: rs,
  };
}

/** recall@k (default k = 1, 5, 10), median rank and MRR in both directions. */
export function retrievalRecall(sim: SimilarityMatrix, ks: number[] = DEFAULT_KS): RetrievalResult {
  const r = directionMetrics(ranks(sim), ks);
  const c = directionMetrics(ranks(sim, true), ks);
  return {
    n: r.ranks.length,
    rowToCol: r.recall,
    colToRow: c.recall,
    medianRankRowToCol: r.medianRank,
    medianRankColToRow: c.medianRank,
    mrrRowToCol: r.meanReciprocalRank,
    mrrColToRow: c.meanReciprocalRank,
  };
}

/** Long-form rows (one per direction and k) for tables and `retrievalBars`. */
export function retrievalRows(model: string, r: RetrievalResult, names: [string, string] = ['rows → columns', 'columns → rows']): { model: string; direction: string; k: number; recall: number }[] {
  return [
    ...Object.entries(r.rowToCol).map(([k, recall]) => ({ model, direction: names[0], k: Number(k), recall })),
    ...Object.entries(r.colToRow).map(([k, recall]) => ({ model, direction: names[1], k: Number(k), recall })),
  ];
}

/**
 * Semantic retrieval: a retrieved item counts when its key equals the query's (for sub-tasks: the parsed block and
 * target), so a paraphrase of the right sub-task is a hit. The semantic rank of a query is 1 + the number of
 * non-matching items scoring ≥ its best-scoring match (pessimistic about ties, as `ranks`); the query's own item
 * always matches. A null key matches only the item itself.
 */
export function semanticRanks(sim: SimilarityMatrix, keys: (string | null)[], byColumn = false): number[] {
  const { n, at: raw } = accessor(sim);
  if (keys.length !== n) throw new Error(`retrieval: ${keys.length} keys for a ${n}×${n} similarity matrix`);
  const at = byColumn ? (i: number, j: number) => raw(j, i) : raw;
  const same = (i: number, j: number) => i === j || (keys[i] !== null && keys[i] === keys[j]);
  return Array.from({ length: n }, (_, i) => {
    let best = -Infinity;
    for (let j = 0; j < n; j++) if (same(i, j)) best = Math.max(best, at(i, j));
    let ahead = 0;
    for (let j = 0; j < n; j++) if (!same(i, j) && at(i, j) >= best) ahead++;
    return ahead + 1;
  });
}

/**
 * Chance level of semantic recall@k: the expected share of queries with a match among k items drawn at random
 * without replacement from the n, 1 − C(n − m, k) / C(n, k) for a query with m matching items (itself included).
 */
export function semanticChance(keys: (string | null)[], k: number): number {
  const n = keys.length;
  const count = new Map<string, number>();
  for (const key of keys) if (key !== null) count.set(key, (count.get(key) ?? 0) + 1);
  let total = 0;
  for (const key of keys) {
    const m = key === null ? 1 : count.get(key)!;
    // C(n−m, k)/C(n, k) = Π_{t<k} (n − m − t)/(n − t)
    let miss = 1;
    for (let t = 0; t < Math.min(k, n); t++) miss *= Math.max(0, n - m - t) / (n - t);
    total += 1 - miss;
  }
  return n ? total / n : 0;
}
