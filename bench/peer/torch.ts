/**
 * The PyTorch side of the peer benchmarks: where python lives, the fair settings it runs with, and how a peer script
 * is run. PyTorch comes from Debian (python3-torch 1.13 with libopenblas0-pthread): a benchmark dependency, never the
 * package's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const PYTHON = '/usr/bin/python3';

/**
 * The fair peer's settings (stack.md, measured here): Debian's OpenBLAS (pthread build) first on the library path
 * rather than the reference BLAS; its AVX-512 kernels (it picks AVX2 ones on this Zen 5 by default); and glibc malloc
 * thresholds that stop ~1,000 page faults per step.
 */
export const FAIR_PEER_ENV = {
  LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-pthread',
  OPENBLAS_CORETYPE: 'SkylakeX',
  MALLOC_MMAP_THRESHOLD_: '33554432',
  MALLOC_TRIM_THRESHOLD_: '4294967296',
  MALLOC_TOP_PAD_: '67108864',
};

/** Runs a peer script: `python3 script dir ...args` with torch's and OpenBLAS's thread counts; returns stdout. */
export type TorchRun = (script: string, dir: string, args: string[], threads: number, blasThreads?: number) => string;

export const defaultTorchRun: TorchRun = (script, dir, args, threads, blasThreads = 1) => {
  const env = { ...process.env, ...FAIR_PEER_ENV, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(blasThreads) };
  const r = spawnSync(PYTHON, [script, dir, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyTorch peer failed (${path.basename(script)} ${args.join(' ')}):\n${r.stderr}`);
  return r.stdout;
};

/**
 * PyTorch's thread settings: torch's own intra-op threads with single-threaded OpenBLAS. Both at 2 (torch 2 ×
 * OpenBLAS 2) oversubscribes the 2 cores and runs ~3.5× slower than either alone (measured: 3.8 vs 13.2 steps/s).
 */
export const TORCH_PEERS = [
  { label: 'PyTorch, 2 threads', torch: 2, blas: 1 },
  { label: 'PyTorch, 1 thread', torch: 1, blas: 1 },
];

export function haveTorch(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
}

export function torchVersion(): string {
  return execFileSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
}

/** Installs PyTorch with apt-get when it is missing and we are root; otherwise says how. */
export function ensureTorch(): void {
  if (haveTorch()) return;
  const root = process.getuid?.() === 0;
  if (!root) throw new Error(`PyTorch is missing: install it with\n  sudo apt-get install -y python3-torch libopenblas0-pthread python3-numpy\nthen run the bench again`);
  console.error('installing python3-torch, libopenblas0-pthread and python3-numpy with apt-get (once) …');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'python3-torch', 'libopenblas0-pthread', 'python3-numpy'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!haveTorch()) throw new Error('apt-get installed python3-torch but python3 cannot import torch');
}

/** One way of running our side (plain wasm, wasm + OpenBLAS, …): `use` switches to it before its timed steps. */
export interface OursVariant {
  label: string;
  use: () => void;
}
