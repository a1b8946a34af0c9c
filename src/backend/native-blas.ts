/**
 * The native path: `native/gpla_blas.c`, a small N-API addon built at `npm install` when a C compiler and Node's
 * headers are there (scripts/build-native.js), which works directly on the wasm backend's heap. With it, every
 * BatchMatMul on `wasm` (dense layers, attention, their gradients) runs natively instead of in XNNPACK, transposes
 * become sgemm flags instead of copies, and the element-wise, GELU, norm and AdamW kernels of native-elementwise.ts
 * and optimizer-kernels.ts run in the addon. The products come from the system's OpenBLAS when a library with
 * `cblas_sgemm` loads (Debian: `apt-get install libopenblas0-pthread`), else from the addon's own kernel
 * (native/gemm_kernel.h, AVX-512 / AVX2 / baseline picked for the CPU).
 *
 * It is used when the addon was built and `GPLA_NATIVE_BLAS` is not `off`; each miss is recorded as a reason, and so
 * is why OpenBLAS did not load when the built-in kernel stands in. `GPLA_NATIVE_BLAS=builtin` skips OpenBLAS;
 * `GPLA_NATIVE_BLAS=/path/libfoo.so` picks a library. `GPLA_BLAS_THREADS=n` (default 2 on ≥ 2 cores, 1 in each of
 * reproduce's stage processes; see environment.md): 2 or more lets the addon split products (OpenBLAS's or its own; OpenBLAS itself stays single-threaded) and its
 * element-wise kernels with one helper thread (native/thread_pool.h).
 *
 * `GPLA_NATIVE_ISA=avx512|avx2|baseline` forces the addon's built-in code paths (its product kernel and its
 * element-wise kernels) of that instruction set, so one machine can measure and test what another CPU kind runs
 * (default: the widest this CPU runs; OpenBLAS's own kernels follow OPENBLAS_CORETYPE instead, e.g. Haswell = AVX2).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface NativeBlas {
  load(candidates: string[]): NativeBlasInfo;
  useBuiltin(): NativeBlasInfo;
  setThreads(n: number): NativeBlasInfo;
  /** The built-in code paths of one instruction set ("auto": the widest this CPU runs); throws if the CPU lacks it. */
  setIsa(isa: NativeIsa | 'auto'): NativeBlasInfo;
  sgemm(
    heap: ArrayBuffer, transA: boolean, transB: boolean, M: number, N: number, K: number,
    aOffsetBytes: number, bOffsetBytes: number, cOffsetBytes: number,
    batch: number, strideA: number, strideB: number, strideC: number, beta: number,
  ): void;
  /** out = a ∘ b over rows × cols (op 0 add, 1 sub, 2 mul, 3 div; kinds: see native-elementwise.ts). Byte offsets. */
  binary(heap: ArrayBuffer, op: number, aOff: number, aKind: number, bOff: number, bKind: number, outOff: number, rows: number, cols: number): void;
  /** out = gelu(x), or dy·gelu'(x) when backward (native-elementwise.ts). Byte offsets. */
  gelu(heap: ArrayBuffer, xOff: number, dyOff: number, outOff: number, n: number, backward: boolean): void;
  /** out = transpose(x, perm) for 4-byte elements, rank ≤ 8. Byte offsets. */
  transpose(heap: ArrayBuffer, xOff: number, outOff: number, shape: number[], perm: number[]): void;
  /** LayerNorm / RMSNorm forward over rows of D (bOff −1: no bias). Byte offsets. */
  normForward(heap: ArrayBuffer, xOff: number, gOff: number, bOff: number, yOff: number, xhatOff: number, rOff: number, rows: number, D: number, eps: number, rms: boolean): void;
  /** Their backward: dx, dg and (dbOff ≠ −1) db. Byte offsets. */
  normBackward(heap: ArrayBuffer, dyOff: number, xhatOff: number, rOff: number, gOff: number, dxOff: number, dgOff: number, dbOff: number, rows: number, D: number, rms: boolean): void;
  /** The fused AdamW update of optimizer-kernels.ts on the heap. Byte offsets. */
  adamw(
    heap: ArrayBuffer, pOff: number, mOff: number, vOff: number, gOff: number, pOutOff: number, mOutOff: number, vOutOff: number, n: number,
    lr: number, beta1: number, beta2: number, eps: number, bc1: number, bc2: number, decay: number, gradScale: number,
  ): void;
}

export interface NativeBlasInfo {
  /** The shared library actually loaded, or "built-in" for the addon's own kernel. */
  library: string;
  /** Threads per call: OpenBLAS's, or the addon's own kernels' (1, or 2 with the helper thread). */
  threads: number;
  /** OpenBLAS's kernel family (SkylakeX = AVX-512), or the instruction set of the built-in kernel. */
  coretype: string;
  /** The instruction set of the built-in code paths in use (the element-wise kernels always, products when built-in). */
  isa: NativeIsa;
}

/** The built-in code paths' instruction sets, widest first. */
export const NATIVE_ISAS = ['avx512', 'avx2', 'baseline'] as const;
export type NativeIsa = (typeof NATIVE_ISAS)[number];

