/**
 * Probe (issue 15): can a small relational model choose the planner's next sub-task from perfect object state?
 * Object state = colour-segmentation centroids of the four blocks in each sample's image (the OBJ=1 cheat of
 * planner.ts); goal = which long-horizon instruction. A transformer over [goal token, 4 block tokens] predicts the
 * moved block (logit per block token) and the target (class from the goal token). Env: N, STEPS, W, L, LR.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { ImageCache } from '../../src/data/samples';
import { buildEncoder } from '../../src/nn/blocks';
import { buildLinear } from '../../src/nn/layers';
import { fourierFeatures } from '../../src/nn/keypoints';
import { ParamStore } from '../../src/nn/params';
import { BLOCK_SETS, COLOR_RGB } from '../../src/sim/constants';
import { GOALS } from '../../src/sim/goals';
import { parseSubTask } from '../../src/text/subtask-parser';
import { Rng } from '../../src/util/rng';
import { env, probeData } from './probe-data';

const cols = BLOCK_SETS.BLOCK_4.map((b) => COLOR_RGB[b.color]);
const names = BLOCK_SETS.BLOCK_4.map((b) => `${b.color}_${b.shape}`);
function centroids(img: { data: Uint8Array | Uint8ClampedArray }, S: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < 4; k++) {
    let sr = 0, sc = 0, n = 0;
    for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) {
      const o = (r * S + c) * 3;
      const d = Math.abs(img.data[o] - cols[k][0]) + Math.abs(img.data[o + 1] - cols[k][1]) + Math.abs(img.data[o + 2] - cols[k][2]);
      if (d < 90) { sr += r; sc += c; n++; }
    }
    out.push(n ? (2 * (sr / n + 0.5)) / S - 1 : 0, n ? (2 * (sc / n + 0.5)) / S - 1 : 0);
  }
  return out;
}

(async () => {
  await initBackend();
  const { samples } = await probeData(+env('N', '1200'));
  const cache = new ImageCache(64);
  const targets: string[] = [];
  const prep = (ss: typeof samples.hierarchical.train) => {
    const rows = ss.flatMap((s) => {
      const p = parseSubTask(s.lowLevel);
      const g = GOALS.findIndex((x) => x.instruction === s.highLevel);
      if (!p || g < 0) return [];
      const b = names.indexOf(p.block);
      if (b < 0) return [];
      const t = p.target ?? 'none';
      if (!targets.includes(t)) targets.push(t);
      return [{ xy: centroids(cache.get(s.imageJpeg), 64), g, b, t: targets.indexOf(t) }];
    });
    return rows;
  };
  const goalOf = new Map(samples.hierarchical.train.map((s) => [s.episodeId, s.highLevel]));
  // AUG=1: every policy frame of the training split is a planner sample too (its sub-task is still the board's next one).
  const extra = env('AUG', '') ? samples.policy.train.filter((s) => goalOf.has(s.episodeId)).map((s) => ({ episodeId: s.episodeId, imageJpeg: s.imageJpeg, highLevel: goalOf.get(s.episodeId), lowLevel: s.instruction })) : [];
  const tr = prep([...samples.hierarchical.train, ...(extra as any)]), va = prep(samples.hierarchical.val);
  console.log('train', tr.length, 'val', va.length, 'targets', targets.length, 'dropped', samples.hierarchical.train.length - tr.length);
  const W = +env('W', '64');
  const ps = new ParamStore(new Rng(3));
  const goalEmb = ps.create('goal', [GOALS.length, W], { kind: 'normal', std: 1 });
  const idEmb = ps.create('id', [4, W], { kind: 'normal', std: 1 });
  const coord = buildLinear(ps, 'coord', 2 + 16, W);
  const encoder = buildEncoder(ps, 'enc', { width: W, layers: +env('L', '2'), heads: 4, mlp: 4 * W });
  const blockHead = buildLinear(ps, 'bh', W, 1);
  const targetHead = buildLinear(ps, 'th', W, 64);
  const forward = (rows: typeof tr) => {
    const B = rows.length;
    const xy = tf.tensor3d(rows.flatMap((r) => r.xy), [B, 4, 2]);
    const obj = coord(fourierFeatures(xy, 4)).add(idEmb) as tf.Tensor3D;
    const goal = tf.gather(goalEmb, tf.tensor1d(rows.map((r) => r.g), 'int32')).expandDims(1);
    const h = encoder(tf.concat([goal, obj], 1));
    const bl = blockHead(h.slice([0, 1, 0], [B, 4, W])).reshape([B, 4]);
    const tl = targetHead(h.slice([0, 0, 0], [B, 1, W]).reshape([B, W]));
    return { bl, tl };
  };
  const opt = tf.train.adam(+env('LR', '1e-3'));
  const rng = new Rng(1);
  const steps = +env('STEPS', '1500');
  const vars = [...ps.params.values()];
  const t0 = Date.now();
  for (let s = 1; s <= steps; s++) {
    const rows = Array.from({ length: 64 }, () => tr[Math.floor(rng.random() * tr.length)]);
    const loss = opt.minimize(() => {
      const { bl, tl } = forward(rows);
      const lb = tf.losses.softmaxCrossEntropy(tf.oneHot(rows.map((r) => r.b), 4), bl);
      const lt = tf.losses.softmaxCrossEntropy(tf.oneHot(rows.map((r) => r.t), 64), tl);
      return lb.add(lt) as tf.Scalar;
    }, true, vars as tf.Variable[])!;
    const lv = loss.dataSync()[0];
    loss.dispose();
    if (s % +env('VE', '250') === 0) {
      const r = tf.tidy(() => {
        const { bl, tl } = forward(va);
        const pb = bl.argMax(1).dataSync(), pt = tl.argMax(1).dataSync();
        let ab = 0, both = 0;
        va.forEach((x, i) => { if (pb[i] === x.b) { ab++; if (pt[i] === x.t) both++; } });
        return [ab / va.length, both / va.length];
      });
      console.log(`step ${s} ${((Date.now() - t0) / 1000).toFixed(0)}s loss ${lv.toFixed(3)} val block ${r[0].toFixed(3)} block+target ${r[1].toFixed(3)}`);
    }
  }
})();
