/**
 * Closed-loop execution of the hierarchy in the simulator (the paper's execution metrics).
 *
 * A held-out long-horizon episode: a fresh board and goal from an evaluation seed (disjoint from the training seeds),
 * then, until the goal's own success test passes or `maxSubtasks` sub-tasks have been tried:
 *   1. the planner writes the next sub-task from the current image and the high-level instruction;
 *   2. an executor carries it out for at most `stepsPerSubtask` steps: the learned policy (image + sub-task text →
 *      actions) or the scripted oracle pushing the task the text names (this separates planner errors from policy
 *      errors: with the oracle, failures are the planner's);
 *   3. the sub-task is scored: does the task the planner named pass its family's success test, and does it name the
 *      same (block, target) as the ground-truth next sub-goal (the goal plan's decomposition of the current board:
 *      a function of the board alone, so the plan follows whatever the executor did)?
 *
 * The planner and executor are plain functions so that the loop can be tested with scripted ones (a planner that
 * says the ground truth, one that says nonsense) and so that any model can be plugged in. Each episode is a generator
 * that yields the model calls it waits on, so `runHierarchyBatched` can run all episodes in lockstep and answer their
 * calls in one batch per model: at batch 1 a small model's forward pass is mostly per-operation overhead.
 */
import * as tf from '@tensorflow/tfjs';
import { encodeJpeg } from '../data/image';
import type { ImageCache } from '../data/samples';
import { plannerInputs } from '../models/inputs';
import type { Planner } from '../models/planner';
import type { Policy } from '../models/policy';
import { blockSet, type BlockSetKey, type BlockSpec, type DirectionName, type LocationName } from '../sim/constants';
import { GoalPlan } from '../sim/goals';
import { applicableGoals } from '../sim/episode';
import { DEFAULT_ORACLE, PushOracle } from '../sim/oracle';
import { render } from '../sim/render';
import { episodeSeed } from '../sim/synth';
import { instructionFor, isSuccess, type Task } from '../sim/tasks';
import { findBlock, resetWorld, stepWorld, type WorldState } from '../sim/world';
import { parseSubTask, type ParsedSubTask } from '../text/subtask-parser';
import type { Tokenizer } from '../text/tokenizer';
import { Rng } from '../util/rng';
import { executeSubTask, policyAct, subTaskProgram, type ActRequest } from './rollout';

/** Writes the next sub-task for a board image (JPEG, as stored in the dataset) and a high-level instruction. */
export type PlannerFn = (imageJpeg: Uint8Array, highLevel: string, world: WorldState, groundTruth: string) => string;
/** Carries out a sub-task on the board in place for at most `steps` steps; returns the steps taken. */
export type ExecutorFn = (world: WorldState, text: string, task: Task | null, steps: number, rng: Rng) => number;

export interface HierarchyOptions {
  episodes: number;
  /**
   * Episode i's board and goal come from `episodeSeed(seed, i)`, the simulator's own seed mix; give a seed other than
   * the dataset's (reproduce uses run seed + 1000003) and the boards are held out from training.
   */
  seed: number;
  blocks: BlockSetKey;
  stepsPerSubtask: number;
  /** Sub-tasks tried per episode before giving up (default: 2 × the number of blocks). */
  maxSubtasks?: number;
  /** The stored image size the planner was trained on ([height, width]). */
  storedImage: [number, number];
  goals?: string[];
  /** Keep the frames of the first `keepFrames` episodes (for film strips; default 0). */
  keepFrames?: number;
}

export interface SubTaskRecord {
  planned: string;
  groundTruth: string;
  parseable: boolean;
  matchesGroundTruth: boolean;
  /** The named task already passed its test before execution (naming it asks for nothing; never a success). */
  alreadySatisfied: boolean;
  success: boolean;
  steps: number;
}

export interface HierarchyEpisode {
  seed: number;
  goal: string;
  highLevel: string;
  subTasks: SubTaskRecord[];
  success: boolean;
  /** JPEG of the board when each sub-task was planned, then the final board (only when frames were kept). */
  frames?: Uint8Array[];
}

