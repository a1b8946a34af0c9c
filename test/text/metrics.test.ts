import { strict as assert } from 'node:assert';
import {
  ciderD,
  ciderDScores,
  corpusBleu,
  corpusBleuDetail,
  exactMatch,
  lcsLength,
  meanRougeL,
  modifiedPrecision,
  normalizeText,
  rougeL,
  sentenceBleu,
  textMetrics,
  tokenize,
} from '../../src/text/metrics';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b} (tol ${tol})`);

// The running example of Papineni et al. 2002 (§2.1, Example 1), also the NLTK bleu_score docstrings' example.
const HYP1 = 'It is a guide to action which ensures that the military always obeys the commands of the party';
const HYP1B = 'It is to insure the troops forever hearing the activity guidebook that party direct';
const REFS1 = [
  'It is a guide to action that ensures that the military will forever heed Party commands',
  'It is the guiding principle which guarantees the military forces always being under the command of the Party',
  'It is the practical guide for the army always to heed the directions of the party',
];
// NLTK corpus_bleu docstring's second sentence pair.
const HYP2 = 'he read the book because he was interested in world history';
const REFS2 = ['he was interested in world history because he read the book'];

describe('text/metrics: tokenizer and normalisation', () => {
  it('lower-cases and splits on non-alphanumerics', () => {
    assert.deepEqual(tokenize("Push the RED moon -- to the left, now! (x2)"), ['push', 'the', 'red', 'moon', 'to', 'the', 'left', 'now', 'x2']);
    assert.deepEqual(tokenize('  ...  '), []);
    assert.equal(normalizeText('Slide   the blue-cube.'), 'slide the blue cube');
  });
});

describe('text/metrics: BLEU against Papineni et al. 2002 and the NLTK docstrings', () => {
  it('modified unigram precision of "the the the …" is 2/7 (Papineni et al. §2.1)', () => {
    // "the" occurs 7 times in the candidate but at most twice in one reference → clipped count 2 of 7.
    assert.deepEqual(modifiedPrecision('the the the the the the the', ['The cat is on the mat', 'There is a cat on the mat'], 1), { matches: 2, total: 7 });
  });

  it('modified precisions of the paper\'s two candidates: 17/18, 10/17 and 8/14, 1/13 (NLTK modified_precision doc)', () => {
    assert.deepEqual(modifiedPrecision(HYP1, REFS1, 1), { matches: 17, total: 18 });
    assert.deepEqual(modifiedPrecision(HYP1, REFS1, 2), { matches: 10, total: 17 });
    assert.deepEqual(modifiedPrecision(HYP1B, REFS1, 1), { matches: 8, total: 14 });
    assert.deepEqual(modifiedPrecision(HYP1B, REFS1, 2), { matches: 1, total: 13 });
    // Trigrams of HYP1 found in a reference: "it is a", "is a guide", "a guide to", "guide to action", "ensures that the",
    // "that the military", "of the party" → 7 of 16. 4-grams: "it is a guide", "is a guide to", "a guide to action",
    // "ensures that the military" → 4 of 15.
    assert.deepEqual(modifiedPrecision(HYP1, REFS1, 3), { matches: 7, total: 16 });
    assert.deepEqual(modifiedPrecision(HYP1, REFS1, 4), { matches: 4, total: 15 });
  });

  it('sentence BLEU: NLTK sentence_bleu docstring values 0.5045… and, with method1, 0.0370…', () => {
    // |HYP1| = 18 and a reference has 18 words → BP = 1; BLEU = (17/18 · 10/17 · 7/16 · 4/15)^(1/4).
    const expected = Math.pow((17 / 18) * (10 / 17) * (7 / 16) * (4 / 15), 1 / 4);
    close(sentenceBleu(HYP1, REFS1), expected);
    close(expected, 0.5045, 1e-4);
    // HYP1B has no trigram match → 0 unsmoothed.
    assert.equal(sentenceBleu(HYP1B, REFS1), 0);
    // method1: trigrams 0 → 0.1/12, 4-grams 0 → 0.1/11; |HYP1B| = 14, closest reference length 16 → BP = e^(1 − 16/14).
    const m1 = Math.exp(1 - 16 / 14) * Math.pow((8 / 14) * (1 / 13) * (0.1 / 12) * (0.1 / 11), 1 / 4);
    close(sentenceBleu(HYP1B, REFS1, { smoothing: 'method1' }), m1);
    close(m1, 0.0370, 1e-4);
    // add-one (Lin & Och 2004) for n ≥ 2: 8/14, (1+1)/(13+1), (0+1)/(12+1), (0+1)/(11+1).
    const a1 = Math.exp(1 - 16 / 14) * Math.pow((8 / 14) * (2 / 14) * (1 / 13) * (1 / 12), 1 / 4);
    close(sentenceBleu(HYP1B, REFS1, { smoothing: 'add-one' }), a1);
  });

  it('corpus BLEU: the NLTK corpus_bleu docstring value 0.5920778868801042, and it is not the mean of sentence BLEUs', () => {
    // Pooled counts: HYP1 17/18, 10/17, 7/16, 4/15 and HYP2 (every word in the reference) 11/11, 9/10, 6/9, 4/8
    // → 28/29, 19/27, 13/25, 8/23; c = 18 + 11 = 29 = r → BP = 1.
    const d = corpusBleuDetail([HYP1, HYP2], [REFS1, REFS2]);
    assert.deepEqual(d.matches, [28, 19, 13, 8]);
    assert.deepEqual(d.totals, [29, 27, 25, 23]);
    assert.equal(d.brevityPenalty, 1);
    close(d.bleu, Math.pow((28 / 29) * (19 / 27) * (13 / 25) * (8 / 23), 1 / 4));
    close(d.bleu, 0.5920778868801042, 1e-15);
    // HYP2 alone: (1 · 9/10 · 6/9 · 4/8)^(1/4) = 0.3^(1/4); the docstring's average of the two is 0.6223….
    close(sentenceBleu(HYP2, REFS2), Math.pow(0.3, 1 / 4));
    close((sentenceBleu(HYP1, REFS1) + sentenceBleu(HYP2, REFS2)) / 2, 0.6223, 1e-4);
  });

  it('identical text scores 1; a short candidate pays the brevity penalty; bad input is rejected', () => {
    close(corpusBleu(['Push the red moon to the left.'], [['push the red moon to the left']]), 1);
    // Candidate = first 4 of the 7 reference words: every precision 1, BP = e^(1 − 7/4).
    close(sentenceBleu('push the red moon', ['push the red moon to the left']), Math.exp(1 - 7 / 4));
    // The closest reference length is used (ties → the shorter): lengths 3 and 5 for a 4-word candidate → r = 3, BP = 1.
    assert.equal(corpusBleuDetail(['a b c d'], [['a b c', 'a b c d e']]).referenceLength, 3);
    // Fewer than 4 words: no 4-gram anywhere → 0 unsmoothed; with method1 the 4-gram precision is ε/1 (NLTK's max(1, ·)).
    assert.equal(sentenceBleu('the red moon', ['the red moon']), 0);
    close(sentenceBleu('the red moon', ['the red moon'], { smoothing: 'method1' }), Math.pow(0.1, 1 / 4));
    assert.equal(corpusBleu(['x y z w'], [['a b c d']], { smoothing: 'method1' }), 0, 'no unigram match → 0 whatever the smoothing');
    assert.throws(() => corpusBleu(['a'], [['a'], ['b']]), /1 candidates but 2 reference lists/);
    assert.throws(() => corpusBleu(['a'], [[]]), /candidate 0 has no reference/);
    assert.throws(() => corpusBleu(['a'], [['a']], { smoothing: 'method9' as never }), /smoothing must be/);
  });
});

describe('text/metrics: ROUGE-L', () => {
  it('LCS lengths by hand', () => {
    assert.equal(lcsLength(tokenize('a b c d e'), tokenize('a c e')), 3);
    assert.equal(lcsLength(tokenize('a b c'), tokenize('c b a')), 1);
    assert.equal(lcsLength([], tokenize('a')), 0);
  });

  it("Lin 2004's example: S2 scores 0.75 and S3 0.5 against S1 (P = R, so F is independent of β)", () => {
    // S1 "police killed the gunman"; S2 "police kill the gunman" (LCS "police the gunman" = 3 of 4);
    // S3 "the gunman kill police" (LCS "the gunman" = 2 of 4).
    close(rougeL('police kill the gunman', ['police killed the gunman']), 0.75);
    close(rougeL('the gunman kill police', ['police killed the gunman']), 0.5);
    close(rougeL('the gunman kill police', ['police killed the gunman'], 3), 0.5);
  });

  it('F with β = 1.2 (pycocoevalcap) and β = 1; max P and max R over references', () => {
    // LCS("push the red moon left", "slide the red moon to the left") = "the red moon left" = 4 → P = 4/5, R = 4/7.
    const [p, r] = [4 / 5, 4 / 7];
    close(rougeL('push the red moon left', ['slide the red moon to the left']), (2.44 * p * r) / (r + 1.44 * p));
    close(rougeL('push the red moon left', ['slide the red moon to the left'], 1), (2 * p * r) / (p + r));
    // Second reference "red moon" (LCS 2): P = max(4/5, 2/5) = 4/5, R = max(4/7, 2/2) = 1.
    close(rougeL('push the red moon left', ['slide the red moon to the left', 'red moon']), (2.44 * 0.8 * 1) / (1 + 1.44 * 0.8));
    assert.equal(rougeL('abc', ['xyz']), 0);
    assert.equal(rougeL('', ['xyz']), 0);
    close(meanRougeL(['a b', 'c'], [['a b'], ['d']]), 0.5);
  });
});

describe('text/metrics: CIDEr-D (pycocoevalcap cider_scorer)', () => {
  // Corpus of D = 2 samples with disjoint references "red block left" and "blue cube up": every reference n-gram has
  // df = 1 and an n-gram in no reference has max(1, 0) = 1, so every weight is tf · (ln 2 − ln 1) = tf · ln 2 and the
  // ln 2 cancels in each cosine.
  const refs = [['red block left'], ['blue cube up']];

  it('hand-computed scores: identical 3-word text 7.5 (no 4-grams), partial overlap 70/24', () => {
    // Sample 1, identical: cosine 1 for n = 1, 2, 3 and 0 for n = 4 (a 3-word text has no 4-gram) → 10 · 3/4 = 7.5.
    // Sample 2, "green cube up" vs "blue cube up": n=1 shares {cube, up} → 2/(√3·√3) = 2/3; n=2 shares {cube up} →
    // 1/(√2·√2) = 1/2; n=3, n=4 → 0; equal lengths → no penalty: 10 · (2/3 + 1/2)/4 = 70/24.
    const s = ciderDScores(['red block left', 'green cube up'], refs);
    close(s[0], 7.5);
    close(s[1], 70 / 24);
    close(ciderD(['red block left', 'green cube up'], refs), (7.5 + 70 / 24) / 2);
  });

  it('Gaussian length penalty (σ = 6) and clipping of repeated n-grams', () => {
    // "cube up" vs "blue cube up": n=1 → 2/(√2·√3), n=2 → 1/(1·√2), δ = 2 − 3 = −1 → e^(−1/72).
    const s = ciderDScores(['red block left', 'cube up'], refs);
    close(s[1], 10 * Math.exp(-1 / 72) * (2 / Math.sqrt(6) + 1 / Math.sqrt(2)) / 4);
    // σ = 1 makes the same penalty e^(−1/2).
    close(ciderDScores(['red block left', 'cube up'], refs, { sigma: 1 })[1], 10 * Math.exp(-1 / 2) * (2 / Math.sqrt(6) + 1 / Math.sqrt(2)) / 4);
    // "cube cube cube" vs "blue cube up": the candidate weight 3·ln2 is clipped to the reference's ln2:
    // n=1 → min(3,1)·1/(3·√3) = 1/(3√3) (unclipped it would be 1/√3); n=2 "cube cube" unmatched → 0; δ = 0.
    close(ciderDScores(['red block left', 'cube cube cube'], refs)[1], (10 * (1 / (3 * Math.sqrt(3)))) / 4);
  });

  it('averages over references; unrelated text scores 0; one-sample corpus scores 0 (log D = 0)', () => {
    // Sample 2 with references "blue cube up" and "green cube up": "green cube up" matches the second fully in n = 1..3.
    // df: "cube", "up", "cube up" occur in sample 2 only → still df = 1; all weights ln 2 as before.
    // Against ref a: 70/24 (above); against ref b: 10 · 3/4 = 7.5 → mean (70/24 + 7.5)/2.
    const s = ciderDScores(['red block left', 'green cube up'], [['red block left'], ['blue cube up', 'green cube up']]);
    close(s[1], (70 / 24 + 7.5) / 2);
    close(ciderD(['zzz yyy', 'qqq'], refs), 0);
    assert.equal(ciderD(['red block left'], [['red block left']]), 0);
    // The former positional σ argument still works.
    close(ciderD(['red block left', 'cube up'], refs, 1), (7.5 + 10 * Math.exp(-1 / 2) * (2 / Math.sqrt(6) + 1 / Math.sqrt(2)) / 4) / 2);
  });
});

describe('text/metrics: exact match and the summary', () => {
  it('ignores case, punctuation and extra spaces; any reference counts', () => {
    close(exactMatch(['Push the red moon.', 'x', 'slide  the CUBE'], [['push the red moon'], ['y'], ['a', 'slide the cube!']]), 2 / 3);
    assert.equal(exactMatch([], []), 0);
  });

  it('textMetrics bundles the four corpus metrics', () => {
    const m = textMetrics([HYP1, HYP2], [REFS1, REFS2], {});
    close(m.bleu4, 0.5920778868801042, 1e-15);
    close(m.rougeL, meanRougeL([HYP1, HYP2], [REFS1, REFS2]));
    close(m.ciderD, ciderD([HYP1, HYP2], [REFS1, REFS2]));
    assert.equal(m.exactMatch, 0);
  });
});
