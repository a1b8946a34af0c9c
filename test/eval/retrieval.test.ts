import { strict as assert } from 'node:assert';
import { ranks, retrievalRecall } from '../../src/eval/retrieval';

describe('eval/retrieval: recall@k from a similarity matrix', () => {
  it('hand-built 3×3 matrix, both directions, ties counted pessimistically', () => {
    const S = [
      [0.9, 0.1, 0.2], // row 0: true item first → rank 1
      [0.8, 0.5, 0.5], // row 1: 0.8 ahead, 0.5 tie → rank 3
      [0.0, 0.3, 0.2], // row 2: 0.3 ahead → rank 2
    ];
    assert.deepEqual(ranks(S), [1, 3, 2]);
    // columns: col 0 = [0.9, 0.8, 0.0], truth 0.9 → 1; col 1 = [0.1, 0.5, 0.3], truth 0.5 → 1;
    // col 2 = [0.2, 0.5, 0.2], truth 0.2: 0.5 ahead and 0.2 tied → 3
    assert.deepEqual(ranks(S, true), [1, 1, 3]);
    const r = retrievalRecall(S, [1, 2]);
    assert.deepEqual(r.rowToCol, { 1: 1 / 3, 2: 2 / 3 });
    assert.deepEqual(r.colToRow, { 1: 2 / 3, 2: 2 / 3 });
    assert.equal(r.medianRankRowToCol, 2);
    assert.ok(Math.abs(r.mrrRowToCol - (1 + 1 / 3 + 1 / 2) / 3) < 1e-12);
    assert.throws(() => retrievalRecall([[1, 2]]), /must be square/);
  });
});