export interface HierarchyMetrics {
  episodes: number;
  subTasks: number;
  /**
   * Share of planned sub-tasks whose named task passed its family's success test after execution and had not passed
   * it before (a planner repeating a finished sub-task does not score).
   */
  subTaskSuccess: number;
  /** Share of planned sub-tasks that named a task already satisfied on the board. */
  subTaskAlreadySatisfied: number;
  /** Share of planned sub-tasks naming the ground-truth next sub-goal's block and target. */
  subTaskMatch: number;
  /** Share of planned sub-tasks the template parser could not read (counted as failures above). */
  subTaskUnparseable: number;
  /** Share of episodes whose long-horizon goal passed its own success test. */
  longHorizonSuccess: number;
}

const pos = (s: WorldState, name: string): [number, number] => {
  const b = findBlock(s, name);
  return [b.x, b.y];
};

/**
 * The simulator task a parsed sub-task names on this board, or null if it names none we can test (no target, or a
 * block that is not on the board). A bare direction is read as a "near" relative move unless the text says "far";
 * "pull … apart / away / separate" is a separate task.
 */
export function taskFromParsed(p: ParsedSubTask | null, text: string, s: WorldState): Task | null {
  if (!p) return null;
  const onBoard = (n: string) => s.blocks.some((b) => b.name === n);
  if (!onBoard(p.block)) return null;
  if (p.verb === 'point') return { family: 'point2block', block: p.block };
  if (!p.target) return null;
  const [kind, a, b] = p.target.split(':');
  const t = text.toLowerCase();
  switch (kind) {
    case 'block':
      if (!onBoard(a) || a === p.block) return null;
      if (p.verb === 'pull' || p.verb === 'separate' || /\b(apart|away)\b/.test(t)) return { family: 'separate', block: p.block, avoid: [a] };
      return { family: 'block2block', block: p.block, target: a };
    case 'block-relative':
      if (!onBoard(b) || b === p.block) return null;
      return { family: 'block2blockrelativelocation', block: p.block, target: b, direction: a as DirectionName, targetStart: pos(s, b) };
    case 'location':
      return { family: 'block2absolutelocation', block: p.block, location: a as LocationName };
    case 'direction':
      return { family: 'block2relativelocation', block: p.block, direction: a as DirectionName, magnitude: /\bfar\b/.test(t) ? 'far' : 'near', start: pos(s, p.block) };
    default:
      return null;
  }
}

/** What an episode asks the planner: the board's image and the goal (and, for scripted planners, the truth). */
export interface PlanRequest {
  imageJpeg: Uint8Array;
  highLevel: string;
  world: WorldState;
  groundTruth: string;
}

/** Writes the next sub-task for many episodes at once (one batch of the planner). */
export type BatchedPlannerFn = (requests: PlanRequest[]) => string[];

/** A sub-task's execution as a program: it yields the policy calls it needs (none for the oracle), returns its steps. */
export type ExecutorProgram = (world: WorldState, text: string, task: Task | null, steps: number, rng: Rng) => Generator<ActRequest, number, number[][]>;

/** An executor for the lockstep loop: its program, and the batched model call that answers the program's requests. */
export interface BatchedExecutor {
  program: ExecutorProgram;
  act?: (requests: ActRequest[]) => number[][][];
}

type EpisodeYield = { plan: PlanRequest } | { act: ActRequest };

