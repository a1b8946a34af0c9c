import { strict as assert } from 'node:assert';
import { blockSet, blockRadius } from '../../src/sim/constants';
import { randomBoard, regionOf, relationWords, sceneBoards, sceneQA, sceneTexts } from '../../src/sim/scenes';
import type { WorldState } from '../../src/sim/world';
import { Tokenizer, UNK } from '../../src/text/tokenizer';
import { Rng } from '../../src/util/rng';

/** A hand-made board: red moon top left, blue cube centre, green star bottom right, yellow pentagon right side. */
function board(): WorldState {
  const at: Record<string, [number, number]> = { red_moon: [0.17, -0.25], blue_cube: [0.35, 0.0], green_star: [0.55, 0.26], yellow_pentagon: [0.36, 0.25] };
  return { blocks: blockSet(4).map((b) => ({ ...b, x: at[b.name][0], y: at[b.name][1], yaw: 0, radius: blockRadius(b.shape) })), effector: [0.3, 0.1], target: [0.3, 0.1] };
}

describe('sim: scene descriptions', () => {
  it('regions are the nearest named location (a 3×3 grid of the board)', () => {
    assert.equal(regionOf([0.17, -0.25]), 'top_left');
    assert.equal(regionOf([0.35, 0.0]), 'center');
    assert.equal(regionOf([0.55, 0.26]), 'bottom_right');
    assert.equal(regionOf([0.36, 0.25]), 'center_right');
    assert.equal(regionOf([0.2, 0.0]), 'top');
  });

  it('relations are the 8-way direction in the board\'s words (up = −x, left = −y)', () => {
    assert.equal(relationWords([0.2, 0], [0.4, 0]), 'above');
    assert.equal(relationWords([0.4, 0.1], [0.4, 0]), 'right of');
    assert.equal(relationWords([0.5, -0.1], [0.4, 0]), 'below and left of');
    assert.equal(relationWords([0.3, -0.1], [0.4, 0]), 'above and left of');
  });

  it('answers each kind of question from the board', () => {
    const s = board();
    assert.deepEqual(sceneQA({ kind: 'where', block: 'red_moon' }, s), { prompt: 'where is the red moon', answer: 'the red moon is at the top left corner' });
    assert.deepEqual(sceneQA({ kind: 'where', block: 'yellow_pentagon' }, s).answer, 'the yellow pentagon is at the right side');
    assert.deepEqual(sceneQA({ kind: 'relation', block: 'red_moon', other: 'blue_cube' }, s), {
      prompt: 'where is the red moon relative to the blue cube', answer: 'the red moon is above and left of the blue cube',
    });
    assert.equal(sceneQA({ kind: 'relation', block: 'green_star', other: 'yellow_pentagon' }, s).answer, 'the green star is below the yellow pentagon');
    assert.deepEqual(sceneQA({ kind: 'nearest', location: 'bottom_right' }, s), { prompt: 'which block is nearest to the bottom right corner', answer: 'the green star' });
    assert.equal(sceneQA({ kind: 'nearest', location: 'center' }, s).answer, 'the blue cube');
    assert.throws(() => sceneQA({ kind: 'where', block: 'blue_moon' }, s), /no block "blue_moon" on the board \(blocks: red_moon, blue_cube, green_star, yellow_pentagon\)/);
  });

  it('random boards keep blocks apart and on the board; the same seed gives the same boards and images', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 50; i++) {
      const s = randomBoard(blockSet(4), rng);
      for (const b of s.blocks) assert.ok(b.x >= 0.15 && b.x <= 0.55 && Math.abs(b.y) <= 0.27);
      for (let a = 0; a < 4; a++) for (let c = a + 1; c < 4; c++) assert.ok(Math.hypot(s.blocks[a].x - s.blocks[c].x, s.blocks[a].y - s.blocks[c].y) > s.blocks[a].radius + s.blocks[c].radius);
    }
    const o = { specs: blockSet(4), image: [32, 32] as [number, number], camera: 'topdown' as const, jpegQuality: 90 };
    const [a, b] = [sceneBoards(3, 7, o), sceneBoards(3, 7, o)];
    assert.deepEqual(a.map((x) => Buffer.from(x.imageJpeg).toString('hex')), b.map((x) => Buffer.from(x.imageJpeg).toString('hex')));
    assert.notDeepEqual(a[0].state.blocks.map((x) => x.x), a[1].state.blocks.map((x) => x.x));
  });

  it('sceneTexts cover every word of every prompt and answer', () => {
    const tok = Tokenizer.train(sceneTexts(blockSet(4)));
    const rng = new Rng(9);
    for (let i = 0; i < 30; i++) {
      const s = randomBoard(blockSet(4), rng);
      for (const q of [{ kind: 'where', block: 'green_star' }, { kind: 'relation', block: 'red_moon', other: 'yellow_pentagon' }, { kind: 'nearest', location: 'top' }] as const) {
        const qa = sceneQA(q, s);
        assert.ok(![...tok.encode(qa.prompt), ...tok.encode(qa.answer)].includes(UNK), `${qa.prompt} / ${qa.answer}`);
      }
    }
  });
});
