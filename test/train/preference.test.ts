import { strict as assert } from 'node:assert';
import { auroc, buildPreferencePairs, preferenceDiagnostics } from '../../src/train/preference';

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

describe('train/preference: diagnostics against labels the loop never sees', () => {
  it('auroc is the probability that a positive outscores a negative (ties ½), by hand', () => {
    // Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 0.35 beats one, 0.8 beats both → 3 of 4.
    assert.equal(auroc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 0.75);
    assert.equal(auroc([1, 1], [true, false]), 0.5);
    assert.equal(auroc([0.3, 0.2, 0.1], [true, true, false]), 1);
    assert.ok(Number.isNaN(auroc([0.3, 0.2], [true, true])));
    assert.throws(() => auroc([1], [true, false]), /1 scores but 2 labels/);
  });

  it('counts the right candidate available, chosen right or wrong, and rejected right', () => {
    const candidates = [
      [{ text: 'a', score: 0.9 }, { text: 'b', score: 0.1 }],
      [{ text: 'c', score: 0.2 }, { text: 'd', score: 0.7 }],
      [{ text: 'e', score: 0.5 }, { text: 'f', score: 0.4 }],
    ];
    const { pairs } = buildPreferencePairs(candidates);
    // Sample 0: the right one (a) is chosen; sample 1: the right one (c) is rejected; sample 2: none is right.
    const d = preferenceDiagnostics(candidates, pairs, [[true, false], [true, false], [false, false]]);
    assert.deepEqual(d, { correctShare: 2 / 6, rightAvailableShare: 2 / 3, chosenCorrectShare: 1 / 3, chosenWrongShare: 2 / 3, rejectedCorrectShare: 1 / 3, auroc: auroc([0.9, 0.1, 0.2, 0.7, 0.5, 0.4], [true, false, true, false, false, false]) });
  });
});
