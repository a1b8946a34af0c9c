import { strict as assert } from 'node:assert';
import { HARD_NEGATIVE_KINDS, hardNegative, hardNegatives, semanticKey } from '../../src/text/hard-negatives';
import { Rng } from '../../src/util/rng';

describe('text/hard-negatives: edits that keep the wording and change the sub-task', () => {
  it('semantic keys: paraphrases share one, other blocks and targets do not', () => {
    assert.equal(semanticKey('push the red moon to the center of the board'), 'red_moon|location:center');
    assert.equal(semanticKey('slide the moon to the middle'), 'red_moon|location:center');
    assert.equal(semanticKey('move the blue block left of the yellow block'), 'blue_cube|block-relative:left:yellow_pentagon');
    assert.equal(semanticKey('put the lamp to the center'), null);
  });

  it('each kind on a location and a block-relative sub-task', () => {
    const rng = new Rng(3);
    const loc = 'move the moon to the left side of the board';
    const sb = hardNegative(loc, 'swapped-block', rng)!;
    assert.match(sb, /^move the (blue cube|green star|yellow pentagon) to the left side of the board$/);
    const st = hardNegative(loc, 'swapped-target', rng)!;
    assert.match(st, /^move the moon to the /);
    assert.equal(semanticKey(st)?.split('|')[0], 'red_moon');
    assert.notEqual(semanticKey(st), 'red_moon|location:center_left');
    assert.equal(hardNegative(loc, 'dropped-target', rng), 'move the moon');
    assert.equal(semanticKey(hardNegative(loc, 'garbled', rng)!), null);
    const rel = 'push the blue block to the bottom right of the green star';
    const t = hardNegative(rel, 'swapped-target', rng)!;
    assert.match(t, /^push the blue block to the bottom right of the (red moon|yellow pentagon)$/);
    assert.equal(semanticKey(hardNegative(rel, 'garbled', rng)!), null);
  });

  it('no edit means the same as the original, over every kind and many draws; text without a block has none', () => {
    const rng = new Rng(0);
    const texts = ['slide the green star right of the red block', 'put the yellow block to the bottom left', 'push the cube to the center left', 'slide the red block to the towards your base'];
    for (const text of texts) {
      for (let i = 0; i < 20; i++) {
        const ns = hardNegatives(text, rng);
        assert.deepEqual(ns.map((n) => n.kind), [...HARD_NEGATIVE_KINDS], text);
        for (const n of ns) assert.notEqual(semanticKey(n.text), semanticKey(text), `${n.kind}: "${n.text}" vs "${text}"`);
      }
    }
    assert.deepEqual(hardNegatives('move to the left', rng), []);
  });
});
