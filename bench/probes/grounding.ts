/**
 * Probe (issue 15): trains the small preset's action-conditioned grounding model (CFG merged into its config, e.g.
 * {"keypoints":{"keypoints":8,"cell":4,"hidden":32}}) on /tmp/pdata-N for STEPS × BS (HARD hard negatives per
 * sample) and prints validation retrieval, exact and semantic, every VE steps, and the loss curve.
 */
import * as fs from 'fs';
import { initBackend } from '../../src/backend';
import { getPreset } from '../../src/experiments/presets';
import { GroundingModel } from '../../src/models/grounding';
import { groundingTask } from '../../src/experiments/tasks';
import { train } from '../../src/train/loop';
import { ImageCache } from '../../src/data/samples';
import { env, probeData } from './probe-data';

(async () => {
  await initBackend();
  const N = +env('N', '300');
  const { samples, tok } = await probeData(N);
  const preset = getPreset('small');
  const cfg = { ...preset.models.grounding, vocab: tok.size, trajectoryLength: 32, pixelMean: [0.207, 0.207, 0.207], pixelStd: [0.062, 0.062, 0.062], ...JSON.parse(env('CFG', '{}')) };
  const g = new GroundingModel(cfg, 7);
  console.log('grounding params', [...g.params.values()].reduce((a, v) => a + v.size, 0), 'train', samples.hierarchical.train.length, 'val', samples.hierarchical.val.length, JSON.stringify(cfg.keypoints ?? null));
  const cache = new ImageCache(64);
  const t0 = Date.now();
  const task = groundingTask('g', g, samples.hierarchical.train, samples.hierarchical.val, tok, cache, +env('BS', '48'), { maskSameSubTask: true, hardNegatives: +env('HARD', '0') });
  const v = task.validate!;
  task.validate = async () => { const r = await v(); console.log('val', ((Date.now() - t0) / 1000).toFixed(0) + 's', JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, x]) => [k.replace('val/', ''), +x.toFixed(3)])))); return r; };
  const lr = +env('LR', '1e-3');
  const r = await train(task, { steps: +env('STEPS', '500'), peakLr: lr, warmupSteps: 20, finalLr: lr / 20, optimizer: { weightDecay: 0.01 }, clipNorm: 1, seed: 5, runDir: fs.mkdtempSync('/tmp/gp-'), checkpointEvery: 0, validateEvery: +env('VE', '100'), resume: false, progress: 'silent' });
  const L = r.losses; const k = Math.max(1, Math.floor(L.length / 8));
  console.log('loss', Array.from({ length: Math.ceil(L.length / k) }, (_, i) => (L.slice(i * k, i * k + k).reduce((a, b) => a + b, 0) / L.slice(i * k, i * k + k).length).toFixed(2)).join(' '));
})();
