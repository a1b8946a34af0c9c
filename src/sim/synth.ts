/**
 * `gpla synth`: writes simulated long-horizon episodes as a TFDS builder folder in the exact LanguageTable layout.
 * Episodes are simulated and rendered in worker threads (both cores), shard by shard; each episode's seed is derived
 * from (seed, episode index), so the bytes do not depend on the worker count or scheduling. Shards are written to a
 * temporary name and renamed, so an interrupted run leaves complete shards only, and re-running the same command
 * skips them and finishes with the identical result.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { shardFileName, writeBuilderMetadata, writeShard, type BuilderMeta } from '../data/builder';
import { encodeEpisode } from '../data/languagetable';
import { progress } from '../util/progress';
import { CAMERAS, type CameraName } from './render';
import { DEFAULT_EPISODE, applicableGoals, simulateEpisode, type EpisodeOptions } from './episode';
import { blockSet, blockSetLabel, BLOCK_SET_KEYS, type BlockSetKey } from './constants';

export interface SynthOptions {
  out: string;
  episodes: number;
  seed: number;
  blocks: BlockSetKey;
  image: [number, number];
  camera: CameraName;
  goals?: string[];
  episodesPerShard: number;
  workers: number;
  progress?: 'auto' | 'lines' | 'silent';
}

export const DATASET_NAME = 'language_table_sim_gpla';

export function validateSynthOptions(o: SynthOptions): void {
  if (!(Number.isInteger(o.episodes) && o.episodes > 0)) throw new Error(`synth: --episodes must be a positive integer, got ${o.episodes}`);
  if (!BLOCK_SET_KEYS.includes(o.blocks)) throw new Error(`synth: unknown block set ${o.blocks}: accepted are ${BLOCK_SET_KEYS.join(', ')}`);
  blockSet(o.blocks);
  if (!o.image.every((v) => Number.isInteger(v) && v > 0)) throw new Error(`synth: --image must be HxW with positive integers, got ${o.image.join('x')}`);
  if (!CAMERAS.includes(o.camera)) throw new Error(`synth: unknown camera "${o.camera}": accepted are ${CAMERAS.join(', ')}`);
  applicableGoals(blockSet(o.blocks), o.goals);
}

/** The seed of episode i: a fixed mix of the run seed and the index (independent of sharding). */
export function episodeSeed(seed: number, index: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

export function episodeOptions(o: SynthOptions): EpisodeOptions {
  return { ...DEFAULT_EPISODE, blocks: o.blocks, image: o.image, camera: o.camera, goals: o.goals };
}

/** Simulates and encodes episodes [from, to) (runs in a worker or inline). */
export function synthRecords(o: SynthOptions, from: number, to: number): { records: Uint8Array[]; successes: number } {
  const records: Uint8Array[] = [];
  let successes = 0;
  const eo = episodeOptions(o);
  for (let i = from; i < to; i++) {
    const r = simulateEpisode(`sim-${o.seed}-${String(i).padStart(6, '0')}`, episodeSeed(o.seed, i), eo);
    successes += +r.success;
    records.push(encodeEpisode(r.episode));
  }
  return { records, successes };
}

export interface SynthSummary {
  dir: string;
  episodes: number;
  shards: number;
  skippedShards: number;
  successRate: number | null;
  seconds: number;
}

export async function synthesize(o: SynthOptions): Promise<SynthSummary> {
  validateSynthOptions(o);
  const t0 = Date.now();
  fs.mkdirSync(o.out, { recursive: true });
  const numShards = Math.ceil(o.episodes / o.episodesPerShard);
  const meta: BuilderMeta = {
    name: DATASET_NAME, version: '0.0.1', split: 'train', imageShape: o.image, hierarchy: true,
    description: `gpla simulator: ${o.episodes} long-horizon episodes, ${blockSetLabel(o.blocks)}, ${o.image.join('x')} ${o.camera}, seed ${o.seed}`,
  };
  const lengths = Array.from({ length: numShards }, (_, s) => Math.min(o.episodesPerShard, o.episodes - s * o.episodesPerShard));
  const todo = [...lengths.keys()].filter((s) => !fs.existsSync(path.join(o.out, shardFileName(DATASET_NAME, 'train', s, numShards))));
  const bar = progress({ label: 'synth', total: todo.reduce((a, s) => a + lengths[s], 0), unit: 'episodes', mode: o.progress });
  let successes = 0;
  let simulated = 0;
  const runShard = async (s: number, run: (from: number, to: number) => Promise<{ records: Uint8Array[]; successes: number }>) => {
    const from = s * o.episodesPerShard;
    const r = await run(from, from + lengths[s]);
    await writeShard(path.join(o.out, shardFileName(DATASET_NAME, 'train', s, numShards)), r.records);
    successes += r.successes;
    simulated += lengths[s];
    bar.tick(lengths[s]);
  };
  const nWorkers = Math.max(0, Math.min(o.workers, todo.length));
  if (nWorkers <= 1) {
    for (const s of todo) await runShard(s, async (a, b) => synthRecords(o, a, b));
  } else {
    const queue = [...todo];
    await Promise.all(
      Array.from({ length: nWorkers }, async () => {
        const worker = new Worker(path.join(__dirname, 'synth-worker.js'), { workerData: { options: o } });
        try {
          for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
            await runShard(s, (from, to) => new Promise((resolve, reject) => {
              // One pair of listeners per shard, each removing the other: a worker serves many shards.
              const onError = (e: Error) => {
                worker.off('message', onMessage);
                reject(e);
              };
              const onMessage = (m: { records?: Uint8Array[]; successes?: number; error?: string }) => {
                worker.off('error', onError);
                if (m.error) reject(new Error(`synth worker: ${m.error}`));
                else resolve({ records: m.records!, successes: m.successes! });
              };
              worker.once('message', onMessage);
              worker.once('error', onError);
              worker.postMessage({ from, to });
            }));
          }
        } finally {
          await worker.terminate();
        }
      }),
    );
  }
  bar.stop();
  const bytes = lengths.map((_, s) => fs.statSync(path.join(o.out, shardFileName(DATASET_NAME, 'train', s, numShards))).size);
  await writeBuilderMetadata(o.out, meta, lengths, bytes);
  return {
    dir: o.out, episodes: o.episodes, shards: numShards, skippedShards: numShards - todo.length,
    successRate: simulated ? successes / simulated : null, seconds: (Date.now() - t0) / 1000,
  };
}

export const defaultWorkers = () => Math.max(1, Math.min(os.cpus().length, 4));
