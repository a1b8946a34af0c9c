/**
 * `npm run bench -- sim`: simulation steps/s without rendering, rendered frames/s at 64×64 and 180×320, and
 * episodes/s of `gpla synth` end to end with both cores. Target (issue 4): 1,000 long-horizon episodes at 64×64 in
 * under 5 minutes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blockSet } from '../src/sim/constants';
import { render } from '../src/sim/render';
import { defaultWorkers, synthesize } from '../src/sim/synth';
import { resetWorld, stepWorld } from '../src/sim/world';
import { Rng } from '../src/util/rng';
import { printTable, writeResults } from './util';

export async function run(): Promise<void> {
  const rng = new Rng(0);
  const s = resetWorld(blockSet(8), rng);
  const rows: Record<string, string | number>[] = [];
  let t0 = performance.now();
  const N = 20000;
  for (let i = 0; i < N; i++) stepWorld(s, [rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03)]);
  rows.push({ what: 'physics steps (BLOCK_8, no rendering)', 'per second': N / ((performance.now() - t0) / 1000) });
  for (const [h, w] of [[64, 64], [180, 320]]) {
    for (const camera of ['topdown', 'perspective'] as const) {
      const n = h === 64 ? 500 : 50;
      t0 = performance.now();
      for (let i = 0; i < n; i++) render(s, { height: h, width: w, camera });
      rows.push({ what: `rendered frames ${h}×${w} ${camera}`, 'per second': n / ((performance.now() - t0) / 1000) });
    }
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-bench-sim-'));
  const episodes = 200;
  const r = await synthesize({ out, episodes, seed: 1, blocks: 4, image: [64, 64], camera: 'topdown', episodesPerShard: 25, workers: defaultWorkers(), progress: 'silent' });
  rows.push({ what: `gpla synth end to end (${defaultWorkers()} workers, 64×64)`, 'per second': episodes / r.seconds });
  printTable(rows);
  const per1000 = (1000 / (episodes / r.seconds)) / 60;
  console.log(`→ 1,000 long-horizon episodes at 64×64: ${per1000.toFixed(1)} minutes (target < 5)`);
  console.log(`written ${writeResults('sim', { rows, minutesPer1000Episodes: per1000 })}`);
  fs.rmSync(out, { recursive: true, force: true });
}
