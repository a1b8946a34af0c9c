/**
 * The WebGPU backend on Dawn: npm `webgpu` (Dawn's Node bindings, `dawn.node` inside the package) gives Node a
 * `navigator.gpu`, and `@tensorflow/tfjs-backend-webgpu` runs tfjs on it. Both are optionalDependencies; Dawn needs a
 * Vulkan driver (a GPU vendor's, or Mesa's software lavapipe, which Dawn accepts from Mesa 25 — bookworm-backports —
 * and rejects in bookworm's own Mesa 22.3).
 *
 * Two things tfjs-backend-webgpu lacks under Node, added here:
 * - **Synchronous reads.** Its `readSync` (every `dataSync`/`arraySync`, and tfjs's own moves of a tensor to another
 *   backend) draws into an `OffscreenCanvas`, which Node does not have. Dawn's bindings resolve a buffer's `mapAsync`
 *   when their event pump runs, and they schedule that pump with `setImmediate`; the pump is captured when it is
 *   scheduled (see `capturePump`), and `readSync` below runs it until the staging buffer reports `mapped`. That
 *   gives dataSync on WebGPU the same meaning as on wasm (the GPU work queued so far finishes first).
 * - **Adapter facts** for the choice: `probeWebGpu` asks Dawn for the high-performance adapter and reports its vendor,
 *   architecture and whether it is a software rasteriser (lavapipe/llvmpipe, SwiftShader, WARP), which the automatic
 *   choice refuses: on a CPU it is far slower than wasm (`npm run bench -- backend`).
 */
import * as tf from '@tensorflow/tfjs';

/** What Dawn reports about the adapter it would use. */
export interface WebGpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A rasteriser running on the CPU: chosen only when asked for by name. */
  software: boolean;
  /** Which report said so (isFallbackAdapter, architecture, or the driver's name), when software. */
  softwareEvidence?: string;
}

export interface WebGpuProbe {
  adapter?: WebGpuAdapter;
  /** Why there is no adapter (package missing, binary failed to load, no Vulkan driver), when there is none. */
  reason?: string;
}

interface DawnModule {
  create(options: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}

// Names of CPU rasterisers as Vulkan/D3D drivers report them.
const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b/i;

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

// ---- Dawn's event pump --------------------------------------------------------------------------------------------

let pump: (() => void) | null = null;
let pumpCaptureInstalled = false;

/**
 * Wraps `setImmediate` so that the native function Dawn's bindings schedule to process GPU events is remembered.
 * Only native functions are kept (Dawn passes one; JavaScript callers pass JavaScript functions); the call itself is
 * passed through unchanged, so Dawn's own scheduling goes on as before.
 */
function capturePump(): void {
  if (pumpCaptureInstalled) return;
  pumpCaptureInstalled = true;
  const original = globalThis.setImmediate;
  const wrapped = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (typeof fn === 'function' && Function.prototype.toString.call(fn).includes('[native code]')) pump = fn as () => void;
    return original.call(this, fn as never, ...(args as []));
  };
  globalThis.setImmediate = Object.assign(wrapped, original) as typeof setImmediate;
}

// ---- loading Dawn and probing the adapter -------------------------------------------------------------------------

let dawn: { gpu: GpuLike; mod: DawnModule } | null = null;
let probed: WebGpuProbe | null = null;

function loadDawn(): { gpu?: GpuLike; reason?: string } {
  if (dawn) return { gpu: dawn.gpu };
  capturePump();
  let mod: DawnModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('webgpu') as DawnModule;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' && errorText(e).includes("'webgpu'")) return { reason: 'webgpu (Dawn) is not installed (optional dependency)' };
    return { reason: `webgpu (Dawn) failed to load: ${errorText(e)}` };
  }
  try {
    dawn = { gpu: mod.create([]), mod };
  } catch (e) {
    return { reason: `webgpu (Dawn) failed to create a GPU instance: ${errorText(e)}` };
  }
  return { gpu: dawn.gpu };
}

/** Reads an adapter's report into WebGpuAdapter, deciding whether it is a software rasteriser. */
export function describeAdapter(a: AdapterLike): WebGpuAdapter {
  const info = a.info ?? {};
  const out: WebGpuAdapter = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    software: false,
  };
  const fallback = info.isFallbackAdapter ?? a.isFallbackAdapter;
  const named = [out.description, out.device].find((s) => SOFTWARE_NAMES.test(s));
  if (fallback === true) out.softwareEvidence = 'isFallbackAdapter';
  else if (/^(software|cpu)$/i.test(out.architecture)) out.softwareEvidence = `architecture "${out.architecture}"`;
  else if (named !== undefined) out.softwareEvidence = `driver "${named}"`;
  out.software = out.softwareEvidence !== undefined;
  return out;
}

/** Asks Dawn for the adapter tfjs would get (high-performance). Cached: the answer does not change in a process. */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  if (probed) return probed;
  const { gpu, reason } = loadDawn();
  if (!gpu) return (probed = { reason });
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    probed = adapter
      ? { adapter: describeAdapter(adapter) }
      : { reason: 'Dawn found no WebGPU adapter (no Vulkan driver: a GPU driver, or Mesa ≥ 25 lavapipe for the CPU)' };
  } catch (e) {
    probed = { reason: `Dawn's requestAdapter failed: ${errorText(e)}` };
  }
  return probed;
}

