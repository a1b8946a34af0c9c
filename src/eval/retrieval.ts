/**
 * Retrieval metrics from a similarity matrix S (row i = query i; its true match is column i): recall@k in both
 * directions (rows → columns and columns → rows), median rank and mean reciprocal rank. Ties count against the true
 * item (pessimistic): its rank is 1 + the number of other items scoring at least as high.
 */
export interface RetrievalResult {
  rowToCol: Record<number, number>;
  colToRow: Record<number, number>;
  medianRankRowToCol: number;
  medianRankColToRow: number;
  mrrRowToCol: number;
  mrrColToRow: number;
}

export function ranks(sim: number[][], byColumn = false): number[] {
  const n = sim.length;
  const at = (i: number, j: number) => (byColumn ? sim[j][i] : sim[i][j]);
  return Array.from({ length: n }, (_, i) => {
    const truth = at(i, i);
    let ahead = 0;
    for (let j = 0; j < n; j++) if (j !== i && at(i, j) >= truth) ahead++;
    return ahead + 1;
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export function retrievalRecall(sim: number[][], ks: number[] = [1, 5, 10]): RetrievalResult {
  const n = sim.length;
  if (n === 0 || sim.some((r) => r.length !== n)) throw new Error(`retrieval: the similarity matrix must be square and non-empty (got ${n} rows)`);
  const r1 = ranks(sim);
  const r2 = ranks(sim, true);
  const recall = (rs: number[]) => Object.fromEntries(ks.map((k) => [k, rs.filter((r) => r <= k).length / n]));
  return {
    rowToCol: recall(r1),
    colToRow: recall(r2),
    medianRankRowToCol: median(r1),
    medianRankColToRow: median(r2),
    mrrRowToCol: r1.reduce((a, r) => a + 1 / r, 0) / n,
    mrrColToRow: r2.reduce((a, r) => a + 1 / r, 0) / n,
  };
}
