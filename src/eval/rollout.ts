/**
 * Closed-loop execution of the policy in the simulator: render the board at the model's resolution, sample an action
 * chunk, execute it, repeat, until the task's success test passes or the step budget runs out.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageCache } from '../data/samples';
import { textBatch } from '../models/inputs';
import type { Policy } from '../models/policy';
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

/**
 * Runs the policy on `instruction` from board `world` for up to `steps` steps, stopping early once `task` succeeds;
 * returns whether it did. With no task (text that names nothing testable) the policy runs the whole budget.
 */
export function executeSubTask(policy: Policy, tok: Tokenizer, cache: ImageCache, world: WorldState, task: Task | null, instruction: string, steps: number, rng: Rng, frames?: Uint8Array[]): { success: boolean; steps: number } {
  const done = () => task !== null && isSuccess(task, world);
  const S = cache.size;
  const text = textBatch(tok, [instruction], policy.config.maxText);
  let t = 0;
  while (t < steps && !done()) {
    const img = observeBoard(world, S);
    if (frames && t % 4 === 0) frames.push(img);
    const chunk = tf.tidy(() => {
      const inputs = {
        images: tf.tensor4d(Float32Array.from(img, (v) => v / 255), [1, S, S, 3]),
        textIds: text.ids,
        textMask: text.mask,
        state: tf.tensor2d([world.effector[0], world.effector[1]], [1, 2]),
      };
      return policy.sampleActions(inputs, rng).arraySync()[0] as number[][];
    });
    for (const a of chunk.slice(0, policy.config.executeSteps ?? chunk.length)) {
      if (t >= steps || done()) break;
      stepWorld(world, [a[0], a[1]]);
      t++;
    }
  }
  tf.dispose([text.ids, text.mask]);
  return { success: done(), steps: t };
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
