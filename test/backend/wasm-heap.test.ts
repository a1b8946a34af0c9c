import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { loadNativeBlas } from '../../src/backend/native-blas';
import { gelu } from '../../src/nn/layers';
import { layerNorm } from '../../src/nn/norms';
import { Rng } from '../../src/util/rng';

type WasmHeap = { wasm: { HEAPU8: Uint8Array }; dataIdMap: { get(id: object): { memoryOffset: number } } };
const heapBytes = () => (tf.backend() as unknown as WasmHeap).wasm.HEAPU8.buffer.byteLength;
const offsetOf = (t: tf.Tensor) => (tf.backend() as unknown as WasmHeap).dataIdMap.get(t.dataId).memoryOffset;

describe('backend/wasm heap: no kernel writes outside its output, across heap growth', () => {
  before(async () => {
    await switchBackend('wasm');
  });
  after(async () => {
    await switchBackend('cpu');
  });

  it('Slice of a bool tensor (1 byte per element on the heap) gives the right values and leaves its neighbours intact', () => {
    const values = Array.from({ length: 64 }, (_, i) => i % 3 === 0);
    // Allocate input, output and a guard in a row: the old kernel copied 4 bytes per element, 4× past the output.
    const x = tf.tensor1d(values, 'bool');
    const sliced = tf.slice(x, [5], [40]);
    const guard = tf.fill([64], 7, 'int32');
    assert.deepEqual(Array.from(sliced.dataSync()), values.slice(5, 45).map(Number));
    const g2 = tf.fill([16], 3, 'int32');
    const again = tf.slice(tf.tensor2d(values, [8, 8], 'bool'), [1, 2], [6, 5]);
    assert.deepEqual(Array.from(guard.dataSync()), new Array(64).fill(7));
    assert.deepEqual(Array.from(g2.dataSync()), new Array(16).fill(3));
    assert.deepEqual(Array.from(again.dataSync()), Array.from({ length: 30 }, (_, k) => Number(values[(1 + Math.floor(k / 5)) * 8 + 2 + (k % 5)])));
    // Many allocate/slice/dispose rounds: with the old kernel this crashed in malloc/free ("memory access out of bounds").
    for (let i = 0; i < 300; i++) tf.tidy(() => tf.slice(tf.ones([100 + (i % 7)], 'bool'), [3], [90]).dataSync());
    tf.dispose([x, sliced, guard, g2, again]);
  });

  it('native kernels called before and after the heap grows (and moves) compute what the cpu backend computes', async function () {
    if (!loadNativeBlas()) this.skip(); // the addon is not built here: only the stock kernels run
    this.timeout(120_000);
    const rng = new Rng(7);
    const a = rng.normals(64 * 96);
    const b = rng.normals(96 * 48);
    const c = rng.normals(48);
    const g = rng.normals(48, 0.5).map((v) => 1 + v);
    const chain = (grow: boolean) => {
      const ta = tf.tensor2d(a, [64, 96]);
      const tb = tf.tensor2d(b, [96, 48]);
      const y1 = tf.matMul(ta, tb); // native sgemm
      const before = grow ? heapBytes() : 0;
      // Allocations larger than the whole heap so far: memory.grow replaces the ArrayBuffer under every view.
      const big = grow ? [tf.zeros([Math.ceil((2 * before) / 4)]), tf.zeros([Math.ceil((3 * before) / 4)])] : [];
      if (grow) assert.ok(heapBytes() > before, 'the heap grew');
      const y2 = tf.add(y1, tf.tensor1d(c)); // native binary on the grown heap, y1 written before the growth
      const y3 = gelu(y2); // native GELU
      const y4 = layerNorm(y3, tf.tensor1d(g), tf.zeros([48]), 1e-5); // native norm
      const y5 = tf.transpose(tf.reshape(y4, [8, 8, 48]), [1, 0, 2]); // native transpose
      const y6 = tf.matMul(y5, y5, false, true); // batched native product
      const out = [y4.dataSync().slice(), y6.dataSync().slice()];
      tf.dispose([ta, tb, y1, ...big, y2, y3, y4, y5, y6]);
      return out;
    };
    const grown = chain(true);
    const offsets = tf.tidy(() => offsetOf(tf.zeros([4])));
    assert.ok(offsets >= 0);
    await switchBackend('cpu');
    const ref = chain(false);
    await switchBackend('wasm');
    for (const [i, r] of ref.entries()) {
      let m = 0;
      for (let k = 0; k < r.length; k++) m = Math.max(m, Math.abs(r[k] - grown[i][k]));
      assert.ok(m < 1e-3, `output ${i}: max |wasm − cpu| ${m}`);
    }
  });
});
