import { strict as assert } from 'node:assert';
import { ciderD, corpusBleu, exactMatch, rougeL } from '../../src/text/metrics';
import { parseSubTask } from '../../src/text/subtask-parser';
import { Tokenizer, padRows } from '../../src/text/tokenizer';
import { blockSet } from '../../src/sim/constants';
import { FAMILIES, instructionFor, sampleTask } from '../../src/sim/tasks';
import { resetWorld } from '../../src/sim/world';
import { Rng } from '../../src/util/rng';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('text/metrics against worked examples', () => {
  it('BLEU: identical text scores 1; the NLTK corpus_bleu docstring example', () => {
    close(corpusBleu(['push the red moon to the left'], [['push the red moon to the left']]), 1);
    // nltk.translate.bleu_score.corpus_bleu docstring: hyp1/ref1a,b,c and hyp2/ref2a → 0.5920778868...
    const hyp1 = 'It is a guide to action which ensures that the military always obeys the commands of the party';
    const ref1 = [
      'It is a guide to action that ensures that the military will forever heed Party commands',
      'It is the guiding principle which guarantees the military forces always being under the command of the Party',
      'It is the practical guide for the army always to heed the directions of the party',
    ];
    const hyp2 = 'he read the book because he was interested in world history';
    const ref2 = ['he was interested in world history because he read the book'];
    close(corpusBleu([hyp1, hyp2], [ref1, ref2]), 0.5920778868801042, 1e-9);
  });

  it('BLEU: a missing 4-gram gives 0 without smoothing and a small positive value with method1', () => {
    // cand "the red moon" vs ref "the red moon left": p1 = 3/3, p2 = 2/2, p3 = 1/1, p4 = 0/0 → 0 (no 4-grams at all).
    assert.equal(corpusBleu(['the red moon'], [['the red moon left']]), 0);
    // cand "push red moon up now" vs ref "push the red moon up": matches 1-g 4/5, 2-g 2/4 ("red moon", "moon up"), 3-g 1/3, 4-g 0/2.
    const s = corpusBleu(['push red moon up now'], [['push the red moon up']], { smoothing: 'method1' });
    close(s, Math.exp((Math.log(4 / 5) + Math.log(2 / 4) + Math.log(1 / 3) + Math.log(0.1 / 2)) / 4), 1e-12);
  });

  it('ROUGE-L F with β = 1.2 from the LCS', () => {
    // LCS("push the red moon left", "slide the red moon to the left") = "the red moon left" = 4; P = 4/5, R = 4/7.
    const p = 4 / 5;
    const r = 4 / 7;
    close(rougeL('push the red moon left', ['slide the red moon to the left']), ((1 + 1.44) * p * r) / (r + 1.44 * p), 1e-12);
    assert.equal(rougeL('abc', ['xyz']), 0);
  });

  it('CIDEr-D: identical to the only reference gives 10 per n-gram order; unrelated gives 0', () => {
    // With a corpus of two samples and distinct texts, every n-gram has df = 1, idf = log 2, and a perfect match has
    // cosine 1 at every n with no length penalty → 10.
    close(ciderD(['push the red moon', 'slide the blue cube up'], [['push the red moon'], ['slide the blue cube up']]), 10, 1e-9);
    close(ciderD(['zzz yyy', 'qqq'], [['push the red moon'], ['slide the blue cube up']]), 0);
  });

  it('exact match ignores case and punctuation', () => {
    close(exactMatch(['Push the red moon.', 'x'], [['push the red moon'], ['y']]), 0.5);
  });
});

describe('text/tokenizer', () => {
  it('round-trips template text and maps unknown words to <unk>', () => {
    const tok = Tokenizer.train(['push the red moon to the left', 'put all the blocks in the center']);
    assert.equal(tok.decode(tok.encode('Push the red moon to the left')), 'push the red moon to the left');
    assert.deepEqual(tok.encode('push the purple moon'), [tok.index.get('push'), tok.index.get('the'), 3, tok.index.get('moon')]);
    assert.ok(tok.coverage(['push the purple moon']) === 0.75);
    const p = padRows([[5, 6], [7]], 3, 'left');
    assert.deepEqual(Array.from(p.ids), [0, 5, 6, 0, 0, 7]);
    assert.deepEqual(Array.from(p.mask), [0, 1, 1, 0, 0, 1]);
  });
});

describe('text/subtask-parser: the templates parse back into (block, target)', () => {
  it('every family, canonical and sampled phrasings', () => {
    const rng = new Rng(3);
    let parsed = 0;
    let total = 0;
    for (let i = 0; i < 60; i++) {
      const s = resetWorld(blockSet(4), rng);
      for (const family of FAMILIES) {
        const task = sampleTask(family, s, rng);
        if (!task) continue;
        for (const canonical of [true, false]) {
          const text = instructionFor(task, s, rng, canonical);
          const p = parseSubTask(text);
          total++;
          assert.ok(p, `unparseable: "${text}"`);
          assert.equal(p.block, task.block, `block of "${text}"`);
          if (task.family === 'block2block') assert.equal(p.target, `block:${task.target}`, text);
          if (task.family === 'block2absolutelocation') assert.equal(p.target, `location:${task.location}`, text);
          if (task.family === 'block2blockrelativelocation') assert.equal(p.target, `block-relative:${task.direction}:${task.target}`, text);
          if (task.family === 'block2relativelocation') assert.equal(p.target, `direction:${task.direction}`, text);
          parsed++;
        }
      }
    }
    assert.equal(parsed, total);
    assert.equal(parseSubTask('move your arm towards yellow star') === null, false);
    assert.equal(parseSubTask('do something nice'), null);
  });
});
