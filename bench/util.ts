/** Shared bench helpers: timing with warm-up, medians, machine description, JSON results. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** `--name N` from a bench's arguments, or `def` when absent. */
export function intArg(args: string[], name: string, def: number): number {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = parseInt(args[i + 1], 10);
  if (!Number.isInteger(v)) throw new Error(`${name} needs an integer, got "${args[i + 1]}"`);
  return v;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs fn `warmup` times, then `reps` timed runs; returns per-run seconds. */
export async function timeIt(fn: () => unknown | Promise<unknown>, reps: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return out;
}

export function machine() {
  return { cpu: os.cpus()[0]?.model ?? '?', cores: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.arch()}` };
}

export function writeResults(area: string, data: unknown): string {
  const file = path.join(__dirname, 'results', `${area}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine: machine(), ...(data as object) }, null, 2));
  return file;
}

/** Prints rows as an aligned text table. */
export function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(width[i])).join('  ');
  console.log(line(cols));
  console.log(width.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c] ?? ''))));
}
