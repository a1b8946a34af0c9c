/**
 * Checked option values for every command: numbers are parsed strictly (an integer option refuses "abc", "1.5",
 * "1e3" and values outside its range) and output paths are checked before any work, so a typo fails at once with the
 * option named instead of running with NaN, a truncated value or a raw EEXIST/ENOTDIR from deep inside a stage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from 'commander';

/**
 * A commander argument parser for an integer in [min, max]. Commander names the option in its message
 * ("option '--seed <n>' argument 'abc' is invalid. …") and exits before the action runs.
 */
export function integerOption(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`;
    if (!/^[+-]?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected ${range}, got "${value}"`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected ${range}, got ${value}`);
    return n;
  };
}

/** Seeds: any integer a 32-bit seeded generator takes without loss. */
export const seedOption = integerOption(0, 2 ** 31 - 1);

/**
 * Makes sure `dir` is (or can become) a writable folder; `option` names where the path came from. An existing file,
 * a parent that is a file, or a folder without write permission is an error that says so.
 */
export function ensureOutputDir(dir: string, option: string, shown = dir): void {
  const abs = path.resolve(dir);
  const own = shown === dir;
  // The first ancestor that exists decides: it must be a folder we may write in.
  let probe = abs;
  while (!fs.existsSync(probe)) {
    const parent = path.dirname(probe);
    if (parent === probe) break;
    probe = parent;
  }
  const st = fs.statSync(probe);
  if (!st.isDirectory()) {
    throw new Error(`${option} ${shown}: ${probe === abs && own ? 'is a file, not a folder' : `${probe} is a file, so the folder cannot be made`}`);
  }
  try {
    fs.accessSync(probe, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new Error(`${option} ${shown}: ${probe} is not writable`);
  }
  try {
    fs.mkdirSync(abs, { recursive: true });
  } catch (e) {
    throw new Error(`${option} ${shown}: cannot create the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** For a file output (`--out x.png`): its folder must be writable and the path itself must not be a folder. */
export function ensureOutputFile(file: string, option: string): void {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new Error(`${option} ${file}: is a folder, expected a file name`);
  ensureOutputDir(path.dirname(path.resolve(file)), option, file);
}
