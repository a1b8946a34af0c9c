/**
 * Choose and prepare the tensor backend.
 *
 * Order: tfjs-node-gpu (if it loads and sees a GPU) → webgpu (if Dawn's adapter is a hardware GPU) → tfjs-node →
 * wasm (with the added kernels) → cpu. `GPLA_BACKEND=tensorflow|webgpu|wasm|cpu` forces one and fails with the reason
 * if it cannot load; `webgpu` forced also runs on a software rasteriser (lavapipe), which auto never picks.
 * The native packages are optionalDependencies: their install downloads libtensorflow, which fails on machines
 * without internet, and npm then leaves them out. `webgpu` + `@tensorflow/tfjs-backend-webgpu` (also optional) come
 * from npm alone. Every reason a faster backend was skipped is recorded.
 */
import * as tf from '@tensorflow/tfjs';
import { loadNativeBlas, nativeBlasReason, openBlasMissingReason, type NativeBlasInfo } from './native-blas';
import { ADDED_WASM_KERNELS, registerWasmKernels } from './wasm-kernels';
import { adapterLine, probeWebGpu, startWebGpu, type WebGpuAdapter } from './webgpu';
import { ADDED_WEBGPU_KERNELS, registerWebGpuKernels } from './webgpu-kernels';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

export interface BackendInfo {
  /** The tfjs backend name now active. */
  name: BackendName;
  /** Which package provides it. */
  provider: string;
  /** tfjs version (and libtensorflow's for the native backend). */
  version: string;
  /** Whether a GPU is used. */
  gpu: boolean;
  /** wasm only: SIMD in use, thread count. */
  simd?: boolean;
  threads?: number;
  /** wasm only: the native path for matrix products (OpenBLAS or the addon's built-in kernel), when on (see native-blas.ts). */
  nativeBlas?: NativeBlasInfo;
  /** The WebGPU adapter Dawn reported, whether or not webgpu was chosen (absent when it was not probed). */
  webgpuAdapter?: WebGpuAdapter;
  /** Kernels this package added to the backend. */
  addedKernels: string[];
  /** Why each faster candidate was not used. */
  skipped: { candidate: string; reason: string }[];
}

let active: BackendInfo | null = null;

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

function tryRequire(pkg: string): { mod?: unknown; reason?: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { mod: require(pkg) };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' && errorText(e).includes(`'${pkg}'`)) {
      return { reason: `${pkg} is not installed (optional dependency; its install needs internet to fetch libtensorflow)` };
    }
    return { reason: `${pkg} failed to load: ${errorText(e)}` };
  }
}

async function tryNative(skipped: BackendInfo['skipped'], pkg: string, needGpu: boolean): Promise<BackendInfo | null> {
  const loaded = tryRequire(pkg);
  if (loaded.reason !== undefined) {
    skipped.push({ candidate: pkg, reason: loaded.reason });
    return null;
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) throw new Error('tf.setBackend("tensorflow") returned false');
    await tf.ready();
    const mod = loaded.mod as { version?: { 'tfjs-node'?: string } };
    const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string; isUsingGpuDevice?: () => boolean } })
      .binding;
    const gpu = needGpu ? Boolean(binding?.isUsingGpuDevice?.()) : false;
    if (needGpu && !gpu) {
      skipped.push({ candidate: pkg, reason: `${pkg} loaded but sees no GPU (CUDA 11.2 + cuDNN 8.1 needed)` });
      return null;
    }
    return {
      name: 'tensorflow',
      provider: pkg,
      version: `tfjs ${tf.version.tfjs}, libtensorflow ${binding?.TF_Version ?? mod.version?.['tfjs-node'] ?? '?'}`,
      gpu,
      addedKernels: [],
      skipped,
    };
  } catch (e) {
    skipped.push({ candidate: pkg, reason: `${pkg} loaded but the backend failed: ${errorText(e)}` });
    return null;
  }
}

