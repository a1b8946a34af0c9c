/**
 * `npm run bench -- peer [--rounds R] [--steps N] [--isa avx2] [--quick] [--grounding-only] [--no-workers]`: our training steps against the same steps in
 * PyTorch on this CPU, at the small preset's sizes: the grounding model's (bench/peer/grounding.py; batch 48, 64×64
 * images, 32-step trajectories), then the planner's SFT and SimPO steps (bench/peer/planner.ts + planner.py).
 *
 * 1. Export: the model's initial weights and one fixed batch as safetensors, plus the config and optimiser settings.
 * 2. Parity: 5 AdamW steps on that batch here and in PyTorch; the losses must agree to 1e-4, or the comparison is void.
 * 3. Speed: A B A B … per round: each of our variants (wasm only; wasm + the addon's built-in kernels; + OpenBLAS at
 *    1 and 2 threads when it loads; for the grounding step also two data-parallel workers, unless --no-workers), then
 *    PyTorch with 2 threads, then with 1 thread; R rounds of N timed steps after warm-up, medians.
 *    The batch is fixed and already in memory on both sides, so only the step is timed. PyTorch runs with the fair
 *    settings of stack.md (OpenBLAS, its AVX-512 kernels, malloc thresholds) and single-threaded OpenBLAS under
 *    torch's own threads (nesting both oversubscribes the cores).
 *
 * The last line is `default-install ratio: grounding R, planner-sft R, planner-simpo R`: the "default install" variant
 * (what the README's set-up gives on this machine: the addon with the library and thread count it picks by itself)
 * over PyTorch's 2 threads, medians of this run. `--isa avx2` measures an AVX2-only CPU on a machine with more: the
 * addon's AVX2 code paths (GPLA_NATIVE_ISA=avx2), OpenBLAS's Haswell kernels on both sides (OPENBLAS_CORETYPE), and
 * writes bench/results/peer-avx2.json. `--quick` times only the default install and PyTorch. Runs on any CPU: the
 * settings it cannot use here (e.g. SkylakeX kernels without AVX-512) are printed as skipped, with the reason.
 *
 * PyTorch comes from Debian (python3-torch 1.13 with libopenblas0-pthread): the bench installs it with apt-get when it
 * is missing and it may (root), and otherwise says how. It is a benchmark dependency, never the package's.
 * Writes bench/results/peer.json (peer-avx2.json with --isa avx2).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src/backend';
import { getPreset } from '../src/experiments/presets';
import { activeNativeBlas, blasThreads, loadNativeBlas, nativeBlasReason, openBlasMissingReason, restoreNativeDefaults, selectNativeKernel, setNativeBlasEnabled } from '../src/backend/native-blas';
import { createParallelStep } from './parallel';
import { exportSetup, makeStep, matchOpenBlasKernels } from './grounding-step';
import { printPlannerPeer, runPlannerPeer } from './peer/planner';
import { cpuFlags, defaultTorchRun, ensureTorch, hasAvx2, setPeerKind, TORCH_PEERS, torchVersion, type OursVariant, type PeerSettings } from './peer/torch';
import { intArg, median, printTable, writeResults } from './util';

const SCRIPT = path.join(__dirname, 'peer', 'grounding.py');
const PARITY_STEPS = 5;
const PARITY_TOLERANCE = 1e-4;
const torchRun = (dir: string, args: string[], threads: number, blasThreads = 1) => defaultTorchRun(SCRIPT, dir, args, threads, blasThreads);

/**
 * Our variants: wasm alone (XNNPACK, as without a C compiler) always; wasm + the addon's built-in kernels (what a plain
 * `npm install` with a C compiler gives) at 1 and 2 threads (GPLA_BLAS_THREADS) when the addon is built; + OpenBLAS
 * (1 and 2 threads) when it loads. With 2 threads the addon's own kernels also split their work with a helper thread.
 */
function oursVariants(): OursVariant[] {
  const plain: OursVariant = { label: 'ours, wasm only', use: () => setNativeBlasEnabled(false) };
  if (!loadNativeBlas()) return [plain];
  const builtin = (threads: number): OursVariant => ({
    label: `ours, wasm + addon (built-in kernels), ${threads} thread${threads > 1 ? 's' : ''}`,
    use: () => {
      setNativeBlasEnabled(true);
      selectNativeKernel('builtin');
      activeNativeBlas()!.setThreads(threads);
    },
  });
  const openBlas = selectNativeKernel('openblas');
  if (!openBlas) return [plain, builtin(1), builtin(2)];
  const withBlas = (threads: number): OursVariant => ({
    label: `ours, wasm + addon + OpenBLAS ${threads} thread${threads > 1 ? 's' : ''}`,
    use: () => {
      setNativeBlasEnabled(true);
      selectNativeKernel('openblas');
      activeNativeBlas()!.setThreads(threads);
    },
  });
  return [plain, builtin(1), builtin(2), withBlas(1), withBlas(2)];
}

