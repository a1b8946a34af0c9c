/**
 * Probe (issue 15): can a vision front-end localise the four blocks of a 64×64 board on 300 held-out boards?
 * FRONT=vit16|vit8|merge|kp (ViT patches 16 or 8, a per-cell MLP with 2×2 merging, spatial-softmax keypoints), N
 * training boards (3000), STEPS × 32 at LR; MODE=mse regresses every block's (x, y) from four query tokens in the
 * encoder, ce classifies every block's board region, ce1 one random block's per board. JPEG=q round-trips the
 * frames through the dataset's JPEG. Prints validation MSE, the share within 0.1 (normalised units) and region
 * accuracy. environment.md ("Where the learned components stand") has its figures.
 *   FRONT=kp npx tsx bench/probes/vision.ts
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import { initBackend } from '../../src/backend';
import { BLOCK_SETS, X_MIN, X_MAX, Y_MIN, Y_MAX } from '../../src/sim/constants';
import { randomBoard, regionOf } from '../../src/sim/scenes';
import { LOCATIONS } from '../../src/sim/constants';
import { render } from '../../src/sim/render';
import { Rng } from '../../src/util/rng';
import { ParamStore } from '../../src/nn/params';
import { buildLinear, buildPatchEmbed, gelu } from '../../src/nn/layers';
import { buildEncoder } from '../../src/nn/blocks';
import { train } from '../../src/train/loop';
import { encodeJpeg } from '../../src/data/image';
import { decodeModelView } from '../../src/data/frames';
import { buildKeypoints } from '../../src/nn/keypoints';

const env = (k: string, d: string) => process.env[k] ?? d;
const S = 64;
function boards(n: number, seed: number) {
  const rng = new Rng(seed);
  const imgs = new Float32Array(n * S * S * 3);
  const ys = new Float32Array(n * 8);
  const cls = new Int32Array(n * 4);
  const names = Object.keys(LOCATIONS);
  for (let i = 0; i < n; i++) {
    const s = randomBoard(BLOCK_SETS.BLOCK_4, rng);
    let px = render(s, { height: S, width: S, camera: 'topdown' });
    if (process.env.JPEG) px = decodeModelView(encodeJpeg({ height: S, width: S, data: px }, +process.env.JPEG), S).data;
    for (let j = 0; j < px.length; j++) imgs[i * px.length + j] = (px[j] / 255 - 0.207) / 0.062;
    s.blocks.forEach((b, k) => {
      cls[i * 4 + k] = names.indexOf(regionOf([b.x, b.y]));
      ys[i * 8 + 2 * k] = ((b.x - X_MIN) / (X_MAX - X_MIN)) * 2 - 1;
      ys[i * 8 + 2 * k + 1] = ((b.y - Y_MIN) / (Y_MAX - Y_MIN)) * 2 - 1;
    });
  }
  return { imgs, ys, n, cls };
}
(async () => {
  await initBackend();
  const N = +env('N', '3000');
  const tr = boards(N, 1), va = boards(300, 99);
  const front = env('FRONT', 'vit16');
  const W = +env('W', '96');
  const ps = new ParamStore(new Rng(3));
  let stem: (x: tf.Tensor) => tf.Tensor;
  if (front === 'vit16' || front === 'vit8') {
    const p = front === 'vit16' ? 16 : 8;
    const pe = buildPatchEmbed(ps, 'pe', S, p, 3, W);
    stem = (x) => pe.fwd(x);
  } else if (front === 'merge') {
    // 4×4 cells → per-cell MLP → 2×2 merge → 8×8 px tokens (64)
    const c = +env('CELL', '4');
    const g = S / c;
    const h1 = +env('H1', '32');
    const fc1 = buildLinear(ps, 'c1', c * c * 3, h1, { std: Math.sqrt(2 / (c * c * 3)) });
    const fc2 = buildLinear(ps, 'c2', h1, h1, { std: Math.sqrt(2 / h1) });
    const m = +env('MERGE', '2');
    const g2 = g / m;
    const fc3 = buildLinear(ps, 'c3', m * m * h1, W, { std: Math.sqrt(1 / (m * m * h1)) });
    const pos = ps.create('pos', [g2 * g2, W], { kind: 'normal', std: +env('POSSTD', '0.02') });
    stem = (x) => {
      const B = x.shape[0];
      const cells = x.reshape([B, g, c, g, c, 3]).transpose([0, 1, 3, 2, 4, 5]).reshape([B, g, g, c * c * 3]);
      let h = gelu(fc2(gelu(fc1(cells)))); // [B, g, g, h1]
      h = h.reshape([B, g2, m, g2, m, h1]).transpose([0, 1, 3, 2, 4, 5]).reshape([B, g2 * g2, m * m * h1]);
      return fc3(h).add(pos);
    };
  } else if (front === 'kp') {
    const kp = buildKeypoints(ps, 'kp', { image: S, cell: +env('CELL', '4'), channels: 3, hidden: +env('H1', '32'), keypoints: +env('K', '8'), d: W });
    stem = (x) => kp.fwd(x);
  } else throw new Error(front);
  const encDims = { width: W, layers: +env('L', '2'), heads: 4, mlp: 4 * W };
  const enc = buildEncoder(ps, 'enc', encDims);
  const queries = ps.create('q', [4, W], { kind: 'normal', std: 0.5 });
  const head = buildLinear(ps, 'head', W, 2);
  const chead = buildLinear(ps, 'chead', W, 9);
  const MODE = env('MODE', 'mse');
  const fwd = (x: tf.Tensor) => {
    const B = x.shape[0];
    const t = stem(x);
    const q = queries.expandDims(0).tile([B, 1, 1]);
    const h = enc(tf.concat([q, t], 1));
    return head(h.slice([0, 0, 0], [B, 4, W])).reshape([B, 8]);
  };
  const fwdc = (x: tf.Tensor) => {
    const B = x.shape[0];
    const q = queries.expandDims(0).tile([B, 1, 1]);
    const h = enc(tf.concat([q, stem(x)], 1));
    return chead(h.slice([0, 0, 0], [B, 4, W])); // [B, 4, 9]
  };
  const batch = (d: { imgs: Float32Array; ys: Float32Array; n: number; cls: Int32Array }, idx: number[], rng?: Rng) => {
    const x = new Float32Array(idx.length * S * S * 3), y = new Float32Array(idx.length * 8);
    const oh = new Float32Array(idx.length * 36), w = new Float32Array(idx.length * 4);
    idx.forEach((i, k) => { x.set(d.imgs.subarray(i * S * S * 3, (i + 1) * S * S * 3), k * S * S * 3); y.set(d.ys.subarray(i * 8, i * 8 + 8), k * 8);
      const pick = rng ? rng.int(4) : -1;
      for (let j = 0; j < 4; j++) { oh[k * 36 + j * 9 + d.cls[i * 4 + j]] = 1; w[k * 4 + j] = MODE === 'ce1' && rng ? +(j === pick) : 1; } });
    return { x: tf.tensor4d(x, [idx.length, S, S, 3]), y: tf.tensor2d(y, [idx.length, 8]), oh: tf.tensor3d(oh, [idx.length, 4, 9]), w: tf.tensor2d(w, [idx.length, 4]) };
  };
  const vb = batch(va, [...Array(300).keys()]);
  const steps = +env('STEPS', '600');
  const t0 = Date.now();
  const r = await train({
    name: 'loc', params: ps.params,
    nextBatch: (rng) => batch(tr, Array.from({ length: 32 }, () => rng.int(tr.n)), rng),
    loss: (b) => MODE === 'mse' ? tf.losses.meanSquaredError(b.y, fwd(b.x)) as tf.Scalar : (tf.logSoftmax(fwdc(b.x)).mul(b.oh).sum(-1).mul(b.w).sum().div(b.w.sum()).neg() as tf.Scalar),
    disposeBatch: (b) => { tf.dispose([b.x, b.y, b.oh, b.w]); },
    validate: () => tf.tidy(() => {
      const p = fwd(vb.x);
      const err = p.sub(vb.y).square().reshape([300, 4, 2]).sum(-1).sqrt(); // distance in normalised units
      const acc = fwdc(vb.x).argMax(-1).equal(vb.oh.argMax(-1)).mean().dataSync()[0];
      const o = { acc, valMse: tf.losses.meanSquaredError(vb.y, p).dataSync()[0], within01: err.less(0.1).mean().dataSync()[0] }; console.log(front, ((Date.now() - t0) / 1000).toFixed(0) + 's', JSON.stringify(o)); return o;
    }),
  }, { steps, peakLr: +env('LR', '1e-3'), warmupSteps: 30, finalLr: 1e-4, optimizer: { weightDecay: 0.01 }, clipNorm: 1, seed: 5,
    runDir: fs.mkdtempSync('/tmp/loc-'), checkpointEvery: 0, validateEvery: +env('VE', '100'), resume: false, progress: 'silent' });
  console.log(front, JSON.stringify(r.validation), 'params', [...ps.params.values()].reduce((a, v) => a + v.size, 0), 'sec', ((Date.now() - t0) / 1000).toFixed(0));
})();
