import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import {
  activeNativeBlas, loadNativeBlas, nativeBlasReason, nativeIsaSetting, nativeIsaSupported, openBlasMissingReason, restoreNativeDefaults, selectNativeIsa,
  selectNativeKernel, setNativeBlasEnabled,
} from '../../src/backend/native-blas';
import { Rng } from '../../src/util/rng';

/** ‖a − b‖ / ‖b‖ over all elements. */
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

/** Runs `fn` on wasm and on cpu from the same inputs (plain arrays) and returns both outputs. */
async function onBoth(fn: () => tf.Tensor): Promise<{ wasm: Float32Array; cpu: Float32Array; shape: number[] }> {
  await switchBackend('wasm');
  const w = tf.tidy(fn);
  const wasm = (await w.data()) as Float32Array;
  const shape = w.shape;
  w.dispose();
  await switchBackend('cpu');
  const c = tf.tidy(fn);
  const cpu = (await c.data()) as Float32Array;
  assert.deepEqual(c.shape, shape, 'output shapes differ between wasm and cpu');
  c.dispose();
  return { wasm, cpu, shape };
}

/**
 * The matrix-product paths on wasm: XNNPACK, the addon's built-in kernel (the CPU's widest code path; its AVX2 and
 * baseline ones forced, as GPLA_NATIVE_ISA does, where the CPU runs them), the addon over OpenBLAS.
 */
const PRODUCT_PATHS = ['xnnpack', 'native built-in', 'native built-in, 2 threads', 'native built-in AVX2', 'native built-in baseline', 'native OpenBLAS'] as const;
type ProductPath = (typeof PRODUCT_PATHS)[number];

/** Puts the wasm backend's products on `path`; false when that path is not available here. */
function useProductPath(path: ProductPath): boolean {
  if (path === 'xnnpack') {
    setNativeBlasEnabled(false);
    return true;
  }
  setNativeBlasEnabled(true);
  const isa = path.endsWith('AVX2') ? 'avx2' : path.endsWith('baseline') ? 'baseline' : 'auto';
  if (isa !== 'auto' && !nativeIsaSupported(isa)) return false;
  const info = selectNativeKernel(path === 'native OpenBLAS' ? 'openblas' : 'builtin');
  if (info) {
    activeNativeBlas()!.setThreads(path.endsWith('2 threads') ? 2 : 1);
    assert.equal(selectNativeIsa(isa)!.isa, isa === 'auto' ? info.isa : isa);
  }
  return info !== null;
}


const randn = (rng: Rng, shape: number[]) => rng.normals(shape.reduce((a, b) => a * b, 1));

