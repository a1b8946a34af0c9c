/**
 * A run is a folder, and a pipeline is a list of named stages; each finished stage leaves `stages/<name>.json`
 * (its summary), written atomically last, so re-running the same command skips what is done and resumes inside the
 * stage that was interrupted (the training loop resumes from its checkpoints).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execSync } from 'node:child_process';

export function stageFile(runDir: string, name: string): string {
  return path.join(runDir, 'stages', `${name}.json`);
}

export function stageDone(runDir: string, name: string): boolean {
  return fs.existsSync(stageFile(runDir, name));
}

export function readStage<T>(runDir: string, name: string): T {
  return JSON.parse(fs.readFileSync(stageFile(runDir, name), 'utf8')) as T;
}

export function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2));
  fs.renameSync(tmp, file);
}

/** Runs `fn` unless the stage is already done; returns its (saved or fresh) summary. */
export async function stage<T>(runDir: string, name: string, fn: () => Promise<T>, log: (s: string) => void = console.error): Promise<T> {
  if (stageDone(runDir, name)) {
    log(`[${name}] done earlier, skipped`);
    return readStage<T>(runDir, name);
  }
  const t0 = Date.now();
  log(`[${name}] start`);
  const summary = await fn();
  const seconds = (Date.now() - t0) / 1000;
  writeJsonAtomic(stageFile(runDir, name), { ...(summary as object), seconds });
  log(`[${name}] done in ${seconds.toFixed(1)} s`);
  return { ...(summary as object), seconds } as T;
}

/** The git revision of the package, or "unknown" outside a checkout. */
export function gitRevision(cwd = path.join(__dirname, '..', '..')): string {
  try {
    const rev = execSync('git rev-parse HEAD', { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${rev}-dirty` : rev;
  } catch {
    return 'unknown';
  }
}
