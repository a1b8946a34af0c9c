/**
 * `npm run bench -- profile [--steps N] [--isa avx2]`: where the grounding model's training step (small preset, the
 * step of `bench peer`) spends its time, by kernel, on each product path this machine has (XNNPACK; the native addon's
 * built-in kernel; OpenBLAS through the addon when it loads), at GPLA_BLAS_THREADS's threads (default 2 on ≥ 2 cores).
 * `--isa avx2` profiles an AVX2-only CPU as `bench peer --isa avx2` does (the addon's AVX2 code paths, OpenBLAS's
 * Haswell kernels) and writes profile-avx2.json.
 *
 * Every kernel the engine runs is timed with the wall clock around the backend call (the wasm backend is synchronous,
 * so this is its real cost); what is left of the step (autodiff bookkeeping, tensor creation and disposal, JS) is the
 * "outside kernels" row. Writes bench/results/profile.json.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeBackend, initBackend } from '../src/backend';
import { blasThreads, loadNativeBlas, restoreNativeDefaults, selectNativeKernel, setNativeBlasEnabled } from '../src/backend/native-blas';
import { exportSetup, makeStep, matchOpenBlasKernels } from './grounding-step';
import { peerSettings } from './peer/torch';
import { intArg, printTable, writeResults } from './util';

interface KernelTotals {
  ms: number;
  calls: number;
}

/** Wraps every registered kernel function of `backendName` with a timer; returns the totals and an undo. */
export function instrumentKernels(backendName: string): { totals: Map<string, KernelTotals>; restore: () => void } {
  const totals = new Map<string, KernelTotals>();
  const undo: (() => void)[] = [];
  for (const k of tf.getKernelsForBackend(backendName)) {
    const original = k.kernelFunc;
    const timed: tf.KernelFunc = (params) => {
      const t0 = process.hrtime.bigint();
      const out = original(params);
      const t = totals.get(k.kernelName) ?? { ms: 0, calls: 0 };
      t.ms += Number(process.hrtime.bigint() - t0) / 1e6;
      t.calls++;
      totals.set(k.kernelName, t);
      return out;
    };
    (k as { kernelFunc: tf.KernelFunc }).kernelFunc = timed;
    undo.push(() => ((k as { kernelFunc: tf.KernelFunc }).kernelFunc = original));
  }
  return { totals, restore: () => undo.forEach((f) => f()) };
}

export async function run(args: string[]): Promise<void> {
  const steps = intArg(args, '--steps', 10);
  const isaAt = args.indexOf('--isa');
  const isa = isaAt >= 0 ? args[isaAt + 1] : 'native';
  if (isa !== 'native' && isa !== 'avx2') throw new Error(`bench profile: --isa must be avx2 (or absent for this CPU's own kind), got "${isa}"`);
  const peer = peerSettings(isa);
  if (isa === 'avx2') process.env.GPLA_NATIVE_ISA = 'avx2'; // before the addon loads
  matchOpenBlasKernels(peer);
  const backend = await initBackend();
  console.log(describeBackend(backend));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-profile-'));
  const results: Record<string, unknown> = {};
  try {
    const setup = exportSetup(dir);
    const { step, dispose } = makeStep(setup);
    const paths: [string, () => boolean][] = [
      ['wasm (XNNPACK products)', () => (setNativeBlasEnabled(false), true)],
      ['wasm + built-in native products', () => (setNativeBlasEnabled(true), selectNativeKernel('builtin') !== null)],
      ['wasm + OpenBLAS products', () => (setNativeBlasEnabled(true), selectNativeKernel('openblas') !== null)],
    ];
    for (const [label, use] of paths) {
      if (!use()) {
        console.log(`\n${label}: not available here`);
        continue;
      }
      for (let i = 0; i < 2; i++) step();
      const { totals, restore } = instrumentKernels(tf.getBackend());
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < steps; i++) step();
      const stepMs = Number(process.hrtime.bigint() - t0) / 1e6 / steps;
      restore();
      const rows = [...totals.entries()].map(([kernel, t]) => ({ kernel, msPerStep: t.ms / steps, callsPerStep: t.calls / steps })).sort((a, b) => b.msPerStep - a.msPerStep);
      const inKernels = rows.reduce((s, r) => s + r.msPerStep, 0);
      console.log(`\n${label}: ${stepMs.toFixed(1)} ms per step (${(1000 / stepMs).toFixed(2)} steps/s, timers included), ${rows.reduce((s, r) => s + r.callsPerStep, 0).toFixed(0)} kernels per step`);
      printTable([
        ...rows.slice(0, 20).map((r) => ({ kernel: r.kernel, 'ms/step': r.msPerStep, calls: Math.round(r.callsPerStep), share: `${((100 * r.msPerStep) / stepMs).toFixed(1)}%` })),
        { kernel: `(${Math.max(0, rows.length - 20)} more kernels)`, 'ms/step': rows.slice(20).reduce((s, r) => s + r.msPerStep, 0), calls: Math.round(rows.slice(20).reduce((s, r) => s + r.callsPerStep, 0)), share: '' },
        { kernel: 'outside kernels', 'ms/step': stepMs - inKernels, calls: 0, share: `${((100 * (stepMs - inKernels)) / stepMs).toFixed(1)}%` },
      ]);
      results[label] = { msPerStep: stepMs, kernels: rows, outsideKernelsMs: stepMs - inKernels };
    }
    dispose();
    setup.model.dispose();
    tf.dispose(Object.values(setup.batch));
    restoreNativeDefaults();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const isaInUse = loadNativeBlas()?.isa ?? null;
  console.log(`wrote ${writeResults(isa === 'native' ? 'profile' : `profile-${isa}`, { kind: isa, nativeIsa: isaInUse, openBlasCoretype: process.env.OPENBLAS_CORETYPE ?? null, backend: backend.name, threads: blasThreads(), steps, paths: results })}`);
}
