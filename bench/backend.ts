/**
 * `npm run bench -- backend [--preset tiny|small|paper]`: float32 matmul GFLOP/s (plain, Aᵀ·B, A·Bᵀ, batched) at 512³
 * and 1024³, and training steps/s of the reference model (d_model 128, 2 layers, batch 16, seq 32, 64×64 images, Adam)
 * on every backend available here; then, for wasm and webgpu (where Dawn reports an adapter), the products at the
 * models' sizes and one AdamW training step of each model at the preset (default small; tiny on a software adapter).
 * Target (issue 2): wasm step ≥ 50× the stock cpu backend; transposed/batched products within 1.5× of the plain
 * product's GFLOP/s. On lavapipe (Mesa's CPU Vulkan) the webgpu rows prove that it runs, not how fast a GPU is.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, switchBackend, type BackendName } from '../src/backend';
import { initReferenceModel, referenceBatch, referenceLoss, REFERENCE_MODEL } from '../src/backend/reference-model';
import { adapterLine, probeWebGpu } from '../src/backend/webgpu';
import { getPreset } from '../src/experiments/presets';
import { GroundingModel } from '../src/models/grounding';
import { Planner } from '../src/models/planner';
import { Policy } from '../src/models/policy';
import { flowMatchingLoss, symmetricInfoNCE } from '../src/train/losses';
import { AdamW } from '../src/train/optim';
import { Rng } from '../src/util/rng';
import { median, printTable, timeIt, writeResults } from './util';

const BATCH = 4; // batch count for the batched product

async function matmulGflops(n: number, kind: 'plain' | 'AtB' | 'ABt' | 'batched', reps: number): Promise<number> {
  const shapeA = kind === 'batched' ? [BATCH, n, n] : [n, n];
  const a = tf.randomNormal(shapeA, 0, 1, 'float32', 1);
  const b = tf.randomNormal(shapeA, 0, 1, 'float32', 2);
  const op = () => {
    const c = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, kind === 'AtB', kind === 'ABt');
    c.dataSync();
    c.dispose();
  };
  const secs = median(await timeIt(op, reps, 1));
  tf.dispose([a, b]);
  const flops = 2 * n * n * n * (kind === 'batched' ? BATCH : 1);
  return flops / secs / 1e9;
}

async function trainStepsPerSecond(steps: number): Promise<number> {
  const cfg = REFERENCE_MODEL;
  const p = initReferenceModel(cfg, 0);
  const { tokens, images } = referenceBatch(cfg, 16, 1);
  const opt = tf.train.adam(1e-3);
  const vars = Object.values(p);
  const step = () => {
    const loss = opt.minimize(() => referenceLoss(cfg, p, tokens, images), true, vars);
    loss!.dataSync();
    loss!.dispose();
  };
  const secs = median(await timeIt(step, steps, 2));
  tf.dispose([tokens, images]);
  opt.dispose();
  for (const v of vars) v.dispose();
  return 1 / secs;
}

/** GFLOP/s of one [m, k]·[k, n] product, and one training step's seconds of each model, at a preset (batch 16). */
async function modelRow(presetName: string, reps: number): Promise<Record<string, number>> {
  const M = getPreset(presetName).models;
  const B = 16;
  const row: Record<string, number> = {};
  // The widest product of each model's blocks: its MLP's first layer over every token of the batch.
  const gTokens = (M.grounding.image / M.grounding.patch) ** 2;
  const pTokens = M.planner.imageTokens + M.planner.maxPrompt + M.planner.maxCompletion;
  const products: [string, number, number, number][] = [
    ['grounding mlp', B * gTokens, M.grounding.vision.width, M.grounding.vision.mlp],
    ['planner mlp', B * pTokens, M.planner.width, M.planner.mlp],
    ['policy mlp', B * (M.policy.maxText + (M.policy.image / M.policy.patch) ** 2), M.policy.backbone.width, M.policy.backbone.mlp],
  ];
  for (const [name, m, k, n] of products) {
    const a = tf.randomNormal([m, k], 0, 1, 'float32', 1);
    const b = tf.randomNormal([k, n], 0, 1, 'float32', 2);
    const secs = median(await timeIt(() => tf.tidy(() => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D).dataSync()), reps * 4, 1));
    row[`${name} ${m}x${k}x${n} GFLOP/s`] = (2 * m * k * n) / secs / 1e9;
    tf.dispose([a, b]);
  }
  const rng = new Rng(0);
  const img = (s: number) => tf.tensor4d(Float32Array.from({ length: B * s * s * 3 }, () => rng.random()), [B, s, s, 3]);
  const ids = (L: number, V: number) => tf.tensor2d(Int32Array.from({ length: B * L }, () => 5 + rng.int(V - 5)), [B, L], 'int32');
  const step = async (name: string, params: Map<string, tf.Variable>, loss: () => tf.Scalar) => {
    const opt = new AdamW();
    const vars = [...params.values()];
    const once = () => {
      const { value, grads } = tf.variableGrads(loss, vars);
      const byName: Record<string, tf.Tensor> = {};
      for (const [n, v] of params) byName[n] = grads[v.name];
      opt.step(params, byName, 1e-4);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    };
    row[`${name} step ms`] = 1000 * median(await timeIt(once, reps, 1));
    opt.dispose();
    for (const v of vars) v.dispose();
  };
  const g = new GroundingModel(M.grounding, 0);
  const L = M.grounding.trajectoryLength;
  const gb = { images: img(M.grounding.image), trajectories: tf.tensor3d(rng.normals(B * L * 4, 0.05), [B, L, 4]), trajectoryMask: tf.ones([B, L]) as tf.Tensor2D };
  const gt = ids(16, M.grounding.vocab);
  await step('grounding', g.params, () => symmetricInfoNCE(g.encodeVisionAction(gb), g.encodeText(gt, tf.ones(gt.shape) as tf.Tensor2D), g.scale()));
  const pl = new Planner(M.planner, 0);
  const inp = { images: img(M.planner.image), promptIds: ids(M.planner.maxPrompt, M.planner.vocab), promptMask: tf.ones([B, M.planner.maxPrompt]) as tf.Tensor2D };
  const comp = ids(M.planner.maxCompletion, M.planner.vocab);
  await step('planner', pl.params, () => pl.logProb(inp, comp, tf.ones(comp.shape) as tf.Tensor2D).mean.mean().neg() as tf.Scalar);
  const po = new Policy(M.policy, 0);
  const pin = { images: img(M.policy.image), textIds: ids(M.policy.maxText, M.policy.vocab), textMask: tf.ones([B, M.policy.maxText]) as tf.Tensor2D, state: tf.fill([B, 2], 0.3) as tf.Tensor2D };
  const acts = tf.tensor3d(rng.normals(B * M.policy.chunk * M.policy.actionDim, 0.02), [B, M.policy.chunk, M.policy.actionDim]);
  const noise = tf.tensor3d(rng.normals(B * M.policy.chunk * M.policy.actionDim), [B, M.policy.chunk, M.policy.actionDim]);
  const tt = tf.fill([B], 0.5) as tf.Tensor1D;
  await step('policy', po.params, () => {
    const r = po.flowMatching(pin, acts, noise, tt);
    return flowMatchingLoss(r.pred, r.target);
  });
  tf.dispose([...Object.values(gb), gt, ...Object.values(inp), comp, ...Object.values(pin), acts, noise, tt]);
  return row;
}