/** One held-out long-horizon episode as a program that yields each model call it waits on. */
function* episodeProgram(program: ExecutorProgram, seed: number, o: HierarchyOptions, keepFrames: boolean): Generator<EpisodeYield, HierarchyEpisode, string | number[][]> {
  const rng = new Rng(seed);
  const specs: BlockSpec[] = blockSet(o.blocks);
  const goal = rng.choice(applicableGoals(specs, o.goals));
  const world = resetWorld(specs, rng);
  const goalPlan = new GoalPlan(goal);
  const maxSubtasks = o.maxSubtasks ?? 2 * specs.length;
  const [H, W] = o.storedImage;
  const records: SubTaskRecord[] = [];
  const frames: Uint8Array[] = [];
  const snapshot = () => encodeJpeg({ height: H, width: W, data: render(world, { height: H, width: W, camera: 'topdown' }) });
  for (let k = 0; k < maxSubtasks && !goalPlan.isSuccess(world); k++) {
    const gt = goalPlan.next(world);
    if (!gt) break;
    const gtText = instructionFor(gt.task, world, rng, true);
    const image = snapshot();
    if (keepFrames) frames.push(image);
    const text = (yield { plan: { imageJpeg: image, highLevel: goal.instruction, world, groundTruth: gtText } }) as string;
    const parsed = parseSubTask(text, specs);
    const gtParsed = parseSubTask(gtText, specs);
    const task = taskFromParsed(parsed, text, world);
    const alreadySatisfied = task !== null && isSuccess(task, world);
    // Forward the executor's policy calls out of this episode and their chunks back in.
    const exec = program(world, text, task, o.stepsPerSubtask, rng);
    let r = exec.next();
    // (Casts, not narrowing: tslab's TypeScript does not narrow an iterator result reassigned in the loop.)
    while (!r.done) r = exec.next((yield { act: r.value as ActRequest }) as number[][]);
    const steps = r.value as number;
    records.push({
      planned: text,
      groundTruth: gtText,
      parseable: parsed !== null,
      matchesGroundTruth: !!parsed && !!gtParsed && parsed.block === gtParsed.block && parsed.target === gtParsed.target,
      alreadySatisfied,
      success: task !== null && !alreadySatisfied && isSuccess(task, world),
      steps,
    });
  }
  if (keepFrames) frames.push(snapshot());
  return { seed, goal: goal.name, highLevel: goal.instruction, subTasks: records, success: goalPlan.isSuccess(world), ...(keepFrames ? { frames } : {}) };
}

/** A plain executor as a program that never yields. */
export const inlineProgram = (execute: ExecutorFn): ExecutorProgram =>
  // eslint-disable-next-line require-yield
  function* (world, text, task, steps, rng) {
    return execute(world, text, task, steps, rng);
  };

/**
 * Runs the episodes in lockstep: every episode advances until it waits on a model, then all waiting episodes' plan
 * requests go to the planner as one batch and all act requests to the policy as one batch. Each episode keeps its own
 * random stream, so an episode's course is the one it has alone, up to the rounding of batched products.
 * `onEpisode` is called as episodes finish (in that order, with their index).
 */
export function runHierarchyBatched(plan: BatchedPlannerFn, executor: BatchedExecutor, o: HierarchyOptions, onEpisode?: (i: number, e: HierarchyEpisode) => void): HierarchyEpisode[] {
  const out: HierarchyEpisode[] = new Array(o.episodes);
  const live = Array.from({ length: o.episodes }, (_, i) => ({ i, gen: episodeProgram(executor.program, episodeSeed(o.seed, i), o, i < (o.keepFrames ?? 0)) }));
  let pending = live.map((e) => ({ ...e, r: e.gen.next() }));
  while (pending.length) {
    const waiting: typeof pending = [];
    for (const e of pending) {
      if (e.r.done) {
        out[e.i] = e.r.value;
        onEpisode?.(e.i, e.r.value);
      } else waiting.push(e);
    }
    const plans = waiting.filter((e) => 'plan' in (e.r.value as EpisodeYield));
    const acts = waiting.filter((e) => 'act' in (e.r.value as EpisodeYield));
    const texts = plans.length ? plan(plans.map((e) => (e.r.value as { plan: PlanRequest }).plan)) : [];
    if (acts.length && !executor.act) throw new Error('runHierarchyBatched: the executor program asked for a policy call, but the executor has no act()');
    const chunks = acts.length ? executor.act!(acts.map((e) => (e.r.value as { act: ActRequest }).act)) : [];
    pending = [...plans.map((e, k) => ({ ...e, r: e.gen.next(texts[k]) })), ...acts.map((e, k) => ({ ...e, r: e.gen.next(chunks[k]) }))];
  }
  return out;
}

/** Runs one held-out long-horizon episode closed-loop. */
export function runHierarchyEpisode(plan: PlannerFn, execute: ExecutorFn, seed: number, o: HierarchyOptions, keepFrames = false): HierarchyEpisode {
  const gen = episodeProgram(inlineProgram(execute), seed, o, keepFrames);
  let r = gen.next();
  while (!r.done) {
    const y = r.value as EpisodeYield;
    if (!('plan' in y)) throw new Error('runHierarchyEpisode: an inline executor asked for a policy call');
    r = gen.next(plan(y.plan.imageJpeg, y.plan.highLevel, y.plan.world, y.plan.groundTruth));
  }
  return r.value;
}