describe('backend: kernels added to wasm match the cpu backend', () => {
  after(async () => {
    await switchBackend('wasm');
  });

  const matmulCases: { a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [
    { a: [7, 5], b: [5, 3], tA: false, tB: false },
    { a: [5, 7], b: [5, 3], tA: true, tB: false },
    { a: [7, 5], b: [3, 5], tA: false, tB: true },
    { a: [5, 7], b: [3, 5], tA: true, tB: true },
    { a: [4, 9, 6], b: [4, 6, 8], tA: false, tB: false },
    { a: [4, 6, 9], b: [4, 8, 6], tA: true, tB: true },
    { a: [2, 3, 9, 6], b: [2, 3, 6, 5], tA: false, tB: false },
    { a: [6, 9, 6], b: [1, 6, 5], tA: false, tB: false },
    { a: [1, 9, 6], b: [6, 6, 5], tA: false, tB: false },
    { a: [64, 33, 17], b: [64, 33, 17], tA: false, tB: true },
    // Past the built-in kernel's blocks (K in 256s, M in 224s on AVX-512, N in 512s) and its 14×32 tile edges.
    { a: [300, 530], b: [530, 45], tA: false, tB: false },
    { a: [530, 300], b: [45, 530], tA: true, tB: true },
    { a: [2, 20, 33], b: [2, 33, 600], tA: false, tB: false },
    { a: [8, 64, 40], b: [8, 50, 64], tA: true, tB: true }, // batched and large enough for two threads to split
    // The AVX2 and baseline tiles (6×16 and 6×8; M blocks of 96): exact tiles, one past, M past a block, K past 256.
    { a: [6, 16], b: [16, 16], tA: false, tB: false },
    { a: [13, 300], b: [300, 17], tA: false, tB: false },
    { a: [300, 97], b: [33, 300], tA: true, tB: true },
    { a: [3, 40], b: [40, 70], tA: false, tB: false }, // ≤ 4 rows: the row-axpy path
    // The models' attention products (batch × heads of 16–32 tokens, head width 16–32).
    { a: [12, 16, 32], b: [12, 16, 32], tA: false, tB: true },
    { a: [12, 24, 24], b: [12, 24, 24], tA: true, tB: false },
    { a: [12, 32, 32], b: [12, 32, 16], tA: false, tB: false },
  ];
  // Every product path: XNNPACK through the added kernel; the native addon's built-in kernel where the addon is
  // built; OpenBLAS through the addon where it loads.
  for (const path of PRODUCT_PATHS) {
    for (const c of matmulCases) {
      it(`BatchMatMul [${c.a}]${c.tA ? 'ᵀ' : ''} · [${c.b}]${c.tB ? 'ᵀ' : ''} (${path})`, async function () {
        if (!useProductPath(path)) this.skip(); // reason printed by the test below
        try {
          const rng = new Rng(11);
          const a = randn(rng, c.a);
          const b = randn(rng, c.b);
          const r = await onBoth(() => tf.matMul(tf.tensor(a, c.a), tf.tensor(b, c.b), c.tA, c.tB));
          assert.ok(relErr(r.wasm, r.cpu) <= 1e-5, `relative error ${relErr(r.wasm, r.cpu)}`);
        } finally {
          restoreNativeDefaults();
        }
      });
    }
  }

  it('the native path is on exactly when the addon loads, with OpenBLAS or else the built-in kernel (each miss has a reason)', () => {
    const info = loadNativeBlas();
    if (info) {
      if (info.library === 'built-in') {
        assert.match(info.coretype, /AVX-512|AVX2|baseline/);
        assert.match(openBlasMissingReason() ?? '', /GPLA_NATIVE_BLAS=builtin|no OpenBLAS/);
        console.log(`      (built-in kernel here: ${openBlasMissingReason()})`);
      } else {
        assert.match(info.library, /blas/i);
        assert.equal(openBlasMissingReason(), null);
      }
      assert.ok(info.threads >= 1);
      assert.ok(activeNativeBlas(), 'loaded but not active');
    } else {
      assert.match(nativeBlasReason() ?? '', /GPLA_NATIVE_BLAS=off|not built|failed to load|no OpenBLAS/);
      assert.equal(activeNativeBlas(), null);
      console.log(`      (native path off here: ${nativeBlasReason()})`);
    }
  });

  it('GPLA_NATIVE_ISA picks a code path the CPU runs; a wrong value or one the CPU lacks is refused by name', function () {
    assert.equal(nativeIsaSetting(undefined), undefined);
    assert.equal(nativeIsaSetting('auto'), undefined);
    assert.equal(nativeIsaSetting('avx2'), 'avx2');
    assert.throws(() => nativeIsaSetting('sse9'), /GPLA_NATIVE_ISA must be one of avx512, avx2, baseline or auto, got "sse9"/);
    if (!loadNativeBlas()) this.skip();
    try {
      assert.equal(nativeIsaSupported('baseline'), true);
      assert.equal(selectNativeIsa('baseline')!.isa, 'baseline');
      for (const isa of ['avx512', 'avx2'] as const) {
        if (nativeIsaSupported(isa)) assert.equal(selectNativeIsa(isa)!.isa, isa);
        else assert.throws(() => selectNativeIsa(isa), /cannot run the (AVX-512|AVX2) code path/);
      }
      assert.throws(() => activeNativeBlas()!.setIsa('sse9' as never), /unknown code path "sse9"/);
    } finally {
      restoreNativeDefaults();
    }
  });

  it('the native sgemm rejects operands that reach past the heap', () => {
    if (!loadNativeBlas()) return;
    const heap = new ArrayBuffer(64);
    assert.throws(() => activeNativeBlas()!.sgemm(heap, false, false, 4, 4, 4, 0, 0, 32, 1, 0, 0, 0, 0), /past the end of the heap/);
  });

  it('GatherV2 (embedding rows, float32 and int32, indices of any shape) matches cpu; other axes go to the stock kernel', async () => {
    const rng = new Rng(9);
    const table = randn(rng, [11, 2, 3]);
    const ids = [[3, 0, 10], [10, 5, 5]];
    const r = await onBoth(() => tf.gather(tf.tensor(table, [11, 2, 3]), tf.tensor2d(ids, [2, 3], 'int32')));
    assert.deepEqual(r.shape, [2, 3, 2, 3]);
    assert.deepEqual(Array.from(r.wasm), Array.from(r.cpu));
    const ints = await onBoth(() => tf.gather(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), tf.tensor1d([2, 0], 'int32')).toFloat());
    assert.deepEqual(Array.from(ints.wasm), [5, 6, 1, 2]);
    const axis1 = await onBoth(() => tf.gather(tf.tensor(table, [11, 2, 3]), tf.tensor1d([1, 0, 1], 'int32'), 1));
    assert.deepEqual(Array.from(axis1.wasm), Array.from(axis1.cpu));
  });

  it('GatherV2 rejects an index outside the table with the index and the range', async () => {
    await switchBackend('wasm');
    assert.throws(() => tf.tidy(() => tf.gather(tf.ones([4, 2]), tf.tensor1d([1, 4], 'int32')).dataSync()), /GatherV2: the index value 4 is not in \[0, 3\]/);
    assert.throws(() => tf.tidy(() => tf.gather(tf.ones([4, 2]), tf.tensor1d([-1], 'int32')).dataSync()), /index value -1/);
  });

  const segCases = [
    { rows: 10, cols: 4, segments: 6 },
    { rows: 100, cols: 32, segments: 17 },
    { rows: 3, cols: 1, segments: 8 },
  ];
  for (const c of segCases) {
    it(`UnsortedSegmentSum ${c.rows}×${c.cols} into ${c.segments} segments (with out-of-range ids dropped)`, async () => {
      const rng = new Rng(5);
      const x = randn(rng, [c.rows, c.cols]);
      const ids = Array.from({ length: c.rows }, () => rng.int(c.segments + 2) - 1); // includes −1 and numSegments
      const r = await onBoth(() => tf.unsortedSegmentSum(tf.tensor(x, [c.rows, c.cols]), tf.tensor1d(ids, 'int32'), c.segments));
      assert.deepEqual(r.shape, [c.segments, c.cols]);
      assert.ok(relErr(r.wasm, r.cpu) <= 1e-5, `relative error ${relErr(r.wasm, r.cpu)}`);
    });
  }

  it('UnsortedSegmentSum equals a hand computation', async () => {
    await switchBackend('wasm');
    const out = tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([2, 0, 2], 'int32'), 3);
    assert.deepEqual(Array.from(await out.data()), [3, 4, 0, 0, 6, 8]);
    out.dispose();
  });

  it('Slice of ranks 1–6 with random begin/size (contiguous and strided runs)', async () => {
    const rng = new Rng(21);
    for (let rank = 1; rank <= 6; rank++) {
      for (let trial = 0; trial < 6; trial++) {
        const shape = Array.from({ length: rank }, () => 1 + rng.int(5));
        const begin = shape.map((d) => rng.int(d));
        const size = shape.map((d, i) => (rng.random() < 0.3 ? d - begin[i] : 1 + rng.int(d - begin[i])));
        const x = randn(rng, shape);
        const r = await onBoth(() => tf.slice(tf.tensor(x, shape), begin, size));
        assert.deepEqual(r.shape, size);
        assert.deepEqual(Array.from(r.wasm), Array.from(r.cpu), `slice of [${shape}] at [${begin}] size [${size}]`);
      }
    }
  });

  const convCases: { x: number[]; k: number; cout: number; stride: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 8, 8, 3], k: 3, cout: 5, stride: 1, pad: 'same' },
    { x: [2, 9, 9, 3], k: 3, cout: 4, stride: 2, pad: 'same' },
    { x: [3, 16, 16, 3], k: 4, cout: 8, stride: 4, pad: 'valid' },
    { x: [1, 7, 11, 2], k: 3, cout: 3, stride: 2, pad: 'valid' },
    { x: [2, 10, 10, 6], k: 5, cout: 7, stride: 3, pad: 'same' },
  ];
  for (const c of convCases) {
    it(`Conv2DBackpropFilter x [${c.x}] k${c.k} stride ${c.stride} ${c.pad}`, async () => {
      const rng = new Rng(3);
      const x = randn(rng, c.x);
      const fShape = [c.k, c.k, c.x[3], c.cout];
      const f = randn(rng, fShape);
      // dL/dW of Σ conv(x, W)·R for a fixed random R: the conv weight gradient with a non-trivial dy.
      let dyShape: number[] = [];
      await switchBackend('cpu');
      tf.tidy(() => {
        dyShape = tf.conv2d(tf.tensor4d(x, c.x as never), tf.tensor4d(f, fShape as never), c.stride, c.pad).shape;
      });
      const R = randn(rng, dyShape);
      const r = await onBoth(() =>
        tf.grad((w: tf.Tensor) =>
          tf.conv2d(tf.tensor4d(x, c.x as never), w as tf.Tensor4D, c.stride, c.pad).mul(tf.tensor(R, dyShape)).sum(),
        )(tf.tensor4d(f, fShape as never)),
      );
      assert.deepEqual(r.shape, fShape);
      assert.ok(relErr(r.wasm, r.cpu) <= 1e-5, `relative error ${relErr(r.wasm, r.cpu)}`);
    });
  }
});

