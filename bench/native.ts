/**
 * `npm run bench -- native [--rounds R] [--steps N] [--drift N]`: the grounding-model training step (small preset, as in
 * bench/grounding-step.ts) on wasm alone (XNNPACK products, stock element-wise kernels), with the native addon's built-in
 * kernels at 1 and 2 threads, and with OpenBLAS products at 1 and 2 threads where it loads; alternating within each
 * round, medians.
 * Also checks that every native path gives the wasm-only losses over `--drift N` steps (default 100) from the same
 * weights. Writes bench/results/native.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src/backend';
import { activeNativeBlas, loadNativeBlas, nativeBlasReason, restoreNativeDefaults, selectNativeKernel, setNativeBlasEnabled } from '../src/backend/native-blas';
import { exportSetup, makeStep } from './grounding-step';
import { intArg, median, printTable, writeResults } from './util';

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: number) => intArg(args, name, def);
  const rounds = opt('--rounds', 3);
  const steps = opt('--steps', 10);
  const driftSteps = opt('--drift', 100);
  const backend = await initBackend();
  console.log(describeBackend(backend));
  if (backend.name !== 'wasm' || !loadNativeBlas()) {
    throw new Error(`the native path is not available here: ${nativeBlasReason() ?? `backend is ${backend.name}`}`);
  }
  const hasOpenBlas = selectNativeKernel('openblas') !== null;
  type Variant = { label: string; native: boolean; kernel: 'builtin' | 'openblas'; threads: number };
  const variants: Variant[] = [
    { label: 'wasm only (XNNPACK)', native: false, kernel: 'builtin', threads: 1 },
    { label: 'wasm + addon (built-in kernels)', native: true, kernel: 'builtin', threads: 1 },
    { label: 'wasm + addon (built-in kernels), 2 threads', native: true, kernel: 'builtin', threads: 2 },
    ...(hasOpenBlas
      ? ([
          { label: 'wasm + addon + OpenBLAS, 1 thread', native: true, kernel: 'openblas', threads: 1 },
          { label: 'wasm + addon + OpenBLAS, 2 threads', native: true, kernel: 'openblas', threads: 2 },
        ] as Variant[])
      : []),
  ];
  const use = (v: Variant) => {
    setNativeBlasEnabled(v.native);
    if (v.native) selectNativeKernel(v.kernel);
    if (v.native) activeNativeBlas()!.setThreads(v.threads);
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-native-'));
  try {
    // No numerical drift: same-seed losses on every path over `driftSteps` steps from the same initial weights.
    const losses: Record<string, number[]> = {};
    for (const v of variants) {
      use(v);
      const s = exportSetup(dir);
      const st = makeStep(s);
      losses[v.label] = Array.from({ length: driftSteps }, () => st.step());
      st.dispose();
      s.model.dispose();
      tf.dispose(Object.values(s.batch));
    }
    const reference = losses[variants[0].label];
    const drift: Record<string, number> = {};
    for (const [label, ls] of Object.entries(losses).slice(1)) {
      drift[label] = Math.max(...reference.map((l, i) => Math.abs(l - ls[i])));
      console.log(`losses over ${driftSteps} steps, ${label} vs wasm only: max |Δ| = ${drift[label].toExponential(2)} (first ${reference[0].toFixed(4)}, last ${reference[driftSteps - 1].toFixed(4)})`);
    }

    const s = exportSetup(dir);
    const st = makeStep(s);
    const rate: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.label, [] as number[]]));
    for (const v of variants) {
      use(v);
      st.step();
    }
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        use(v);
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < steps; i++) st.step();
        rate[v.label].push(steps / (Number(process.hrtime.bigint() - t0) / 1e9));
      }
      console.error(`round ${r + 1}/${rounds}: ${variants.map((v) => `${v.label} ${rate[v.label][r].toFixed(2)}`).join(', ')} steps/s`);
    }
    restoreNativeDefaults();
    const base = median(rate[variants[0].label]);
    printTable(variants.map((v) => ({ path: v.label, 'steps/s (median)': median(rate[v.label]), speedup: median(rate[v.label]) / base })));
    const file = writeResults('native', { backend: describeBackend(backend), rounds, steps, driftSteps, maxLossDiff: drift, losses, stepsPerSecond: rate });
    console.log(`wrote ${file}`);
    st.dispose();
    s.model.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
