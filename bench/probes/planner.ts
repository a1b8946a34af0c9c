/**
 * Probe (issue 15): the planner's vision-language path. Trains the small preset's planner (CFG merged into its config,
 * e.g. {"keypoints":{"keypoints":8,"cell":4,"hidden":32},"slots":4}) on N synthesised episodes (/tmp/pdata-N, made on
 * first use) and prints held-out accuracies:
 *   WSTEPS  'where is the X' questions only (3000 boards); DET=w adds w × the detection loss (needs slots);
 *           CHEAT=1 replaces the image tokens by the true block positions (colour one-hot, x, y; NOREG=1 drops the
 *           region one-hot): the decoder alone, as an upper bound.
 *   PSTEPS  the base planner's pre-training task (scene questions of all kinds + instruction language; SHARE, DW).
 *   SSTEPS  supervised fine-tuning on ground-truth sub-tasks (block and semantic accuracy on validation samples).
 *   WFIRST=1 runs WSTEPS before PSTEPS (a curriculum).
 */
import * as fs from 'fs';
import { initBackend } from '../../src/backend';
import { getPreset } from '../../src/experiments/presets';
import { Planner } from '../../src/models/planner';
import { plannerPretrainTask, plannerSftTask, detectionTargets } from '../../src/experiments/tasks';
import { plannerInputs } from '../../src/models/inputs';
import { train } from '../../src/train/loop';
import { ImageCache } from '../../src/data/samples';
import { env, probeData } from './probe-data';
import { sceneBoards, sceneQA, regionOf } from '../../src/sim/scenes';
import * as tf from '@tensorflow/tfjs';
import { evaluationQuestions, sceneDescriptionAccuracy } from '../../src/eval/scene-description';
import { BLOCK_SETS, COLOR_RGB } from '../../src/sim/constants';
const BOARD = { x0: 0.35 - 0.2286, x1: 0.35 + 0.2286, y0: -0.3048, y1: 0.3048 }; // sim/render.ts's top-down frame