async function tryWasm(skipped: BackendInfo['skipped']): Promise<BackendInfo | null> {
  const loaded = tryRequire('@tensorflow/tfjs-backend-wasm');
  if (loaded.reason !== undefined) {
    skipped.push({ candidate: 'wasm', reason: loaded.reason });
    return null;
  }
  try {
    registerWasmKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
    const wasmMod = loaded.mod as { version_wasm?: string };
    const b = tf.backend() as unknown as { wasm: { _get_threads_count?: () => number } };
    const threads = b.wasm._get_threads_count?.() ?? 1;
    return {
      name: 'wasm',
      provider: '@tensorflow/tfjs-backend-wasm',
      version: `tfjs ${tf.version.tfjs}, backend-wasm ${wasmMod.version_wasm ?? '?'}`,
      gpu: false,
      // Node 20 has wasm SIMD; tfjs picks tfjs-backend-wasm-simd.wasm when the feature test passes.
      simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
      // tfjs disables wasm threads under Node (its multithread check returns false; tfjs issue 3830).
      threads: Math.max(1, threads),
      addedKernels: [...ADDED_WASM_KERNELS],
      ...nativeBlasField(skipped),
      skipped,
    };
  } catch (e) {
    skipped.push({ candidate: 'wasm', reason: `wasm backend failed to start: ${errorText(e)}` });
    return null;
  }
}

/**
 * webgpu when Dawn reports an adapter; in auto mode only a hardware GPU (a software rasteriser on the CPU is far
 * slower than wasm). The adapter is recorded either way, for `gpla backend`.
 */
async function tryWebGpu(skipped: BackendInfo['skipped'], forced: boolean): Promise<{ info: BackendInfo | null; adapter?: WebGpuAdapter }> {
  const probe = await probeWebGpu();
  const adapter = probe.adapter;
  if (!adapter) {
    skipped.push({ candidate: 'webgpu', reason: probe.reason ?? 'no adapter' });
    return { info: null };
  }
  if (adapter.software && !forced) {
    skipped.push({ candidate: 'webgpu', reason: `the adapter is a software rasteriser (${adapter.softwareEvidence}): slower than wasm on the CPU; GPLA_BACKEND=webgpu uses it anyway` });
    return { info: null, adapter };
  }
  try {
    const version = await startWebGpu();
    registerWebGpuKernels();
    return {
      info: { name: 'webgpu', provider: '@tensorflow/tfjs-backend-webgpu on Dawn (npm webgpu)', version: `tfjs ${tf.version.tfjs}, backend-webgpu ${version}`, gpu: !adapter.software, webgpuAdapter: adapter, addedKernels: [...ADDED_WEBGPU_KERNELS], skipped },
      adapter,
    };
  } catch (e) {
    skipped.push({ candidate: 'webgpu', reason: `webgpu backend failed to start: ${errorText(e)}` });
    return { info: null, adapter };
  }
}

/** Tries the optional native matrix-product path for wasm; its absence is a recorded reason, not an error. */
function nativeBlasField(skipped: BackendInfo['skipped']): { nativeBlas?: NativeBlasInfo } {
  const info = loadNativeBlas();
  const noOpenBlas = openBlasMissingReason();
  if (noOpenBlas) skipped.push({ candidate: 'native OpenBLAS matmul', reason: `${noOpenBlas}; the addon's built-in kernel runs the products` });
  if (info) return { nativeBlas: info };
  skipped.push({ candidate: 'native matmul', reason: nativeBlasReason() ?? 'not loaded' });
  return {};
}

async function useCpu(skipped: BackendInfo['skipped']): Promise<BackendInfo> {
  await tf.setBackend('cpu');
  await tf.ready();
  // The cpu backend prints a banner recommending tfjs-node on first use; the reason is already in `skipped`.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  return { name: 'cpu', provider: '@tensorflow/tfjs-backend-cpu', version: `tfjs ${tf.version.tfjs}`, gpu: false, addedKernels: [], skipped };
}

