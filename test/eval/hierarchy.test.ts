import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import {
  batchedModelPlanner, batchedOracleExecutor, batchedPlanner, batchedPolicyExecutor, groundTruthPlanner, hierarchyMetrics, modelPlanner,
  oracleExecutor, policyExecutor, runHierarchy, runHierarchyBatched, runHierarchyEpisode, taskFromParsed,
  type HierarchyEpisode, type HierarchyOptions,
} from '../../src/eval/hierarchy';
import { ImageCache } from '../../src/data/samples';
import { getPreset } from '../../src/experiments/presets';
import { Planner } from '../../src/models/planner';
import { Policy } from '../../src/models/policy';
import { Tokenizer } from '../../src/text/tokenizer';
import { blockSet } from '../../src/sim/constants';
import { decodeJpeg } from '../../src/data/image';
import { observeBoard, policyAct } from '../../src/eval/rollout';
import { DEFAULT_EPISODE, simulateEpisode } from '../../src/sim/episode';
import { isSuccess } from '../../src/sim/tasks';
import { findBlock, resetWorld } from '../../src/sim/world';
import { parseSubTask } from '../../src/text/subtask-parser';
import { Rng } from '../../src/util/rng';

const OPTS: HierarchyOptions = { episodes: 12, seed: 1000003, blocks: 4, stepsPerSubtask: 80, storedImage: [32, 32] };

describe('eval/hierarchy: closed-loop planner → executor episodes in the simulator', () => {
  const world = resetWorld(blockSet(4), new Rng(3));
  const task = (text: string) => taskFromParsed(parseSubTask(text), text, world);

  it('reads the task a sub-task names, for each template family', () => {
    assert.deepEqual(task('push the red moon to the blue cube'), { family: 'block2block', block: 'red_moon', target: 'blue_cube' });
    assert.deepEqual(task('push the red moon to the bottom left corner'), { family: 'block2absolutelocation', block: 'red_moon', location: 'bottom_left' });
    assert.deepEqual(task('pull the red moon apart from the blue cube'), { family: 'separate', block: 'red_moon', avoid: ['blue_cube'] });
    assert.deepEqual(task('point at the green star'), { family: 'point2block', block: 'green_star' });
    const rel = task('push the red moon to the left of the blue cube');
    const cube = findBlock(world, 'blue_cube');
    assert.deepEqual(rel, { family: 'block2blockrelativelocation', block: 'red_moon', target: 'blue_cube', direction: 'left', targetStart: [cube.x, cube.y] });
    const moon = findBlock(world, 'red_moon');
    assert.deepEqual(task('move the red moon far up'), { family: 'block2relativelocation', block: 'red_moon', direction: 'up', magnitude: 'far', start: [moon.x, moon.y] });
    assert.equal((task('slightly move the red moon up') as { magnitude?: string }).magnitude, 'near');
    // Nothing testable: no block, no target, or a block pushed to itself.
    assert.equal(task('hello there'), null);
    assert.equal(task('push the red moon'), null);
    assert.equal(task('push the red moon to the red moon'), null);
  });

  it('a planner that says the ground truth, executed by the oracle: every sub-task matches and nearly all succeed; region goals are reached', () => {
    const eps = runHierarchy(groundTruthPlanner, oracleExecutor, OPTS);
    const m = hierarchyMetrics(eps);
    assert.equal(m.episodes, OPTS.episodes);
    assert.equal(m.subTaskMatch, 1);
    assert.equal(m.subTaskUnparseable, 0);
    assert.ok(m.subTaskSuccess > 0.8, `sub-task success ${m.subTaskSuccess}`);
    // Moving every block into a named region is what the sub-tasks' words fully specify: those goals succeed.
    const region = eps.filter((e) => ['corner_bottom_left', 'corner_top_right', 'center', 'left_side'].includes(e.goal));
    assert.ok(region.length >= 3, `${region.length} region episodes`);
    assert.ok(region.filter((e) => e.success).length / region.length >= 0.6, region.map((e) => `${e.goal}:${e.success}`).join(' '));
    // Each episode stops when the goal passes its test, or after 2 × blocks sub-tasks.
    for (const e of eps) assert.ok(e.subTasks.length <= 8 && (e.success || e.subTasks.length > 0));
  });

  it('a planner that says nothing usable: all sub-tasks unparseable, nothing succeeds, the board is never solved', () => {
    const m = hierarchyMetrics(runHierarchy(() => 'hello there', oracleExecutor, OPTS));
    assert.deepEqual([m.subTaskSuccess, m.subTaskMatch, m.subTaskUnparseable, m.longHorizonSuccess], [0, 0, 1, 0]);
  });

  it('the executor runs the task the planner named, and success is that task\'s own test', () => {
    // A planner that always names the same wrong-but-valid task: it succeeds as named and never matches the plan.
    let named = '';
    const e = runHierarchyEpisode((_img, _hl, w) => {
      const [a, b] = w.blocks.map((x) => x.name.replace('_', ' '));
      named = `push the ${a} to the ${b}`;
      return named;
    }, oracleExecutor, 42, { ...OPTS, maxSubtasks: 2 });
    assert.equal(e.subTasks.length, 2);
    assert.ok(e.subTasks[0].success, JSON.stringify(e.subTasks[0]));
    // Naming the same, finished task again asks for nothing: no steps, and not a success.
    assert.deepEqual([e.subTasks[1].alreadySatisfied, e.subTasks[1].success, e.subTasks[1].steps], [true, false, 0]);
    assert.ok(e.subTasks.every((s) => s.parseable));
  });

  it('is deterministic in the seed', () => {
    const a = runHierarchy(groundTruthPlanner, oracleExecutor, { ...OPTS, episodes: 3 });
    const b = runHierarchy(groundTruthPlanner, oracleExecutor, { ...OPTS, episodes: 3 });
    assert.deepEqual(a, b);
  });

  it('metrics on hand-made records', () => {
    const rec = (success: boolean, match: boolean, parseable = true, alreadySatisfied = false) => ({ planned: '', groundTruth: '', parseable, matchesGroundTruth: match, alreadySatisfied, success, steps: 1 });
    const eps: HierarchyEpisode[] = [
      { seed: 1, goal: 'g', highLevel: 'h', success: true, subTasks: [rec(true, true), rec(true, false)] },
      { seed: 2, goal: 'g', highLevel: 'h', success: false, subTasks: [rec(false, false, false), rec(true, true), rec(false, true, true, true)] },
    ];
    assert.deepEqual(hierarchyMetrics(eps), { episodes: 2, subTasks: 5, subTaskSuccess: 0.6, subTaskAlreadySatisfied: 0.2, subTaskMatch: 0.6, subTaskUnparseable: 0.2, longHorizonSuccess: 0.5 });
    assert.ok(Number.isNaN(hierarchyMetrics([]).longHorizonSuccess));
  });

  it('oracle executor leaves the board untouched for text naming nothing testable', () => {
    const w = resetWorld(blockSet(4), new Rng(5));
    const before = JSON.stringify(w);
    assert.equal(oracleExecutor(w, 'hello', null, 50, new Rng(0)), 0);
    assert.equal(JSON.stringify(w), before);
    const t = taskFromParsed(parseSubTask('push the red moon to the center of the board'), 'push the red moon to the center of the board', w)!;
    const steps = oracleExecutor(w, '', t, 200, new Rng(0));
    assert.ok(steps > 0 && isSuccess(t, w), `${steps} steps`);
  });
});

