import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { activeNativeBlas, loadNativeBlas, nativeIsaSupported, restoreNativeDefaults, selectNativeIsa, setNativeBlasEnabled, type NativeIsa } from '../../src/backend/native-blas';
import { foldBroadcast, hasNativeGelu, OperandKind } from '../../src/backend/native-elementwise';
import { fusedAdamW, type AdamWKernelAttrs } from '../../src/backend/optimizer-kernels';
import { gelu } from '../../src/nn/layers';
import { layerNorm, rmsNorm } from '../../src/nn/norms';
import { Rng } from '../../src/util/rng';

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** fn on wasm with the native addon, then on cpu, from the same plain-array inputs. */
async function nativeAndCpu(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ native: Float32Array[]; cpu: Float32Array[] }> {
  const run = async () => {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const data = await Promise.all(list.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(list);
    return data;
  };
  await switchBackend('wasm');
  const native = await run();
  await switchBackend('cpu');
  return { native, cpu: await run() };
}

// With 1 thread, and with 2 (GPLA_BLAS_THREADS=2: the addon's kernels split work of ≥ 32,768 elements with a helper
// thread; the shapes below are large enough to split), on the CPU's widest code path; then the AVX2 and baseline
// copies forced (GPLA_NATIVE_ISA), one thread, where the CPU runs them.
const CONFIGS: { isa: NativeIsa | 'auto'; threads: number }[] = [
  { isa: 'auto', threads: 1 },
  { isa: 'auto', threads: 2 },
  { isa: 'avx2', threads: 1 },
  { isa: 'baseline', threads: 1 },
];
for (const { isa, threads } of CONFIGS) describe(`backend: native element-wise kernels (binary ops, transpose, GELU, norms, AdamW) match the cpu backend, ${isa === 'auto' ? "the CPU's widest code path" : `${isa} code path`}, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
  before(async function () {
    await switchBackend('wasm');
    if (!loadNativeBlas()) this.skip(); // the addon is not built here: the kernels below are never used
    if (isa !== 'auto' && !nativeIsaSupported(isa)) this.skip(); // this CPU cannot run that copy
    if (isa !== 'auto') assert.equal(selectNativeIsa(isa)!.isa, isa);
    assert.equal(activeNativeBlas()!.setThreads(threads).threads, threads);
  });
  after(async () => {
    restoreNativeDefaults();
    await switchBackend('wasm');
  });

  it('folds broadcasts into rows × cols, and refuses the ones that do not fold', () => {
    assert.deepEqual(foldBroadcast([4, 5], [4, 5], [4, 5]), { rows: 1, cols: 20, a: OperandKind.Full, b: OperandKind.Full });
    assert.deepEqual(foldBroadcast([6, 4, 5], [5], [6, 4, 5]), { rows: 24, cols: 5, a: OperandKind.Full, b: OperandKind.Row });
    assert.deepEqual(foldBroadcast([6, 4, 5], [6, 4, 1], [6, 4, 5]), { rows: 24, cols: 5, a: OperandKind.Full, b: OperandKind.Col });
    assert.deepEqual(foldBroadcast([], [6, 4, 5], [6, 4, 5]), { rows: 1, cols: 120, a: OperandKind.Scalar, b: OperandKind.Full });
    assert.deepEqual(foldBroadcast([6, 1], [1, 5], [6, 5]), { rows: 6, cols: 5, a: OperandKind.Col, b: OperandKind.Row });
    assert.equal(foldBroadcast([4, 1, 5], [4, 3, 5], [4, 3, 5]), null); // a middle axis broadcast
    assert.deepEqual(foldBroadcast([6, 1, 1], [1, 4, 5], [6, 4, 5]), { rows: 6, cols: 20, a: OperandKind.Col, b: OperandKind.Row });
    assert.deepEqual(foldBroadcast([6, 4, 1], [1, 1, 5], [6, 4, 5]), { rows: 24, cols: 5, a: OperandKind.Col, b: OperandKind.Row });
    assert.equal(foldBroadcast([6, 4, 1], [1, 4, 5], [6, 4, 5]), null); // a splits after axis 1, b before it
  });

  const shapes: [number[], number[]][] = [
    [[48, 16, 64], [48, 16, 64]],
    [[768, 37], [37]],
    [[12, 7, 9], [12, 7, 1]],
    [[2, 40000], [2, 1]], // two long rows: the halves split columns
    [[1, 50000], [50000]],
    [[5, 9], []],
    [[], [5, 9]],
    [[6, 1], [1, 5]],
    [[4, 1, 5], [4, 3, 5]], // does not fold: the stock kernel answers
  ];
  for (const op of ['add', 'sub', 'mul', 'div'] as const) {
    for (const [sa, sb] of shapes) {
      it(`${op} [${sa}] with [${sb}] (and the stock kernel with the native path off)`, async () => {
        const rng = new Rng(4);
        const a = rng.normals(sa.reduce((p, d) => p * d, 1));
        const b = rng.normals(sb.reduce((p, d) => p * d, 1)).map((v) => (op === 'div' ? 0.5 + Math.abs(v) : v));
        for (const on of [true, false]) {
          setNativeBlasEnabled(on);
          const r = await nativeAndCpu(() => tf[op](tf.tensor(a, sa), tf.tensor(b, sb)));
          assert.ok(maxAbsDiff(r.native[0], r.cpu[0]) <= 4e-6, `native ${on ? 'on' : 'off'}: max |Δ| ${maxAbsDiff(r.native[0], r.cpu[0])}`);
        }
        setNativeBlasEnabled(true);
      });
    }
  }

  const perms: [number[], number[]][] = [
    [[6, 4, 5, 3], [0, 2, 1, 3]], // attention head split: rows of 3 move as blocks
    [[48, 16, 4, 32], [0, 2, 1, 3]], // the grounding model's, large enough to split between threads
    [[40, 30, 50], [2, 1, 0]],
    [[2, 3, 4, 2, 4, 3], [0, 1, 3, 2, 4, 5]], // patchify
    [[7, 9], [1, 0]], // no block: element by element
    [[3, 4, 5], [2, 0, 1]],
    [[5], [0]],
    [[2, 0, 3], [2, 1, 0]], // empty
  ];
  for (const [shape, perm] of perms) {
    it(`transpose [${shape}] by [${perm}], float32 and int32 (and the stock kernel with the native path off)`, async () => {
      const n = shape.reduce((p, d) => p * d, 1);
      const values = Array.from({ length: n }, (_, i) => i * 1.5 - 7);
      for (const on of [true, false]) {
        setNativeBlasEnabled(on);
        const r = await nativeAndCpu(() => [tf.transpose(tf.tensor(values, shape), perm), tf.transpose(tf.tensor(values.map(Math.round), shape, 'int32'), perm).toFloat()]);
        assert.deepEqual(Array.from(r.native[0]), Array.from(r.cpu[0]), `float32, native ${on ? 'on' : 'off'}`);
        assert.deepEqual(Array.from(r.native[1]), Array.from(r.cpu[1]), `int32, native ${on ? 'on' : 'off'}`);
      }
      setNativeBlasEnabled(true);
    });
  }

  it('GELU: the fused native kernels give the composite GELU value and gradient (cpu)', async () => {
    const xs = Array.from({ length: 40001 }, (_, i) => -12 + (24 * i) / 40000);
    const dys = new Rng(2).normals(xs.length);
    await switchBackend('wasm');
    assert.ok(hasNativeGelu(), 'the fused GELU should be in use on wasm with the addon');
    setNativeBlasEnabled(false);
    assert.ok(!hasNativeGelu(), 'no fused GELU without the addon');
    setNativeBlasEnabled(true);
    const r = await nativeAndCpu(() => {
      const x = tf.tensor1d(xs);
      const dy = tf.tensor1d(dys);
      const [value, grad] = [gelu(x), tf.grad((t: tf.Tensor) => gelu(t).mul(dy).sum())(x)];
      return [value, grad];
    });
    for (let k = 0; k < 2; k++) {
      for (let i = 0; i < xs.length; i++) {
        const d = Math.abs(r.native[k][i] - r.cpu[k][i]);
        assert.ok(d <= 1e-5 * Math.max(1, Math.abs(r.cpu[k][i])), `${k ? 'gradient' : 'value'} at x=${xs[i]}: ${r.native[k][i]} vs ${r.cpu[k][i]}`);
      }
    }
  });

  it('LayerNorm and RMSNorm: the fused kernels give the closed forms\' values and gradients (wasm without the addon)', async () => {
    const rng = new Rng(12);
    const shape = [48, 24, 96];
    const n = 48 * 24 * 96;
    const [x, dy] = [rng.normals(n).map((v) => 2 * v + 0.3), rng.normals(n)];
    const [g, b, w] = [rng.normals(96), rng.normals(96), rng.normals(96).map((v) => 0.2 * v)];
    const both = () => {
      const [xt, dyt, gt, bt, wt] = [tf.tensor(x, shape), tf.tensor(dy, shape), tf.tensor1d(g), tf.tensor1d(b), tf.tensor1d(w)];
      const ln = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => layerNorm(a, c, d, 1e-5).mul(dyt).sum())([xt, gt, bt]);
      const rms = tf.grads((a: tf.Tensor, c: tf.Tensor) => rmsNorm(a, c).mul(dyt).sum())([xt, wt]);
      return [layerNorm(xt, gt, bt, 1e-5), rmsNorm(xt, wt), ...ln, ...rms].map((t) => t.dataSync() as Float32Array);
    };
    await switchBackend('wasm');
    const fused = tf.tidy(both);
    setNativeBlasEnabled(false);
    const closed = tf.tidy(both);
    setNativeBlasEnabled(true);
    const names = ['layer norm', 'rms norm', 'dx (layer)', 'dg', 'db', 'dx (rms)', 'dw'];
    // dg, db, dw sum 1,152 rows: their tolerance scales with that
    fused.forEach((f, i) => assert.ok(maxAbsDiff(f, closed[i]) <= (i === 3 || i === 4 || i === 6 ? 2e-3 : 2e-5), `${names[i]}: max |Δ| ${maxAbsDiff(f, closed[i])}`));
  });

  it('AdamW: the native update equals the fused JS update (cpu) to float32 rounding', async () => {
    const rng = new Rng(6);
    const n = 40000;
    const [p, m, g] = [rng.normals(n), rng.normals(n).map((v) => 0.1 * v), rng.normals(n)];
    const v = rng.normals(n).map((x) => 0.01 * x * x);
    const attrs: AdamWKernelAttrs = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, bc1: 0.19, bc2: 0.0975, decay: 1e-5, gradScale: 0.7 };
    const r = await nativeAndCpu(() => fusedAdamW(tf.tensor1d(p), tf.tensor1d(m), tf.tensor1d(v), tf.tensor1d(g), attrs));
    for (let k = 0; k < 3; k++) assert.ok(maxAbsDiff(r.native[k], r.cpu[k]) <= 1e-6, `output ${k}: max |Δ| ${maxAbsDiff(r.native[k], r.cpu[k])}`);
  });
});
