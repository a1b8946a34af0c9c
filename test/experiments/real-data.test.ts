import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { switchBackend } from '../../src/backend';
import { splitOf, writeBuilder } from '../../src/data/builder';
import type { Episode } from '../../src/data/episode';
import { reproduce } from '../../src/experiments/reproduce';
import { SCHEDULES } from '../../src/experiments/schedule';
import { DEFAULT_EPISODE, simulateEpisode } from '../../src/sim/episode';

/**
 * Real-like episodes: one sub-task each (the real data's episodes carry one short-horizon instruction and no
 * hierarchy), on the real board, 360×640 frames from the reference camera.
 */
function realLikeEpisodes(n: number): Episode[] {
  const { valFraction, testFraction } = SCHEDULES.tiny.data;
  const want = { train: n - 4, val: 2, test: 2 };
  const out: Episode[] = [];
  const o = { ...DEFAULT_EPISODE, blocks: 'real' as const, image: [360, 640] as [number, number], camera: 'perspective' as const, maxSteps: 40, maxStepsPerSubtask: 40 };
  for (let i = 0; out.length < n; i++) {
    const id = `real-like-${i}`;
    const split = splitOf(id, valFraction, testFraction);
    if (want[split] === 0) continue;
    const ep = simulateEpisode(id, 500 + i, o).episode;
    // A board whose first demonstration missed its label's test within the step cap has no sub-task: skip it.
    const first = ep.hierarchy!.subTasks[0];
    if (!first) continue;
    want[split]--;
    const steps = ep.steps.slice(0, Math.min(first.end, 12)).map((s) => ({ ...s, instruction: first.instruction }));
    steps[steps.length - 1] = { ...steps[steps.length - 1], isLast: true };
    out.push({ episodeId: id, steps });
  }
  return out;
}

describe('experiments/reproduce on a real-layout builder folder (language_table, 360×640 JPEG frames)', () => {
  it('gpla reproduce --data runs the tiny pipeline on it: the real board, the reference frame view, every table', async function () {
    this.timeout(300000);
    await switchBackend('wasm');
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-real-data-'));
    await writeBuilder(data, { name: 'language_table', version: '0.0.1', imageShape: [360, 640], hierarchy: false, filepathTemplate: '{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_INDEX}' }, realLikeEpisodes(10), 5);
    assert.ok(fs.existsSync(path.join(data, 'language_table-train.tfrecord-00001')));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-real-run-'));
    const lines: string[] = [];
    const r = await reproduce({ preset: 'tiny', out, data, seed: 0, progress: 'silent', log: (l) => lines.push(l), jobs: 1 });
    assert.ok(lines.some((l) => /language_table is recorded on the real robot's board; blocks 4 → real/.test(l)), lines.join('\n'));
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.equal(config.frames, 'reference');
    assert.equal(config.schedule.data.blocks, 'real');
    assert.deepEqual(config.episodes, { train: 6, val: 2, test: 2 });
    for (const f of ['tables/results.csv', 'tables/qualitative.csv', 'tables/retrieval.csv', 'summary.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
    // Every condition was evaluated on the held-out real-like samples, with the parser on the real board.
    for (const row of Object.values(r.results)) if (row.samples !== undefined) assert.equal(row.samples, 2 * 1);
  });
});
