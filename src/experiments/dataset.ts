/**
 * From a builder folder to the samples each stage trains on: hierarchical samples (grounding, planner) and per-step
 * policy samples, split train/val/test by episode id, plus the tokenizer trained on the training split's text (the
 * tensor batches built from them are in models/inputs.ts).
 */
import { openBuilder, splitOf, type SplitName } from '../data/builder';
import type { ReadStats, ShardReport } from '../data/tfrecord';
import { hierarchicalSamples, policySamples, type HierarchicalSample, type PolicySample } from '../data/samples';
import type { BlockSetKey } from '../sim/constants';
import { Tokenizer } from '../text/tokenizer';

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
