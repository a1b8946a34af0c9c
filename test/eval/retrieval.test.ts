import { strict as assert } from 'node:assert';
import { directionMetrics, median, ranks, retrievalRecall, retrievalRows, semanticChance, semanticRanks } from '../../src/eval/retrieval';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('eval/retrieval: recall@k, median rank, MRR from a similarity matrix', () => {
  const S = [
    [0.9, 0.1, 0.2], // row 0: true item highest → rank 1
    [0.8, 0.5, 0.5], // row 1: 0.8 ahead and 0.5 tied (counted ahead) → rank 3
    [0.0, 0.3, 0.2], // row 2: 0.3 ahead → rank 2
  ];

  it('hand-built 3×3 matrix, both directions, ties counted pessimistically', () => {
    assert.deepEqual(ranks(S), [1, 3, 2]);
    // Columns: col 0 = [0.9, 0.8, 0.0], truth 0.9 → 1; col 1 = [0.1, 0.5, 0.3], truth 0.5 → 1;
    // col 2 = [0.2, 0.5, 0.2], truth 0.2: 0.5 ahead and the other 0.2 tied → 3.
    assert.deepEqual(ranks(S, true), [1, 1, 3]);
    const r = retrievalRecall(S, [1, 2]);
    assert.equal(r.n, 3);
    assert.deepEqual(r.rowToCol, { 1: 1 / 3, 2: 2 / 3 });
    assert.deepEqual(r.colToRow, { 1: 2 / 3, 2: 2 / 3 });
    assert.equal(r.medianRankRowToCol, 2);
    assert.equal(r.medianRankColToRow, 1);
    close(r.mrrRowToCol, (1 + 1 / 3 + 1 / 2) / 3);
    close(r.mrrColToRow, (1 + 1 + 1 / 3) / 3);
  });

  it('default k = 1, 5, 10 on a 12×12 matrix with known ranks; flat Float32Array input gives the same', () => {
    // S[i][j] = 1 when j = i, else 0, except query i gets (r_i − 1) distractor columns scoring 2 → rank r_i.
    const want = [1, 1, 2, 3, 5, 6, 7, 10, 11, 12, 1, 4];
    const n = want.length;
    const M: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (j === i ? 1 : 0)));
    want.forEach((r, i) => {
      for (let c = 0, j = 0; c < r - 1; j++) if (j !== i) { M[i][j] = 2; c++; }
    });
    assert.deepEqual(ranks(M), want);
    const r = retrievalRecall(M);
    // ≤1: 3 queries; ≤5: 1,1,2,3,5,1,4 = 7; ≤10: also 6,7,10 = 10.
    assert.deepEqual(r.rowToCol, { 1: 3 / 12, 5: 7 / 12, 10: 10 / 12 });
    // Sorted ranks 1,1,1,2,3,4,5,6,7,10,11,12 → median (4 + 5)/2.
    assert.equal(r.medianRankRowToCol, 4.5);
    close(r.mrrRowToCol, want.reduce((a, x) => a + 1 / x, 0) / n);
    const flat = new Float32Array(n * n);
    M.forEach((row, i) => flat.set(row, i * n));
    assert.deepEqual(retrievalRecall({ values: flat, n }), r);
  });

  it('a constant matrix ranks every truth last (pessimistic ties)', () => {
    const C = Array.from({ length: 4 }, () => [0.5, 0.5, 0.5, 0.5]);
    assert.deepEqual(ranks(C), [4, 4, 4, 4]);
    assert.deepEqual(retrievalRecall(C, [1, 3, 4]).rowToCol, { 1: 0, 3: 0, 4: 1 });
  });

  it('long rows for figures; median; bad input rejected with context', () => {
    const rows = retrievalRows('action', retrievalRecall(S, [1]), ['traj → text', 'text → traj']);
    assert.deepEqual(rows, [
      { model: 'action', direction: 'traj → text', k: 1, recall: 1 / 3 },
      { model: 'action', direction: 'text → traj', k: 1, recall: 2 / 3 },
    ]);
    assert.equal(median([3, 1, 2]), 2);
    assert.throws(() => retrievalRecall([[1, 2]]), /must be square.*row 0 has 2 entries, expected 1/);
    assert.throws(() => retrievalRecall([]), /must be square and non-empty/);
    assert.throws(() => retrievalRecall({ values: new Float32Array(5), n: 2 }), /5 values for n = 2/);
    assert.throws(() => retrievalRecall([[1, NaN], [0, 1]]), /similarity \[0\]\[1\] is NaN/);
    assert.throws(() => directionMetrics([1, 2], [0]), /k must be a positive integer, got 0/);
  });

  it('semantic ranks: the best-scoring same-key item counts; null keys match only themselves; chance level', () => {
    // Keys a, a, b, null. Row 0's truth (0.2) is beaten by column 2 (b, 0.9) but column 1 (a, 0.5) is a match.
    const S = [
      [0.2, 0.5, 0.9, 0.1],
      [0.1, 0.3, 0.2, 0.4],
      [0.9, 0.8, 0.7, 0.6],
      [0.5, 0.6, 0.7, 0.7],
    ];
    const keys = ['a', 'a', 'b', null];
    // Row 0: best match 0.5 (col 1), non-matches ≥ 0.5: col 2 → rank 2. Row 1: best match 0.3 (col 1), col 3 (0.4) → 2.
    // Row 2: own 0.7; cols 0, 1 (0.9, 0.8) ahead → 3. Row 3: own 0.7 ties col 2 (pessimistic) → 2.
    assert.deepEqual(semanticRanks(S, keys), [2, 2, 3, 2]);
    // By column: column 0 ranks rows by S[·][0] = .2 .1 .9 .5; matches rows 0, 1 → best .2; rows 2, 3 ahead → 3.
    assert.deepEqual(semanticRanks(S, keys, true)[0], 3);
    // All keys distinct: semantic ranks are the exact ranks.
    assert.deepEqual(semanticRanks(S, ['p', 'q', 'r', 's']), ranks(S));
    // Chance: n = 4, k = 1: a-queries 2/4, b and null 1/4 → (0.5 + 0.5 + 0.25 + 0.25)/4. k = 4: every query hits.
    assert.ok(Math.abs(semanticChance(keys, 1) - 0.375) < 1e-12);
    assert.equal(semanticChance(keys, 4), 1);
    // k = 2 for an a-query: 1 − C(2,2)/C(4,2) = 5/6; for b: 1 − C(3,2)/C(4,2) = 1/2.
    assert.ok(Math.abs(semanticChance(keys, 2) - (5 / 6 + 5 / 6 + 0.5 + 0.5) / 4) < 1e-12);
    assert.throws(() => semanticRanks(S, ['a']), /1 keys for a 4×4 similarity matrix/);
  });
});
