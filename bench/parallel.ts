/**
 * `npm run bench -- parallel [--rounds R] [--steps N] [--workers W]`: the grounding-model training step at the small
 * preset (batch 48, bench/grounding-step.ts: its exported weights and fixed batch) in one process against W data-parallel
 * worker threads (src/train/data-parallel.ts; default 2, one per core).
 *
 * Both start from the same weights and take the same steps on the same batch (constant lr, no clipping, as the peer
 * bench), so their losses must agree step by step; the largest |Δ| over every step taken (warm-up and timed) is
 * reported. Timing alternates A B A B …: R rounds of N steps each after warm-up, medians. While one side runs the
 * other is idle (the workers wait on Atomics, the main thread awaits them), so neither steals the other's cores.
 * Writes bench/results/parallel.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend, type BackendName } from '../src/backend';
import { DataParallelTrainer, groundingBatchFields, groundingReplicaSpec, type HostArray } from '../src/train/data-parallel';
import { exportSetup, LR, makeStep } from './grounding-step';
import { intArg, median, printTable, writeResults } from './util';

const WARMUP = 2;
/** A round counts as clean when other processes used less than this share of one core while it ran. */
const CLEAN = 0.1;

/** Busy CPU seconds of the whole machine so far (Linux /proc/stat), or null elsewhere. */
function machineBusySeconds(): number | null {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return (user + nice + system + irq + softirq + (steal ?? 0)) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/**
 * Times `fn` and measures how much CPU other processes took meanwhile (in cores): the machine's busy time minus this
 * process's (all its threads, workers included). Other agents' work on a 2-core machine would otherwise be read as
 * our slowness, and it hurts W synchronised workers more than one process.
 */
async function timed(fn: () => Promise<void> | void): Promise<{ seconds: number; othersCores: number | null }> {
  const b0 = machineBusySeconds();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const b1 = machineBusySeconds();
  const ours = (c.user + c.system) / 1e6;
  return { seconds, othersCores: b0 === null || b1 === null ? null : Math.max(0, (b1 - b0 - ours) / seconds) };
}

/** A W-worker data-parallel step from the setup's current weights and fixed batch (as bench peer times it). */
export async function createParallelStep(setup: ReturnType<typeof exportSetup>, workers: number, backendName: BackendName): Promise<{ step: () => Promise<number>; trainer: DataParallelTrainer }> {
  const { model, batch } = setup;
  const cfg = model.config;
  const B = batch.images.shape[0];
  const host: Record<string, HostArray> = {
    images: batch.images.dataSync() as Float32Array, trajectories: batch.trajectories.dataSync() as Float32Array,
    trajectoryMask: batch.trajectoryMask.dataSync() as Float32Array, ids: batch.ids.dataSync() as Int32Array, textMask: batch.textMask.dataSync() as Float32Array,
  };
  const initial = new Map([...model.params].map(([n, v]) => [n, v.clone()] as [string, tf.Tensor]));
  try {
    const trainer = await DataParallelTrainer.create({
      workers, replica: groundingReplicaSpec({ config: cfg, seed: 0 }), batch: groundingBatchFields(cfg, B), clipNorm: 0, weights: initial, backend: backendName,
    });
    return { trainer, step: async () => (await trainer.step(host, LR)).loss };
  } finally {
    tf.dispose([...initial.values()]);
  }
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: number) => intArg(args, name, def);
  const rounds = opt('--rounds', 5);
  const steps = opt('--steps', 10);
  const workers = opt('--workers', 2);
  const backend = await initBackend();
  console.log(describeBackend(backend));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-parallel-'));
  let dp: DataParallelTrainer | null = null;
  try {
    const setup = exportSetup(dir);
    const { model, batch } = setup;
    const B = batch.images.shape[0];
    // ---- one process: bench/grounding-step.ts's step (loss, gradients, AdamW; no clipping, constant lr)
    const singleStep = makeStep(setup);
    const single = singleStep.step;

    // ---- W workers from the same weights; the batch is written into shared memory every step, as training would
    const t0 = Date.now();
    const created = await createParallelStep(setup, workers, backend.name);
    dp = created.trainer;
    const startSeconds = (Date.now() - t0) / 1000;
    const parallel = created.step;

    const lossSingle: number[] = [];
    const lossParallel: number[] = [];
    for (let i = 0; i < WARMUP; i++) {
      lossSingle.push(single());
      lossParallel.push(await parallel());
    }
    dp.timings(true);
    const rate = { single: [] as number[], parallel: [] as number[] };
    const others = { single: [] as (number | null)[], parallel: [] as (number | null)[] };
    for (let r = 0; r < rounds; r++) {
      const a = await timed(() => {
        for (let i = 0; i < steps; i++) lossSingle.push(single());
      });
      const b = await timed(async () => {
        for (let i = 0; i < steps; i++) lossParallel.push(await parallel());
      });
      rate.single.push(steps / a.seconds);
      rate.parallel.push(steps / b.seconds);
      others.single.push(a.othersCores);
      others.parallel.push(b.othersCores);
      const o = (x: number | null) => (x === null ? '?' : x.toFixed(2));
      console.error(`round ${r + 1}/${rounds}: 1 process ${rate.single[r].toFixed(2)}, ${workers} workers ${rate.parallel[r].toFixed(2)} steps/s (other processes' CPU: ${o(a.othersCores)} / ${o(b.othersCores)} cores)`);
    }
    const diffs = lossSingle.map((l, i) => Math.abs(l - lossParallel[i]));
    const maxAbsDiff = Math.max(...diffs);
    const med = { single: median(rate.single), parallel: median(rate.parallel) };
    const speedup = med.parallel / med.single;
    const roundSpeedups = rate.parallel.map((p, i) => p / rate.single[i]);
    // Rounds in which neither side shared the machine with other processes' work.
    const clean = rate.single.map((_, r) => r).filter((r) => (others.single[r] ?? 1) < CLEAN && (others.parallel[r] ?? 1) < CLEAN);
    const cleanMed = clean.length ? { single: median(clean.map((r) => rate.single[r])), parallel: median(clean.map((r) => rate.parallel[r])) } : null;
    console.log(`\ngrounding-model training step, small preset (batch ${B}), ${rounds} rounds × ${steps} steps, alternating`);
    const rows = [
      { setup: '1 process', rounds: 'all', 'steps/s (median)': med.single, 'ms/step': 1000 / med.single, speedup: 1 },
      { setup: `${workers} workers`, rounds: 'all', 'steps/s (median)': med.parallel, 'ms/step': 1000 / med.parallel, speedup },
    ];
    if (cleanMed) {
      rows.push({ setup: '1 process', rounds: `${clean.length} clean`, 'steps/s (median)': cleanMed.single, 'ms/step': 1000 / cleanMed.single, speedup: 1 });
      rows.push({ setup: `${workers} workers`, rounds: `${clean.length} clean`, 'steps/s (median)': cleanMed.parallel, 'ms/step': 1000 / cleanMed.parallel, speedup: cleanMed.parallel / cleanMed.single });
    }
    printTable(rows);
    if (!cleanMed) console.log(`no clean round: other processes used ≥ ${CLEAN} of a core in every round; the speedup above is not the machine's`);
    else if (clean.length < rounds) console.log(`${rounds - clean.length} of ${rounds} rounds shared the machine with other processes (≥ ${CLEAN} of a core); "clean" leaves them out`);
    const phases = dp.timings();
    console.log(`\nwhere a worker's step goes (ms per step, mean over the timed steps; forward + backward = step − the rest):`);
    printTable(phases.map((p, k) => ({ worker: k, step: p.step, 'forward+backward': p.step - p.wait - p.copy - p.reduce - p.update, 'barrier wait': p.wait, 'grad copy': p.copy, reduce: p.reduce, 'clip+AdamW': p.update })));
    console.log(`losses over ${lossSingle.length} steps: max |Δ| ${maxAbsDiff.toExponential(2)} (first ${lossSingle[0].toFixed(6)}, last ${lossSingle[lossSingle.length - 1].toFixed(6)})`);
    console.log(`workers started in ${startSeconds.toFixed(1)} s; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} cores`);
    const file = writeResults('parallel', {
      backend: backend.name, backendVersion: backend.version, workers, batch: B, rounds, steps, warmup: WARMUP, lr: LR,
      stepsPerSecond: rate, median: med, speedup, roundSpeedups, othersCores: others, cleanRounds: clean, cleanMedian: cleanMed,
      cleanSpeedup: cleanMed ? cleanMed.parallel / cleanMed.single : null, workerStartSeconds: startSeconds, workerPhasesMs: phases,
      parity: { steps: lossSingle.length, maxAbsDiff, single: lossSingle, parallel: lossParallel },
      loadAverage: os.loadavg(),
    });
    console.log(`wrote ${file}`);
    singleStep.dispose();
    model.dispose();
    tf.dispose(Object.values(batch));
    if (!(maxAbsDiff <= 1e-4)) throw new Error(`the ${workers}-worker losses differ from the single-process losses by up to ${maxAbsDiff}`);
  } finally {
    await dp?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
