/**
 * Runs the pipeline's independent stages in parallel processes. The stages after `data` form a small DAG
 * (grounding ×2, policy and the base planner need only the data; the SFT planner needs the base; each SimPO run needs
 * its start planner and its grounding model), so two processes on two cores finish them in about half the time, and
 * every stage computes exactly what it computes alone: it has its own seed and reads its inputs from the run folder.
 *
 * Every process runs the same loop: take the first stage in priority order whose dependencies are finished and that
 * no process has claimed, claim it (an exclusive file create, so two processes never take the same stage), run it,
 * repeat; wait when nothing is ready. Claims belong to one invocation (`session`), so an interrupted run resumes with
 * fresh claims and each unfinished stage continues from its checkpoint, whoever takes it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stage, stageDone } from './stages';

export interface StageSpec {
  name: string;
  /** Stages whose results this one reads. */
  deps: string[];
  run: () => Promise<unknown>;
}

export interface SchedulerOptions {
  /** One id per invocation; claims are kept under stages/.claims-<session>/. */
  session: string;
  log: (line: string) => void;
  /** Returns an error when a peer process has failed (the loop stops waiting and throws it). */
  peerError?: () => Error | null;
  pollMs?: number;
}

/** Checks that every dependency names a stage of the list and that the list has no cycle. */
export function validateStages(specs: StageSpec[], external: string[] = []): void {
  const names = new Set(specs.map((s) => s.name));
  for (const s of specs) {
    for (const d of s.deps) if (!names.has(d) && !external.includes(d)) throw new Error(`stage "${s.name}" depends on unknown stage "${d}"`);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string, trail: string[]) => {
    if (state.get(n) === 'done' || !names.has(n)) return;
    if (state.get(n) === 'visiting') throw new Error(`stages form a cycle: ${[...trail, n].join(' → ')}`);
    state.set(n, 'visiting');
    for (const d of specs.find((s) => s.name === n)!.deps) visit(d, [...trail, n]);
    state.set(n, 'done');
  };
  for (const s of specs) visit(s.name, []);
}

function claimDir(runDir: string, session: string): string {
  return path.join(runDir, 'stages', `.claims-${session}`);
}

/** Claims a stage for this process; false when another process already has. */
export function claimStage(runDir: string, session: string, name: string): boolean {
  const dir = claimDir(runDir, session);
  fs.mkdirSync(dir, { recursive: true });
  try {
    fs.closeSync(fs.openSync(path.join(dir, name), 'wx'));
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'EEXIST') return false;
    throw e;
  }
}

/** Removes this invocation's claims (after every stage is done). */
export function clearClaims(runDir: string, session: string): void {
  fs.rmSync(claimDir(runDir, session), { recursive: true, force: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs stages until all are finished (by this process or its peers). Throws a stage's error, or the peer's.
 * Returns the names this process ran.
 */
export async function runStages(runDir: string, specs: StageSpec[], o: SchedulerOptions): Promise<string[]> {
  validateStages(specs);
  const ran: string[] = [];
  const poll = o.pollMs ?? 500;
  for (;;) {
    const pending = specs.filter((s) => !stageDone(runDir, s.name));
    if (pending.length === 0) return ran;
    const ready = pending.find((s) => s.deps.every((d) => stageDone(runDir, d)) && claimStage(runDir, o.session, s.name));
    if (ready) {
      await stage(runDir, ready.name, ready.run, o.log);
      ran.push(ready.name);
      continue;
    }
    const err = o.peerError?.();
    if (err) throw err;
    await sleep(poll);
  }
}
