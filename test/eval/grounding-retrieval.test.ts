import { strict as assert } from 'node:assert';
import type { HierarchicalSample } from '../../src/data/samples';
import { derangement, perturbSamples, reverseTrajectory, similarity } from '../../src/eval/grounding-retrieval';
import { retrievalRecall } from '../../src/eval/retrieval';
import { Rng } from '../../src/util/rng';

const sample = (i: number, steps: number): HierarchicalSample => ({
  episodeId: `e${i}`, subTaskIndex: 0, lowLevel: `text ${i}`, imageJpeg: new Uint8Array([i]),
  trajectory: Float32Array.from({ length: steps * 4 }, (_, k) => i * 100 + k), length: steps, start: 0, end: steps,
});

describe('eval/grounding-retrieval: trajectory perturbations and the similarity matrix', () => {
  it('derangement: a permutation with no fixed point, for every n ≥ 2', () => {
    for (let n = 2; n <= 40; n++) {
      const p = derangement(n, new Rng(n));
      assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
      assert.ok(p.every((j, i) => j !== i), `n = ${n}: ${p}`);
    }
  });

  it('time reversal: steps in reverse order with actions negated; twice is the identity', () => {
    const t = Float32Array.from([1, 2, 10, 20, 3, 4, 11, 21, 5, 6, 12, 22]); // 3 steps of (ax, ay, ex, ey)
    assert.deepEqual(Array.from(reverseTrajectory(t, 3)), [-5, -6, 12, 22, -3, -4, 11, 21, -1, -2, 10, 20]);
    assert.deepEqual(Array.from(reverseTrajectory(reverseTrajectory(t, 3), 3)), Array.from(t));
    assert.throws(() => reverseTrajectory(t, 4), /12 values for 4 steps \(16 expected\)/);
  });

  it('shuffled: every sample gets another sample\'s trajectory; images and texts stay', () => {
    const ss = [3, 5, 4, 6, 2].map((steps, i) => sample(i, steps));
    const p = perturbSamples(ss, 'shuffled', 7);
    p.forEach((s, i) => {
      assert.equal(s.imageJpeg, ss[i].imageJpeg);
      assert.equal(s.lowLevel, ss[i].lowLevel);
      assert.notEqual(s.trajectory, ss[i].trajectory);
      assert.equal(s.trajectory.length, s.length * 4);
    });
    assert.deepEqual(perturbSamples(ss, 'none'), ss);
    assert.throws(() => perturbSamples([ss[0]], 'shuffled'), /at least 2 samples/);
  });

  it('similarity of unit vectors feeds retrieval: identical sides give perfect recall', () => {
    const v = Float32Array.from([1, 0, 0, 1, Math.SQRT1_2, Math.SQRT1_2]);
    const s = similarity(v, v, 2);
    assert.equal(s.n, 3);
    assert.ok(Math.abs(s.values[2] - Math.SQRT1_2) < 1e-7);
    const r = retrievalRecall(s, [1]);
    assert.equal(r.rowToCol[1], 1);
    assert.equal(r.colToRow[1], 1);
  });
});