/** What the README's set-up gives: the addon as it loads by itself (OpenBLAS when installed, GPLA_BLAS_THREADS's default). */
function defaultVariant(): OursVariant {
  const info = loadNativeBlas();
  if (!info) return { label: `ours, default install (wasm only: ${nativeBlasReason()})`, use: () => setNativeBlasEnabled(false) };
  restoreNativeDefaults();
  const now = activeNativeBlas() ? loadNativeBlas()! : info;
  const what = now.library === 'built-in' ? `built-in kernels (${now.isa})` : `OpenBLAS ${now.coretype}, element-wise ${now.isa}`;
  return { label: `ours, default install (addon, ${what}, ${now.threads} thread${now.threads > 1 ? 's' : ''})`, use: () => restoreNativeDefaults() };
}

/**
 * Two data-parallel worker threads (src/train/data-parallel.ts, one per core; exact InfoNCE over the whole batch), on
 * the addon's built-in kernels and on OpenBLAS (1 thread per worker) where it loads. The addon's choice of product
 * library is process-wide, so switching it here switches the workers too.
 */
function parallelVariants(): OursVariant[] {
  if (!loadNativeBlas()) return [];
  const out: OursVariant[] = [
    {
      label: 'ours, 2 data-parallel workers, addon (built-in kernels)',
      use: () => {
        selectNativeKernel('builtin');
        activeNativeBlas()?.setThreads(1);
      },
    },
  ];
  if (selectNativeKernel('openblas')) {
    out.push({
      label: 'ours, 2 data-parallel workers, addon + OpenBLAS (1 thread each)',
      use: () => {
        selectNativeKernel('openblas');
        activeNativeBlas()?.setThreads(1);
      },
    });
  }
  return out;
}


