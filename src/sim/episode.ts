/**
 * Runs simulated episodes and turns them into LanguageTable episodes (src/data/episode.ts): a long-horizon episode is
 * the goal's sub-tasks executed one after another by the oracle on one board, each step labelled with the current
 * sub-task's low-level instruction (the short-horizon command, as in the real data), with the hierarchy recorded.
 */
import type { Episode, Step, SubTask } from '../data/episode';
import { encodeJpeg } from '../data/image';
import { Rng } from '../util/rng';
import { blockSet, type BlockSetKey, type BlockSpec } from './constants';
import { GOALS, GoalPlan, SLOT_TOLERANCE, goalByName, type GoalDefinition } from './goals';
import { DEFAULT_ORACLE, PushOracle, type OracleOptions } from './oracle';
import { render, type CameraName } from './render';
import { goalPoint, instructionFor, isSuccess, type Task } from './tasks';
import { cloneState, findBlock, resetWorld, restoreState, stepWorld, type WorldState } from './world';

export interface EpisodeOptions {
  blocks: BlockSetKey;
  image: [number, number];
  camera: CameraName;
  /** Goal names to draw from (default: all applicable). */
  goals?: string[];
  /** Step cap per sub-task and per episode (the reference evaluates with 200 steps per task). */
  maxStepsPerSubtask: number;
  maxSteps: number;
  oracle: OracleOptions;
  jpegQuality: number;
}

export const DEFAULT_EPISODE: EpisodeOptions = {
  blocks: 4, image: [64, 64], camera: 'perspective', maxStepsPerSubtask: 80, maxSteps: 400,
  oracle: { ...DEFAULT_ORACLE, noise: 0.003 }, jpegQuality: 90,
};

export interface SimEpisode {
  episode: Episode;
  goal: string;
  success: boolean;
  /**
   * Whether a sub-task's demonstration failed its label's test and the episode was cut before it (every kept
   * sub-task passes its own test; `success` is the goal's test on the last kept board).
   */
  truncated: boolean;
  /** Board states at every step (for film strips), present when `keepStates` was set. */
  states?: WorldState[];
}

export function applicableGoals(specs: BlockSpec[], names?: string[]): GoalDefinition[] {
  const pool = names ? names.map(goalByName) : GOALS;
  const ok = pool.filter((g) => g.applicable(specs));
  if (ok.length === 0) throw new Error(`no goal among ${pool.map((g) => g.name).join(', ')} applies to ${specs.length} blocks`);
  return ok;
}

/** One long-horizon episode from a seed (same seed and options → same episode). */
export function simulateEpisode(id: string, seed: number, opts: EpisodeOptions, keepStates = false): SimEpisode {
  const rng = new Rng(seed);
  const specs = blockSet(opts.blocks);
  const goal = rng.choice(applicableGoals(specs, opts.goals));
  const world = resetWorld(specs, rng);
  const plan = new GoalPlan(goal);
  const steps: Step[] = [];
  const subTasks: SubTask[] = [];
  let truncated = false;
  const states: WorldState[] = [];
  const [H, W] = opts.image;
  const observe = (instruction: string, action: [number, number], isFirst: boolean): Step => ({
    rgbJpeg: encodeJpeg({ height: H, width: W, data: render(world, { height: H, width: W, camera: opts.camera }) }, opts.jpegQuality),
    effectorTranslation: [Math.fround(world.effector[0]), Math.fround(world.effector[1])],
    effectorTargetTranslation: [Math.fround(world.target[0]), Math.fround(world.target[1])],
    instruction,
    action: [Math.fround(action[0]), Math.fround(action[1])],
    reward: 0,
    isFirst,
    isLast: false,
    isTerminal: false,
  });
  for (let k = 0; k < 16 && steps.length < opts.maxSteps; k++) {
    const sub = plan.next(world);
    if (!sub) break;
    const label = instructionFor(sub.task, world, rng);
    // The oracle pushes to the demonstration point (a region's free slot, a chain's slot); relative and pair tasks
    // aim at their live target already.
    const pushed: Task = sub.task.family === 'block2absolutelocation' ? { ...sub.task, point: sub.point } : sub.task;
    const oracle = new PushOracle(pushed, opts.oracle, rng.fork());
    const start = steps.length;
    const before = cloneState(world);
    const block = sub.task.block;
    // Done when the label's test passes and the block is on its slot (pairs: touching, the slot is the other block).
    const onSlot = () => {
      if (!isSuccess(sub.task, world)) return false;
      if (sub.task.family === 'block2block') return true;
      const b = findBlock(world, block);
      const p = goalPoint(pushed, world);
      return Math.hypot(b.x - p[0], b.y - p[1]) < SLOT_TOLERANCE;
    };
    let t = 0;
    while (t < opts.maxStepsPerSubtask && steps.length < opts.maxSteps && !(t > 0 && onSlot())) {
      const action = oracle.act(world);
      if (keepStates) states.push(cloneState(world));
      steps.push(observe(label, action, steps.length === 0));
      stepWorld(world, action);
      t++;
    }
    if (!isSuccess(sub.task, world)) {
      // A demonstration that does not do what its label says is not kept: the episode ends before it.
      steps.length = start;
      if (keepStates) states.length = start;
      restoreState(world, before);
      truncated = true;
      break;
    }
    subTasks.push({ start, end: steps.length, instruction: label });
  }
  const success = plan.isSuccess(world);
  // The final observation as an RLDS terminal step (its action is meaningless and is not fed to training).
  if (keepStates) states.push(cloneState(world));
  const last = observe(subTasks[subTasks.length - 1]?.instruction ?? goal.instruction, [0, 0], steps.length === 0);
  last.isLast = true;
  last.isTerminal = true;
  last.reward = success ? 1 : 0;
  steps.push(last);
  return {
    episode: { episodeId: id, steps, hierarchy: { longHorizonInstruction: goal.instruction, subTasks } },
    goal: goal.name,
    success,
    truncated,
    ...(keepStates ? { states } : {}),
  };
}
