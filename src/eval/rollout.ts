/**
 * Closed-loop execution of the policy in the simulator: render the board at the model's resolution, sample an action
 * chunk, execute it, repeat, until the task's success test passes or the step budget runs out. The loop is a program
 * that yields its policy calls, so that many episodes can share one batched call (eval/hierarchy.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageCache } from '../data/samples';
import { textBatch } from '../models/inputs';
import type { Policy, PolicyConfig } from '../models/policy';
import { blockSet, type BlockSetKey } from '../sim/constants';
import { decodeJpeg, encodeJpeg } from '../data/image';
import { DEFAULT_EPISODE } from '../sim/episode';
import { render } from '../sim/render';
import { instructionFor, isSuccess, sampleTask, type Family, type Task } from '../sim/tasks';
import { resetWorld, stepWorld, type WorldState } from '../sim/world';
import { encodePng, filmStrip } from '../sim/view';
import type { Tokenizer } from '../text/tokenizer';
import { Rng } from '../util/rng';

export interface RolloutResult {
  instruction: string;
  success: boolean;
  steps: number;
  filmStrip: Uint8Array;
}

/**
 * The board as the policy was trained to see it: rendered, then through the dataset's JPEG encoding (the simulator's
 * episodes store JPEG frames; its 4:2:0 chroma blurs a block's edge by about a pixel, which a raw render does not).
 */
export function observeBoard(world: WorldState, size: number): Uint8Array {
  const raw = render(world, { height: size, width: size, camera: 'topdown' });
  return decodeJpeg(encodeJpeg({ height: size, width: size, data: raw }, DEFAULT_EPISODE.jpegQuality), 'closed-loop frame').data;
}

/** One policy call a sub-task program waits on: the observed board (RGB bytes), the sub-task, the effector. */
export interface ActRequest {
  image: Uint8Array;
  text: string;
  state: [number, number];
  /** The episode's own stream: the policy's noise for this row comes from it. */
  rng: Rng;
}

/**
 * The closed loop of one sub-task as a program: observe the board, yield a policy call, execute the first
 * `executeSteps` actions of the chunk it gets back, repeat, until the task's success test passes or the step budget
 * runs out. With no task (text that names nothing testable) it runs the whole budget.
 */
export function* subTaskProgram(config: PolicyConfig, size: number, world: WorldState, task: Task | null, instruction: string, steps: number, rng: Rng, frames?: Uint8Array[]): Generator<ActRequest, { success: boolean; steps: number }, number[][]> {
  const done = () => task !== null && isSuccess(task, world);
  let t = 0;
  while (t < steps && !done()) {
    const image = observeBoard(world, size);
    if (frames && t % 4 === 0) frames.push(image);
    const chunk = yield { image, text: instruction, state: [world.effector[0], world.effector[1]], rng };
    for (const a of chunk.slice(0, config.executeSteps ?? chunk.length)) {
      if (t >= steps || done()) break;
      stepWorld(world, [a[0], a[1]]);
      t++;
    }
  }
  return { success: done(), steps: t };
}

/** The policy on a batch of calls: one forward pass, row b's noise from request b's stream. */
export function policyAct(policy: Policy, tok: Tokenizer, size: number): (requests: ActRequest[]) => number[][][] {
  return (requests) => {
    const B = requests.length;
    const text = textBatch(tok, requests.map((r) => r.text), policy.config.maxText);
    const pixels = new Float32Array(B * size * size * 3);
    requests.forEach((r, b) => pixels.set(Float32Array.from(r.image, (v) => v / 255), b * size * size * 3));
    const chunks = tf.tidy(() => {
      const inputs = {
        images: tf.tensor4d(pixels, [B, size, size, 3]),
        textIds: text.ids,
        textMask: text.mask,
        state: tf.tensor2d(requests.flatMap((r) => r.state), [B, 2]),
      };
      return policy.sampleActions(inputs, requests.map((r) => r.rng)).arraySync() as number[][][];
    });
    tf.dispose([text.ids, text.mask]);
    return chunks;
  };
}

/**
 * Runs the policy on `instruction` from board `world` for up to `steps` steps, stopping early once `task` succeeds;
 * returns whether it did (`subTaskProgram` answered one call at a time).
 */
export function executeSubTask(policy: Policy, tok: Tokenizer, cache: ImageCache, world: WorldState, task: Task | null, instruction: string, steps: number, rng: Rng, frames?: Uint8Array[]): { success: boolean; steps: number } {
  const act = policyAct(policy, tok, cache.size);
  const program = subTaskProgram(policy.config, cache.size, world, task, instruction, steps, rng, frames);
  let r = program.next();
  while (!r.done) r = program.next(act([r.value as ActRequest])[0]);
  return r.value as { success: boolean; steps: number };
}

export function rolloutPolicy(policy: Policy, tok: Tokenizer, cache: ImageCache, o: { seed: number; steps: number; family: Family; blocks?: BlockSetKey }): RolloutResult {
  const rng = new Rng(o.seed);
  const world = resetWorld(blockSet(o.blocks ?? 4), rng);
  const task = sampleTask(o.family, world, rng);
  if (!task) throw new Error(`rollout: no ${o.family} task is feasible on board seed ${o.seed}`);
  const instruction = instructionFor(task, world, rng);
  const frames: Uint8Array[] = [];
  const r = executeSubTask(policy, tok, cache, world, task, instruction, o.steps, rng, frames);
  frames.push(render(world, { height: cache.size, width: cache.size, camera: 'topdown' }));
  const strip = filmStrip(frames.slice(0, 10).map((d) => ({ height: cache.size, width: cache.size, data: d })), 96);
  return { instruction, success: r.success, steps: r.steps, filmStrip: encodePng(strip) };
}
