import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { initReferenceModel, REFERENCE_MODEL } from '../../src/backend/reference-model';
import { Rng } from '../../src/util/rng';

describe('util/rng: one seeded random source', () => {
  it('the same seed gives the same stream; different seeds differ', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 100 }, () => a.random());
    assert.deepEqual(xs, Array.from({ length: 100 }, () => b.random()));
    assert.notDeepEqual(xs, Array.from({ length: 100 }, () => c.random()));
  });

  it('getState/setState resumes the exact stream (checkpoint and resume)', () => {
    const a = new Rng(7);
    for (let i = 0; i < 13; i++) a.normal();
    const state = a.getState();
    const expected = Array.from({ length: 20 }, () => a.normal());
    const b = new Rng(0);
    b.setState(state);
    assert.deepEqual(Array.from({ length: 20 }, () => b.normal()), expected);
    assert.throws(() => b.setState([1, 2, 3] as never), /four uint32 values/);
  });

  it('distributions have the right moments', () => {
    const r = new Rng(1);
    const n = 20000;
    const mean = (f: () => number) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += f();
      return s / n;
    };
    assert.ok(Math.abs(mean(() => r.random()) - 0.5) < 0.01);
    assert.ok(Math.abs(mean(() => r.normal())) < 0.03);
    assert.ok(Math.abs(mean(() => r.normal() ** 2) - 1) < 0.05);
    // Beta(1.5, 1) has mean 1.5 / 2.5 = 0.6 (the flow-matching time distribution).
    assert.ok(Math.abs(mean(() => r.beta(1.5, 1)) - 0.6) < 0.01);
    // Gamma(0.5, 1) has mean 0.5 (exercises the shape < 1 branch).
    assert.ok(Math.abs(mean(() => r.gamma(0.5)) - 0.5) < 0.03);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[r.int(3)]++;
    assert.ok(counts.every((c) => c > 900 && c < 1100), `int(3) counts ${counts}`);
  });

  it('shuffle is a seeded permutation', () => {
    const s1 = new Rng(9).shuffle([...Array(50).keys()]);
    const s2 = new Rng(9).shuffle([...Array(50).keys()]);
    assert.deepEqual(s1, s2);
    assert.deepEqual([...s1].sort((a, b) => a - b), [...Array(50).keys()]);
    assert.notDeepEqual(s1, [...Array(50).keys()]);
  });

  it('bad arguments are rejected with the value named', () => {
    const r = new Rng(0);
    assert.throws(() => r.int(0), /positive integer, got 0/);
    assert.throws(() => r.gamma(-1), /shape must be > 0, got -1/);
    assert.throws(() => new Rng(NaN), /finite number, got NaN/);
  });

  it('model initialisation from the same seed is identical on wasm and cpu', async () => {
    const cfg = { ...REFERENCE_MODEL, dModel: 16, heads: 2, layers: 1, seq: 4, image: 8, vocab: 11 };
    const snapshot = async () => {
      const p = initReferenceModel(cfg, 123);
      const out: Record<string, number[]> = {};
      for (const [k, v] of Object.entries(p)) {
        out[k] = Array.from(await v.data());
        v.dispose();
      }
      return out;
    };
    await switchBackend('cpu');
    const onCpu = await snapshot();
    await switchBackend('wasm');
    const onWasm = await snapshot();
    assert.deepEqual(onWasm, onCpu);
    const again = await snapshot();
    assert.deepEqual(again, onWasm);
    tf.disposeVariables();
  });
});