(async () => {
  await initBackend();
  const N = +env('N', '300');
  const { samples, tok } = await probeData(N);
  const preset = getPreset('small');
  const cfg = { ...preset.models.planner, vocab: tok.size, ...JSON.parse(env('CFG', '{}')) };
  const pl = new Planner(cfg, 7);
  console.log('planner params', [...pl.params.values()].reduce((a, v) => a + v.size, 0), JSON.stringify(cfg.keypoints ?? null));
  const cache = new ImageCache(64);
  const opts = { specs: BLOCK_SETS.BLOCK_4, image: [64, 64] as [number, number], camera: 'topdown' as const, jpegQuality: 95 };
  const t0 = Date.now();
  const tc = (steps: number, lr: number, ve: number) => ({ steps, peakLr: lr, warmupSteps: 20, finalLr: lr / 20, optimizer: { weightDecay: 0.01 }, clipNorm: 1, seed: 5, runDir: fs.mkdtempSync('/tmp/pp-'), checkpointEvery: 0, validateEvery: ve, resume: false, progress: 'silent' as const });
  const runP = async () => {
  const PS = +env('PSTEPS', '600');
  if (PS > 0) {
    const val = sceneBoards(96, 77, opts);
    const task = plannerPretrainTask(pl, samples.hierarchical.train, tok, cache, 32, { boards: sceneBoards(+env('BOARDS', '3000'), 5, opts), share: +env('SHARE', '0.75'), detectionWeight: +env('DW', '0'), val: { boards: val, questions: evaluationQuestions(val, 78) } });
    const v = task.validate!;
    task.validate = async () => { const r: any = await v();
      if (cfg.slots) { const inp = plannerInputs(cache, tok, val.slice(0, 64).map((b) => ({ imageJpeg: b.imageJpeg, highLevel: '' })), 20); const p = pl.detect(inp.images!); r.detMse = tf.losses.meanSquaredError(detectionTargets(val.slice(0, 64), 4), p).dataSync()[0]; }
      console.log('pretrain', ((Date.now() - t0) / 1000).toFixed(0) + 's', JSON.stringify(r)); return r; };
    await train(task, tc(PS, +env('LR', '2e-3'), +env('VE', '100')));
  }
  };
  const runW = async () => {
  const WS = +env('WSTEPS', '0');
  if (WS > 0) {
    const boards = sceneBoards(+env('BOARDS', '3000'), 5, opts);
    const pseudo = boards.flatMap((b) => b.state.blocks.map((bl) => { const qa = sceneQA({ kind: 'where', block: bl.name }, b.state); return { imageJpeg: b.imageJpeg, highLevel: qa.prompt, lowLevel: qa.answer } as any; }));
    const val = sceneBoards(96, 77, opts);
    const qs = val.map((b, i) => ({ kind: 'where' as const, block: b.state.blocks[i % 4].name }));
    const task = plannerSftTask(pl, pseudo, tok, cache, 32);
    if (env('CHEAT', '')) {
      const stateOf = new Map<Uint8Array, any>();
      for (const b of [...boards, ...val]) stateOf.set(b.imageJpeg, b.state);
      const names = ['top_left', 'top', 'top_right', 'center_left', 'center', 'center_right', 'bottom_left', 'bottom', 'bottom_right'];
      const proj = pl.ps.create('cheat.proj', [15, cfg.width], { kind: 'normal', std: 1 / Math.sqrt(15) });
      let cur: any[] = [];
      const nb = task.nextBatch; task.nextBatch = (rng, st) => { const bb: any = nb(rng, st); return bb; };
      // capture states through the images' jpeg order: wrap plannerInputs via the cache
      const origGet = cache.get.bind(cache); (cache as any).get = (j: Uint8Array) => { cur.push(stateOf.get(j)); return origGet(j); };
      (pl as any).imageTokens = (images: any) => {
        const B = images.shape[0]; const st = cur.slice(-B); cur = [];
        const f = new Float32Array(B * 24 * 15);
        st.forEach((s: any, i: number) => s.blocks.forEach((bl: any, k: number) => { const o = (i * 24 + k) * 15; f[o + k] = 1; f[o + 4] = bl.x; f[o + 5] = bl.y; if (!process.env.NOREG) f[o + 6 + names.indexOf(regionOf([bl.x, bl.y]))] = 1; f[o + 4] = (bl.x - 0.375) / 0.15; f[o + 5] = bl.y / 0.2; }));
        return tf.tensor3d(f, [B, 24, 15]).reshape([B * 24, 15]).matMul(proj).reshape([B, 24, cfg.width]);
      };
    }
    if (env('DET', '')) {
      const stateOf = new Map<Uint8Array, any>();
      for (const b of [...boards, ...val]) stateOf.set(b.imageJpeg, b.state);
      let cur: any[] = [];
      const origGet = cache.get.bind(cache); (cache as any).get = (j: Uint8Array) => { cur.push(stateOf.get(j)); return origGet(j); };
      const Wd = cfg.width;
      const lossLm = task.loss;
      task.loss = (b: any) => {
        const B = b.inp.images.shape[0]; const st = cur.slice(-B); cur = [];
        const y = tf.tensor3d(st.flatMap((s: any) => s.blocks.flatMap((bl: any) => [(bl.x - 0.375) / 0.15, bl.y / 0.2])), [B, 4, 2]);
        const pred = pl.detect(b.inp.images);
        const det = tf.losses.meanSquaredError(y, pred);
        return lossLm(b).add(det.mul(+env('DET', '1'))) as tf.Scalar;
      };
    }
    task.validate = () => { const r = sceneDescriptionAccuracy(pl, tok, cache, val, qs); console.log('where', ((Date.now() - t0) / 1000).toFixed(0) + 's', r.sceneWhereAccuracy.toFixed(3)); return { w: r.sceneWhereAccuracy }; };
    const r = await train(task, tc(WS, +env('LR', '2e-3'), +env('VE', '100')));
    const L = r.losses; const k = Math.max(1, Math.floor(L.length / 10));
    console.log('loss', Array.from({ length: Math.ceil(L.length / k) }, (_, i) => (L.slice(i * k, i * k + k).reduce((a, b) => a + b, 0) / L.slice(i * k, i * k + k).length).toFixed(3)).join(' '));
  }
  };
  if (env('WFIRST', '')) { await runW(); await runP(); } else { await runP(); await runW(); }
  const SS = +env('SSTEPS', '0');
  if (SS > 0) {
    const task = plannerSftTask(pl, samples.hierarchical.train, tok, cache, 32, samples.hierarchical.val.slice(0, 128));
    if (env('OBJ', '')) {
      // OBJ=1: the image tokens are replaced by one token per block from colour segmentation of the image (identity
      // one-hot, centroid, region one-hot): what a perfect object-centric front-end would hand the decoder.
      const names = ['top_left', 'top', 'top_right', 'center_left', 'center', 'center_right', 'bottom_left', 'bottom', 'bottom_right'];
      const cols = BLOCK_SETS.BLOCK_4.map((b) => COLOR_RGB[b.color]);
      const F = 15;
      const proj = pl.ps.create('cheat.proj', [F, cfg.width], { kind: 'normal', std: 1 / Math.sqrt(F) });
      const N = pl.prefixTokens;
      (pl as any).imageTokens = (images: tf.Tensor4D) => {
        const [B, S] = images.shape;
        const px = images.dataSync();
        const f = new Float32Array(B * N * F);
        for (let i = 0; i < B; i++) for (let k = 0; k < 4; k++) {
          let sr = 0, sc = 0, n = 0;
          for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) {
            const o = ((i * S + r) * S + c) * 3;
            const d = Math.abs(px[o] * 255 - cols[k][0]) + Math.abs(px[o + 1] * 255 - cols[k][1]) + Math.abs(px[o + 2] * 255 - cols[k][2]);
            if (d < 90) { sr += r; sc += c; n++; }
          }
          const u = n ? (2 * (sr / n + 0.5)) / S - 1 : 0, v = n ? (2 * (sc / n + 0.5)) / S - 1 : 0;
          const x = BOARD.x0 + ((u + 1) / 2) * (BOARD.x1 - BOARD.x0), y = BOARD.y0 + ((v + 1) / 2) * (BOARD.y1 - BOARD.y0);
          const o = (i * N + k) * F;
          f[o + k] = 1; f[o + 4] = u * 2; f[o + 5] = v * 2;
          if (!process.env.NOREG) f[o + 6 + names.indexOf(regionOf([x, y]))] = 1;
        }
        return tf.tensor3d(f, [B, N, F]).reshape([B * N, F]).matMul(proj).reshape([B, N, cfg.width]);
      };
    }
    const v = task.validate!;
    task.validate = async () => { const r = await v(); console.log('sft', ((Date.now() - t0) / 1000).toFixed(0) + 's', JSON.stringify(r)); return r; };
    await train(task, tc(SS, +env('SLR', '1e-3'), +env('VE', '100')));
  }
})();
