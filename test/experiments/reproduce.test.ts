import { strict as assert } from 'node:assert';
import { CLAIMS } from '../../src/eval/claims';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { switchBackend } from '../../src/backend';
import { setNativeBlasEnabled } from '../../src/backend/native-blas';
import { evaluateRun } from '../../src/commands/evaluate';
import { GROUND_TRUTH_PLANNER } from '../../src/experiments/evaluate';
import { CONDITIONS, reproduce } from '../../src/experiments/reproduce';
import { sweep } from '../../src/experiments/sweep';
import { readMetrics } from '../../src/train/loop';

describe('experiments/reproduce: the tiny pipeline end to end', () => {
  // The whole pipeline on the plain wasm path (XNNPACK products), in this process and in the second one (which reads
  // the variable): the kernel tests cover the native path, and a machine may have either.
  const nativeSetting = process.env.GPLA_NATIVE_BLAS;
  before(() => {
    process.env.GPLA_NATIVE_BLAS = 'off';
    setNativeBlasEnabled(false);
  });
  after(() => {
    if (nativeSetting === undefined) delete process.env.GPLA_NATIVE_BLAS;
    else process.env.GPLA_NATIVE_BLAS = nativeSetting;
    setNativeBlasEnabled(true);
  });
  it('writes config, tables with the five conditions and metrics; losses fall; SimPO forms pairs and raises the chosen score', async function () {
    this.timeout(300000);
    await switchBackend('wasm');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-tiny-'));
    const lines: string[] = [];
    const r = await reproduce({ preset: 'tiny', out, seed: 0, sets: ['eval.qualitative=3'], progress: 'silent', log: (l) => lines.push(l), jobs: 2 });
    // Two processes shared the training stages (the second one's lines are prefixed).
    assert.ok(lines.some((l) => /^\[jobs 2\] \[[a-z-]+\] done in/.test(l)), 'the second process ran stages');
    assert.ok(lines.some((l) => /^\[[a-z-]+\] done in/.test(l) && !l.startsWith('[data]')), 'this process ran stages');
    for (const f of ['config.json', 'tokenizer.json', 'metrics.jsonl', 'tables/results.csv', 'tables/qualitative.csv', 'tables/retrieval.csv', 'tables/claims.csv', 'tables/execution-episodes.jsonl', 'rollouts/supervised-oracle.json', 'figures/closed-loop-supervised-policy.png', 'summary.json', 'models/planner-sft.safetensors']) {
      assert.ok(fs.existsSync(path.join(out, f)), `${f} missing`);
    }
    const csv = fs.readFileSync(path.join(out, 'tables/results.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 1 + CONDITIONS.length + 1);
    assert.match(csv[0], /^condition,samples,bleu4,rougeL,ciderD/);
    assert.match(csv[0], /policySubTaskSuccess,policySubTaskMatch,policySubTaskAlreadySatisfied,policyLongHorizonSuccess/);
    assert.match(csv[0], /oracleSubTaskSuccess,oracleSubTaskMatch,oracleSubTaskAlreadySatisfied,oracleLongHorizonSuccess/);
    // The reference row: the goal plan's own sub-tasks always match the ground truth, and have no text metrics.
    const gt = r.results[GROUND_TRUTH_PLANNER];
    assert.equal(gt.oracleSubTaskMatch, 1);
    assert.equal(gt.policySubTaskMatch, 1);
    assert.equal(gt.bleu4, undefined);
    assert.ok(csv[csv.length - 1].startsWith(`${GROUND_TRUTH_PLANNER},,`), csv[csv.length - 1]);
    // Retrieval: both grounding models × true, shuffled and time-reversed trajectories, recalls in [0, 1].
    const retrieval = fs.readFileSync(path.join(out, 'tables/retrieval.csv'), 'utf8').trim().split('\n');
    assert.equal(retrieval.length, 1 + 6);
    assert.match(retrieval[0], /^model,trajectories,n,trajToTextR@1,trajToTextR@5,trajToTextR@10,textToTrajR@1/);
    for (const line of retrieval.slice(1)) {
      const cells = line.split(',');
      for (const v of cells.slice(3, 9).map(Number)) assert.ok(v >= 0 && v <= 1, line);
    }
    for (const c of CONDITIONS) assert.ok(csv.some((l) => l.startsWith(c.includes(',') ? `"${c}"` : c)), `row ${c}`);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.equal(config.preset, 'tiny');
    assert.equal(config.backend, 'wasm');
    // --set changes are applied and recorded.
    assert.deepEqual(config.sets, ['eval.qualitative=3']);
    assert.equal(config.schedule.eval.qualitative, 3);
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
    // The logs carry the judge's diagnostics (labels the loop never uses) and the rejected side's score.
    for (const m of simpo) {
      const d = m.diagnostics as Record<string, number>;
      assert.ok(d && d.rightAvailableShare >= 0 && d.rightAvailableShare <= 1 && d.chosenCorrectShare >= 0, JSON.stringify(m));
      assert.ok((m.rejectedScore as number) < (m.chosenScore as number));
    }
    // GPLA rows say whether their preference loop updated anything; the claims table has a verdict per claim.
    assert.ok((r.results['GPLA (action-conditioned)'].preferencePairs ?? 0) > 0);
    assert.equal(r.results['GPLA (action-conditioned)'].preferenceUpdated, 1);
    assert.equal(r.results.Supervised.preferencePairs, undefined);
    const claims = fs.readFileSync(path.join(out, 'tables/claims.csv'), 'utf8').trim().split('\n');
    assert.equal(claims.length, 1 + CLAIMS.length);
    assert.ok(claims.slice(1).every((l) => /,inconclusive,/.test(l)), 'one seed settles no claim');
    assert.ok((simpo[1].chosenScore as number) > (simpo[0].chosenScore as number), `chosen score ${simpo.map((m) => m.chosenScore)}`);
    assert.ok((r.results.Supervised.samples ?? 0) > 0);
    // Re-running resumes: every stage is skipped and the results are the same.
    const again = await reproduce({ preset: 'tiny', out, seed: 0, sets: ['eval.qualitative=3'], progress: 'silent', log: () => undefined });
    assert.deepEqual(again.results, r.results);
    // gpla evaluate re-runs the evaluation from the files alone, here with 3 closed-loop episodes instead of 2: the
    // text metrics (same models, same samples, greedy) are unchanged, the execution rows now cover 3 episodes.
    await evaluateRun(out, { episodes: 3, log: () => undefined, progress: 'silent' });
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.evaluationSettings.rolloutEpisodes, 3);
    assert.equal(summary.conditions.Supervised.bleu4, r.results.Supervised.bleu4);
    const episodes = fs.readFileSync(path.join(out, 'tables/execution-episodes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(episodes.filter((e) => e.condition === 'Supervised' && e.executor === 'oracle').length, 3);
    await assert.rejects(evaluateRun(path.join(out, 'nope')), /not a gpla run folder \(no config.json\)/);

    // gpla sweep: SimPO re-run from the trained planners with one field changed, judged on validation samples only.
    const sweepDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-sweep-'));
    const rows = await sweep({ from: out, out: sweepDir, vary: ['simpo.beta=1,2'], starts: ['planner-base'], samples: 6, log: () => undefined });
    assert.deepEqual(rows.map((x) => [x.value, x.isDefault, x.samples]), [['1', false, 6], ['2', true, 6]]);
    for (const x of rows) assert.ok(x.semanticAccuracy >= 0 && x.semanticAccuracy <= 1 && x.pairs > 0, JSON.stringify(x));
    assert.ok(fs.existsSync(path.join(sweepDir, 'figures', 'sweep.png')));
    assert.equal(fs.readFileSync(path.join(sweepDir, 'tables', 'sweep.csv'), 'utf8').trim().split('\n').length, 3);
    const resumed = await sweep({ from: out, out: sweepDir, vary: ['simpo.beta=1,2'], starts: ['planner-base'], samples: 6, log: () => undefined });
    assert.deepEqual(resumed, rows);

    // The same run in one process gives byte-identical weights (each stage has its own seed and reads its inputs
    // from the run folder, so the process that runs it does not matter).
    const single = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-tiny-1-'));
    fs.cpSync(path.join(out, 'data'), path.join(single, 'data'), { recursive: true });
    fs.mkdirSync(path.join(single, 'stages'));
    fs.copyFileSync(path.join(out, 'stages', 'data.json'), path.join(single, 'stages', 'data.json'));
    await reproduce({ preset: 'tiny', out: single, seed: 0, sets: ['eval.qualitative=3'], progress: 'silent', log: () => undefined, jobs: 1 });
    for (const f of fs.readdirSync(path.join(out, 'models'))) {
      assert.ok(fs.readFileSync(path.join(out, 'models', f)).equals(fs.readFileSync(path.join(single, 'models', f))), `${f} differs between 2 processes and 1`);
    }
  });
});