describe('eval/rollout: what the policy sees in closed loop', () => {
  it('is the frame the dataset stores for that board (rendered, then through the same JPEG encoding)', () => {
    const r = simulateEpisode('obs', 3, { ...DEFAULT_EPISODE, camera: 'topdown', image: [16, 16] }, true);
    for (const i of [0, 5, 12]) {
      const stored = decodeJpeg(r.episode.steps[i].rgbJpeg).data;
      assert.deepEqual(Array.from(observeBoard(r.states![i], 16)), Array.from(stored), `step ${i}`);
    }
  });
});

describe('eval/hierarchy: episodes in lockstep, one model batch per round', () => {
  const T = getPreset('tiny').models;
  const texts = ['push the red moon to the bottom left corner', 'put the blue cube above the green star', 'move the yellow pentagon to the center', 'put all the blocks in the center'];
  const tok = Tokenizer.train(texts);
  const cache = new ImageCache(16);
  const O: HierarchyOptions = { ...OPTS, episodes: 4, stepsPerSubtask: 12, storedImage: [16, 16], maxSubtasks: 2 };
  before(async () => {
    await switchBackend('cpu');
  });

  it('with scripted planner and oracle, gives exactly the episodes of the one-at-a-time loop', () => {
    const o = { ...OPTS, episodes: 6 };
    assert.deepEqual(runHierarchyBatched(batchedPlanner(groundTruthPlanner), batchedOracleExecutor, o), runHierarchy(groundTruthPlanner, oracleExecutor, o));
  });

  it('batches the policy: each row is the call made alone, its noise from its own stream', () => {
    const po = new Policy({ ...T.policy, image: 16, vocab: tok.size, maxText: 12 }, 5);
    const act = policyAct(po, tok, 16);
    const reqs = [0, 1, 2].map((i) => ({ image: Uint8Array.from({ length: 16 * 16 * 3 }, (_, k) => (k * (i + 3)) % 256), text: texts[i], state: [0.3 + 0.05 * i, -0.1 * i] as [number, number], rng: new Rng(10 + i) }));
    const together = act(reqs.map((r, i) => ({ ...r, rng: new Rng(10 + i) })));
    reqs.forEach((r, i) => {
      const alone = act([r])[0];
      alone.flat().forEach((v, k) => assert.ok(Math.abs(v - together[i].flat()[k]) < 1e-5, `row ${i} value ${k}: ${v} alone, ${together[i].flat()[k]} batched`));
    });
    assert.throws(() => po.sampleActions({ images: tf.zeros([2, 16, 16, 3]), textIds: tf.zeros([2, 12], 'int32'), textMask: tf.ones([2, 12]), state: tf.zeros([2, 2]) }, [new Rng(0)]), /1 random streams for a batch of 2/);
    po.dispose();
  });

  it('with the learned planner and policy, gives the episodes of the one-at-a-time loop', () => {
    const pl = new Planner({ ...T.planner, image: 16, patch: 4, imageTokens: 4, vocab: tok.size, maxPrompt: 12, maxCompletion: 8 }, 3);
    const po = new Policy({ ...T.policy, image: 16, vocab: tok.size, maxText: 12 }, 4);
    const strip = (eps: HierarchyEpisode[]) => eps.map((e) => ({ ...e, subTasks: e.subTasks.map((s) => ({ planned: s.planned, steps: s.steps, success: s.success })) }));
    const seq = runHierarchy(modelPlanner(pl, tok, cache), policyExecutor(po, tok, cache), O);
    const finished: number[] = [];
    const lock = runHierarchyBatched(batchedModelPlanner(pl, tok, cache), batchedPolicyExecutor(po, tok, cache), O, (i) => finished.push(i));
    assert.deepEqual(strip(lock), strip(seq));
    assert.deepEqual([...finished].sort(), [0, 1, 2, 3]);
    assert.ok(seq.some((e) => e.subTasks.some((s) => s.steps > 0)), 'the policy took steps');
    pl.dispose();
    po.dispose();
  });
});
