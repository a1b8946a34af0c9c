/**
 * `npm run bench -- models`: forward and training-step throughput (samples/s) of each model at the small preset on
 * the active backend, and planner generation tokens/s with and without the key/value cache (target: ≥ 3× with the
 * cache at 32 new tokens).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { getPreset } from '../src/experiments/presets';
import { GroundingModel } from '../src/models/grounding';
import { Planner } from '../src/models/planner';
import { Policy } from '../src/models/policy';
import { flowMatchingLoss, symmetricInfoNCE } from '../src/train/losses';
import { Rng } from '../src/util/rng';
import { median, printTable, timeIt, writeResults } from './util';

export async function run(): Promise<void> {
  const info = await initBackend();
  const M = getPreset('small').models;
  const B = 32;
  const rng = new Rng(0);
  const img = (n: number, s: number) => tf.tensor4d(Float32Array.from({ length: n * s * s * 3 }, () => rng.random()), [n, s, s, 3]);
  const ids = (n: number, L: number, V: number) => tf.tensor2d(Int32Array.from({ length: n * L }, () => 5 + rng.int(V - 5)), [n, L], 'int32');
  const rows: Record<string, string | number>[] = [];
  const bench = async (name: string, params: Map<string, tf.Variable>, loss: () => tf.Scalar) => {
    const fwd = median(await timeIt(() => tf.tidy(() => loss().dataSync()), 5, 1));
    const opt = tf.train.adam(1e-4);
    const vars = [...params.values()];
    const step = median(await timeIt(() => (opt.minimize(loss, true, vars) as tf.Scalar).dataSync(), 5, 1));
    rows.push({ model: name, 'forward samples/s': B / fwd, 'train samples/s': B / step });
  };
  const g = new GroundingModel(M.grounding, 0);
  const gb = { images: img(B, 64), trajectories: tf.tensor3d(rng.normals(B * M.grounding.trajectoryLength * 4, 0.05), [B, M.grounding.trajectoryLength, 4]), trajectoryMask: tf.ones([B, M.grounding.trajectoryLength]) as tf.Tensor2D };
  const gt = ids(B, 16, M.grounding.vocab);
  await bench('grounding (action)', g.params, () => symmetricInfoNCE(g.encodeVisionAction(gb), g.encodeText(gt, tf.ones(gt.shape) as tf.Tensor2D), g.scale()));
  const pl = new Planner(M.planner, 0);
  const inp = { images: img(B, 64), promptIds: ids(B, M.planner.maxPrompt, M.planner.vocab), promptMask: tf.ones([B, M.planner.maxPrompt]) as tf.Tensor2D };
  const comp = ids(B, M.planner.maxCompletion, M.planner.vocab);
  await bench('planner (SFT)', pl.params, () => pl.logProb(inp, comp, tf.ones(comp.shape) as tf.Tensor2D).mean.mean().neg() as tf.Scalar);
  const po = new Policy(M.policy, 0);
  const pin = { images: img(B, 64), textIds: ids(B, M.policy.maxText, M.policy.vocab), textMask: tf.ones([B, M.policy.maxText]) as tf.Tensor2D, state: tf.fill([B, 2], 0.3) as tf.Tensor2D };
  const acts = tf.tensor3d(rng.normals(B * M.policy.chunk * 2, 0.02), [B, M.policy.chunk, 2]);
  const noise = tf.tensor3d(rng.normals(B * M.policy.chunk * 2), [B, M.policy.chunk, 2]);
  const tt = tf.fill([B], 0.5) as tf.Tensor1D;
  await bench('policy (flow matching)', po.params, () => {
    const r = po.flowMatching(pin, acts, noise, tt);
    return flowMatchingLoss(r.pred, r.target);
  });
  printTable(rows);
  // Generation of up to 32 new tokens (rows may stop early at <eos>): tokens/s counts the tokens actually produced.
  const gen: Record<string, string | number>[] = [];
  const Pg = new Planner({ ...M.planner, maxCompletion: 40 }, 1);
  const gi = { images: img(8, 64), promptIds: ids(8, M.planner.maxPrompt, M.planner.vocab), promptMask: tf.ones([8, M.planner.maxPrompt]) as tf.Tensor2D };
  for (const useCache of [true, false]) {
    let tokens = 0;
    const secs = median(await timeIt(() => {
      const out = Pg.generate(gi, { maxNew: 32, temperature: 1, rng: new Rng(3), useCache });
      tokens = out.reduce((a, o) => a + o.length, 0);
    }, 3, 1));
    gen.push({ generation: useCache ? 'with KV cache' : 'without cache', 'tokens/s': tokens / secs, 'tokens': tokens });
  }
  printTable(gen);
  const speedup = (gen[0]['tokens/s'] as number) / (gen[1]['tokens/s'] as number);
  console.log(`cache speed-up at 32 new tokens: ${speedup.toFixed(1)}× (target ≥ 3×) · backend ${info.name}`);
  console.log(`written ${writeResults('models', { backend: info.name, rows, generation: gen, cacheSpeedup: speedup })}`);
}
