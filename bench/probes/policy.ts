/**
 * Probe (issue 15): trains the policy alone on synthesised data and measures it the way the results table does.
 *   N episodes (data in /tmp/pdata-N, synthesised once), DET the keypoints' detection weight (needs CFG keypoints ≥ 5), SUB first training samples only (0 = all), STEPS × BS at LR,
 *   CFG a JSON object merged into the small preset's policy config (e.g. {"prediction":"action","executeSteps":2}),
 *   PTR the pointer's cross-entropy weight (needs CFG pointer, e.g. {"keypoints":{...},"pointer":{"blocks":4}}),
 *   T1 fixes the flow time (1 = pure noise in: regression from the context), SAVE / LOAD a weights file.
 * Prints the loss curve, the sampled-action RMSE against the mean action's, and closed-loop sub-task and long-horizon
 * success with the ground-truth planner on EVAL training boards (seed 0) and HELD held-out boards (seed 1000003).
 *   npx tsx bench/probes/policy.ts     (environment.md, "Where the learned components stand", has its figures)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { env, probeData } from './probe-data';
import { getPreset } from '../../src/experiments/presets';
import { Policy } from '../../src/models/policy';
import { policyTask } from '../../src/experiments/tasks';
import { train } from '../../src/train/loop';
import { ImageCache } from '../../src/data/samples';
import { sceneBoards } from '../../src/sim/scenes';
import { blockSet } from '../../src/sim/constants';
import { DEFAULT_EPISODE } from '../../src/sim/episode';
import { batchedPlanner, batchedPolicyExecutor, groundTruthPlanner, hierarchyMetrics, runHierarchyBatched } from '../../src/eval/hierarchy';

(async () => {
  await initBackend();
  const N = +env('N', '300');
  const { samples, tok } = await probeData(N, +env('STRIDE', '2'));
  const preset = getPreset('small');
  const cfg = { ...preset.models.policy, vocab: tok.size, ...JSON.parse(env('CFG', '{}')) };
  let train_ = samples.policy.train;
  const SUB = +env('SUB', '0');
  if (SUB) train_ = train_.slice(0, SUB);
  console.log(`policy samples train ${samples.policy.train.length} (using ${train_.length}) val ${samples.policy.val.length}; cfg ${JSON.stringify(cfg)}`);
  const policy = new Policy(cfg, 13);
  const cache = new ImageCache(64);
  const steps = +env('STEPS', '300');
  const runDir = fs.mkdtempSync('/tmp/pexp-');
  const t0 = Date.now();
  const DET = +env('DET', '0');
  const detection = DET ? { boards: sceneBoards(3000, 5, { specs: blockSet(4), image: [64, 64], camera: 'topdown', jpegQuality: DEFAULT_EPISODE.jpegQuality }), camera: 'topdown' as const, weight: DET } : undefined;
  const PTR = +env('PTR', '0');
  const pointer = PTR ? { blocks: blockSet(4), weight: PTR } : undefined;
  if (pointer) {
    const { pointerLabelsOf } = await import('../../src/experiments/tasks');
    const l = pointerLabelsOf(train_.map((x) => x.instruction), pointer.blocks);
    let nb = 0, nt = 0;
    for (let i = 0; i < l.length; i += 2) { if (l[i] >= 0) nb++; if (l[i + 1] >= 0) nt++; }
    console.log(`pointer labels: block ${(nb / train_.length).toFixed(3)}, target ${(nt / train_.length).toFixed(3)} of training samples`);
  }
  const task = policyTask(policy, train_, tok, cache, +env('BS', '32'), detection, pointer);
  if (env('T1', '')) {
    const nb = task.nextBatch;
    task.nextBatch = (rng, step) => { const b = nb(rng, step); b.t.dispose(); b.t = tf.fill([b.actions.shape[0]], +env('T1', '1')) as tf.Tensor1D; return b; };
  }
  const r = env('LOAD', '') ? (policy.ps.load(env('LOAD', '')), null) : await train(task, {
    steps, peakLr: +env('LR', '1e-3'), warmupSteps: 20, finalLr: +env('LR', '1e-3') / 20, optimizer: { weightDecay: 0.01 }, clipNorm: +env('CLIP', '10'), seed: 102,
    runDir, checkpointEvery: 0, validateEvery: 0, resume: false, progress: 'silent',
  });
  if (r) {
  const lines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.loss !== undefined);
  const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const k = Math.max(1, Math.floor(lines.length / 10));
  const curve = [];
  for (let i = 0; i < lines.length; i += k) curve.push(`${lines[i].step}:${avg(lines.slice(i, i + k).map((m) => m.loss)).toFixed(3)}`);
  console.log(`trained ${steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s; loss curve ${curve.join(' ')}`);
  }
  if (detection) {
    const { keypointTargets } = await import('../../src/experiments/tasks');
    const held = sceneBoards(128, 77, { specs: blockSet(4), image: [64, 64], camera: 'topdown', jpegQuality: DEFAULT_EPISODE.jpegQuality });
    const err = tf.tidy(() => { const tg = keypointTargets(held, 'topdown'); const { imageBatch } = require('../../src/models/inputs'); const c = policy.locate(imageBatch(cache, held.map((b) => b.imageJpeg))).slice([0, 0, 0], [-1, tg.shape[1], -1]); return c.sub(tg).square().sum(-1).sqrt().mean().dataSync()[0]; });
    console.log(`keypoint detection, 128 held-out boards: mean distance ${err.toFixed(4)} (frame units; 0.01 ≈ 2.3 mm along x)`);
  }
  if (env('SAVE', '')) policy.ps.save(env('SAVE', ''), { model: 'policy' });
  // Sampled-action error (normalised units) on training and validation samples, against the spread of the actions.
  const { policyInputs } = await import('../../src/models/inputs');
  const { Rng } = await import('../../src/util/rng');
  for (const [name, set] of [['train', train_], ['val', samples.policy.val]] as const) {
    const s = set.slice(0, 128);
    const inp = policyInputs(cache, tok, s, cfg.maxText);
    const pred = policy.sampleActions(inp, new Rng(7)).arraySync() as number[][][];
    let se = 0, n = 0, ss = 0, mean = [0, 0];
    s.forEach((x) => { for (let c = 0; c < 8; c++) if (x.mask[c]) { mean[0] += x.actions[2 * c]; mean[1] += x.actions[2 * c + 1]; n++; } });
    mean = mean.map((v) => v / n);
    s.forEach((x, i) => { for (let c = 0; c < 8; c++) if (x.mask[c]) for (let d = 0; d < 2; d++) { se += ((pred[i][c][d] - x.actions[2 * c + d]) / cfg.actionScale) ** 2; ss += ((mean[d] - x.actions[2 * c + d]) / cfg.actionScale) ** 2; } });
    const first = s.map((x, i) => Math.hypot(pred[i][0][0] - x.actions[0], pred[i][0][1] - x.actions[1]) / cfg.actionScale);
    console.log(`${name}: sampled-action RMSE ${Math.sqrt(se / (2 * n)).toFixed(3)} vs mean-action RMSE ${Math.sqrt(ss / (2 * n)).toFixed(3)}; first action error ${(first.reduce((a, b) => a + b, 0) / first.length).toFixed(3)}`);
  }
  if (pointer) {
    const { pointerLabelsOf } = await import('../../src/experiments/tasks');
    const s = samples.policy.val.slice(0, 256);
    const l = pointerLabelsOf(s.map((x) => x.instruction), pointer.blocks);
    const pre = policy.prefix(policyInputs(cache, tok, s, cfg.maxText));
    const bl = pre.pointer!.blockLogits.argMax(1).dataSync(), tl = pre.pointer!.targetLogits.argMax(1).dataSync();
    let hb = 0, ht = 0, nb = 0, nt = 0;
    s.forEach((_, i) => { if (l[2 * i] >= 0) { nb++; hb += +(bl[i] === l[2 * i]); } if (l[2 * i + 1] >= 0) { nt++; ht += +(tl[i] === l[2 * i + 1]); } });
    console.log(`pointer on val: block accuracy ${(hb / nb).toFixed(3)} (${nb}), target accuracy ${(ht / nt).toFixed(3)} (${nt})`);
  }
  const ex = batchedPolicyExecutor(policy, tok, cache);
  for (const [name, seed, n] of [['train-boards', 0, +env('EVAL', '10')], ['held-out', 1000003, +env('HELD', '20')]] as const) {
    if (!n) continue;
    const t1 = Date.now();
    const eps = runHierarchyBatched(batchedPlanner(groundTruthPlanner), ex, { episodes: n, seed, blocks: 4, stepsPerSubtask: 40, storedImage: [64, 64] });
    const m = hierarchyMetrics(eps);
    console.log(`${name}: ${n} eps, sub-task success ${m.subTaskSuccess.toFixed(3)} (${m.subTasks} sub-tasks), long-horizon ${m.longHorizonSuccess.toFixed(3)} [${((Date.now() - t1) / 1000).toFixed(0)} s]`);
  }
})();
