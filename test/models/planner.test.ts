import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { getPreset } from '../../src/experiments/presets';
import { Planner, type PlannerConfig } from '../../src/models/planner';
import { attentionMask } from '../../src/nn/attention';
import { Rng } from '../../src/util/rng';

const T = getPreset('tiny').models;
// A window far shorter than the prompt, as in the presets (small: window 16, image tokens 0–15, completion from 36).
const P: PlannerConfig = { ...T.planner, image: 16, patch: 4, imageTokens: 4, vocab: 20, maxPrompt: 8, maxCompletion: 6, layers: 3, window: 2, globalEvery: 3 };

/** Images with one bright 4×4 square in quadrant q of a dark board, as the simulator's blocks on its board. */
function quadrantImages(qs: number[]): tf.Tensor4D {
  const S = 16;
  const data = new Float32Array(qs.length * S * S * 3).fill(0.2);
  qs.forEach((q, b) => {
    const r0 = q < 2 ? 2 : 10;
    const c0 = q % 2 === 0 ? 2 : 10;
    for (let r = r0; r < r0 + 4; r++) for (let c = c0; c < c0 + 4; c++) for (let k = 0; k < 3; k++) data[((b * S + r) * S + c) * 3 + k] = 0.9;
  });
  return tf.tensor4d(data, [qs.length, S, S, 3]);
}

/** One prompt for every row (left-padded), so only the image tells the rows apart. */
function prompts(B: number) {
  return {
    promptIds: tf.tensor2d(Array.from({ length: B }, () => [0, 0, 0, 0, 1, 5, 6, 4]).flat(), [B, 8], 'int32'),
    promptMask: tf.tensor2d(Array.from({ length: B }, () => [0, 0, 0, 0, 1, 1, 1, 1]).flat(), [B, 8]),
  };
}

describe('planner: the image is in sight of every completion token', () => {
  before(async () => {
    await switchBackend('cpu');
  });

  it('in every layer, local ones included, every completion position may attend every image token', () => {
    const pl = new Planner(P, 0);
    const N = P.imageTokens;
    const L = N + P.maxPrompt + P.maxCompletion - 1;
    const pos = [...Array(L).keys()];
    for (let i = 0; i < P.layers; i++) {
      const m = attentionMask(pos, pos, pl.layerAttention(i))!.reshape([L, L]).arraySync() as number[][];
      for (let q = N + P.maxPrompt - 1; q < L; q++) for (let k = 0; k < N; k++) assert.equal(m[q][k], 0, `layer ${i} (window ${pl.layerWindow(i) ?? 'global'}): position ${q} cannot see image token ${k}`);
      // The window still applies to text keys in local layers, and attention stays causal for text.
      if (pl.layerWindow(i) !== undefined) assert.ok(m[L - 1][N] < -1e8, `layer ${i}: the first prompt token should be outside the window of the last position`);
      assert.ok(m[N][N + 1] < -1e8, `layer ${i}: a text token must not see a later one`);
      // Image tokens attend each other both ways (Gemma 3).
      assert.equal(m[0][N - 1], 0);
    }
    // Without the image prefix rule the same local layer would hide the image from the completion.
    const local = attentionMask(pos, pos, { causal: true, window: P.window })!.reshape([L, L]).arraySync() as number[][];
    assert.ok(local[L - 1][0] < -1e8);
  });

  it('a completion logit depends on every image region even with no global layer at all', () => {
    const pl = new Planner({ ...P, globalEvery: 99 }, 1);
    const images = tf.variable(quadrantImages([0, 3]));
    const comp = tf.tensor2d([[7, 8, 9, 2, 0, 0], [10, 2, 0, 0, 0, 0]], [2, 6], 'int32');
    const mask = tf.tensor2d([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]]);
    const g = tf.grad((x: tf.Tensor) => {
      const lp = pl.logProb({ images: x as tf.Tensor4D, ...prompts(2) }, comp, mask).perToken;
      // The last completion token of row 0 (position N + P + 2, far outside every window of 2 from the image).
      return lp.slice([0, 3], [1, 1]).sum();
    })(images);
    const a = g.abs().arraySync() as number[][][][];
    for (let qr = 0; qr < 2; qr++) {
      for (let qc = 0; qc < 2; qc++) {
        let s = 0;
        for (let r = qr * 8; r < qr * 8 + 8; r++) for (let c = qc * 8; c < qc * 8 + 8; c++) for (let k = 0; k < 3; k++) s += a[0][r][c][k];
        assert.ok(s > 1e-6, `image quadrant (${qr}, ${qc}): gradient ${s}`);
      }
    }
    assert.equal((a[1] as number[][][]).flat(2).reduce((x, y) => x + y, 0), 0, 'row 1 image does not affect row 0');
  });

  it('overfits labels that only the image determines (same prompt, four images, four completions)', async function () {
    this.timeout(120000);
    await switchBackend('wasm');
    const pl = new Planner(P, 2);
    const qs = [0, 1, 2, 3, 0, 1, 2, 3];
    const images = quadrantImages(qs);
    const rows = qs.map((q) => [[7, 8, 2], [9, 10, 2], [11, 8, 2], [12, 13, 2]][q]);
    const comp = tf.tensor2d(rows.map((r) => [...r, 0, 0, 0]).flat(), [qs.length, 6], 'int32');
    const mask = tf.tensor2d(rows.map(() => [1, 1, 1, 0, 0, 0]).flat(), [qs.length, 6]);
    const inp = { images, ...prompts(qs.length) };
    const loss = () => pl.logProb(inp, comp, mask).perToken.sum().neg().div(mask.sum()) as tf.Scalar;
    const opt = tf.train.adam(3e-3);
    const first = tf.tidy(() => loss().dataSync()[0]);
    let last = first;
    for (let i = 0; i < 400 && last > 0.02; i++) last = (opt.minimize(loss, true, [...pl.params.values()]) as tf.Scalar).dataSync()[0];
    assert.ok(last < 0.05, `loss ${first} → ${last}`);
    const out = pl.generate(inp, { maxNew: 4, temperature: 0 });
    assert.deepEqual(out, rows.map((r) => r.slice(0, 2)), 'greedy completions follow the image');
    // And with the cache off the same (the prefix rule holds in generation steps too).
    assert.deepEqual(pl.generate(inp, { maxNew: 4, temperature: 0, useCache: false }), out);
    await switchBackend('cpu');
  });
});
