import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../src/backend';
import { getPreset } from '../src/experiments/presets';
import { GroundingModel, type GroundingConfig } from '../src/models/grounding';
import {
  DataParallelTrainer, groundingBatchFields, groundingReplicaSpec, maskedRegressionReplica, maskedRegressionSpec, maskedRegressionSum, ownedParams, shardRanges, type HostTensor,
} from '../src/train/data-parallel';
import { symmetricInfoNCE } from '../src/train/losses';
import { AdamW, clipScale, globalNorm, learningRate } from '../src/train/optim';
import { Rng } from '../src/util/rng';

const T = getPreset('tiny').models.grounding;
// With the keypoint stem (the small preset's grounding has it): its spatial softmax must shard like the rest.
const G: GroundingConfig = { ...T, image: 16, vision: { ...T.vision, layers: 2 }, vocab: 40, maxText: 8, trajectoryLength: 6, keypoints: { keypoints: 4, cell: 4, hidden: 8 } };
// 9 rows: uneven shards (5 + 4 with 2 workers, 3 + 3 + 3 with 3).
const B = 9;
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const CLIP = 1; // gradient norms here are ~10–100: every step clips, so a miscounted gradient would show
const schedule = { peakLr: 3e-3, warmupSteps: 2, totalSteps: 5, finalLr: 1e-4 };

type HostBatch = { images: Float32Array; trajectories: Float32Array; trajectoryMask: Float32Array; ids: Int32Array; textMask: Float32Array };

function batches(n: number, seed: number): HostBatch[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => {
    const tl = Array.from({ length: B }, () => 2 + r.int(G.trajectoryLength - 1));
    const nl = Array.from({ length: B }, () => 2 + r.int(G.maxText - 1));
    return {
      images: Float32Array.from({ length: B * G.image * G.image * 3 }, () => r.random()),
      trajectories: r.normals(B * G.trajectoryLength * 4, 0.05),
      trajectoryMask: Float32Array.from({ length: B * G.trajectoryLength }, (_, i) => (i % G.trajectoryLength < tl[Math.floor(i / G.trajectoryLength)] ? 1 : 0)),
      ids: Int32Array.from({ length: B * G.maxText }, () => 4 + r.int(G.vocab - 4)),
      textMask: Float32Array.from({ length: B * G.maxText }, (_, i) => (i % G.maxText < nl[Math.floor(i / G.maxText)] ? 1 : 0)),
    };
  });
}

/** The single-process step (as src/train/loop.ts takes it): loss, gradients, clip, AdamW. */
function reference(data: HostBatch[]) {
  const model = new GroundingModel(G, 0);
  const initial = new Map([...model.params].map(([n, v]) => [n, v.clone()] as [string, tf.Tensor]));
  const opt = new AdamW();
  const vars = [...model.params.values()];
  const losses: number[] = [];
  const norms: number[] = [];
  let firstGrads: Record<string, Float32Array> = {};
  data.forEach((h, step) => {
    const b = {
      images: tf.tensor4d(h.images, [B, G.image, G.image, 3]), trajectories: tf.tensor3d(h.trajectories, [B, G.trajectoryLength, 4]),
      trajectoryMask: tf.tensor2d(h.trajectoryMask, [B, G.trajectoryLength]),
    };
    const ids = tf.tensor2d(h.ids, [B, G.maxText], 'int32');
    const mask = tf.tensor2d(h.textMask, [B, G.maxText]);
    const { value, grads } = tf.variableGrads(() => symmetricInfoNCE(model.encodeVisionAction(b), model.encodeText(ids, mask), model.scale()), vars);
    losses.push(value.dataSync()[0]);
    const named: Record<string, tf.Tensor> = {};
    for (const [n, v] of model.params) named[n] = grads[v.name];
    if (step === 0) firstGrads = Object.fromEntries(Object.entries(named).map(([n, g]) => [n, g.dataSync() as Float32Array]));
    const norm = globalNorm(named);
    norms.push(norm);
    opt.step(model.params, named, learningRate(schedule, step), clipScale(norm, CLIP));
    tf.dispose([value, ...Object.values(grads), ...Object.values(b), ids, mask]);
  });
  const final = Object.fromEntries([...model.params].map(([n, v]) => [n, v.dataSync() as Float32Array]));
  opt.dispose();
  model.dispose();
  return { initial, losses, norms, firstGrads, final };
}

function maxDiff(a: Record<string, Float32Array>, b: Record<string, HostTensor>): { diff: number; name: string } {
  let diff = 0;
  let name = '';
  for (const [n, x] of Object.entries(a)) {
    const y = b[n].data;
    assert.equal(y.length, x.length, n);
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(x[i] - y[i]);
      if (d > diff) [diff, name] = [d, n];
    }
  }
  return { diff, name };
}

