/**
 * The webgpu backend against the cpu backend at tiny sizes: products, reductions and the kernels the wasm backend
 * replaces, the package's fused kernels (AdamW, GELU) and fallbacks (norms), gradients of the reference model, one
 * training step and 20 AdamW steps of each of the three models, and generation with the KV cache.
 *
 * Runs wherever Dawn reports an adapter (a GPU, or Mesa's lavapipe on the CPU, which `.ci/run` installs); elsewhere
 * each case is skipped and the reason is printed once. On lavapipe this is a correctness check, not a speed one; the
 * sizes are kept tiny because every new shape compiles shaders.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { requestedBackend, switchBackend } from '../../src/backend';
import { fusedAdamW, type AdamWKernelAttrs } from '../../src/backend/optimizer-kernels';
import { initReferenceModel, referenceBatch, referenceLoss, REFERENCE_MODEL, type ReferenceModelConfig } from '../../src/backend/reference-model';
import { describeAdapter, probeWebGpu } from '../../src/backend/webgpu';
import { getPreset } from '../../src/experiments/presets';
import { GroundingModel, type GroundingConfig } from '../../src/models/grounding';
import { Planner, type PlannerConfig } from '../../src/models/planner';
import { Policy, type PolicyConfig } from '../../src/models/policy';
import { gelu } from '../../src/nn/layers';
import { layerNorm, rmsNorm } from '../../src/nn/norms';
import { flowMatchingLoss, symmetricInfoNCE } from '../../src/train/losses';
import { AdamW } from '../../src/train/optim';
import { Rng } from '../../src/util/rng';

const randn = (rng: Rng, shape: number[], std = 1) => rng.normals(shape.reduce((a, b) => a * b, 1), std);

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs `fn` (tensors out) on webgpu and on cpu from the same inputs; returns both outputs' values. */
async function onBoth(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ gpu: Float32Array[]; cpu: Float32Array[] }> {
  const run = async () => {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const values = await Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
    tf.dispose(list);
    return values;
  };
  await switchBackend('webgpu');
  const gpu = await run();
  await switchBackend('cpu');
  const cpu = await run();
  return { gpu, cpu };
}