/** Parses GPLA_NATIVE_ISA: undefined for the default (the widest the CPU runs), else one of NATIVE_ISAS. */
export function nativeIsaSetting(value: string | undefined = process.env.GPLA_NATIVE_ISA): NativeIsa | undefined {
  if (value === undefined || value === '' || value === 'auto') return undefined;
  if (!(NATIVE_ISAS as readonly string[]).includes(value)) throw new Error(`GPLA_NATIVE_ISA must be one of ${NATIVE_ISAS.join(', ')} or auto, got "${value}"`);
  return value as NativeIsa;
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
/** Why OpenBLAS is not the library in use while the built-in kernel is. */
let openBlasReason: string | null = null;
/** OpenBLAS's info when it loaded (kept so a switch to the built-in kernel can be undone). */
let openBlasInfo: NativeBlasInfo | null = null;
let enabled = true;

/**
 * Parses GPLA_BLAS_THREADS. Default: 2 where the machine has two or more cores (one process training alone, as
 * PyTorch uses its intra-op threads), else 1; `reproduce`'s stage processes get 1 each (stage-workers.ts).
 */
export function blasThreads(value: string | undefined = process.env.GPLA_BLAS_THREADS): number {
  if (value === undefined || value === '') return Math.min(2, os.availableParallelism());
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
  if (typeof blas.useBuiltin !== 'function' || typeof blas.normBackward !== 'function' || typeof blas.setIsa !== 'function') {
    reason = 'the native addon is out of date (no built-in kernel or code-path switch); rebuild it with `node scripts/build-native.js`';
    return null;
  }
  const threads = blasThreads();
  const isa = nativeIsaSetting();
  if (isa) blas.setIsa(isa); // throws, naming the code path, when this CPU cannot run it
  if (setting === 'builtin') {
    openBlasReason = 'GPLA_NATIVE_BLAS=builtin';
  } else {
    const candidates = setting && setting !== 'on' && setting !== '1' ? [setting] : DEFAULT_BLAS_CANDIDATES;
    try {
      blas.load(candidates);
      openBlasInfo = blas.setThreads(threads);
      state = { blas, info: openBlasInfo };
      return state.info;
    } catch (e) {
      openBlasReason = `no OpenBLAS library loaded (install libopenblas0-pthread for faster products): ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  blas.useBuiltin();
  state = { blas, info: blas.setThreads(threads) };
  return state.info;
}

/** Why the native path is off (null when it is on or not yet tried). */
export function nativeBlasReason(): string | null {
  return reason;
}

/** Why the native path runs the built-in kernel rather than OpenBLAS (null when OpenBLAS is in use or not tried). */
export function openBlasMissingReason(): string | null {
  return state?.info.library === 'built-in' ? openBlasReason : null;
}

/** The loaded addon when the native path is on and enabled, else null. */
export function activeNativeBlas(): NativeBlas | null {
  return enabled && state ? state.blas : null;
}

/**
 * Switches the native path between OpenBLAS and the built-in kernel (tests and benches compare them in one process).
 * Returns the info, or null when that kernel is not available here (no addon, or OpenBLAS never loaded).
 */
export function selectNativeKernel(which: 'openblas' | 'builtin'): NativeBlasInfo | null {
  if (!loadNativeBlas() || !state) return null;
  if (which === 'builtin') {
    state.info = state.blas.useBuiltin();
    return state.info;
  }
  if (!openBlasInfo) return null;
  state.blas.load([openBlasInfo.library]);
  state.info = state.blas.setThreads(openBlasInfo.threads);
  return state.info;
}

/**
 * Back to what the process loaded with: the native path on, OpenBLAS when it loaded (else the built-in kernel), and
 * GPLA_BLAS_THREADS threads. Tests and benches call it after switching paths.
 */
export function restoreNativeDefaults(): void {
  enabled = true;
  if (!state) return;
  state.blas.setIsa(nativeIsaSetting() ?? 'auto');
  selectNativeKernel(openBlasInfo ? 'openblas' : 'builtin');
  state.info = state.blas.setThreads(blasThreads());
}

/**
 * Sets the addon's threads for this process from now on (e.g. 1 in each of reproduce's stage processes, which already
 * fill the cores). Returns the info, or null when the addon is not loaded.
 */
export function setNativeThreads(n: number): NativeBlasInfo | null {
  if (!state) return null;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`setNativeThreads: expected a positive integer, got ${n}`);
  state.info = state.blas.setThreads(n);
  return state.info;
}

/**
 * Runs the addon's built-in code paths of `isa` ("auto": the widest this CPU runs) from now on: the products when the
 * built-in kernel is the library in use, and the element-wise kernels always. Returns the info, or null when the
 * addon is not loaded; throws when this CPU cannot run `isa`.
 */
export function selectNativeIsa(isa: NativeIsa | 'auto'): NativeBlasInfo | null {
  if (!loadNativeBlas() || !state) return null;
  state.info = state.blas.setIsa(isa);
  return state.info;
}

/** Whether this CPU runs the built-in code paths of `isa` (false when the addon is not loaded). */
export function nativeIsaSupported(isa: NativeIsa): boolean {
  if (!loadNativeBlas() || !state) return false;
  const before = state.info.isa;
  try {
    state.blas.setIsa(isa);
    return true;
  } catch {
    return false;
  } finally {
    state.info = state.blas.setIsa(before);
  }
}

/** Turns the native path off or back on at run time (tests and benches compare both paths in one process). */
export function setNativeBlasEnabled(on: boolean): void {
  enabled = on;
}
