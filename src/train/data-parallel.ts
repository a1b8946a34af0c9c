/**
 * Data-parallel training on worker threads (one tfjs backend per thread, so a 2-core machine trains on both cores:
 * tfjs runs wasm single-threaded under Node).
 *
 * Each of N workers holds a full replica of the model, started from identical weights (rank 0's, broadcast at start).
 * One step:
 *   1. the main thread writes the batch into shared memory and bumps the step counter (Atomics; no postMessage);
 *   2. every worker takes its contiguous share of the rows and computes, under tf.variableGrads, its part of the
 *      full-batch gradient (see "Losses" below);
 *   3. each worker copies its flat gradient into its own slot of a SharedArrayBuffer (one dataSync per tensor);
 *      barrier; the parameters are split into N contiguous runs of about equal size (ownedParams) and worker k sums
 *      run k over the slots in rank order into a shared sum buffer, with the partial squared norm; barrier; every
 *      worker adds the N partial norms in rank order (the same global norm everywhere);
 *   4. worker k clips and AdamW-updates the parameters of its run (it alone holds their moments: the optimiser's
 *      work and memory are split, ZeRO-1 style), publishes their new values through shared memory; barrier; every
 *      worker copies in the others' runs. The arithmetic is exactly "every replica applies the same clip + AdamW
 *      update to the same summed gradient" (one replica does each parameter, the others copy its bytes), so the
 *      replicas stay bit-identical;
 *   5. the workers bump a done counter; the main thread (waiting with Atomics.waitAsync, so its event loop stays
 *      free to hear about worker errors) reads the loss and gradient norm from shared memory.
 *
 * Losses (ReplicaObjective.reduction):
 *   - 'sum': the loss is separable; each worker returns its additive share of the full-batch loss (e.g. token-mean
 *     SFT: Σ its per-token losses / the batch's global token count, read with ctx.global('mask'); SimPO: Σ its
 *     per-pair losses / ctx.globalRows). Shares and gradients are summed.
 *   - 'replicated': the loss couples the whole batch (symmetric InfoNCE: every sample is a negative for every other).
 *     The worker encodes its rows, and ctx.allGather publishes them through shared memory and returns the whole
 *     batch's encodings in global row order, its own rows as the live tensor and the others' as constants; the
 *     full-batch loss on that is the same value on every worker, and its gradient w.r.t. the parameters is exactly
 *     this worker's share of the full gradient (the chain rule through its own rows). Terms that do not flow
 *     through the gathered rows (the logit scale) would be counted N times: pass them through ctx.replicated(),
 *     which is the live tensor on rank 0 and a constant elsewhere, so only rank 0 contributes their gradient. The
 *     reported loss is rank 0's.
 *
 * Failure: a worker that throws sets an abort flag (the others leave their barriers) and posts the error; the main
 * thread rejects the step with "data-parallel worker R failed at step S: …" and terminates every worker.
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, requestedBackend, type BackendName } from '../backend';
import { GroundingModel, type GroundingConfig } from '../models/grounding';
import { symmetricInfoNCE } from './losses';
import { AdamW, clipScale, type AdamWConfig } from './optim';
import { Rng } from '../util/rng';

// ---------------------------------------------------------------------------------------------------------------
// Public types

export type FieldDType = 'float32' | 'int32';
export type HostArray = Float32Array | Int32Array;

/** One batch field in shared memory; shape[0] is the most rows a step may carry (the batch capacity). */
export interface BatchField {
  name: string;
  dtype: FieldDType;
  shape: number[];
}

/** A tensor's values off the tfjs engine (for weights and optimiser state crossing threads). */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** What a worker's loss sees besides its rows. */
export interface ShardContext {
  readonly rank: number;
  readonly workers: number;
  /** Rows in this step's whole batch, this worker's first global row, and its row count. */
  readonly globalRows: number;
  readonly shardStart: number;
  readonly shardRows: number;
  /** The whole batch's field (this step's rows only), a read-only view of shared memory — for global normalisers. */
  global(name: string): HostArray;
  /**
   * Gathers tensors whose first axis is this worker's rows into whole-batch tensors in global row order: own rows are
   * the given (differentiable) tensors, other workers' rows are constants. One barrier for the whole list; every
   * worker must call it the same number of times per step with the same widths.
   */
  allGather(xs: tf.Tensor[]): tf.Tensor[];
  /** Rank 0: x itself; other ranks: a constant copy (no gradient). For terms computed redundantly on every worker. */
  replicated<T extends tf.Tensor>(x: T): T;
}

/** A model replica with its loss, built inside each worker by a ReplicaFactory. */
export interface ReplicaObjective {
  /** Trainable parameters by name, in the same order on every replica. */
  params: Map<string, tf.Variable>;
  /** How per-worker losses combine (see the file comment). */
  reduction: 'sum' | 'replicated';
  /** The loss on this worker's rows (called inside the gradient tape). */
  loss(shard: Record<string, tf.Tensor>, ctx: ShardContext): tf.Scalar;
  dispose?(): void;
}

export type ReplicaFactory<A = unknown> = (args: A) => ReplicaObjective | Promise<ReplicaObjective>;

/** Where a worker finds its factory: a module path (TypeScript is fine: workers load tsx), an export name, its args. */
export interface ReplicaSpec {
  module: string;
  export: string;
  /** Structured-cloneable. */
  args: unknown;
}