describe('train/data-parallel: worker threads with summed gradients', function () {
  this.timeout(60000);
  const data = batches(5, 11);
  let ref: ReturnType<typeof reference>;

  before(async () => {
    await switchBackend('wasm');
    ref = reference(data);
  });

  it('splits rows contiguously, the first workers one longer', () => {
    assert.deepEqual(shardRanges(9, 2), [{ start: 0, rows: 5 }, { start: 5, rows: 4 }]);
    assert.deepEqual(shardRanges(7, 3), [{ start: 0, rows: 3 }, { start: 3, rows: 2 }, { start: 5, rows: 2 }]);
  });

  it('splits parameters into contiguous runs of about equal size for the optimiser', () => {
    assert.deepEqual(ownedParams([4, 4, 4, 4], 2), [{ names: [0, 1], lo: 0, hi: 8 }, { names: [2, 3], lo: 8, hi: 16 }]);
    assert.deepEqual(ownedParams([10, 1, 1, 1], 2), [{ names: [0], lo: 0, hi: 10 }, { names: [1, 2, 3], lo: 10, hi: 13 }]);
    const m = new GroundingModel(G, 0);
    const runs = ownedParams([...m.params.values()].map((v) => v.size), 3);
    m.dispose();
    assert.deepEqual(runs.flatMap((r) => r.names), [...Array(runs.flatMap((r) => r.names).length).keys()], 'every parameter once, in order');
    for (const r of runs) assert.ok(r.names.length > 0);
  });

  /** Runs steps [from, to) of the reference schedule, checking each loss and norm (and the full gradient of the first). */
  async function runSteps(dp: DataParallelTrainer, from: number, to: number): Promise<void> {
    for (let s = from; s < to; s++) {
      const r = await dp.step(data[s], learningRate(schedule, s));
      assert.ok(r.applied);
      assert.ok(Math.abs(r.loss - ref.losses[s]) <= 1e-5, `step ${s + 1}: loss ${r.loss} vs ${ref.losses[s]}`);
      assert.ok(Math.abs(r.gradNorm - ref.norms[s]) <= 1e-5 * ref.norms[s], `step ${s + 1}: grad norm ${r.gradNorm} vs ${ref.norms[s]}`);
      if (s === 0) {
        const g = dp.lastGradients();
        for (const [n, x] of Object.entries(ref.firstGrads)) {
          const scale = Math.max(1e-3, ...Array.from(x, Math.abs));
          let d = 0;
          for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - g[n].data[i]));
          assert.ok(d <= 1e-5 * scale, `step 1 gradient of ${n} differs by ${d} (largest |g| ${scale})`);
        }
      }
    }
  }

  async function assertReplicasIdentical(dp: DataParallelTrainer, workers: number): Promise<Record<string, HostTensor>> {
    const w0 = await dp.weights(0);
    for (let k = 1; k < workers; k++) {
      const wk = await dp.weights(k);
      for (const n of Object.keys(w0)) assert.deepEqual(wk[n].data, w0[n].data, `replica ${k}'s ${n} is not bit-identical to replica 0's`);
    }
    return w0;
  }

  const create = (workers: number, extra: Partial<Parameters<typeof DataParallelTrainer.create>[0]> = {}) =>
    DataParallelTrainer.create({ workers, replica: groundingReplicaSpec({ config: G, seed: 0 }), batch: groundingBatchFields(G, B), clipNorm: CLIP, backend: 'wasm', ...extra });

  it('2 workers match the single-process step: losses, full gradient (logit scale counted once), final weights; replicas bit-identical', async () => {
    const dp = await create(2, { weights: ref.initial });
    try {
      await runSteps(dp, 0, data.length);
      const w = await assertReplicasIdentical(dp, 2);
      const { diff, name } = maxDiff(ref.final, w);
      assert.ok(diff <= 1e-5, `final weights differ by ${diff} (${name})`);
      // the main thread checks the batch itself
      const { ids: _ids, ...noIds } = data[0];
      await assert.rejects(dp.step(noIds, 1e-3), /the batch has no field "ids"/);
      await assert.rejects(dp.step({ ...data[0], textMask: data[0].textMask.subarray(0, G.maxText * 4) }, 1e-3), /"textMask" has 4 rows but the others have 9/);
      // fewer rows than the capacity is allowed (a batch of distinct instructions may come up short)
      const rows7 = Object.fromEntries(groundingBatchFields(G, B).map((f) => [f.name, data[0][f.name as keyof HostBatch].subarray(0, (7 * size(f.shape)) / B)]));
      const r = await dp.step(rows7, 1e-3);
      assert.ok(Number.isFinite(r.loss) && r.applied);
      // a non-finite loss: no replica updates (the loop then stops with NonFiniteLossError)
      const before = await dp.weights();
      const nan = await dp.step({ ...data[1], images: data[1].images.map((x, i) => (i === 5 ? NaN : x)) }, 1e-3);
      assert.ok(Number.isNaN(nan.loss) && !nan.applied);
      const after = await assertReplicasIdentical(dp, 2);
      for (const n of Object.keys(before)) assert.deepEqual(after[n].data, before[n].data, `${n} changed after a NaN loss`);
    } finally {
      await dp.dispose();
    }
  });

  it('3 workers match it too, and their weights + optimiser state resume exactly in 2 workers', async () => {
    const dp3 = await create(3, { weights: ref.initial });
    let weights: Record<string, HostTensor>;
    let state: Awaited<ReturnType<DataParallelTrainer['optimizerState']>>;
    try {
      await runSteps(dp3, 0, 3);
      weights = await assertReplicasIdentical(dp3, 3);
      state = await dp3.optimizerState();
      assert.equal(state.t, 3);
      assert.equal(Object.keys(state.tensors).length, 2 * Object.keys(weights).length, 'the moments of every parameter, merged from the workers');
    } finally {
      await dp3.dispose();
    }
    const dp2 = await create(2, { weights, optimizerState: state });
    try {
      await runSteps(dp2, 3, data.length);
      const { diff, name } = maxDiff(ref.final, await assertReplicasIdentical(dp2, 2));
      assert.ok(diff <= 1e-5, `final weights after resuming differ by ${diff} (${name})`);
    } finally {
      await dp2.dispose();
    }
  });

  it("a separable loss ('sum' reduction: masked mean over the whole batch) matches the single-process step", async () => {
    const [I, O, R] = [6, 3, 11];
    const r = new Rng(21);
    const steps = Array.from({ length: 5 }, () => ({ x: r.normals(R * I, 1), y: r.normals(R * O, 1), mask: Float32Array.from({ length: R }, () => (r.random() < 0.7 ? 1 : 0)) }));
    const replica = maskedRegressionReplica({ inputs: I, outputs: O, seed: 4 });
    const opt = new AdamW();
    const losses: number[] = [];
    for (const [s, b] of steps.entries()) {
      const x = tf.tensor2d(b.x, [R, I]);
      const y = tf.tensor2d(b.y, [R, O]);
      const m = tf.tensor1d(b.mask);
      const count = Math.max(1, b.mask.reduce((a, v) => a + v, 0));
      const { value, grads } = tf.variableGrads(() => maskedRegressionSum(replica.params, x, y, m).div(count) as tf.Scalar, [...replica.params.values()]);
      losses.push(value.dataSync()[0]);
      const named = Object.fromEntries([...replica.params].map(([n, v]) => [n, grads[v.name]]));
      const norm = globalNorm(named);
      opt.step(replica.params, named, learningRate(schedule, s), clipScale(norm, CLIP));
      tf.dispose([value, ...Object.values(grads), x, y, m]);
    }
    const dp = await DataParallelTrainer.create({
      workers: 2, replica: maskedRegressionSpec({ inputs: I, outputs: O, seed: 4 }), clipNorm: CLIP, backend: 'wasm',
      batch: [{ name: 'x', dtype: 'float32', shape: [R, I] }, { name: 'y', dtype: 'float32', shape: [R, O] }, { name: 'mask', dtype: 'float32', shape: [R] }],
    });
    try {
      for (const [s, b] of steps.entries()) {
        const got = await dp.step(b, learningRate(schedule, s));
        assert.ok(Math.abs(got.loss - losses[s]) <= 1e-5 * Math.max(1, losses[s]), `step ${s + 1}: loss ${got.loss} vs ${losses[s]}`);
      }
      const w = await assertReplicasIdentical(dp, 2);
      const { diff, name } = maxDiff(Object.fromEntries([...replica.params].map(([n, v]) => [n, v.dataSync() as Float32Array])), w);
      assert.ok(diff <= 1e-5, `final weights differ by ${diff} (${name})`);
    } finally {
      await dp.dispose();
      replica.dispose?.();
      opt.dispose();
    }
  });

  it('a worker error (bad batch shape) rejects the step with a clear message and terminates every worker', async () => {
    const wrong = { ...G, image: 8 }; // the main thread does not know the model: the shape error comes from the workers
    const dp = await DataParallelTrainer.create({ workers: 2, replica: groundingReplicaSpec({ config: G, seed: 0 }), batch: groundingBatchFields(wrong, B), clipNorm: CLIP, backend: 'wasm' });
    const r = new Rng(3);
    const bad = {
      images: Float32Array.from({ length: B * 8 * 8 * 3 }, () => r.random()), trajectories: data[0].trajectories, trajectoryMask: data[0].trajectoryMask,
      ids: data[0].ids, textMask: data[0].textMask,
    };
    const t0 = Date.now();
    await assert.rejects(dp.step(bad, 1e-3), (e: Error) => {
      assert.match(e.message, /^data-parallel worker [01] failed at step 1: ./);
      return true;
    });
    assert.ok(Date.now() - t0 < 20000, 'the failure surfaced promptly');
    assert.equal(dp.state.exited, 2, 'both workers terminated');
    await assert.rejects(dp.step(data[0], 1e-3), /data-parallel worker [01] failed at step 1/, 'a failed trainer stays failed');
    await dp.dispose();
  });

  it('a replica that cannot be built rejects create() with the worker\'s reason', async () => {
    const invalid = { ...G, vision: { ...G.vision, width: 33 } };
    await assert.rejects(
      DataParallelTrainer.create({ workers: 2, replica: groundingReplicaSpec({ config: invalid, seed: 0 }), batch: groundingBatchFields(G, B), clipNorm: CLIP, backend: 'wasm' }),
      /data-parallel worker [01] failed while building the replica .*GroundingConfig\.vision\.width must be a positive multiple of heads/,
    );
  });
});
