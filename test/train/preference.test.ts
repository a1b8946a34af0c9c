import { strict as assert } from 'node:assert';
import { buildPreferencePairs } from '../../src/train/preference';

describe('train/preference: best-vs-worst pairs from grounding scores', () => {
  it('picks the highest and lowest scored candidate per sample', () => {
    const r = buildPreferencePairs([
      [
        { text: 'push the red moon left', score: 0.2 },
        { text: 'push the blue cube up', score: 0.9 },
        { text: 'point at the star', score: -0.1 },
      ],
    ]);
    assert.equal(r.pairs.length, 1);
    assert.equal(r.pairs[0].chosen.text, 'push the blue cube up');
    assert.equal(r.pairs[0].rejected.text, 'point at the star');
    assert.ok(Math.abs(r.pairs[0].margin - 1.0) < 1e-12);
  });

  it('drops ties, identical candidates, small margins and single candidates, and counts each', () => {
    const r = buildPreferencePairs(
      [
        [{ text: 'a', score: 0.5 }, { text: 'b', score: 0.5 }],
        [{ text: 'same', score: 0.1 }, { text: 'same', score: 0.1 }],
        [{ text: 'a', score: 0.5 }, { text: 'b', score: 0.45 }],
        [{ text: 'only', score: 1 }],
        [{ text: 'x', score: 0.9 }, { text: 'y', score: 0.1 }],
      ],
      { minMargin: 0.1 },
    );
    assert.deepEqual({ ties: r.ties, belowMargin: r.belowMargin, tooFew: r.tooFew }, { ties: 2, belowMargin: 1, tooFew: 1 });
    assert.deepEqual(r.pairs.map((p) => p.sample), [4]);
  });

  it('rejects a non-finite score naming the sample and candidate', () => {
    assert.throws(() => buildPreferencePairs([[{ text: 'a', score: 0 }, { text: 'b', score: NaN }]]), /sample 0: candidate "b" has non-finite score NaN/);
  });
});