/** Runs the episodes one after another with plain planner and executor functions (scripted ones, probes). */
export function runHierarchy(plan: PlannerFn, execute: ExecutorFn, o: HierarchyOptions, onEpisode?: (i: number, e: HierarchyEpisode) => void): HierarchyEpisode[] {
  const out: HierarchyEpisode[] = [];
  for (let i = 0; i < o.episodes; i++) {
    const e = runHierarchyEpisode(plan, execute, episodeSeed(o.seed, i), o, i < (o.keepFrames ?? 0));
    out.push(e);
    onEpisode?.(i, e);
  }
  return out;
}

export function hierarchyMetrics(episodes: HierarchyEpisode[]): HierarchyMetrics {
  const subs = episodes.flatMap((e) => e.subTasks);
  const share = (f: (r: SubTaskRecord) => boolean) => (subs.length ? subs.filter(f).length / subs.length : NaN);
  return {
    episodes: episodes.length,
    subTasks: subs.length,
    subTaskSuccess: share((r) => r.success),
    subTaskAlreadySatisfied: share((r) => r.alreadySatisfied),
    subTaskMatch: share((r) => r.matchesGroundTruth),
    subTaskUnparseable: share((r) => !r.parseable),
    longHorizonSuccess: episodes.length ? episodes.filter((e) => e.success).length / episodes.length : NaN,
  };
}

// ------------------------------------------------------------------ planners and executors

/** The trained planner, greedy, on a batch of requests (left-padded prompts share one layout). */
export function batchedModelPlanner(planner: Planner, tok: Tokenizer, cache: ImageCache): BatchedPlannerFn {
  return (requests) => {
    const inp = plannerInputs(cache, tok, requests.map((r) => ({ imageJpeg: r.imageJpeg, highLevel: r.highLevel })), planner.config.maxPrompt);
    const ids = planner.generate(inp, { maxNew: planner.config.maxCompletion - 1, temperature: 0 });
    tf.dispose([inp.images ?? [], inp.promptIds, inp.promptMask].flat());
    return ids.map((x) => tok.decode(x));
  };
}

/** The trained planner, greedy, one request at a time. */
export function modelPlanner(planner: Planner, tok: Tokenizer, cache: ImageCache): PlannerFn {
  const batched = batchedModelPlanner(planner, tok, cache);
  return (imageJpeg, highLevel, world, groundTruth) => batched([{ imageJpeg, highLevel, world, groundTruth }])[0];
}

/** A plain planner function as a batched one (scripted planners: the ground truth, nonsense). */
export const batchedPlanner = (plan: PlannerFn): BatchedPlannerFn => (requests) => requests.map((r) => plan(r.imageJpeg, r.highLevel, r.world, r.groundTruth));

/** Says the ground-truth next sub-task: the upper bound a planner can reach with a given executor. */
export const groundTruthPlanner: PlannerFn = (_image, _highLevel, _world, groundTruth) => groundTruth;

/** The learned policy executes the sub-task text (until the named task succeeds, when it names one we can test). */
export function policyExecutor(policy: Policy, tok: Tokenizer, cache: ImageCache): ExecutorFn {
  return (world, text, task, steps, rng) => executeSubTask(policy, tok, cache, world, task, text, steps, rng).steps;
}

/** The learned policy for the lockstep loop: each episode's sub-task program, and one policy batch for their calls. */
export function batchedPolicyExecutor(policy: Policy, tok: Tokenizer, cache: ImageCache): BatchedExecutor {
  return {
    program: function* (world, text, task, steps, rng) {
      return (yield* subTaskProgram(policy.config, cache.size, world, task, text, steps, rng)).steps;
    },
    act: policyAct(policy, tok, cache.size),
  };
}

/** The scripted oracle pushes the task the text names; text naming no testable task leaves the board as it is. */
export const oracleExecutor: ExecutorFn = (world, _text, task, steps, rng) => {
  if (!task) return 0;
  const oracle = new PushOracle(task, DEFAULT_ORACLE, rng.fork());
  let t = 0;
  while (t < steps && !isSuccess(task, world)) {
    stepWorld(world, oracle.act(world));
    t++;
  }
  return t;
};

/** The oracle for the lockstep loop (it needs no model). */
export const batchedOracleExecutor: BatchedExecutor = { program: inlineProgram(oracleExecutor) };
