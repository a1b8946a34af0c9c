/**
 * Tensor batches for each model from samples: token ids and masks, images, trajectories, the planner's prompt and
 * completion, the policy's inputs. Shared by training (experiments/tasks.ts) and evaluation (eval/), so it sits below
 * both, beside the models whose inputs it builds.
 */
import * as tf from '@tensorflow/tfjs';
import { batchImages, batchTrajectories, type HierarchicalSample, type ImageCache } from '../data/samples';
import { BOS, padRows, SEP, EOS, type Tokenizer } from '../text/tokenizer';
import type { GroundingBatch } from './grounding';
import type { PlannerInputs } from './planner';
import type { PolicyInputs } from './policy';

/** Token ids of a text, truncated to `max` (longer instructions are rare in the templates). */
const ids = (tok: Tokenizer, text: string, max: number) => tok.encode(text).slice(0, max);

export function textBatch(tok: Tokenizer, texts: string[], maxLen: number): { ids: tf.Tensor2D; mask: tf.Tensor2D } {
  const p = padRows(texts.map((t) => ids(tok, t, maxLen)), maxLen);
  return { ids: tf.tensor2d(p.ids, [texts.length, maxLen], 'int32'), mask: tf.tensor2d(p.mask, [texts.length, maxLen]) };
}

export function imageBatch(cache: ImageCache, jpegs: Uint8Array[]): tf.Tensor4D {
  return tf.tensor4d(batchImages(jpegs, cache), [jpegs.length, cache.size, cache.size, 3]);
}

export function groundingBatch(cache: ImageCache, samples: HierarchicalSample[], trajectoryLength: number): GroundingBatch {
  const t = batchTrajectories(samples, trajectoryLength, 'resample');
  return {
    images: imageBatch(cache, samples.map((s) => s.imageJpeg)),
    trajectories: tf.tensor3d(t.values, [samples.length, trajectoryLength, 4]),
    trajectoryMask: tf.tensor2d(t.mask, [samples.length, trajectoryLength]),
  };
}

/** Planner prompt: <bos> high-level instruction <sep>, left-padded to maxPrompt. */
export function plannerPrompt(tok: Tokenizer, highLevel: string[], maxPrompt: number): { promptIds: tf.Tensor2D; promptMask: tf.Tensor2D } {
  const rows = highLevel.map((h) => [BOS, ...ids(tok, h, maxPrompt - 2), SEP]);
  const p = padRows(rows, maxPrompt, 'left');
  return { promptIds: tf.tensor2d(p.ids, [rows.length, maxPrompt], 'int32'), promptMask: tf.tensor2d(p.mask, [rows.length, maxPrompt]) };
}

/** Planner completion: sub-task tokens + <eos>, right-padded to maxCompletion. */
export function plannerCompletion(tok: Tokenizer, texts: string[], maxCompletion: number): { ids: tf.Tensor2D; mask: tf.Tensor2D } {
  const rows = texts.map((t) => [...ids(tok, t, maxCompletion - 1), EOS]);
  const p = padRows(rows, maxCompletion);
  return { ids: tf.tensor2d(p.ids, [rows.length, maxCompletion], 'int32'), mask: tf.tensor2d(p.mask, [rows.length, maxCompletion]) };
}

export function plannerInputs(cache: ImageCache | null, tok: Tokenizer, samples: { imageJpeg: Uint8Array; highLevel?: string }[], maxPrompt: number): PlannerInputs {
  return {
    images: cache ? imageBatch(cache, samples.map((s) => s.imageJpeg)) : null,
    ...plannerPrompt(tok, samples.map((s) => s.highLevel ?? ''), maxPrompt),
  };
}

export function policyInputs(cache: ImageCache, tok: Tokenizer, samples: { imageJpeg: Uint8Array; instruction: string; state: [number, number] }[], maxText: number): PolicyInputs {
  const t = textBatch(tok, samples.map((s) => s.instruction), maxText);
  return {
    images: imageBatch(cache, samples.map((s) => s.imageJpeg)),
    textIds: t.ids,
    textMask: t.mask,
    state: tf.tensor2d(samples.flatMap((s) => s.state), [samples.length, 2]),
  };
}
