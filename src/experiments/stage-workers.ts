/**
 * The extra processes of `gpla reproduce --jobs N`: each is the same CLI (`bin/gpla.js reproduce … --stage-worker`)
 * on the same run folder, taking stages from the shared queue of stage-scheduler.ts. Their output is forwarded line
 * by line with a `[jobs k]` prefix; a process that fails is reported with the end of its output, and the others are
 * stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackendName } from '../backend';

const BIN = path.join(__dirname, '..', '..', 'bin', 'gpla.js');

/**
 * GPLA_JOBS, else 2 where the backend computes on one core per process (wasm, cpu) and the machine has two or more;
 * 1 for the TensorFlow backend, which already uses every core (and a GPU would be shared), and for webgpu (one GPU).
 */
export function defaultJobs(backend: BackendName, value: string | undefined = process.env.GPLA_JOBS): number {
  if (value !== undefined && value !== '') {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`GPLA_JOBS must be a positive integer, got "${value}"`);
    return n;
  }
  if (backend === 'tensorflow' || backend === 'webgpu') return 1;
  return os.cpus().length >= 2 ? 2 : 1;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

export interface StageWorkerOptions {
  preset: string;
  out: string;
  data?: string;
  onCorrupt?: 'throw' | 'skip';
  seed: number;
  sets?: string[];
}

export interface StageWorkers {
  /** The first failure of a worker process, or null. */
  error(): Error | null;
  /** Resolves when every worker has exited cleanly; rejects with the first failure. */
  finished(): Promise<void>;
  /** Kills the workers still running. */
  stop(): void;
}

export function startStageWorkers(n: number, o: StageWorkerOptions, session: string, log: (line: string) => void, backend: BackendName): StageWorkers {
  let failure: Error | null = null;
  const children: ChildProcess[] = [];
  const exits: Promise<void>[] = [];
  for (let k = 1; k <= n; k++) {
    const args = [BIN, 'reproduce', '--preset', o.preset, '--out', o.out, '--seed', String(o.seed), '--stage-worker', session, '--parent-pid', String(process.pid)];
    if (o.data) args.push('--data', o.data);
    if (o.onCorrupt === 'skip') args.push('--skip-corrupt');
    for (const s of o.sets ?? []) args.push('--set', s);
    // Same backend as this process; one BLAS thread each (the processes already fill the cores).
    const env = { ...process.env, GPLA_BACKEND: backend, GPLA_BLAS_THREADS: process.env.GPLA_BLAS_THREADS ?? '1' };
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const tail: string[] = [];
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        log(`[jobs ${k + 1}] ${line}`);
      }
    };
    child.stdout!.on('data', forward);
    child.stderr!.on('data', forward);
    exits.push(
      new Promise<void>((resolve, reject) => {
        child.on('error', (e) => {
          failure ??= new Error(`reproduce worker ${k + 1} could not start: ${e.message}`);
          reject(failure);
        });
        child.on('exit', (code, signal) => {
          if (code === 0) return resolve();
          failure ??= new Error(`reproduce worker ${k + 1} failed (${signal ?? `exit ${code}`}); its last output:\n${tail.join('\n')}`);
          log(`[jobs ${k + 1}] failed: ${signal ?? `exit ${code}`}`);
          reject(failure);
        });
      }),
    );
  }
  // Nobody may be awaiting yet: keep rejections from being unhandled until finished() is called.
  for (const e of exits) e.catch(() => undefined);
  return {
    error: () => failure,
    finished: async () => {
      await Promise.all(exits);
    },
    stop: () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    },
  };
}
