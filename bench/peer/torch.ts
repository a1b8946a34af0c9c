/**
 * The PyTorch side of the peer benchmarks: where python lives, the fair settings it runs with, and how a peer script
 * is run. PyTorch comes from Debian (python3-torch 1.13 with libopenblas0-pthread): a benchmark dependency, never the
 * package's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const PYTHON = '/usr/bin/python3';

/** The x86-64 CPU's feature flags from /proc/cpuinfo (empty where there is none: not Linux, or not x86). */
export function cpuFlags(): Set<string> {
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return new Set(line ? line.split(':')[1].trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/** AVX-512 as the addon checks it before it asks OpenBLAS for its SkylakeX kernels (native/gpla_blas.c, load()). */
export const hasAvx512 = (flags: Set<string>) => ['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].every((f) => flags.has(f));
export const hasAvx2 = (flags: Set<string>) => ['avx2', 'fma'].every((f) => flags.has(f));

/**
 * Which CPU kind the peers are measured as: `native`, what this CPU runs at its widest; `avx2`, an AVX2-only CPU
 * (most laptops) on a machine that has more: our addon with GPLA_NATIVE_ISA=avx2, PyTorch's OpenBLAS with its Haswell
 * kernels and its own kernels at AVX2.
 */
export type PeerKind = 'native' | 'avx2';

export interface PeerSettings {
  kind: PeerKind;
  /** The environment of every PyTorch run. */
  env: Record<string, string>;
  /** What was left out on this CPU, and why (printed by the bench and kept in its results). */
  skipped: string[];
}

/**
 * The fair peer's settings (stack.md, measured): Debian's OpenBLAS (pthread build) first on the library path rather
 * than the reference BLAS; its AVX-512 kernels where the CPU has AVX-512 (it picks AVX2 ones on a Zen 5 by default;
 * forcing them on a CPU without AVX-512 kills PyTorch with an illegal instruction), its Haswell ones for the avx2
 * kind; glibc malloc thresholds that stop ~1,000 page faults per step.
 */
export function peerSettings(kind: PeerKind, flags = cpuFlags(), arch = os.arch()): PeerSettings {
  const skipped: string[] = [];
  const env: Record<string, string> = {
    MALLOC_MMAP_THRESHOLD_: '33554432',
    MALLOC_TRIM_THRESHOLD_: '4294967296',
    MALLOC_TOP_PAD_: '67108864',
  };
  const libDir = arch === 'x64' ? '/usr/lib/x86_64-linux-gnu/openblas-pthread' : arch === 'arm64' ? '/usr/lib/aarch64-linux-gnu/openblas-pthread' : null;
  if (libDir && fs.existsSync(libDir)) env.LD_LIBRARY_PATH = libDir;
  else skipped.push(`LD_LIBRARY_PATH for Debian's OpenBLAS: ${libDir ?? `no Debian OpenBLAS folder known for ${arch}`}${libDir ? ' does not exist' : ''}; PyTorch uses the BLAS its loader finds`);
  if (arch !== 'x64') {
    skipped.push(`OPENBLAS_CORETYPE: not an x86-64 CPU (${arch}); OpenBLAS picks its own kernels`);
    if (kind === 'avx2') throw new Error(`bench peer --isa avx2 needs an x86-64 CPU with AVX2 and FMA (this is ${arch})`);
  } else if (kind === 'avx2') {
    if (!hasAvx2(flags)) throw new Error('bench peer --isa avx2 needs a CPU with AVX2 and FMA (/proc/cpuinfo lists neither both)');
    // PyTorch 1.13's own kernels run AVX2 by default (AVX-512 only with ATEN_CPU_CAPABILITY=avx512); set it anyway.
    Object.assign(env, { OPENBLAS_CORETYPE: 'Haswell', ATEN_CPU_CAPABILITY: 'avx2', DNNL_MAX_CPU_ISA: 'AVX2' });
  } else if (hasAvx512(flags)) {
    env.OPENBLAS_CORETYPE = 'SkylakeX';
  } else {
    skipped.push('OPENBLAS_CORETYPE=SkylakeX: this CPU has no AVX-512 (avx512f/bw/vl/dq), so OpenBLAS keeps the kernels it picks for it');
  }
  return { kind, env, skipped };
}

let settings: PeerSettings | null = null;

/** Chooses the CPU kind of this run's peers (bench peer --isa); before the first PyTorch run. */
export function setPeerKind(kind: PeerKind): PeerSettings {
  settings = peerSettings(kind);
  return settings;
}

/** This run's peer settings (the native kind unless setPeerKind chose another). */
export function currentPeerSettings(): PeerSettings {
  settings ??= peerSettings('native');
  return settings;
}

/** Runs a peer script: `python3 script dir ...args` with torch's and OpenBLAS's thread counts; returns stdout. */
export type TorchRun = (script: string, dir: string, args: string[], threads: number, blasThreads?: number) => string;

export const defaultTorchRun: TorchRun = (script, dir, args, threads, blasThreads = 1) => {
  const env = { ...process.env, ...currentPeerSettings().env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(blasThreads) };
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