export interface DataParallelOptions {
  workers: number;
  replica: ReplicaSpec;
  batch: BatchField[];
  /** Global-norm clip (0 disables), as in TrainConfig. */
  clipNorm: number;
  optimizer?: Partial<AdamWConfig>;
  /** Initial weights (every parameter); default: the factory's own (rank 0's are broadcast either way). */
  weights?: Map<string, tf.Tensor> | Record<string, HostTensor>;
  /** Optimiser state to resume from (AdamW.t and stateTensors() by name). */
  optimizerState?: { t: number; tensors: Map<string, tf.Tensor> | Record<string, HostTensor> };
  /** Backend in the workers; default GPLA_BACKEND or auto. */
  backend?: BackendName | 'auto';
  /** Floats per row that ctx.allGather may move per step, all gathers together (default 4096). */
  exchangeFloatsPerRow?: number;
}

export interface StepResult {
  /** The full-batch loss. */
  loss: number;
  /** Global gradient norm before clipping (NaN when the loss was non-finite and no gradient was reduced). */
  gradNorm: number;
  /** False when the loss or the gradient norm was non-finite: no replica applied the update. */
  applied: boolean;
}

export type BatchInput = Record<string, HostArray | number[] | tf.Tensor>;

// ---------------------------------------------------------------------------------------------------------------
// Shared-memory layout

/** Int32 control words. */
const C = { SEQ: 0, DONE: 1, BAR_COUNT: 2, BAR_GEN: 3, ABORT: 4, ROWS: 5, LENGTH: 8 } as const;
/**
 * Float64 stats: [lr, total loss, grad norm, applied, loss of rank 0 … N−1, squared norm of rank 0 … N−1, then per
 * rank the milliseconds accumulated in each phase of TIMING_PHASES].
 */
const S = { LR: 0, LOSS: 1, NORM: 2, APPLIED: 3, RANK_LOSS: 4 } as const;
/**
 * Where a worker's step time goes: the whole step; waiting at barriers (for the slowest worker: load imbalance or
 * a descheduled thread); copying gradients out of tfjs; the reduce-scatter loop; building the summed gradient
 * tensors and the AdamW update. Forward + backward ≈ step − the others.
 */
export const TIMING_PHASES = ['step', 'wait', 'copy', 'reduce', 'update'] as const;
const statsLength = (n: number) => S.RANK_LOSS + 2 * n + TIMING_PHASES.length * n;

interface FieldLayout extends BatchField {
  /** Byte offset in the batch buffer. */
  offset: number;
  /** Values per row. */
  row: number;
}

interface WorkerInit {
  rank: number;
  workers: number;
  replica: ReplicaSpec;
  backend: BackendName | 'auto';
  fields: FieldLayout[];
  capacity: number;
  clipNorm: number;
  optimizer: Partial<AdamWConfig>;
  weights: Record<string, HostTensor> | null;
  optimizerState: { t: number; tensors: Record<string, HostTensor> } | null;
  ctrl: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  batch: SharedArrayBuffer;
  arena: SharedArrayBuffer;
}

type ParamLayout = { name: string; shape: number[] }[];

type FromWorker =
  | { type: 'ready'; rank: number; layout: ParamLayout }
  | { type: 'started'; rank: number }
  | { type: 'reply'; rank: number; id: number; value: unknown }
  | { type: 'error'; rank: number; step: number | null; phase: string; message: string; stack: string }
  | { type: 'aborted'; rank: number };

type ToWorker =
  | { type: 'start'; grads: SharedArrayBuffer; sum: SharedArrayBuffer; params: SharedArrayBuffer }
  | { type: 'request'; id: number; what: 'weights' | 'optimizerState' };

/** Contiguous row ranges, the first rows % n workers one row longer. */
export function shardRanges(rows: number, n: number): { start: number; rows: number }[] {
  const base = Math.floor(rows / n);
  const extra = rows % n;
  const out: { start: number; rows: number }[] = [];
  let start = 0;
  for (let k = 0; k < n; k++) {
    const r = base + (k < extra ? 1 : 0);
    out.push({ start, rows: r });
    start += r;
  }
  return out;
}

/**
 * Splits parameters (by their sizes, in order) into N contiguous runs of about total/N values each: worker k reduces,
 * clips and updates run k. Returns each run's parameter indices and flat value range [lo, hi).
 */
