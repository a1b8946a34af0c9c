/**
 * From a builder folder to the samples each stage trains on: hierarchical samples (grounding, planner) and per-step
 * policy samples, split train/val/test by episode id, plus the tokenizer trained on the training split's text, and
 * tensor batches for each model.
 */
import * as tf from '@tensorflow/tfjs';
import { openBuilder, splitOf, type SplitName } from '../data/builder';
import type { ReadStats, ShardReport } from '../data/tfrecord';
import { batchImages, batchTrajectories, hierarchicalSamples, ImageCache, policySamples, type HierarchicalSample, type PolicySample } from '../data/samples';
import type { BlockSetKey } from '../sim/constants';
import { BOS, padRows, SEP, EOS, Tokenizer } from '../text/tokenizer';
import type { GroundingBatch } from '../models/grounding';
import type { PlannerInputs } from '../models/planner';
import type { PolicyInputs } from '../models/policy';

export interface Samples {
  hierarchical: Record<SplitName, HierarchicalSample[]>;
  policy: Record<SplitName, PolicySample[]>;
  episodes: Record<SplitName, number>;
  /** Stored frame size (features.json's, else the first frame's): picks the frame view (data/frames.ts). */
  imageShape: [number, number] | null;
  /** The builder's dataset name (e.g. language_table for the real robot's data). */
  name: string;
  /** With onCorrupt 'skip': records lost in total and per shard (shards with no loss left out), first errors. */
  skipped?: { skipped: number; shards: ShardReport[]; errors: string[] };
}

export async function loadSamples(
  dir: string,
  opts: { valFraction: number; testFraction: number; chunk: number; policyStride: number; limit?: number; onCorrupt?: 'throw' | 'skip' },
): Promise<Samples> {
  const b = await openBuilder(dir);
  const out: Samples = {
    hierarchical: { train: [], val: [], test: [] },
    policy: { train: [], val: [], test: [] },
    episodes: { train: 0, val: 0, test: 0 },
    imageShape: b.imageShape,
    name: b.name,
  };
  const stats: ReadStats = { records: 0, skipped: 0, errors: [] };
  for await (const ep of b.episodes({ limit: opts.limit, onCorrupt: opts.onCorrupt, stats })) {
    const split = splitOf(ep.episodeId, opts.valFraction, opts.testFraction);
    out.episodes[split]++;
    out.hierarchical[split].push(...hierarchicalSamples(ep).filter((s) => s.highLevel !== undefined || !b.hierarchy));
    out.policy[split].push(...policySamples(ep, opts.chunk, opts.policyStride));
  }
  if (opts.onCorrupt === 'skip') {
    out.skipped = { skipped: stats.skipped, shards: (stats.shards ?? []).filter((s) => s.rejected + s.lost > 0), errors: stats.errors.slice(0, 20).map((e) => e.message) };
  }
  if (out.hierarchical.train.length === 0) throw new Error(`${dir}: no training samples (episodes per split: ${JSON.stringify(out.episodes)})`);
  return out;
}

/**
 * The board of a published dataset, by its TFDS name: `language_table` is the real robot's board (the blocks its
 * instructions name); `language_table_sim` was collected on BLOCK_8 ("sim human 8 block", the reference's
 * train/configs/language_table_sim_local.py). Unknown names (the simulator's own folders): null, the preset decides.
 */
export function datasetBoard(name: string): BlockSetKey | null {
  if (name === 'language_table') return 'real';
  if (name === 'language_table_sim') return 8;
  return null;
}

/** Word-level vocabulary of the training split's instructions, plus `extra` texts (e.g. scene descriptions). */
export function trainTokenizer(s: Samples, extra: string[] = []): Tokenizer {
  const texts = [...s.hierarchical.train.flatMap((x) => [x.lowLevel, x.highLevel ?? '']), ...extra];
  return Tokenizer.train(texts);
}

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