/** Reads GPLA_BACKEND (or the argument) and validates it. */
export function requestedBackend(value: string | undefined = process.env.GPLA_BACKEND): BackendName | 'auto' {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`GPLA_BACKEND must be one of ${BACKEND_NAMES.join(', ')} (or unset for auto), got "${value}"`);
}

/**
 * Selects the fastest working backend (or the forced one) and makes it active. Idempotent for the same request:
 * later calls return the first result.
 */
export async function initBackend(request: BackendName | 'auto' = requestedBackend()): Promise<BackendInfo> {
  if (active && (request === 'auto' || request === active.name)) return active;
  const skipped: BackendInfo['skipped'] = [];
  let info: BackendInfo | null = null;
  let adapter: WebGpuAdapter | undefined;
  if (request === 'auto' || request === 'tensorflow') {
    info = await tryNative(skipped, '@tensorflow/tfjs-node-gpu', true);
    if (!info && request === 'auto') ({ info, adapter } = await tryWebGpu(skipped, false));
    info ??= await tryNative(skipped, '@tensorflow/tfjs-node', false);
    if (!info && request === 'tensorflow') {
      throw new Error(`GPLA_BACKEND=tensorflow but no native backend loaded:\n${skipped.map((s) => `  - ${s.reason}`).join('\n')}`);
    }
  }
  if (request === 'webgpu') {
    ({ info, adapter } = await tryWebGpu(skipped, true));
    if (!info) throw new Error(`GPLA_BACKEND=webgpu but the webgpu backend did not start: ${skipped[skipped.length - 1].reason}`);
  }
  if (!info && (request === 'auto' || request === 'wasm')) {
    info = await tryWasm(skipped);
    if (!info && request === 'wasm') {
      throw new Error(`GPLA_BACKEND=wasm but the wasm backend did not start: ${skipped[skipped.length - 1].reason}`);
    }
  }
  if (!info) info = await useCpu(skipped);
  if (adapter) info.webgpuAdapter = adapter;
  active = info;
  return info;
}

/** The active backend's description, or null before initBackend. */
export function backendInfo(): BackendInfo | null {
  return active;
}

/** Switches to a named backend, or reselects automatically (tests compare backends). Resets the cached selection. */
export async function switchBackend(name: BackendName | 'auto'): Promise<BackendInfo> {
  active = null;
  return initBackend(name);
}

/** A one-paragraph human description. */
export function describeBackend(info: BackendInfo): string {
  const lines = [
    `backend: ${info.name} (${info.provider})`,
    `version: ${info.version}`,
    `gpu: ${info.gpu ? 'yes' : 'no'}`,
  ];
  if (info.name === 'wasm') {
    lines.push(`simd: ${info.simd ? 'yes' : 'no'}, threads: ${info.threads}`);
    lines.push(`added kernels: ${info.addedKernels.join(', ')}`);
    if (info.nativeBlas) {
      const nb = info.nativeBlas;
      lines.push(
        nb.library === 'built-in'
          ? `matrix products: native, built-in kernel (${nb.coretype}, ${nb.threads} thread${nb.threads > 1 ? 's' : ''})`
          : `matrix products: OpenBLAS (${nb.library}, ${nb.coretype} kernels, ${nb.threads} thread${nb.threads > 1 ? 's' : ''})`,
      );
      lines.push('native kernels (addon): Add, Sub, Multiply, RealDiv, Transpose, GELU, LayerNorm, RMSNorm, AdamW');
    }
  }
  if (info.name === 'webgpu') lines.push(`added kernels: ${info.addedKernels.join(', ')}`);
  if (info.webgpuAdapter) lines.push(`webgpu adapter: ${adapterLine(info.webgpuAdapter)}${info.name === 'webgpu' ? ' (in use)' : ''}`);
  for (const s of info.skipped) lines.push(`not used: ${s.candidate}: ${s.reason}`);
  return lines.join('\n');
}
