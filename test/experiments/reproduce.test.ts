import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { switchBackend } from '../../src/backend';
import { CONDITIONS, reproduce } from '../../src/experiments/reproduce';
import { readMetrics } from '../../src/train/loop';

describe('experiments/reproduce: the tiny pipeline end to end', () => {
  it('writes config, tables with the five conditions and metrics; losses fall; SimPO forms pairs and raises the chosen score', async function () {
    this.timeout(300000);
    await switchBackend('wasm');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-tiny-'));
    const lines: string[] = [];
    const r = await reproduce({ preset: 'tiny', out, seed: 0, progress: 'silent', log: (l) => lines.push(l) });
    for (const f of ['config.json', 'tokenizer.json', 'metrics.jsonl', 'tables/results.csv', 'tables/qualitative.csv', 'summary.json', 'models/planner-sft.safetensors']) {
      assert.ok(fs.existsSync(path.join(out, f)), `${f} missing`);
    }
    const csv = fs.readFileSync(path.join(out, 'tables/results.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 1 + CONDITIONS.length);
    assert.match(csv[0], /^condition,samples,bleu4,rougeL,ciderD/);
    for (const c of CONDITIONS) assert.ok(csv.some((l) => l.startsWith(c.includes(',') ? `"${c}"` : c)), `row ${c}`);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.equal(config.preset, 'tiny');
    assert.equal(config.backend, 'wasm');
    // Losses fell for every trained model.
    const metrics = readMetrics(out);
    for (const task of ['grounding-action', 'policy', 'planner-pretrain', 'planner-sft']) {
      const losses = metrics.filter((m) => m.task === task && m.kind === 'train').map((m) => m.loss as number);
      assert.ok(losses.length > 10, `${task} logged`);
      const head = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
      const tail = losses.slice(-5).reduce((a, b) => a + b) / 5;
      assert.ok(tail < head, `${task}: loss ${head} → ${tail}`);
    }
    // SimPO iterations formed pairs, and the chosen candidates' mean grounding score rose across iterations.
    const simpo = metrics.filter((m) => m.task === 'simpo-planner-gpla-action');
    assert.equal(simpo.length, 2);
    assert.ok(simpo.every((m) => (m.pairs as number) > 0));
    assert.ok((simpo[1].chosenScore as number) > (simpo[0].chosenScore as number), `chosen score ${simpo.map((m) => m.chosenScore)}`);
    assert.ok(r.results.Supervised.samples > 0);
    // Re-running resumes: every stage is skipped and the results are the same.
    const again = await reproduce({ preset: 'tiny', out, seed: 0, progress: 'silent', log: () => undefined });
    assert.deepEqual(again.results, r.results);
  });
});
