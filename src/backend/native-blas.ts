/**
 * The optional native matrix-product path: `native/gpla_blas.c`, a small N-API addon built at `npm install` when a C
 * compiler and Node's headers are there (scripts/build-native.js), which dlopens the system's OpenBLAS and runs
 * sgemm directly on the wasm backend's heap. With it, every BatchMatMul on `wasm` (dense layers, attention, their
 * gradients) runs in OpenBLAS instead of XNNPACK; transposes become sgemm flags instead of copies.
 *
 * It is used when all of these hold, and each miss is recorded as a reason: the addon was built, a library with
 * `cblas_sgemm` loads (Debian: `apt-get install libopenblas0-pthread`), and `GPLA_NATIVE_BLAS` is not `off`.
 * `GPLA_NATIVE_BLAS=/path/libfoo.so` picks a library; `GPLA_BLAS_THREADS=n` sets OpenBLAS's thread count
 * (default: 1, see environment.md for why).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface NativeBlas {
  load(candidates: string[]): NativeBlasInfo;
  setThreads(n: number): NativeBlasInfo;
  sgemm(
    heap: ArrayBuffer, transA: boolean, transB: boolean, M: number, N: number, K: number,
    aOffsetBytes: number, bOffsetBytes: number, cOffsetBytes: number,
    batch: number, strideA: number, strideB: number, strideC: number, beta: number,
  ): void;
}

export interface NativeBlasInfo {
  /** The shared library actually loaded. */
  library: string;
  /** OpenBLAS threads per product. */
  threads: number;
  /** OpenBLAS's kernel family (SkylakeX = AVX-512). */
  coretype: string;
}

/** Where scripts/build-native.js writes the addon. */
export const NATIVE_ADDON_PATH = path.join(__dirname, '..', '..', 'native', 'build', 'gpla_blas.node');

/** OpenBLAS names, most specific first: the pthread build's own folder, then whatever the loader finds. */
export const DEFAULT_BLAS_CANDIDATES = [
  'libopenblas.so.0',
  '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0',
  '/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0',
  'libopenblas.so',
  'libopenblas.dylib',
];

let state: { blas: NativeBlas; info: NativeBlasInfo } | null = null;
let reason: string | null = null;
let enabled = true;

/** Parses GPLA_BLAS_THREADS (default 1). */
export function blasThreads(value: string | undefined = process.env.GPLA_BLAS_THREADS): number {
  if (value === undefined || value === '') return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`GPLA_BLAS_THREADS must be a positive integer, got "${value}"`);
  return n;
}

/**
 * Loads the addon and a BLAS library once. Returns the info, or null with `nativeBlasReason()` saying why not.
 */
export function loadNativeBlas(setting: string | undefined = process.env.GPLA_NATIVE_BLAS): NativeBlasInfo | null {
  if (state) return state.info;
  if (reason !== null) return null;
  if (setting === 'off' || setting === '0') {
    reason = 'GPLA_NATIVE_BLAS=off';
    return null;
  }
  if (!fs.existsSync(NATIVE_ADDON_PATH)) {
    reason = `the native addon is not built (${path.relative(process.cwd(), NATIVE_ADDON_PATH)}); run \`node scripts/build-native.js\` (needs a C compiler and Node's headers)`;
    return null;
  }
  let blas: NativeBlas;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    blas = require(NATIVE_ADDON_PATH) as NativeBlas;
  } catch (e) {
    reason = `the native addon failed to load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
    return null;
  }
  const candidates = setting && setting !== 'on' && setting !== '1' ? [setting] : DEFAULT_BLAS_CANDIDATES;
  try {
    blas.load(candidates);
    const info = blas.setThreads(blasThreads());
    state = { blas, info };
    return info;
  } catch (e) {
    reason = `no OpenBLAS library loaded (install libopenblas0-pthread): ${e instanceof Error ? e.message : String(e)}`;
    return null;
  }
}

/** Why the native path is off (null when it is on or not yet tried). */
export function nativeBlasReason(): string | null {
  return reason;
}

/** The loaded addon when the native path is on and enabled, else null. */
export function activeNativeBlas(): NativeBlas | null {
  return enabled && state ? state.blas : null;
}

/** Turns the native path off or back on at run time (tests and benches compare both paths in one process). */
export function setNativeBlasEnabled(on: boolean): void {
  enabled = on;
}