describe('backend: wasm Identity and same-dtype Cast share the buffer (no copy)', () => {
  it('clone and cast(float32) read the same values and survive disposing the source', async () => {
    await switchBackend('wasm');
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const c = x.clone();
    const k = x.cast('float32');
    const i = x.cast('int32');
    x.dispose();
    assert.deepEqual(Array.from(await c.data()), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(await k.data()), [1, 2, 3, 4]);
    assert.equal(i.dtype, 'int32');
    assert.deepEqual(Array.from(await i.data()), [1, 2, 3, 4]);
    tf.dispose([c, k, i]);
  });
});

describe('backend: wasm Sum over non-innermost axes matches cpu', () => {
  after(async () => {
    await switchBackend('wasm');
  });
  const cases: { shape: number[]; axis: number | number[]; keepDims?: boolean }[] = [
    { shape: [768, 37], axis: 0 },
    { shape: [6, 5, 7], axis: [0, 1] },
    { shape: [6, 5, 7], axis: 1, keepDims: true },
    { shape: [3, 4, 5, 6], axis: [1, 2] },
    { shape: [4, 9], axis: -1 },
    { shape: [4, 9], axis: [0, 1] },
    { shape: [3, 4, 5], axis: [0, 2] },
  ];
  for (const path of PRODUCT_PATHS) {
    for (const c of cases) {
      it(`sum [${c.shape}] over ${JSON.stringify(c.axis)}${c.keepDims ? ' (keepDims)' : ''} (${path})`, async function () {
        if (!useProductPath(path)) this.skip();
        try {
          const rng = new Rng(3);
          const x = randn(rng, c.shape);
          const r = await onBoth(() => tf.sum(tf.tensor(x, c.shape), c.axis, c.keepDims));
          assert.deepEqual(r.shape, tf.sum(tf.zeros(c.shape), c.axis, c.keepDims).shape);
          assert.ok(relErr(r.wasm, r.cpu) <= 1e-6, `relative error ${relErr(r.wasm, r.cpu)}`);
        } finally {
          restoreNativeDefaults();
        }
      });
    }
  }
});

describe('backend: bias and weight gradients from the same dy (xnnpack path)', () => {
  after(async () => {
    setNativeBlasEnabled(true);
    await switchBackend('wasm');
  });
  it('Sum(dy, 0) then xᵀ·dy, as in a dense layer backward pass with bias, matches cpu', async () => {
    setNativeBlasEnabled(false);
    const rng = new Rng(8);
    const x = randn(rng, [512, 768]);
    const dy = randn(rng, [512, 96]);
    const r = await onBoth(() => {
      const d = tf.tensor2d(dy, [512, 96]);
      const db = tf.sum(d, 0);
      const dw = tf.matMul(tf.tensor2d(x, [512, 768]), d, true, false);
      return tf.concat([dw.reshape([-1]), db]);
    });
    assert.ok(relErr(r.wasm, r.cpu) <= 1e-5, `relative error ${relErr(r.wasm, r.cpu)}`);
  });
});