/** One line for `gpla backend`. */
export function adapterLine(a: WebGpuAdapter): string {
  const name = a.description || a.device || '?';
  return `${name} (vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}, ${a.software ? `software rasteriser: ${a.softwareEvidence}` : 'hardware GPU'})`;
}

// ---- starting the tfjs backend ------------------------------------------------------------------------------------

interface WebGpuBackendLike {
  device: { addEventListener?(type: string, fn: (ev: { error?: { message?: string } }) => void): void };
  read(dataId: object): Promise<unknown>;
  tensorMap: { get(dataId: object): { values?: unknown; dtype: tf.DataType; resource: { size: number } } };
  bufferManager: { acquireBuffer(size: number, usage: number): StagingBuffer; releaseBuffer(b: StagingBuffer): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  commandEncoder: { copyBufferToBuffer(src: unknown, so: number, dst: StagingBuffer, doff: number, size: number): void };
  convertAndCacheOnCPU(dataId: object, values: unknown): unknown;
  readSync(dataId: object): unknown;
  gplaSyncRead?: boolean;
}
interface StagingBuffer {
  mapAsync(mode: number): Promise<void>;
  mapState: string;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

// A readback normally completes in well under a thousand pump turns; this bounds a lost device.
const MAX_PUMP_TURNS = 50_000_000;

/**
 * Makes `readSync` work under Node by pumping Dawn's events until the staging copy is mapped, and makes every read
 * (sync or async) throw when a kernel failed on the device since the last read: WebGPU reports a shader or pipeline
 * that fails validation only as an "uncaptured error" event and leaves the output unwritten, which would otherwise
 * pass as a wrong number.
 */
function installReads(backend: WebGpuBackendLike): void {
  if (backend.gplaSyncRead) return;
  let deviceError: string | null = null;
  backend.device.addEventListener?.('uncapturederror', (ev) => {
    deviceError ??= (ev.error?.message ?? 'unknown error').split('\n').slice(0, 3).join(' ');
  });
  const checkDevice = () => {
    if (deviceError === null) return;
    const msg = deviceError;
    deviceError = null;
    throw new Error(`webgpu: a kernel failed on the device (its output is invalid): ${msg}`);
  };
  const stockRead = backend.read.bind(backend);
  backend.read = async (dataId: object) => {
    const values = await stockRead(dataId);
    checkDevice();
    return values;
  };
  const g = globalThis as unknown as { GPUBufferUsage: { COPY_DST: number; MAP_READ: number }; GPUMapMode: { READ: number } };
  const stock = backend.readSync.bind(backend);
  backend.readSync = function (dataId: object) {
    const td = backend.tensorMap.get(dataId);
    if (td.values != null || td.dtype === 'string' || td.dtype === 'complex64') return stock(dataId);
    if (!pump) throw new Error('webgpu readSync: Dawn\'s event pump was not captured (load webgpu through src/backend/webgpu.ts)');
    const size = td.resource.size;
    const staging = backend.bufferManager.acquireBuffer(size, g.GPUBufferUsage.COPY_DST | g.GPUBufferUsage.MAP_READ);
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.commandEncoder.copyBufferToBuffer(td.resource, 0, staging, 0, size);
    backend.submitQueue();
    let failure: unknown = null;
    staging.mapAsync(g.GPUMapMode.READ).catch((e) => (failure = e));
    for (let turns = 0; staging.mapState !== 'mapped'; turns++) {
      if (failure !== null || turns > MAX_PUMP_TURNS) {
        throw new Error(`webgpu readSync: mapping a ${size}-byte staging buffer failed: ${failure !== null ? errorText(failure) : 'no answer from the device'}`);
      }
      pump!();
    }
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    backend.bufferManager.releaseBuffer(staging);
    checkDevice();
    return backend.convertAndCacheOnCPU(dataId, tf.util.convertBackendValuesAndArrayBuffer(bytes, td.dtype));
  };
  backend.gplaSyncRead = true;
}

/** Sets up navigator.gpu and the globals tfjs-backend-webgpu reads (GPUBufferUsage, GPUMapMode, …). */
function installNavigator(gpu: GpuLike, globals: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu === gpu) return;
  // Node ≥ 21 has its own navigator (without gpu); Node 20 has none.
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}

/**
 * Registers tfjs's webgpu backend on Dawn and makes it active; returns the package version. Throws with the reason when
 * the packages or the adapter are missing. Call probeWebGpu first to decide whether to.
 */
export async function startWebGpu(): Promise<string> {
  const probe = await probeWebGpu();
  if (!probe.adapter || !dawn) throw new Error(probe.reason ?? 'no WebGPU adapter');
  installNavigator(dawn.gpu, dawn.mod.globals);
  try {
    // Registers the 'webgpu' backend when navigator.gpu exists (it does now).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(code === 'MODULE_NOT_FOUND' ? '@tensorflow/tfjs-backend-webgpu is not installed (optional dependency)' : `@tensorflow/tfjs-backend-webgpu failed to load: ${errorText(e)}`);
  }
  if (!tf.findBackendFactory('webgpu')) throw new Error('@tensorflow/tfjs-backend-webgpu loaded but registered no backend (navigator.gpu missing)');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false (the device could not be created)');
  await tf.ready();
  installReads(tf.backend() as unknown as WebGpuBackendLike);
  // The package's Node bundle exports no version; its package.json has it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const version = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
  return `${version('@tensorflow/tfjs-backend-webgpu')}, webgpu (Dawn) ${version('webgpu')}`;
}
