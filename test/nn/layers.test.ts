import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { applyRope, buildAttention, ropeTables } from '../../src/nn/attention';
import { film, gelu } from '../../src/nn/layers';
import { ParamStore } from '../../src/nn/params';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../src/nn/safetensors';
import { Rng } from '../../src/util/rng';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `[${i}] ${a[i]} vs ${b[i]}`);
};

describe('nn: attention, RoPE, FiLM, parameters, safetensors', () => {
  before(async () => {
    await switchBackend('cpu');
  });

  it('GELU (tanh approximation) computed as x·σ(2z): known values and the tanh formula, value and gradient', () => {
    // PyTorch: F.gelu(torch.tensor([-3., -1., 0., 0.5, 1., 3.]), approximate='tanh')
    const x = tf.tensor1d([-3, -1, 0, 0.5, 1, 3]);
    close(gelu(x).dataSync(), [-0.00363743, -0.15880799, 0, 0.345714, 0.84119201, 2.99636269], 1e-6);
    const viaTanh = (t: tf.Tensor) => t.mul(0.5).mul(tf.tanh(t.add(t.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1));
    const xs = tf.linspace(-6, 6, 97);
    close(gelu(xs).dataSync(), viaTanh(xs).dataSync(), 1e-6);
    close(tf.grad((t: tf.Tensor) => gelu(t).sum())(xs).dataSync(), tf.grad((t: tf.Tensor) => viaTanh(t).sum())(xs).dataSync(), 1e-5);
  });

  it('RoPE: q·k depends only on the position difference', () => {
    const rng = new Rng(1);
    const q = tf.tensor4d(rng.normals(8), [1, 1, 1, 8]);
    const k = tf.tensor4d(rng.normals(8), [1, 1, 1, 8]);
    const dot = (pq: number, pk: number) => {
      const a = ropeTables([pq], 8);
      const b = ropeTables([pk], 8);
      return applyRope(q, a.cos, a.sin).mul(applyRope(k, b.cos, b.sin)).sum().dataSync()[0];
    };
    assert.ok(Math.abs(dot(3, 1) - dot(10, 8)) < 1e-4);
    assert.ok(Math.abs(dot(5, 5) - dot(0, 0)) < 1e-4);
    assert.ok(Math.abs(dot(3, 1) - dot(1, 3)) > 1e-3, 'and it is not symmetric in the offset');
  });

  it('RoPE as a product with the rotate-half matrix equals the half-slice formula, value and gradient', () => {
    const x = tf.tensor4d(new Rng(9).normals(2 * 3 * 5 * 8), [2, 3, 5, 8]);
    const { cos, sin } = ropeTables([0, 1, 4, 7, 20], 8);
    const bySlices = (t: tf.Tensor4D) => {
      const [x1, x2] = [t.slice([0, 0, 0, 0], [-1, -1, -1, 4]), t.slice([0, 0, 0, 4], [-1, -1, -1, 4])];
      return t.mul(cos).add(tf.concat([x2.neg(), x1], 3).mul(sin));
    };
    close(applyRope(x, cos, sin).dataSync(), bySlices(x).dataSync(), 1e-6);
    const w = tf.tensor4d(new Rng(10).normals(2 * 3 * 5 * 8), [2, 3, 5, 8]);
    const g = tf.grad((t: tf.Tensor) => applyRope(t as tf.Tensor4D, cos, sin).mul(w).sum())(x);
    const want = tf.grad((t: tf.Tensor) => bySlices(t as tf.Tensor4D).mul(w).sum())(x);
    close(g.dataSync(), want.dataSync(), 1e-6);
  });

  it('attention with a key/value cache equals attention over the whole sequence (GQA, RoPE, QK-norm, window)', () => {
    const ps = new ParamStore(new Rng(2));
    const attn = buildAttention(ps, 'a', { d: 16, heads: 4, kvHeads: 2, headDim: 8, rope: true, qkNorm: true, bias: false });
    const x = tf.tensor3d(new Rng(3).normals(2 * 6 * 16), [2, 6, 16]);
    const mask = tf.tensor2d([[1, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]]); // a padded key in row 0
    const full = attn(x, { qPos: [0, 1, 2, 3, 4, 5], keyMask: mask, causal: true, window: 4 }).out;
    const first = attn(x.slice([0, 0, 0], [2, 4, 16]), { qPos: [0, 1, 2, 3], keyMask: mask.slice([0, 0], [2, 4]) as tf.Tensor2D, causal: true, window: 4 });
    let cache = first.cache;
    const outs = [first.out];
    for (const t of [4, 5]) {
      const r = attn(x.slice([0, t, 0], [2, 1, 16]), { qPos: [t], keyMask: mask.slice([0, 0], [2, t + 1]) as tf.Tensor2D, causal: true, window: 4, cache });
      cache = r.cache;
      outs.push(r.out);
    }
    close(tf.concat(outs, 1).dataSync(), full.dataSync(), 1e-4);
  });

  it('masks: a padded key and a future key change nothing', () => {
    const ps = new ParamStore(new Rng(4));
    const attn = buildAttention(ps, 'a', { d: 8, heads: 2, kvHeads: 2, headDim: 4, rope: false, qkNorm: false, bias: true });
    const x = tf.tensor3d(new Rng(5).normals(3 * 8), [1, 3, 8]);
    const y = tf.concat([x.slice([0, 0, 0], [1, 2, 8]), tf.fill([1, 1, 8], 7)], 1);
    const a = attn(x, { qPos: [0, 1, 2], causal: true }).out.slice([0, 0, 0], [1, 2, 8]);
    const b = attn(y, { qPos: [0, 1, 2], causal: true }).out.slice([0, 0, 0], [1, 2, 8]);
    close(a.dataSync(), b.dataSync());
    const c = attn(y, { qPos: [0, 1, 2], keyMask: tf.tensor2d([[1, 1, 0]]) }).out.slice([0, 0, 0], [1, 2, 8]);
    const d = attn(x.slice([0, 0, 0], [1, 2, 8]), { qPos: [0, 1] }).out;
    close(c.dataSync(), d.dataSync());
  });

  it('FiLM with γ = β = 0 is the identity', () => {
    const x = tf.tensor3d(new Rng(6).normals(2 * 3 * 4), [2, 3, 4]);
    close(film(x, tf.zeros([2, 4]), tf.zeros([2, 4])).dataSync(), x.dataSync(), 0);
  });

  it('parameter stores: same seed → same weights; dry mode counts without allocating; names are unique', () => {
    const a = new ParamStore(new Rng(9));
    const b = new ParamStore(new Rng(9));
    a.create('w', [3, 4], { kind: 'normal', std: 1 });
    b.create('w', [3, 4], { kind: 'normal', std: 1 });
    close(a.get('w').dataSync(), b.get('w').dataSync(), 0);
    const dry = new ParamStore(new Rng(0), true);
    dry.create('big', [100000, 1000], { kind: 'normal', std: 1 });
    assert.equal(dry.count(), 1e8);
    assert.equal(dry.params.size, 0);
    assert.throws(() => a.create('w', [1], { kind: 'zeros' }), /"w" is defined twice/);
  });

  it('safetensors: save → load is exact; wrong shape, dtype or truncated data is rejected naming the tensor', () => {
    const ps = new ParamStore(new Rng(7));
    ps.create('layer.weight', [2, 3], { kind: 'normal', std: 1 });
    ps.create('layer.bias', [3], { kind: 'normal', std: 1 });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-st-')), 'm.safetensors');
    ps.save(file, { note: 'test' });
    const other = new ParamStore(new Rng(8));
    other.create('layer.weight', [2, 3], { kind: 'zeros' });
    other.create('layer.bias', [3], { kind: 'zeros' });
    other.load(file);
    close(other.get('layer.weight').dataSync(), ps.get('layer.weight').dataSync(), 0);
    const wrong = new ParamStore(new Rng(8));
    wrong.create('layer.weight', [3, 2], { kind: 'zeros' });
    assert.throws(() => wrong.load(file), /parameter "layer.weight" has shape \[2,3\], the model expects \[3,2\]/);
    const bytes = fs.readFileSync(file);
    assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'x'), (e: unknown) => e instanceof SafetensorsError && /tensor "layer.weight".*truncated/.test((e as Error).message));
    const f16 = encodeSafetensors({ t: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) } });
    const hacked = Buffer.from(f16.slice());
    const hdr = hacked.indexOf('F32');
    hacked.write('F16', hdr);
    assert.throws(() => decodeSafetensors(hacked, 'y'), /tensor "t": dtype F16 is not supported/);
    // Header layout: 8-byte LE length, JSON, 8-byte aligned data.
    const n = Number(Buffer.from(f16).readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    assert.deepEqual(JSON.parse(Buffer.from(f16.subarray(8, 8 + n)).toString()).t, { dtype: 'F32', shape: [1], data_offsets: [0, 4] });
  });
});
