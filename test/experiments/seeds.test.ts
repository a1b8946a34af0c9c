import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { aggregateSeeds, writeSeedTables, type SeedRun } from '../../src/experiments/seeds';
import { writeRunFigures } from '../../src/viz/run-figures';

const run = (seed: number, bleu: number, success: number, r1: number): SeedRun => ({
  seed,
  results: {
    Supervised: { bleu4: bleu, groundingScore: NaN, policySubTaskSuccess: success },
    'Ground-truth sub-tasks': { oracleLongHorizonSuccess: success },
  },
  retrieval: [{ model: 'action', perturbation: 'none', n: 10, trajToText: { 1: r1 }, textToTraj: { 1: r1 / 2 }, medianRankTrajToText: 2, medianRankTextToTraj: 3,
    trajToTextSemantic: { 1: r1 + 0.1 }, textToTrajSemantic: { 1: r1 }, semanticChance: { 1: 0.05 }, hardNegativeWin: { 'swapped-block': 0.5, 'swapped-target': 0.5, 'dropped-target': 0.5, garbled: 0.5, all: 0.5 } }],
});

describe('experiments/seeds: metrics across seeds', () => {
  const runs = [run(0, 0.2, 0.5, 0.4), run(1, 0.4, 0.5, 0.6), run(2, 0.3, 0.5, 0.5)];

  it('mean, sample std and a bootstrap interval inside the values\' range; non-finite metrics left out', () => {
    const a = aggregateSeeds(runs);
    assert.deepEqual(a.seeds, [0, 1, 2]);
    const b = a.results.Supervised.bleu4;
    assert.ok(Math.abs(b.mean - 0.3) < 1e-12);
    assert.ok(Math.abs(b.std - 0.1) < 1e-12);
    assert.ok(b.lo >= 0.2 - 1e-12 && b.hi <= 0.4 + 1e-12 && b.lo <= b.mean && b.mean <= b.hi, `${b.lo} ${b.hi}`);
    assert.deepEqual(b.values, [0.2, 0.4, 0.3]);
    assert.equal(a.results.Supervised.groundingScore, undefined);
    const s = a.results.Supervised.policySubTaskSuccess;
    assert.deepEqual([s.mean, s.std, s.lo, s.hi], [0.5, 0, 0.5, 0.5]);
    assert.ok(Math.abs(a.retrieval['action|none|trajToText@1'].mean - 0.5) < 1e-12);
    assert.ok(Math.abs(a.retrieval['action|none|trajToTextSemantic@1'].mean - 0.6) < 1e-12);
    assert.throws(() => aggregateSeeds([]), /no runs/);
  });

  it('writes long tables and a summary the figures draw with error bars', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-seeds-'));
    try {
      writeSeedTables(dir, aggregateSeeds(runs), 10);
      const csv = fs.readFileSync(path.join(dir, 'tables/results.csv'), 'utf8').trim().split('\n');
      assert.equal(csv[0], 'condition,metric,seeds,mean,std,ci95Lo,ci95Hi,values');
      assert.ok(csv.some((l) => l.startsWith('Supervised,bleu4,3,0.3,0.1,') && l.endsWith(',0.2 0.4 0.3')), csv.join('\n'));
      const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
      assert.ok(summary.intervals.Supervised.bleu4.lo <= 0.3);
      const written = await writeRunFigures(dir);
      assert.deepEqual(written, ['results', 'execution', 'retrieval']);
      const spec = JSON.parse(fs.readFileSync(path.join(dir, 'figures/results.vl.json'), 'utf8'));
      assert.ok(JSON.stringify(spec).includes('"errorbar"'), 'results figure has error bars');
      for (const f of written) {
        const png = PNG.sync.read(fs.readFileSync(path.join(dir, 'figures', `${f}.png`)));
        assert.ok(png.width > 100 && png.height > 100, `${f}: ${png.width}×${png.height}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
