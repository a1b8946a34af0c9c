/**
 * `npm run bench -- native [--rounds R] [--steps N] [--drift N]`: the grounding-model training step (small preset, as in
 * bench/peer.ts) with matrix products on XNNPACK (plain wasm) and on OpenBLAS through the native addon at 1 and 2
 * threads, alternating within each round, medians. Also checks that both paths give the same losses over
 * `--drift N` steps (default 100) from the same weights.
 * Writes bench/results/native.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src/backend';
import { activeNativeBlas, loadNativeBlas, nativeBlasReason, setNativeBlasEnabled } from '../src/backend/native-blas';
import { exportSetup, makeStep } from './peer';
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
  const native = activeNativeBlas()!;
  const variants = [
    { label: 'wasm (XNNPACK)', native: false, threads: 1 },
    { label: 'wasm + OpenBLAS, 1 thread', native: true, threads: 1 },
    { label: 'wasm + OpenBLAS, 2 threads', native: true, threads: 2 },
  ];
  const use = (v: (typeof variants)[number]) => {
    setNativeBlasEnabled(v.native);
    native.setThreads(v.threads);
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-native-'));
  try {
    // No numerical drift: same-seed losses on both paths over `driftSteps` steps from the same initial weights.
    const losses: Record<string, number[]> = {};
    for (const v of [variants[0], variants[1]]) {
      use(v);
      const s = exportSetup(dir);
      const st = makeStep(s);
      losses[v.label] = Array.from({ length: driftSteps }, () => st.step());
      st.dispose();
      s.model.dispose();
      tf.dispose(Object.values(s.batch));
    }
    const maxDiff = Math.max(...losses[variants[0].label].map((l, i) => Math.abs(l - losses[variants[1].label][i])));
    console.log(`losses over ${driftSteps} steps, XNNPACK vs OpenBLAS: max |Δ| = ${maxDiff.toExponential(2)} (first ${losses[variants[0].label][0].toFixed(4)}, last ${losses[variants[0].label][driftSteps - 1].toFixed(4)})`);

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
    use({ label: '', native: true, threads: 1 });
    const base = median(rate[variants[0].label]);
    printTable(variants.map((v) => ({ path: v.label, 'steps/s (median)': median(rate[v.label]), speedup: median(rate[v.label]) / base })));
    const file = writeResults('native', { backend: describeBackend(backend), rounds, steps, driftSteps, maxLossDiff: maxDiff, lossesXnnpack: losses[variants[0].label], lossesOpenBlas: losses[variants[1].label], stepsPerSecond: rate });
    console.log(`wrote ${file}`);
    st.dispose();
    s.model.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
