import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { initReferenceModel, referenceBatch, referenceLoss, REFERENCE_MODEL, type ReferenceModelConfig } from '../../src/backend/reference-model';
import { Rng } from '../../src/util/rng';

// A tiny conv + attention + embedding model: every gradient path the package's models use.
const CFG: ReferenceModelConfig = { ...REFERENCE_MODEL, vocab: 13, dModel: 16, heads: 2, layers: 2, seq: 6, image: 16, convChannels: [4, 6, 8] };

async function gradients(seed: number): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  const p = initReferenceModel(CFG, seed);
  const { tokens, images } = referenceBatch(CFG, 3, seed + 1);
  const names = Object.keys(p);
  const { value, grads } = tf.variableGrads(() => referenceLoss(CFG, p, tokens, images), names.map((n) => p[n]));
  const out: Record<string, Float32Array> = {};
  for (const n of names) out[n] = (await grads[n].data()) as Float32Array;
  const loss = (await value.data())[0];
  tf.dispose([value, tokens, images, ...Object.values(grads)]);
  for (const v of Object.values(p)) v.dispose();
  return { loss, grads: out };
}

describe('backend: gradients of a conv + attention + embedding model', () => {
  after(async () => {
    await switchBackend('wasm');
  });

  it('match central finite differences on cpu', async () => {
    await switchBackend('cpu');
    const { grads } = await gradients(1);
    const p = initReferenceModel(CFG, 1);
    const { tokens, images } = referenceBatch(CFG, 3, 2);
    const lossAt = () => tf.tidy(() => referenceLoss(CFG, p, tokens, images).dataSync()[0]);
    const rng = new Rng(99);
    const eps = 1e-2;
    let checked = 0;
    for (const name of Object.keys(p)) {
      const v = p[name];
      const values = v.dataSync().slice() as Float32Array;
      // Two coordinates per tensor, chosen where the gradient is not negligible.
      const g = grads[name];
      const order = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
      for (const idx of [order[0], order[rng.int(Math.max(1, Math.floor(order.length / 4)))]]) {
        const orig = values[idx];
        values[idx] = orig + eps;
        v.assign(tf.tensor(values, v.shape));
        const up = lossAt();
        values[idx] = orig - eps;
        v.assign(tf.tensor(values, v.shape));
        const down = lossAt();
        values[idx] = orig;
        v.assign(tf.tensor(values, v.shape));
        const fd = (up - down) / (2 * eps);
        const an = g[idx];
        // float32 loss: differences of ~1e-6 absolute are noise at eps = 1e-2.
        const tol = 2e-2 * Math.max(Math.abs(fd), Math.abs(an)) + 2e-4;
        assert.ok(Math.abs(fd - an) <= tol, `${name}[${idx}]: finite difference ${fd} vs analytic ${an}`);
        checked++;
      }
    }
    assert.ok(checked >= 2 * Object.keys(p).length);
    tf.dispose([tokens, images]);
    for (const v of Object.values(p)) v.dispose();
  });

  it('on wasm equal the cpu backend’s gradients', async () => {
    await switchBackend('cpu');
    const cpu = await gradients(5);
    await switchBackend('wasm');
    const wasm = await gradients(5);
    assert.ok(Math.abs(wasm.loss - cpu.loss) <= 1e-5 * Math.abs(cpu.loss), `loss ${wasm.loss} vs ${cpu.loss}`);
    for (const name of Object.keys(cpu.grads)) {
      const a = wasm.grads[name];
      const b = cpu.grads[name];
      let num = 0;
      let den = 0;
      for (let i = 0; i < b.length; i++) {
        num += (a[i] - b[i]) ** 2;
        den += b[i] ** 2;
      }
      const rel = Math.sqrt(num / Math.max(den, 1e-30));
      assert.ok(rel <= 1e-4, `${name}: relative difference ${rel}`);
    }
  });
});
