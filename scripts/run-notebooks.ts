/**
 * `npm run notebooks -- [--preset tiny|small] [--out DIR] [names…]`: executes notebooks headless with tslab's own
 * converter and executor (the code the tslab Jupyter kernel runs; internal APIs, hence tslab pinned at 1.0.22),
 * cell by cell, from the project root so that `./src/...` imports resolve as they do in the kernel. Outputs (stream
 * text, display_data from tslab.display: PNG, SVG, HTML, vega-lite JSON) are written back into a copy of each notebook.
 * A failing cell stops with a non-zero exit naming the notebook, the cell number, its code and the error.
 * Each notebook runs in its own child process (fresh kernel state, as in Jupyter).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.join(__dirname, '..');

interface Cell { cell_type: string; source: string | string[]; outputs?: unknown[]; execution_count?: number | null; metadata?: object }
interface Notebook { cells: Cell[]; metadata: Record<string, unknown>; nbformat: number; nbformat_minor: number }

const text = (s: string | string[]) => (Array.isArray(s) ? s.join('') : s);

/** Runs one notebook in this process (the child side). */
async function runOne(file: string, outFile: string): Promise<void> {
  process.chdir(ROOT);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createConverter } = require('tslab/dist/converter');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createExecutor } = require('tslab/dist/executor');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const jupyter = require('tslab/dist/jupyter');
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;
  let node: unknown = null;
  const convs = { get node() { return (node ??= createConverter({ isJS: false, isBrowser: false })); }, get browser() { return createConverter({ isJS: false, isBrowser: true }); }, close() { (node as { close(): void } | null)?.close(); } };
  let outputs: Record<string, unknown>[] = [];
  const stream = (name: 'stdout' | 'stderr', args: unknown[]) => {
    const s = args.map((a) => (typeof a === 'string' ? a : require('node:util').inspect(a, { depth: 4 }))).join(' ') + '\n';
    const last = outputs[outputs.length - 1];
    if (last && last.output_type === 'stream' && last.name === name) last.text = (last.text as string) + s;
    else outputs.push({ output_type: 'stream', name, text: s });
  };
  const errors: string[] = [];
  const executor = createExecutor(ROOT, convs, { log: (...a: unknown[]) => stream('stdout', a), error: (...a: unknown[]) => { errors.push(a.map(String).join(' ')); stream('stderr', a); } });
  jupyter.lastWriteDisplayData = (d: { data: Record<string, unknown> }) => outputs.push({ output_type: 'display_data', data: d.data, metadata: {} });
  const orig = { log: console.log, error: console.error, warn: console.warn, info: console.info };
  let count = 0;
  for (const [i, cell] of nb.cells.entries()) {
    if (cell.cell_type !== 'code') continue;
    outputs = [];
    errors.length = 0;
    console.log = console.info = (...a: unknown[]) => stream('stdout', a);
    console.error = console.warn = (...a: unknown[]) => stream('stderr', a);
    let ok = false;
    try {
      ok = await executor.execute(text(cell.source));
    } finally {
      Object.assign(console, orig);
    }
    cell.outputs = outputs;
    cell.execution_count = ++count;
    process.stderr.write(`  ${path.basename(file)} cell ${i + 1}: ${ok ? 'ok' : 'FAILED'}\n`);
    if (!ok) {
      fs.mkdirSync(path.dirname(outFile), { recursive: true });
      fs.writeFileSync(outFile, JSON.stringify(nb, null, 1));
      process.stderr.write(`\n${file}: cell ${i + 1} failed\n--- code ---\n${text(cell.source)}\n--- error ---\n${errors.join('\n') || outputs.map((o) => o.text ?? '').join('')}\n`);
      executor.close();
      process.exit(1);
    }
  }
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, JSON.stringify(nb, null, 1) + '\n');
  executor.close();
  process.exit(0);
}

function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return runOne(args[1], args[2]);
  let preset = process.env.GPLA_PRESET ?? 'tiny';
  let out: string | null = null;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--preset') preset = args[++i];
    else if (args[i] === '--out') out = args[++i];
    else names.push(args[i]);
  }
  const dir = path.join(ROOT, 'notebooks');
  const all = fs.readdirSync(dir).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).sort();
  const chosen = names.length ? all.filter((f) => names.some((n) => f.startsWith(n) || f === n)) : all;
  if (chosen.length === 0) {
    console.error(`no notebooks match ${names.join(', ')} (available: ${all.join(', ')})`);
    process.exit(2);
  }
  const runDir = process.env.GPLA_RUN_DIR ?? path.join(ROOT, 'runs', `notebooks-${preset}`);
  for (const f of chosen) {
    const t0 = Date.now();
    console.error(`${f} (preset ${preset})`);
    const target = out ? path.join(out, f) : path.join(dir, f);
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', __filename, '--child', path.join(dir, f), target], {
      cwd: ROOT, stdio: 'inherit', env: { ...process.env, GPLA_PRESET: preset, GPLA_RUN_DIR: runDir, GPLA_PROGRESS: 'lines' },
    });
    if (r.status !== 0) process.exit(r.status ?? 1);
    console.error(`${f}: done in ${((Date.now() - t0) / 1000).toFixed(0)} s → ${path.relative(ROOT, target)}`);
  }
}

main();
