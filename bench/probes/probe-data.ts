/**
 * The probes' shared data: N synthesised episodes of the small preset's kind (seed 0, four blocks, 64×64 top-down
 * frames) in /tmp/pdata-N, written once and reused, with its samples and word tokenizer.
 */
import * as fs from 'fs';
import { loadSamples, trainTokenizer } from '../../src/experiments/dataset';
import { synthesize } from '../../src/sim/synth';

export const env = (k: string, d: string) => process.env[k] ?? d;

export async function probeData(N: number, policyStride = 2) {
  const dir = `/tmp/pdata-${N}`;
  if (!fs.existsSync(`${dir}/dataset_info.json`)) {
    await synthesize({ out: dir, episodes: N, seed: 0, blocks: 4, image: [64, 64], camera: 'topdown', episodesPerShard: 50, workers: 2, progress: 'lines' });
  }
  const samples = await loadSamples(dir, { valFraction: 0.1, testFraction: 0.15, chunk: 8, policyStride });
  return { samples, tok: trainTokenizer(samples) };
}