describe('backend: webgpu adapter facts and the choice', () => {
  it('a software rasteriser is recognised from isFallbackAdapter, the architecture or the driver name', () => {
    const lavapipe = describeAdapter({ info: { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15', description: 'llvmpipe: Mesa 25.0.7', isFallbackAdapter: true } });
    assert.equal(lavapipe.software, true);
    assert.equal(lavapipe.softwareEvidence, 'isFallbackAdapter');
    assert.equal(describeAdapter({ info: { vendor: 'mesa', architecture: 'software', description: 'x' } }).softwareEvidence, 'architecture "software"');
    assert.equal(describeAdapter({ info: { vendor: 'google', architecture: '', description: 'SwiftShader Device (Subzero)' } }).softwareEvidence, 'driver "SwiftShader Device (Subzero)"');
    const nvidia = describeAdapter({ info: { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200', isFallbackAdapter: false } });
    assert.equal(nvidia.software, false);
    assert.equal(nvidia.softwareEvidence, undefined);
  });

  it('GPLA_BACKEND accepts webgpu and names every choice when the value is wrong', () => {
    assert.equal(requestedBackend('webgpu'), 'webgpu');
    assert.throws(() => requestedBackend('gpu'), /GPLA_BACKEND must be one of tensorflow, webgpu, wasm, cpu \(or unset for auto\), got "gpu"/);
  });

  it('auto picks webgpu only for a hardware adapter, and records the adapter and the reason either way', async function () {
    const probe = await probeWebGpu();
    const info = await switchBackend('auto');
    try {
      if (!probe.adapter) {
        assert.notEqual(info.name, 'webgpu');
        assert.ok(info.skipped.some((s) => s.candidate === 'webgpu' && s.reason === probe.reason), 'the missing adapter is a recorded reason');
      } else if (probe.adapter.software) {
        assert.notEqual(info.name, 'webgpu');
        assert.deepEqual(info.webgpuAdapter, probe.adapter);
        assert.ok(info.skipped.some((s) => s.candidate === 'webgpu' && /software rasteriser/.test(s.reason)));
      } else if (info.name !== 'tensorflow') {
        // tfjs-node-gpu, when it sees a GPU, comes first.
        assert.equal(info.name, 'webgpu');
        assert.equal(info.gpu, true);
      }
    } finally {
      await switchBackend('cpu');
    }
  });
});

describe('backend: webgpu matches the cpu backend (tiny sizes)', function () {
  before(async function () {
    const probe = await probeWebGpu();
    if (!probe.adapter) {
      console.log(`      webgpu cases skipped: ${probe.reason}`);
      this.skip();
    }
    await switchBackend('webgpu');
  });
  after(async () => {
    await switchBackend('wasm');
  });

  it('products: plain, transposed, batched and broadcast BatchMatMul', async () => {
    const cases = [
      { a: [7, 5], b: [5, 3], tA: false, tB: false },
      { a: [5, 7], b: [5, 3], tA: true, tB: false },
      { a: [7, 5], b: [3, 5], tA: false, tB: true },
      { a: [4, 6, 9], b: [4, 8, 6], tA: true, tB: true },
      { a: [6, 9, 6], b: [1, 6, 5], tA: false, tB: false },
      { a: [2, 3, 9, 6], b: [2, 3, 6, 5], tA: false, tB: false },
      { a: [40, 96], b: [96, 48], tA: false, tB: false },
    ];
    for (const c of cases) {
      const rng = new Rng(3);
      const a = randn(rng, c.a);
      const b = randn(rng, c.b);
      const r = await onBoth(() => tf.matMul(tf.tensor(a, c.a), tf.tensor(b, c.b), c.tA, c.tB));
      // float32 sums in a different order (tiles): ~1e-7 relative per product here.
      assert.ok(relErr(r.gpu[0], r.cpu[0]) <= 1e-5, `[${c.a}]·[${c.b}]: relative error ${relErr(r.gpu[0], r.cpu[0])}`);
    }
  });

  it('the kernels the wasm backend replaces: Sum, GatherV2, UnsortedSegmentSum, Slice, Conv2DBackpropFilter', async () => {
    const rng = new Rng(4);
    const x = randn(rng, [3, 4, 5]);
    const table = randn(rng, [9, 6]);
    const ids = [0, 3, 3, 8, 1, 0];
    const img = randn(rng, [2, 8, 8, 3]);
    const dy = randn(rng, [2, 4, 4, 4]);
    const filt = randn(rng, [3, 3, 3, 4]);
    const r = await onBoth(() => {
      const t = tf.tensor(x, [3, 4, 5]);
      return [
        t.sum([0, 1]),
        t.sum(1, true),
        tf.gather(tf.tensor(table, [9, 6]), tf.tensor2d(ids, [2, 3], 'int32')),
        tf.unsortedSegmentSum(tf.tensor(table, [9, 6]).slice([0, 0], [6, 6]), tf.tensor1d(ids, 'int32'), 9),
        t.slice([1, 1, 2], [2, 2, 3]),
        // The filter gradient of a stride-2 convolution is Conv2DBackpropFilter.
        tf.grad((f: tf.Tensor) => tf.conv2d(tf.tensor(img, [2, 8, 8, 3]) as tf.Tensor4D, f as tf.Tensor4D, 2, 'same').mul(tf.tensor(dy, [2, 4, 4, 4])).sum())(tf.tensor(filt, [3, 3, 3, 4])),
      ];
    });
    const names = ['Sum [0,1]', 'Sum 1 keepDims', 'GatherV2', 'UnsortedSegmentSum', 'Slice', 'Conv2DBackpropFilter'];
    r.cpu.forEach((c, i) => assert.ok(relErr(r.gpu[i], c) <= 1e-5, `${names[i]}: relative error ${relErr(r.gpu[i], c)}`));
  });

  it('Pad at ranks 5 and 6 (the gradient of a rank-5 Slice) matches cpu; the stock program cannot compile there', async () => {
    const rng = new Rng(8);
    const x5 = randn(rng, [2, 3, 2, 4, 3]);
    const x6 = randn(rng, [2, 1, 3, 2, 2, 3]);
    const dy = randn(rng, [2, 2, 1, 3, 3]);
    const r = await onBoth(() => [
      tf.pad(tf.tensor(x5, [2, 3, 2, 4, 3]), [[0, 1], [2, 0], [0, 0], [1, 1], [0, 2]], 0.5),
      tf.pad(tf.tensor(x6, [2, 1, 3, 2, 2, 3]), [[1, 0], [0, 0], [0, 2], [0, 0], [1, 0], [0, 0]]),
      tf.grad((t: tf.Tensor) => t.slice([0, 1, 1, 0, 0], [2, 2, 1, 3, 3]).mul(tf.tensor(dy, [2, 2, 1, 3, 3])).sum())(tf.tensor(x5, [2, 3, 2, 4, 3])),
    ]);
    r.cpu.forEach((c, i) => assert.deepEqual(Array.from(r.gpu[i]), Array.from(c), `case ${i}`));
  });

  it('GELU: the fused WGSL kernels give the composite GELU value and gradient (cpu)', async () => {
    const rng = new Rng(5);
    const x = Float32Array.from(randn(rng, [4, 33], 3));
    x[0] = -40; // σ's e^−t overflows to inf: the value must be 0, not NaN
    x[1] = 40;
    const dy = randn(rng, [4, 33]);
    const r = await onBoth(() => {
      const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => gelu(t).mul(tf.tensor(dy, [4, 33])).sum())(tf.tensor(x, [4, 33]));
      return [gelu(tf.tensor(x, [4, 33])), grad, value];
    });
    assert.ok(r.gpu[0].every(Number.isFinite) && r.gpu[1].every(Number.isFinite), 'finite at ±40');
    assert.ok(maxAbsDiff(r.gpu[0], r.cpu[0]) <= 1e-5 * 40, `value: max |Δ| ${maxAbsDiff(r.gpu[0], r.cpu[0])}`);
    assert.ok(maxAbsDiff(r.gpu[1], r.cpu[1]) <= 1e-5, `gradient: max |Δ| ${maxAbsDiff(r.gpu[1], r.cpu[1])}`);
  });

  it('LayerNorm and RMSNorm (closed-form gradients through tf ops): values and gradients', async () => {
    const rng = new Rng(6);
    const shape = [2, 3, 16];
    const x = randn(rng, shape, 2);
    const g = randn(rng, [16]);
    const b = randn(rng, [16]);
    const w = randn(rng, [16], 0.1);
    const dy = randn(rng, shape);
    const r = await onBoth(() => {
      const [xt, gt, bt, wt, dyt] = [tf.tensor(x, shape), tf.tensor1d(g), tf.tensor1d(b), tf.tensor1d(w), tf.tensor(dy, shape)];
      const ln = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => layerNorm(a, c, d).mul(dyt).sum())([xt, gt, bt]);
      const rms = tf.grads((a: tf.Tensor, c: tf.Tensor) => rmsNorm(a, c).mul(dyt).sum())([xt, wt]);
      return [layerNorm(xt, gt, bt), rmsNorm(xt, wt), ...ln, ...rms];
    });
    const names = ['LayerNorm y', 'RMSNorm y', 'LayerNorm dx', 'dg', 'db', 'RMSNorm dx', 'dw'];
    r.cpu.forEach((c, i) => assert.ok(relErr(r.gpu[i], c) <= 1e-5, `${names[i]}: relative error ${relErr(r.gpu[i], c)}`));
  });

  it('AdamW: the fused WGSL update equals the cpu kernel (float64 per element) to float32 rounding', async () => {
    const rng = new Rng(7);
    const n = 5000;
    const [p, m, g] = [rng.normals(n), rng.normals(n, 0.1), rng.normals(n)];
    const v = rng.normals(n).map((x) => 0.01 * x * x);
    const attrs: AdamWKernelAttrs = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, bc1: 0.19, bc2: 0.0975, decay: 1e-5, gradScale: 0.7 };
    const r = await onBoth(() => fusedAdamW(tf.tensor1d(p), tf.tensor1d(m), tf.tensor1d(v), tf.tensor1d(g), attrs));
    for (let k = 0; k < 3; k++) assert.ok(maxAbsDiff(r.gpu[k], r.cpu[k]) <= 1e-6, `output ${k}: max |Δ| ${maxAbsDiff(r.gpu[k], r.cpu[k])}`);
  });

  it('gradients of the conv + attention + embedding reference model equal cpu’s', async () => {
    const cfg: ReferenceModelConfig = { ...REFERENCE_MODEL, vocab: 13, dModel: 16, heads: 2, layers: 1, seq: 6, image: 16, convChannels: [4, 6, 8] };
    const grads = async () => {
      const p = initReferenceModel(cfg, 5);
      const { tokens, images } = referenceBatch(cfg, 3, 6);
      const names = Object.keys(p);
      const { value, grads: gs } = tf.variableGrads(() => referenceLoss(cfg, p, tokens, images), names.map((n) => p[n]));
      const out = Object.fromEntries(names.map((n) => [n, gs[n].dataSync() as Float32Array]));
      const loss = value.dataSync()[0];
      tf.dispose([value, tokens, images, ...Object.values(gs), ...Object.values(p)]);
      return { loss, out };
    };
    await switchBackend('webgpu');
    const gpu = await grads();
    await switchBackend('cpu');
    const cpu = await grads();
    assert.ok(Math.abs(gpu.loss - cpu.loss) <= 1e-5 * Math.abs(cpu.loss), `loss ${gpu.loss} vs ${cpu.loss}`);
    for (const n of Object.keys(cpu.out)) assert.ok(relErr(gpu.out[n], cpu.out[n]) <= 1e-4, `${n}: relative difference ${relErr(gpu.out[n], cpu.out[n])}`);
  });

  // ---- the three models ----------------------------------------------------------------------------------------
  const T = getPreset('tiny').models;
  const G: GroundingConfig = { ...T.grounding, image: 16, vision: { ...T.grounding.vision, layers: 1 }, vocab: 20, maxText: 6, trajectoryLength: 5 };
  const P: PlannerConfig = { ...T.planner, image: 16, vocab: 20, maxPrompt: 5, maxCompletion: 6, layers: 2, window: 4 };
  const PO: PolicyConfig = { ...T.policy, image: 16, vocab: 20, maxText: 5, chunk: 3, steps: 3 };
  const B = 3;
  const image = (r: Rng) => tf.tensor4d(Float32Array.from({ length: B * 16 * 16 * 3 }, () => r.random()), [B, 16, 16, 3]);
  const plannerInputs = (r: Rng) => ({
    images: image(r),
    promptIds: tf.tensor2d([[0, 1, 5, 6, 4], [1, 7, 8, 9, 4], [0, 0, 1, 5, 4]], [3, 5], 'int32'),
    promptMask: tf.tensor2d([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]),
  });

  /** A model and its loss on fixed inputs, built on the active backend (weights from the JS-side RNG: identical). */
  function model(name: 'grounding' | 'planner' | 'policy') {
    const r = new Rng(40);
    if (name === 'grounding') {
      const g = new GroundingModel(G, 41);
      const b = { images: image(r), trajectories: tf.tensor3d(r.normals(B * 5 * 4, 0.05), [B, 5, 4]), trajectoryMask: tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]]) };
      const ids = tf.tensor2d([[5, 6, 7, 0, 0, 0], [8, 9, 0, 0, 0, 0], [10, 11, 12, 13, 0, 0]], [3, 6], 'int32');
      const mask = tf.tensor2d([[1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]]);
      return { params: g.params, loss: () => symmetricInfoNCE(g.encodeVisionAction(b), g.encodeText(ids, mask), g.scale()) };
    }
    if (name === 'planner') {
      const pl = new Planner(P, 42);
      const inp = plannerInputs(r);
      const comp = tf.tensor2d([[10, 11, 2, 0, 0, 0], [12, 2, 0, 0, 0, 0], [13, 14, 15, 2, 0, 0]], [3, 6], 'int32');
      const compMask = tf.tensor2d([[1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]]);
      return { params: pl.params, loss: () => pl.logProb(inp, comp, compMask).perToken.sum().neg().div(compMask.sum()) as tf.Scalar };
    }
    const po = new Policy(PO, 43);
    const inp = { images: image(r), textIds: tf.tensor2d([[5, 6, 7, 0, 0], [8, 9, 0, 0, 0], [10, 11, 12, 13, 0]], [3, 5], 'int32'), textMask: tf.tensor2d([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]]), state: tf.tensor2d([0.3, 0.1, 0.4, -0.1, 0.5, 0], [3, 2]) };
    const actions = tf.tensor3d(r.normals(B * 3 * 2, 0.02), [B, 3, 2]);
    const noise = tf.tensor3d(r.normals(B * 3 * 2), [B, 3, 2]);
    const t = tf.tensor1d([0.3, 0.7, 0.95]);
    const mask = tf.tensor2d([[1, 1, 1], [1, 1, 0], [1, 0, 0]]);
    return {
      params: po.params,
      loss: () => {
        const { pred, target } = po.flowMatching(inp, actions, noise, t);
        return flowMatchingLoss(pred, target, mask);
      },
    };
  }

  // At lr 1e-3 the 20-step trajectories are stable, so a backend's float32 rounding stays at rounding size (webgpu vs
  // cpu measured ≤ 4e-5 for the policy). At 3e-3 the policy's tiny-batch flow-matching run amplifies rounding ~3× every
  // two steps: there cpu's own op-by-op AdamW (float32) ends 8.8e-4 from its fused one (float64), wasm 4e-3 and webgpu
  // 7.8e-3 from cpu at step 20 — a property of the run, not of a backend, so it cannot test one.
  const LR = 1e-3;

  /** Losses of `steps` AdamW steps (the training loop's optimiser, fused on both backends) and the first gradients. */
  async function train(name: 'grounding' | 'planner' | 'policy', steps: number) {
    const m = model(name);
    const opt = new AdamW();
    const names = [...m.params.keys()];
    const losses: number[] = [];
    let first: Record<string, Float32Array> = {};
    for (let s = 0; s < steps; s++) {
      const { value, grads } = tf.variableGrads(m.loss, names.map((n) => m.params.get(n)!));
      const byName: Record<string, tf.Tensor> = {};
      names.forEach((n) => (byName[n] = grads[m.params.get(n)!.name]));
      if (s === 0) first = Object.fromEntries(names.map((n) => [n, byName[n].dataSync() as Float32Array]));
      losses.push(value.dataSync()[0]);
      opt.step(m.params, byName, LR);
      tf.dispose([value, ...Object.values(grads)]);
    }
    opt.dispose();
    for (const v of m.params.values()) v.dispose();
    return { losses, first };
  }

  for (const name of ['grounding', 'planner', 'policy'] as const) {
    it(`${name}: one step's loss and gradients, and 20 AdamW steps' losses, match cpu (|Δloss| ≤ 1e-3)`, async function () {
      this.timeout(300000);
      await switchBackend('webgpu');
      const gpu = await train(name, 20);
      await switchBackend('cpu');
      const cpu = await train(name, 20);
      assert.ok(Math.abs(gpu.losses[0] - cpu.losses[0]) <= 1e-5 * Math.abs(cpu.losses[0]), `step 1 loss ${gpu.losses[0]} vs ${cpu.losses[0]}`);
      for (const p of Object.keys(cpu.first)) {
        const den = cpu.first[p].reduce((a, x) => a + x * x, 0);
        if (den < 1e-14) continue; // a parameter this loss does not reach yet (zero-initialised output layers)
        assert.ok(relErr(gpu.first[p], cpu.first[p]) <= 1e-3, `${p}: relative gradient difference ${relErr(gpu.first[p], cpu.first[p])}`);
      }
      const worst = Math.max(...cpu.losses.map((c, i) => Math.abs(gpu.losses[i] - c)));
      assert.ok(worst <= 1e-3, `max |Δloss| over 20 steps ${worst} (webgpu ${gpu.losses.slice(-1)[0]}, cpu ${cpu.losses.slice(-1)[0]})`);
      assert.ok(cpu.losses[19] < cpu.losses[0], `the loss falls (${cpu.losses[0]} → ${cpu.losses[19]})`);
      console.log(`      ${name}: loss ${cpu.losses[0].toFixed(4)} → ${cpu.losses[19].toFixed(4)}; max |Δloss| webgpu vs cpu over 20 steps ${worst.toExponential(2)}`);
    });
  }

  it('planner generation with the KV cache: greedy ids equal cpu’s and the uncached decoding; log-probs match', async function () {
    this.timeout(120000);
    const gen = async (useCache: boolean) => {
      const pl = new Planner(P, 3);
      const inp = plannerInputs(new Rng(4));
      const out = pl.generateWithLogProbs(inp, { maxNew: 5, temperature: 0, useCache, rng: new Rng(11) });
      for (const v of pl.params.values()) v.dispose();
      tf.dispose(Object.values(inp));
      return out;
    };
    await switchBackend('webgpu');
    const cached = await gen(true);
    const uncached = await gen(false);
    await switchBackend('cpu');
    const cpu = await gen(true);
    assert.deepEqual(cached.ids, cpu.ids);
    assert.deepEqual(cached.ids, uncached.ids);
    cached.logProbs.forEach((row, b) => row.forEach((lp, i) => assert.ok(Math.abs(lp - cpu.logProbs[b][i]) <= 1e-4, `row ${b} token ${i}: ${lp} vs ${cpu.logProbs[b][i]}`)));
  });
});