export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: number) => intArg(args, name, def);
  const rounds = opt('--rounds', 3);
  const steps = opt('--steps', 20);
  const skipPlanner = args.includes('--grounding-only');
  const quick = args.includes('--quick');
  const isaAt = args.indexOf('--isa');
  const isa = isaAt >= 0 ? args[isaAt + 1] : 'native';
  if (isa !== 'native' && isa !== 'avx2') throw new Error(`bench peer: --isa must be avx2 (or absent for this CPU's own kind), got "${isa}"`);
  const peer: PeerSettings = setPeerKind(isa);
  if (isa === 'avx2') {
    if (!hasAvx2(cpuFlags())) throw new Error('bench peer --isa avx2: this CPU has no AVX2 + FMA');
    process.env.GPLA_NATIVE_ISA = 'avx2'; // before the addon loads
  }
  matchOpenBlasKernels(peer);
  for (const s of peer.skipped) console.log(`skipped: ${s}`);
  ensureTorch();
  const backend = await initBackend();
  console.log(describeBackend(backend));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-peer-'));
  try {
    // ---- parity on a fresh model
    const parity = exportSetup(dir);
    const parityStep = makeStep(parity);
    const ours = Array.from({ length: PARITY_STEPS }, () => parityStep.step());
    torchRun(dir, ['parity', String(PARITY_STEPS)], 1);
    const theirs = (JSON.parse(fs.readFileSync(path.join(dir, 'torch-losses.json'), 'utf8')) as { losses: number[] }).losses;
    const diffs = ours.map((l, i) => Math.abs(l - theirs[i]));
    printTable(ours.map((l, i) => ({ step: i + 1, 'loss (ours)': l.toFixed(6), 'loss (PyTorch)': theirs[i].toFixed(6), '|Δ|': diffs[i].toExponential(2) })));
    const maxDiff = Math.max(...diffs);
    if (!(maxDiff <= PARITY_TOLERANCE)) throw new Error(`parity failed: losses differ by up to ${maxDiff} (> ${PARITY_TOLERANCE}); the speed comparison would compare different computations`);
    console.log(`parity: ${PARITY_STEPS} steps agree within ${maxDiff.toExponential(2)} (tolerance ${PARITY_TOLERANCE})\n`);
    parityStep.dispose();
    parity.model.dispose();
    tf.dispose(Object.values(parity.batch));

    // ---- speed, alternating
    const byDefault = defaultVariant();
    const variants = [byDefault, ...(quick ? [] : oursVariants())];
    const withWorkers = quick || args.includes('--no-workers') ? [] : parallelVariants();
    const timed = exportSetup(dir);
    const timedStep = makeStep(timed);
    const step = timedStep.step;
    for (let i = 0; i < 3; i++) step();
    const peers = TORCH_PEERS;
    // Data-parallel workers (grounding only), from the timed setup's weights, before any timed step.
    const parallel = withWorkers.length ? await createParallelStep(timed, 2, backend.name) : null;
    const rate: Record<string, number[]> = Object.fromEntries([...variants.map((v) => v.label), ...withWorkers.map((v) => v.label), ...peers.map((p) => p.label)].map((k) => [k, [] as number[]]));
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        v.use();
        step(); // one untimed step after a switch
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < steps; i++) step();
        rate[v.label].push(steps / (Number(process.hrtime.bigint() - t0) / 1e9));
      }
      for (const v of parallel ? withWorkers : []) {
        v.use();
        await parallel!.step(); // one untimed step after a switch
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < steps; i++) await parallel!.step();
        rate[v.label].push(steps / (Number(process.hrtime.bigint() - t0) / 1e9));
      }
      for (const p of peers) {
        const out = JSON.parse(torchRun(dir, ['time', String(steps), String(p.torch)], p.torch, p.blas)) as { stepsPerSecond: number };
        rate[p.label].push(out.stepsPerSecond);
      }
      console.error(`round ${r + 1}/${rounds}: ${Object.entries(rate).map(([k, v]) => `${k} ${v[r].toFixed(2)}`).join(', ')} steps/s`);
    }
    timedStep.dispose();
    await parallel?.trainer.dispose();
    timed.model.dispose();
    const med = Object.fromEntries(Object.entries(rate).map(([k, v]) => [k, median(v)]));
    const torch2 = med['PyTorch, 2 threads'];
    console.log(`\ngrounding-model training step, small preset (batch ${getPreset('small').schedule.grounding.batchSize}), ${rounds} rounds × ${steps} steps`);
    printTable(Object.entries(med).map(([who, v]) => ({ implementation: who, 'steps/s (median)': v, '÷ PyTorch 2 threads': v / torch2 })));

    // ---- the planner's SFT and SimPO steps (bench/peer/planner.ts), same variants and peers
    const planner = skipPlanner ? null : await runPlannerPeer({ rounds, steps, ours: variants });
    if (planner) printPlannerPeer(planner);
    // Leave the process on its default path.
    restoreNativeDefaults();

    const ratios = {
      grounding: med[byDefault.label] / torch2,
      plannerSft: planner ? planner.sft.median[byDefault.label] / planner.sft.median['PyTorch, 2 threads'] : NaN,
      plannerSimpo: planner ? planner.simpo.median[byDefault.label] / planner.simpo.median['PyTorch, 2 threads'] : NaN,
    };
    const file = writeResults(isa === 'native' ? 'peer' : `peer-${isa}`, {
      kind: isa, cpuFlags: [...cpuFlags()].filter((f) => /^(avx|fma|sse4)/.test(f)).sort(),
      backend: backend.name, backendVersion: backend.version, nativeBlas: backend.nativeBlas ?? null, nativeBlasReason: nativeBlasReason(),
      openBlasMissingReason: openBlasMissingReason(), defaultThreads: blasThreads(), defaultInstall: { label: byDefault.label, ratioTo2Threads: ratios },
      torch: torchVersion(), peerEnvironment: peer.env, skipped: peer.skipped, rounds, steps,
      parity: { steps: PARITY_STEPS, ours, pytorch: theirs, maxAbsDiff: maxDiff },
      grounding: { stepsPerSecond: rate, median: med, ratioTo2Threads: Object.fromEntries([...variants, ...withWorkers].map((v) => [v.label, med[v.label] / torch2])), ratioTo1Thread: Object.fromEntries([...variants, ...withWorkers].map((v) => [v.label, med[v.label] / med['PyTorch, 1 thread']])), peers },
      planner,
    });
    console.log(`wrote ${file}`);
    for (const s of peer.skipped) console.log(`skipped: ${s}`);
    const r = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a (--grounding-only)');
    console.log(`default-install ratio: grounding ${r(ratios.grounding)}, planner-sft ${r(ratios.plannerSft)}, planner-simpo ${r(ratios.plannerSimpo)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
