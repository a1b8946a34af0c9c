/**
 * `npm run bench -- backend`: float32 matmul GFLOP/s (plain, Aᵀ·B, A·Bᵀ, batched) at 512³ and 1024³, and training
 * steps/s of the reference model (d_model 128, 2 layers, batch 16, seq 32, 64×64 images, Adam) on every backend
 * available here. Target (issue 2): wasm step ≥ 50× the stock cpu backend; transposed/batched products within 1.5×
 * of the plain product's GFLOP/s.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, switchBackend, type BackendName } from '../src/backend';
import { initReferenceModel, referenceBatch, referenceLoss, REFERENCE_MODEL } from '../src/backend/reference-model';
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

export async function run(): Promise<void> {
  const auto = await initBackend();
  const candidates: BackendName[] = auto.name === 'tensorflow' ? ['tensorflow', 'wasm', 'cpu'] : ['wasm', 'cpu'];
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
    const slow = name === 'cpu';
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
  console.log(`written ${writeResults('backend', { rows: results, summary })}`);
  await switchBackend(auto.name);
}