export function ownedParams(sizes: number[], n: number): { names: number[]; lo: number; hi: number }[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const out: { names: number[]; lo: number; hi: number }[] = Array.from({ length: n }, () => ({ names: [], lo: 0, hi: 0 }));
  let off = 0;
  let k = 0;
  sizes.forEach((sz, i) => {
    // a parameter goes to the run its midpoint falls in
    k = Math.max(k, Math.min(n - 1, Math.floor(((off + sz / 2) * n) / Math.max(1, total))));
    out[k].names.push(i);
    off += sz;
  });
  off = 0;
  for (const r of out) {
    r.lo = off;
    for (const i of r.names) off += sizes[i];
    r.hi = off;
  }
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function toHost(t: Map<string, tf.Tensor> | Record<string, HostTensor>): Record<string, HostTensor> {
  if (!(t instanceof Map)) return t;
  const out: Record<string, HostTensor> = {};
  for (const [name, v] of t) out[name] = { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
  return out;
}

// Atomics.waitAsync is ES2024 (Node ≥ 16 has it); the project's lib is ES2022.
type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync: WaitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

// ---------------------------------------------------------------------------------------------------------------
// Main thread

export class DataParallelError extends Error {
  constructor(message: string, readonly rank: number | null, readonly step: number | null, readonly workerStack?: string) {
    super(message);
    this.name = 'DataParallelError';
    // Where it happened in the worker, then where the main thread heard of it.
    if (workerStack) this.stack = `${this.name}: ${message}\n  in the worker:\n${workerStack.split('\n').slice(1).join('\n')}\n  reported:\n${(this.stack ?? '').split('\n').slice(1).join('\n')}`;
  }
}

export class DataParallelTrainer {
  /** Steps run so far. */
  seq = 0;
  /** Parameter names and shapes, in replica order. */
  layout: ParamLayout = [];
  private readonly ctrl: Int32Array;
  private readonly stats: Float64Array;
  private readonly fields: FieldLayout[];
  private readonly batchBuf: SharedArrayBuffer;
  private sum: Float32Array | null = null;
  private workers: Worker[] = [];
  private failure: Error | null = null;
  private closed = false;
  private terminated: Promise<unknown> = Promise.resolve();
  private exited = 0;
  private busy = false;
  private timedFrom = 0;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private phase: { type: 'ready' | 'started'; got: Map<number, FromWorker>; resolve: () => void; reject: (e: Error) => void } | null = null;

  private constructor(readonly options: DataParallelOptions, readonly capacity: number) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(C.LENGTH * 4));
    this.stats = new Float64Array(new SharedArrayBuffer(statsLength(options.workers) * 8));
    let offset = 0;
    this.fields = options.batch.map((f) => {
      const l: FieldLayout = { ...f, shape: [...f.shape], offset, row: size(f.shape.slice(1)) };
      offset += Math.ceil((size(f.shape) * 4) / 8) * 8;
      return l;
    });
    this.batchBuf = new SharedArrayBuffer(Math.max(8, offset));
  }

  /** Starts the workers, builds the replicas, broadcasts rank 0's weights. Rejects (workers terminated) on any error. */
  static async create(o: DataParallelOptions): Promise<DataParallelTrainer> {
    if (!(Number.isInteger(o.workers) && o.workers >= 1)) throw new Error(`data-parallel: workers must be a positive integer (got ${o.workers})`);
    if (o.batch.length === 0) throw new Error('data-parallel: the batch needs at least one field');
    const capacity = o.batch[0].shape[0];
    for (const f of o.batch) {
      if (f.dtype !== 'float32' && f.dtype !== 'int32') throw new Error(`data-parallel: batch field "${f.name}" has dtype ${f.dtype}; float32 or int32 expected`);
      if (!(f.shape.length >= 1 && f.shape.every((d) => Number.isInteger(d) && d > 0))) throw new Error(`data-parallel: batch field "${f.name}" has shape [${f.shape}]; positive integers expected`);
      if (f.shape[0] !== capacity) throw new Error(`data-parallel: batch field "${f.name}" has ${f.shape[0]} rows but "${o.batch[0].name}" has ${capacity}; every field's first axis is the batch`);
    }
    if (capacity < o.workers) throw new Error(`data-parallel: a batch of ${capacity} rows cannot be split over ${o.workers} workers`);
    const t = new DataParallelTrainer(o, capacity);
    try {
      await t.start();
    } catch (e) {
      await t.dispose();
      throw e;
    }
    return t;
  }

  private async start(): Promise<void> {
    const o = this.options;
    const arena = new SharedArrayBuffer(Math.max(8, this.capacity * (o.exchangeFloatsPerRow ?? 4096) * 4));
    const weights = o.weights ? toHost(o.weights) : null;
    const optimizerState = o.optimizerState ? { t: o.optimizerState.t, tensors: toHost(o.optimizerState.tensors) } : null;
    const ready = this.expect('ready');
    for (let rank = 0; rank < o.workers; rank++) {
      const init: WorkerInit = {
        rank, workers: o.workers, replica: o.replica, backend: o.backend ?? requestedBackend(), fields: this.fields, capacity: this.capacity,
        clipNorm: o.clipNorm, optimizer: o.optimizer ?? {}, weights: rank === 0 ? weights : null, optimizerState,
        ctrl: this.ctrl.buffer as SharedArrayBuffer, stats: this.stats.buffer as SharedArrayBuffer, batch: this.batchBuf, arena,
      };
      const w = new Worker(path.join(__dirname, 'data-parallel-worker.js'), { workerData: init });
      w.on('message', (m: FromWorker) => this.onMessage(m));
      w.on('error', (e) => this.fail(new DataParallelError(`data-parallel worker ${rank} crashed: ${e.message}`, rank, null, e.stack)));
      w.on('exit', (code) => {
        this.exited++;
        if (!this.closed) this.fail(new DataParallelError(`data-parallel worker ${rank} exited unexpectedly (code ${code})`, rank, null));
      });
      this.workers.push(w);
    }
    const layouts = await ready;
    const ref = (layouts.get(0) as { layout: ParamLayout }).layout;
    for (const [rank, m] of layouts) {
      const l = (m as { layout: ParamLayout }).layout;
      if (JSON.stringify(l) !== JSON.stringify(ref)) throw this.fail(new DataParallelError(`data-parallel: worker ${rank}'s replica has different parameters from worker 0's`, rank, null));
    }
    this.layout = ref;
    const total = ref.reduce((a, p) => a + size(p.shape), 0);
    const grads = new SharedArrayBuffer(Math.max(4, total * 4 * o.workers));
    const sum = new SharedArrayBuffer(Math.max(4, total * 4));
    const params = new SharedArrayBuffer(Math.max(4, total * 4));
    this.sum = new Float32Array(sum);
    const started = this.expect('started');
    for (const w of this.workers) w.postMessage({ type: 'start', grads, sum, params } satisfies ToWorker);
    await started;
    this.stats.fill(0, S.RANK_LOSS + 2 * o.workers); // the broadcast's barrier waits are not step time
    this.idle();
  }

  /** Whether a failure closed the trainer, and how many workers have exited. */
  get state(): { failure: Error | null; closed: boolean; exited: number; workers: number } {
    return { failure: this.failure, closed: this.closed, exited: this.exited, workers: this.workers.length };
  }

  private expect(type: 'ready' | 'started'): Promise<Map<number, FromWorker>> {
    return new Promise((resolve, reject) => {
      const got = new Map<number, FromWorker>();
      this.phase = { type, got, resolve: () => resolve(got), reject };
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'error') {
      const where = m.step !== null ? `at step ${m.step}` : `while ${m.phase}`;
      this.fail(new DataParallelError(`data-parallel worker ${m.rank} failed ${where}: ${m.message}`, m.rank, m.step, m.stack));
    } else if (m.type === 'reply') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m.value);
    } else if ((m.type === 'ready' || m.type === 'started') && this.phase?.type === m.type) {
      this.phase.got.set(m.rank, m);
      if (this.phase.got.size === this.workers.length) {
        const p = this.phase;
        this.phase = null;
        p.resolve();
      }
    }
  }

  /** Records the first failure, wakes every waiter, rejects pending work and terminates the workers. */
  private fail(e: Error): Error {
    if (this.failure || this.closed) return this.failure ?? e;
    this.failure = e;
    this.closed = true;
    Atomics.store(this.ctrl, C.ABORT, 1);
    for (const i of [C.SEQ, C.DONE, C.BAR_GEN]) Atomics.notify(this.ctrl, i);
    this.phase?.reject(e);
    this.phase = null;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.terminated = Promise.all(this.workers.map((w) => w.terminate().catch(() => undefined)));
    return e;
  }

  private async check(): Promise<void> {
    if (this.failure) {
      await this.terminated;
      throw this.failure;
    }
    if (this.closed) throw new Error('data-parallel: the trainer has been disposed');
  }

  /** Workers keep the process alive only while the trainer is working (a forgotten dispose does not hang it). */
  private active(): void {
    for (const w of this.workers) w.ref();
  }
  private idle(): void {
    for (const w of this.workers) w.unref();
  }

  /**
   * One training step on `batch` (every field, rows ≤ capacity, the same row count in each; omitted: the previous
   * step's batch again) at learning rate `lr`. The batch is copied and the workers are started before this returns,
   * so the caller can prepare the next batch while they run (`const p = dp.step(b, lr); next = nextBatch(); await p`).
   */
  step(batch: BatchInput | undefined, lr: number): Promise<StepResult> {
    // check() rejects with the failure (after the workers are gone) or says the trainer was disposed.
    if (this.failure || this.closed) return this.check().then((): never => { throw new Error('data-parallel: the trainer is closed'); });
    if (this.busy) return Promise.reject(new Error('data-parallel: step() called while another step or request is running'));
    this.busy = true;
    this.active();
    let seq: number;
    try {
      if (batch) this.writeBatch(batch);
      else if (this.seq === 0) throw new Error('data-parallel: the first step needs a batch');
      this.stats[S.LR] = lr;
      seq = ++this.seq;
      Atomics.store(this.ctrl, C.SEQ, seq);
      Atomics.notify(this.ctrl, C.SEQ);
    } catch (e) {
      this.busy = false;
      this.idle();
      return Promise.reject(e);
    }
    return this.finish(seq);
  }

  private async finish(seq: number): Promise<StepResult> {
    try {
      const target = seq * this.workers.length;
      for (;;) {
        const done = Atomics.load(this.ctrl, C.DONE);
        if (done >= target || this.failure) break;
        const r = waitAsync(this.ctrl, C.DONE, done, 1000);
        if (r.async) await r.value;
      }
      await this.check();
      return { loss: this.stats[S.LOSS], gradNorm: this.stats[S.NORM], applied: this.stats[S.APPLIED] === 1 };
    } finally {
      this.busy = false;
      if (!this.closed) this.idle();
    }
  }

  private writeBatch(batch: BatchInput): void {
    let rows = -1;
    for (const f of this.fields) {
      const v = batch[f.name];
      if (v === undefined) throw new Error(`data-parallel: the batch has no field "${f.name}" (expected ${this.fields.map((x) => x.name).join(', ')})`);
      const data = v instanceof tf.Tensor ? v.dataSync() : v;
      if (v instanceof tf.Tensor && v.shape.slice(1).join() !== f.shape.slice(1).join()) {
        throw new Error(`data-parallel: batch field "${f.name}" has shape [${v.shape}], expected [rows, ${f.shape.slice(1)}]`);
      }
      if (data.length % f.row !== 0) throw new Error(`data-parallel: batch field "${f.name}" has ${data.length} values, not a whole number of rows of ${f.row}`);
      const r = data.length / f.row;
      if (rows >= 0 && r !== rows) throw new Error(`data-parallel: batch field "${f.name}" has ${r} rows but the others have ${rows}`);
      rows = r;
      if (r > this.capacity) throw new Error(`data-parallel: batch field "${f.name}" has ${r} rows, more than the capacity ${this.capacity}`);
      if (r < this.workers.length) throw new Error(`data-parallel: a batch of ${r} rows cannot be split over ${this.workers.length} workers`);
      const view = f.dtype === 'float32' ? new Float32Array(this.batchBuf, f.offset, data.length) : new Int32Array(this.batchBuf, f.offset, data.length);
      view.set(data as ArrayLike<number>);
    }
    Atomics.store(this.ctrl, C.ROWS, rows);
  }

  private async request<T>(what: 'weights' | 'optimizerState', rank: number): Promise<T> {
    await this.check();
    if (this.busy) throw new Error(`data-parallel: ${what} requested while a step is running`);
    if (!(rank >= 0 && rank < this.workers.length)) throw new Error(`data-parallel: no worker ${rank}`);
    this.active();
    try {
      const id = this.nextId++;
      const reply = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      this.workers[rank].postMessage({ type: 'request', id, what } satisfies ToWorker);
      return (await reply) as T;
    } finally {
      if (!this.closed) this.idle();
    }
  }

  /** A replica's weights by parameter name (all replicas are identical; `rank` is for checking that). */
  weights(rank = 0): Promise<Record<string, HostTensor>> {
    return this.request('weights', rank);
  }

  /**
   * The AdamW state, as AdamW.t and stateTensors() (for checkpoints): each worker holds the moments of the
   * parameters it updates, so this merges every worker's.
   */
  async optimizerState(): Promise<{ t: number; tensors: Record<string, HostTensor> }> {
    const out: { t: number; tensors: Record<string, HostTensor> } = { t: 0, tensors: {} };
    for (let k = 0; k < this.workers.length; k++) {
      const part = await this.request<{ t: number; tensors: Record<string, HostTensor> }>('optimizerState', k);
      if (k > 0 && part.t !== out.t) throw new Error(`data-parallel: worker ${k} has taken ${part.t} optimiser steps, worker 0 ${out.t}`);
      out.t = part.t;
      Object.assign(out.tensors, part.tensors);
    }
    return out;
  }

  /** The full-batch gradient of the last step (before clipping), read from shared memory; valid until the next step. */
  lastGradients(): Record<string, HostTensor> {
    if (!this.sum || this.seq === 0) throw new Error('data-parallel: no step has run yet');
    const out: Record<string, HostTensor> = {};
    let off = 0;
    for (const p of this.layout) {
      const n = size(p.shape);
      out[p.name] = { shape: [...p.shape], data: this.sum.slice(off, off + n) };
      off += n;
    }
    return out;
  }

  /**
   * Milliseconds per step in each phase (TIMING_PHASES), per worker, averaged over the steps since the last reset;
   * read between steps. Forward + backward ≈ step − wait − copy − reduce − update (gather waits count as wait).
   */
  timings(reset = false): Record<(typeof TIMING_PHASES)[number], number>[] {
    const n = this.workers.length;
    const steps = Math.max(1, this.seq - this.timedFrom);
    const out = Array.from({ length: n }, (_, k) => {
      const base = S.RANK_LOSS + 2 * n + k * TIMING_PHASES.length;
      return Object.fromEntries(TIMING_PHASES.map((p, i) => [p, this.stats[base + i] / steps])) as Record<(typeof TIMING_PHASES)[number], number>;
    });
    if (reset) {
      this.stats.fill(0, S.RANK_LOSS + 2 * n);
      this.timedFrom = this.seq;
    }
    return out;
  }

  /** Terminates the workers (idempotent). */
  async dispose(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      Atomics.store(this.ctrl, C.ABORT, 1);
      for (const i of [C.SEQ, C.DONE, C.BAR_GEN]) Atomics.notify(this.ctrl, i);
      const e = new Error('data-parallel: the trainer was disposed');
      this.phase?.reject(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.terminated = Promise.all(this.workers.map((w) => w.terminate().catch(() => undefined)));
    }
    await this.terminated;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Worker thread

class Aborted extends Error {}

/** Entry point of src/train/data-parallel-worker.js. */
export async function runDataParallelWorker(port: MessagePort, init: WorkerInit): Promise<void> {
  const { rank, workers: N } = init;
  const ctrl = new Int32Array(init.ctrl);
  const stats = new Float64Array(init.stats);
  const arena = new Float32Array(init.arena);
  const RANK_SQ = S.RANK_LOSS + N;
  const TIME = S.RANK_LOSS + 2 * N + rank * TIMING_PHASES.length;
  const [T_STEP, T_WAIT, T_COPY, T_REDUCE, T_UPDATE] = [0, 1, 2, 3, 4].map((i) => TIME + i);
  const now = () => performance.now();
  const post = (m: FromWorker) => port.postMessage(m);
  let step: number | null = null;
  let phase = 'starting the backend';
  const report = (e: unknown) => {
    if (e instanceof Aborted) {
      post({ type: 'aborted', rank });
      return;
    }
    Atomics.store(ctrl, C.ABORT, 1);
    for (const i of [C.SEQ, C.DONE, C.BAR_GEN]) Atomics.notify(ctrl, i);
    const err = e instanceof Error ? e : new Error(String(e));
    post({ type: 'error', rank, step, phase, message: err.message, stack: err.stack ?? err.message });
  };

  const barrier = () => {
    const t0 = now();
    const gen = Atomics.load(ctrl, C.BAR_GEN);
    if (Atomics.load(ctrl, C.ABORT)) throw new Aborted();
    if (Atomics.add(ctrl, C.BAR_COUNT, 1) === N - 1) {
      Atomics.store(ctrl, C.BAR_COUNT, 0);
      Atomics.add(ctrl, C.BAR_GEN, 1);
      Atomics.notify(ctrl, C.BAR_GEN);
    } else {
      while (Atomics.load(ctrl, C.BAR_GEN) === gen) {
        if (Atomics.load(ctrl, C.ABORT)) throw new Aborted();
        Atomics.wait(ctrl, C.BAR_GEN, gen, 1000);
      }
    }
    stats[T_WAIT] += now() - t0;
  };

  let objective: ReplicaObjective;
  let opt: AdamW;
  let copies: boolean;
  try {
    const info = await initBackend(init.backend);
    // The wasm backend copies typed arrays into its heap; others may keep a reference, so shared views are copied.
    copies = info.name === 'wasm';
    phase = `building the replica (${init.replica.module} → ${init.replica.export})`;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(init.replica.module) as Record<string, unknown>;
    const factory = mod[init.replica.export];
    if (typeof factory !== 'function') throw new Error(`${init.replica.module} has no function export "${init.replica.export}"`);
    objective = await (factory as ReplicaFactory)(init.replica.args);
    if (objective.reduction !== 'sum' && objective.reduction !== 'replicated') throw new Error(`the replica's reduction must be "sum" or "replicated" (got ${objective.reduction})`);
    if (init.weights) {
      phase = 'loading the initial weights';
      for (const [name, v] of objective.params) {
        const w = init.weights[name];
        if (!w) throw new Error(`initial weights: parameter "${name}" is missing`);
        if (w.shape.join() !== v.shape.join()) throw new Error(`initial weights: parameter "${name}" has shape [${w.shape}], expected [${v.shape}]`);
        const t = tf.tensor(w.data, w.shape);
        v.assign(t);
        t.dispose();
      }
    }
    opt = new AdamW(init.optimizer);
    if (init.optimizerState) {
      // This worker keeps the moments of the parameters it owns (see ownedParams) and no others.
      const mine = new Set(ownedParams([...objective.params.values()].map((v) => v.size), N)[rank].names.map((i) => [...objective.params.keys()][i]));
      const tensors: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(init.optimizerState.tensors)) {
        const match = /^(.*)\.(exp_avg|exp_avg_sq)$/.exec(k);
        if (match && !mine.has(match[1])) continue;
        tensors[k] = tf.tensor(v.data, v.shape);
      }
      opt.loadState(init.optimizerState.t, tensors);
      tf.dispose(Object.values(tensors));
    }
    post({ type: 'ready', rank, layout: [...objective.params].map(([name, v]) => ({ name, shape: [...v.shape] })) });
  } catch (e) {
    report(e);
    return;
  }

  const params = objective.params;
  const names = [...params.keys()];
  const vars = [...params.values()];
  const offsets: number[] = [];
  let total = 0;
  for (const v of vars) {
    offsets.push(total);
    total += v.size;
  }
  let slots: Float32Array[] = [];
  let sum = new Float32Array(0);
  let shared = new Float32Array(0);
  // This worker reduces, clips and updates the parameters it owns (a contiguous run, about 1/N of the values), then
  // publishes their new values; the others copy them in. The result is the same as every worker updating every
  // parameter (same sums, same norm, same kernels), without repeating the optimiser's work N times.
  const own = ownedParams(vars.map((v) => v.size), N)[rank];
  const ownedIdx = own.names;
  const lo = own.lo;
  const hi = own.hi;
  const ownedMap = new Map(ownedIdx.map((i) => [names[i], vars[i]] as [string, tf.Variable]));
  const ownedSet = new Set(ownedIdx);
  const others = vars.map((_, i) => i).filter((i) => !ownedSet.has(i));
  const view = (a: Float32Array, off: number, n: number) => (copies ? a.subarray(off, off + n) : a.slice(off, off + n));

  // ---- per-step context
  let ranges: { start: number; rows: number }[] = [];
  let rows = 0;
  let arenaCursor = 0;
  const ctx: ShardContext = {
    rank,
    workers: N,
    get globalRows() {
      return rows;
    },
    get shardStart() {
      return ranges[rank].start;
    },
    get shardRows() {
      return ranges[rank].rows;
    },
    global(name) {
      const f = init.fields.find((x) => x.name === name);
      if (!f) throw new Error(`ctx.global: no batch field "${name}"`);
      const n = rows * f.row;
      return f.dtype === 'float32' ? new Float32Array(init.batch, f.offset, n) : new Int32Array(init.batch, f.offset, n);
    },
    allGather(xs) {
      if (N === 1) return xs;
      const mine = ranges[rank];
      const widths = xs.map((x) => {
        if (x.dtype !== 'float32') throw new Error(`ctx.allGather: float32 tensors only (got ${x.dtype})`);
        if (x.shape[0] !== mine.rows) throw new Error(`ctx.allGather: a tensor's first axis (${x.shape[0]}) must be this worker's ${mine.rows} rows`);
        return x.size / mine.rows;
      });
      const bases: number[] = [];
      for (const w of widths) {
        bases.push(arenaCursor);
        arenaCursor += rows * w;
      }
      if (arenaCursor > arena.length) throw new Error(`ctx.allGather: ${arenaCursor} floats exceed the exchange arena (${arena.length}); raise exchangeFloatsPerRow`);
      xs.forEach((x, i) => arena.set(x.dataSync() as Float32Array, bases[i] + mine.start * widths[i]));
      barrier();
      return xs.map((x, i) => {
        const parts = ranges.map((r, k) =>
          k === rank ? x : tf.tensor(arena.slice(bases[i] + r.start * widths[i], bases[i] + (r.start + r.rows) * widths[i]), [r.rows, ...x.shape.slice(1)]),
        );
        return tf.concat(parts, 0);
      });
    },
    replicated<T extends tf.Tensor>(x: T): T {
      return rank === 0 ? x : (tf.tensor(x.dataSync(), x.shape, x.dtype) as T);
    },
  };

  const runStep = () => {
    const tStep = now();
    const lr = stats[S.LR];
    rows = Atomics.load(ctrl, C.ROWS);
    ranges = shardRanges(rows, N);
    arenaCursor = 0;
    const { start, rows: mine } = ranges[rank];
    const shard: Record<string, tf.Tensor> = {};
    for (const f of init.fields) {
      const n = mine * f.row;
      const a = f.dtype === 'float32' ? new Float32Array(init.batch, f.offset + start * f.row * 4, n) : new Int32Array(init.batch, f.offset + start * f.row * 4, n);
      shard[f.name] = tf.tensor(copies ? a : a.slice(), [mine, ...f.shape.slice(1)], f.dtype);
    }
    let value: tf.Scalar;
    let grads: tf.NamedTensorMap;
    try {
      ({ value, grads } = tf.variableGrads(() => objective.loss(shard, ctx), vars));
    } finally {
      tf.dispose(Object.values(shard));
    }
    stats[S.RANK_LOSS + rank] = value.dataSync()[0];
    value.dispose();
    let t = now();
    const slot = slots[rank];
    vars.forEach((v, i) => {
      const g = grads[v.name];
      if (g) slot.set(g.dataSync() as Float32Array, offsets[i]);
      else slot.fill(0, offsets[i], offsets[i] + v.size);
    });
    tf.dispose(Object.values(grads));
    stats[T_COPY] += now() - t;
    barrier();
    let loss = stats[S.RANK_LOSS];
    if (objective.reduction === 'sum') for (let k = 1; k < N; k++) loss += stats[S.RANK_LOSS + k];
    let gradNorm = NaN;
    let applied = false;
    if (Number.isFinite(loss)) {
      // Reduce-scatter: this worker sums its index range over the slots in rank order (and the squares of the sums,
      // in float64, for the global norm); every replica then reads the same sums and adds the partial squares in
      // rank order, so every replica gets the same gradient and the same norm.
      t = now();
      let sq = 0;
      if (N === 2) {
        const a = slots[0];
        const b = slots[1];
        for (let i = lo; i < hi; i++) {
          const x = (sum[i] = a[i] + b[i]);
          sq += x * x;
        }
      } else {
        for (let i = lo; i < hi; i++) {
          let s = slots[0][i];
          for (let k = 1; k < N; k++) s += slots[k][i];
          const x = (sum[i] = s);
          sq += x * x;
        }
      }
      stats[RANK_SQ + rank] = sq;
      stats[T_REDUCE] += now() - t;
      barrier();
      let total2 = 0;
      for (let k = 0; k < N; k++) total2 += stats[RANK_SQ + k];
      gradNorm = Math.sqrt(total2);
      if (Number.isFinite(gradNorm)) {
        t = now();
        const named: Record<string, tf.Tensor> = {};
        for (const i of ownedIdx) named[names[i]] = tf.tensor(view(sum, offsets[i], vars[i].size), vars[i].shape);
        // As the loop: clipping is a factor applied inside the update. Every worker steps (so AdamW.t advances
        // everywhere), each over its own parameters.
        opt.step(ownedMap, named, lr, clipScale(gradNorm, init.clipNorm));
        tf.dispose(Object.values(named));
        if (N > 1) for (const i of ownedIdx) shared.set(vars[i].dataSync() as Float32Array, offsets[i]);
        stats[T_UPDATE] += now() - t;
        if (N > 1) {
          barrier();
          t = now();
          for (const i of others) {
            const v = tf.tensor(view(shared, offsets[i], vars[i].size), vars[i].shape);
            vars[i].assign(v);
            v.dispose();
          }
          stats[T_UPDATE] += now() - t;
        }
        applied = true;
      }
    }
    if (rank === 0) {
      stats[S.LOSS] = loss;
      stats[S.NORM] = gradNorm;
      stats[S.APPLIED] = applied ? 1 : 0;
    }
    stats[T_STEP] += now() - tStep;
  };

  const loop = async () => {
    let last = 0;
    for (;;) {
      if (Atomics.load(ctrl, C.ABORT)) return;
      const seq = Atomics.load(ctrl, C.SEQ);
      if (seq !== last) {
        step = seq;
        phase = 'stepping';
        runStep();
        last = seq;
        step = null;
        phase = 'idle';
        Atomics.add(ctrl, C.DONE, 1);
        Atomics.notify(ctrl, C.DONE);
        continue;
      }
      const r = waitAsync(ctrl, C.SEQ, seq);
      if (r.async) await r.value;
    }
  };

  port.on('message', (m: ToWorker) => {
    try {
      if (m.type === 'start') {
        phase = 'broadcasting rank 0 weights';
        slots = Array.from({ length: N }, (_, k) => new Float32Array(m.grads, k * total * 4, total));
        sum = new Float32Array(m.sum);
        shared = new Float32Array(m.params);
        if (rank === 0) vars.forEach((v, i) => shared.set(v.dataSync() as Float32Array, offsets[i]));
        barrier();
        if (rank !== 0) {
          vars.forEach((v, i) => {
            const t = tf.tensor(shared.slice(offsets[i], offsets[i] + v.size), v.shape);
            v.assign(t);
            t.dispose();
          });
        }
        barrier();
        phase = 'idle';
        post({ type: 'started', rank });
        loop().catch(report);
      } else if (m.type === 'request') {
        let value: unknown;
        if (m.what === 'weights') {
          const out: Record<string, HostTensor> = {};
          for (const [name, v] of params) out[name] = { shape: [...v.shape], data: v.dataSync() as Float32Array };
          value = out;
        } else {
          const tensors: Record<string, HostTensor> = {};
          for (const [name, t] of Object.entries(opt.stateTensors())) tensors[name] = { shape: [...t.shape], data: t.dataSync() as Float32Array };
          value = { t: opt.t, tensors };
        }
        post({ type: 'reply', rank, id: m.id, value });
      }
    } catch (e) {
      report(e);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The grounding model as a replica

export interface GroundingReplicaArgs {
  config: GroundingConfig;
  seed: number;
}

/** Symmetric InfoNCE over the whole batch: each worker encodes its rows, gathers everyone's, scale through rank 0. */
export function groundingReplica(a: GroundingReplicaArgs): ReplicaObjective {
  const model = new GroundingModel(a.config, a.seed);
  return {
    params: model.params,
    reduction: 'replicated',
    loss: (s, ctx) => {
      const va = model.encodeVisionAction({ images: s.images as tf.Tensor4D, trajectories: s.trajectories as tf.Tensor3D, trajectoryMask: s.trajectoryMask as tf.Tensor2D });
      const tx = model.encodeText(s.ids as tf.Tensor2D, s.textMask as tf.Tensor2D);
      const [allVa, allTx] = ctx.allGather([va, tx]);
      return symmetricInfoNCE(allVa as tf.Tensor2D, allTx as tf.Tensor2D, ctx.replicated(model.scale()));
    },
    dispose: () => model.dispose(),
  };
}

export function groundingReplicaSpec(args: GroundingReplicaArgs): ReplicaSpec {
  return { module: __filename, export: 'groundingReplica', args };
}

/** The grounding batch's fields (names as GroundingBatch plus the text's ids and textMask). */
export function groundingBatchFields(c: GroundingConfig, batchSize: number): BatchField[] {
  return [
    { name: 'images', dtype: 'float32', shape: [batchSize, c.image, c.image, 3] },
    { name: 'trajectories', dtype: 'float32', shape: [batchSize, c.trajectoryLength, 4] },
    { name: 'trajectoryMask', dtype: 'float32', shape: [batchSize, c.trajectoryLength] },
    { name: 'ids', dtype: 'int32', shape: [batchSize, c.maxText] },
    { name: 'textMask', dtype: 'float32', shape: [batchSize, c.maxText] },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// A separable loss: the 'sum' reduction's example (and its test)

export interface MaskedRegressionArgs {
  inputs: number;
  outputs: number;
  seed: number;
}

/**
 * A linear layer y = xW + b with the squared error averaged over the valid (mask = 1) rows of the whole batch, the
 * shape of token-mean SFT: each worker returns Σ over its rows / the batch's global mask count (read from shared
 * memory with ctx.global), so the shares add up to the full-batch mean. Batch fields: x [B, inputs], y [B, outputs],
 * mask [B].
 */
export function maskedRegressionReplica(a: MaskedRegressionArgs): ReplicaObjective {
  const r = new Rng(a.seed);
  const params = new Map<string, tf.Variable>([
    ['weight', tf.variable(tf.tensor2d(r.normals(a.inputs * a.outputs, 0.5), [a.inputs, a.outputs]), true, 'regression.weight')],
    ['bias', tf.variable(tf.zeros([a.outputs]), true, 'regression.bias')],
  ]);
  return {
    params,
    reduction: 'sum',
    loss: (s, ctx) => {
      const mask = ctx.global('mask');
      let count = 0;
      for (let i = 0; i < mask.length; i++) count += mask[i];
      return maskedRegressionSum(params, s.x as tf.Tensor2D, s.y as tf.Tensor2D, s.mask as tf.Tensor1D).div(Math.max(1, count)) as tf.Scalar;
    },
    dispose: () => params.forEach((v) => v.dispose()),
  };
}

/** Σ over rows of mask · Σ (xW + b − y)² (the single-process loss divides it by Σ mask). */
export function maskedRegressionSum(params: Map<string, tf.Variable>, x: tf.Tensor2D, y: tf.Tensor2D, mask: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => x.matMul(params.get('weight')!).add(params.get('bias')!).sub(y).square().sum(1).mul(mask).sum() as tf.Scalar);
}

export function maskedRegressionSpec(args: MaskedRegressionArgs): ReplicaSpec {
  return { module: __filename, export: 'maskedRegressionReplica', args };
}