export async function run(args: string[] = []): Promise<void> {
  const auto = await initBackend();
  const probe = await probeWebGpu();
  const presetArg = args.indexOf('--preset') >= 0 ? args[args.indexOf('--preset') + 1] : undefined;
  const webgpu = probe.adapter ? ['webgpu' as const] : [];
  if (probe.adapter) console.log(`webgpu adapter: ${adapterLine(probe.adapter)}`);
  else console.log(`webgpu: not available (${probe.reason})`);
  const candidates: BackendName[] = auto.name === 'tensorflow' ? ['tensorflow', ...webgpu, 'wasm', 'cpu'] : [...webgpu, 'wasm', 'cpu'];
  const rows: Record<string, string | number>[] = [];
  const results: Record<string, unknown>[] = [];
  for (const name of candidates) {
    let info;
    try {
      info = await switchBackend(name);
    } catch (e) {
      console.log(`${name}: not available (${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    // The pure-JS backend, and a software WebGPU rasteriser: fewer repetitions (they take seconds each).
    const slow = name === 'cpu' || (name === 'webgpu' && probe.adapter?.software === true);
    const row: Record<string, string | number> = { backend: name };
    for (const n of [512, 1024]) {
      for (const kind of ['plain', 'AtB', 'ABt', 'batched'] as const) {
        if (slow && n === 1024 && kind !== 'plain') continue; // minutes each on the pure-JS backend
        row[`${kind}@${n}`] = await matmulGflops(n, kind, slow ? 1 : 5);
      }
    }
    row['train steps/s'] = await trainStepsPerSecond(slow ? 2 : 20);
    rows.push(row);
    results.push({ ...row, version: info.version, addedKernels: info.addedKernels });
    console.log(`${name} done`);
  }
  console.log('\nmatmul GFLOP/s (float32; batched = 4 products) and reference-model training steps/s (batch 16):');
  printTable(rows);
  const wasm = rows.find((r) => r.backend === 'wasm');
  const cpu = rows.find((r) => r.backend === 'cpu');
  const summary: Record<string, number> = {};
  if (wasm && cpu) {
    summary.wasmOverCpuTrain = (wasm['train steps/s'] as number) / (cpu['train steps/s'] as number);
    for (const n of [512, 1024]) {
      const plain = wasm[`plain@${n}`] as number;
      summary[`worstTransposedOrBatchedRatio@${n}`] = Math.max(
        ...(['AtB', 'ABt', 'batched'] as const).map((k) => plain / (wasm[`${k}@${n}`] as number)),
      );
    }
    console.log(`\nwasm training step vs cpu: ${summary.wasmOverCpuTrain.toFixed(0)}× (target ≥ 50×)`);
    for (const n of [512, 1024]) {
      console.log(`wasm plain / slowest transposed-or-batched @${n}: ${summary[`worstTransposedOrBatchedRatio@${n}`].toFixed(2)}× (target ≤ 1.5×)`);
    }
  }
  // The models on the backends that can train them at a preset's size in reasonable time.
  const preset = presetArg ?? (probe.adapter && !probe.adapter.software ? 'small' : webgpu.length ? 'tiny' : 'small');
  const modelRows: Record<string, string | number>[] = [];
  for (const name of [...webgpu, 'wasm' as const]) {
    await switchBackend(name);
    const slow = name === 'webgpu' && probe.adapter?.software === true;
    modelRows.push({ backend: name, preset, ...(await modelRow(preset, slow ? 2 : 5)) });
    console.log(`${name} models done`);
  }
  console.log(`\nproducts at the models' sizes (the MLP's first layer over a batch of 16) and one AdamW step per model (batch 16, preset ${preset}):`);
  const transposed = Object.keys(modelRows[0]).map((k) => ({ measure: k, ...Object.fromEntries(modelRows.map((r) => [r.backend, r[k]])) }));
  printTable(transposed.filter((r) => r.measure !== 'backend') as Record<string, string | number>[]);
  console.log(`written ${writeResults('backend', { rows: results, summary, models: modelRows, webgpuAdapter: probe.adapter ?? null, webgpuReason: probe.reason ?? null })}`);
  await switchBackend(auto.name);
}
