import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { ImageCache } from '../../src/data/samples';
import { detectionTargets, plannerPretrainTask } from '../../src/experiments/tasks';
import { getPreset } from '../../src/experiments/presets';
import { TRAJECTORY_NORMALISATION } from '../../src/models/grounding';
import { Planner } from '../../src/models/planner';
import { BLOCK_SETS } from '../../src/sim/constants';
import { sceneBoards, sceneTexts } from '../../src/sim/scenes';
import { Tokenizer } from '../../src/text/tokenizer';
import { Rng } from '../../src/util/rng';

describe('experiments/tasks: the base planner\'s detection pre-training', () => {
  before(async () => {
    await switchBackend('cpu');
  });
  const boards = sceneBoards(3, 11, { specs: BLOCK_SETS.BLOCK_4, image: [32, 32], camera: 'topdown', jpegQuality: 90 });

  it('detection targets are each block\'s board position in the trajectory model\'s coordinates, in block-set order', () => {
    const t = detectionTargets(boards, 4).arraySync() as number[][][];
    const k = TRAJECTORY_NORMALISATION;
    boards.forEach((b, i) => b.state.blocks.forEach((bl, j) => {
      assert.equal(bl.name, BLOCK_SETS.BLOCK_4[j].name);
      assert.ok(Math.abs(t[i][j][0] - (bl.x - k.xCenter) * k.xScale) < 1e-6);
      assert.ok(Math.abs(t[i][j][1] - bl.y * k.yScale) < 1e-6);
    }));
  });

  it('scene batches add the detection loss; a planner without slots is refused', () => {
    const tok = Tokenizer.train(sceneTexts(BLOCK_SETS.BLOCK_4));
    const base = { ...getPreset('tiny').models.planner, vocab: tok.size };
    assert.throws(() => plannerPretrainTask(new Planner({ ...base, slots: undefined }, 0), [], tok, new ImageCache(32), 2, { boards, share: 1, detectionWeight: 1 }), /detectionWeight > 0 needs a planner with detection slots/);
    const pl = new Planner({ ...base, slots: 4 }, 0);
    const withDet = plannerPretrainTask(pl, [], tok, new ImageCache(32), 2, { boards, share: 1, detectionWeight: 1 });
    const without = plannerPretrainTask(pl, [], tok, new ImageCache(32), 2, { boards, share: 1, detectionWeight: 0 });
    const a = withDet.nextBatch(new Rng(3), 0);
    const b = without.nextBatch(new Rng(3), 0);
    assert.deepEqual(a.detection!.shape, [2, 4, 2]);
    assert.equal(b.detection, undefined);
    const la = withDet.loss(a).dataSync()[0];
    const lb = without.loss(b).dataSync()[0];
    const det = tf.losses.meanSquaredError(a.detection!, pl.detect(a.inp.images!)).dataSync()[0];
    assert.ok(Math.abs(la - lb - det) < 1e-4, `${la} − ${lb} vs detection MSE ${det}`);
    withDet.disposeBatch!(a);
    without.disposeBatch!(b);
  });
});
