/**
 * Helpers for the notebooks (tslab kernel or the headless runner): parameters from the environment, and display of
 * PNG figures, tables and film strips. Offline viewers show PNG reliably, so every figure is displayed as PNG.
 */
import * as path from 'node:path';
import { renderVegaLite } from '../viz/render';

export interface NotebookParams {
  preset: 'tiny' | 'small' | 'paper';
  seed: number;
  /** The run folder the notebooks share (each notebook reads what earlier ones wrote). */
  runDir: string;
}

export function params(defaults: Partial<NotebookParams> = {}): NotebookParams {
  const preset = (process.env.GPLA_PRESET ?? defaults.preset ?? 'tiny') as NotebookParams['preset'];
  return {
    preset,
    seed: Number(process.env.GPLA_SEED ?? defaults.seed ?? 0),
    runDir: path.resolve(process.env.GPLA_RUN_DIR ?? defaults.runDir ?? `runs/notebooks-${preset}`),
  };
}

function display(): { png(b: Uint8Array): void; html(s: string): void; text(s: string): void } | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('tslab').display;
  } catch {
    return null;
  }
}

export function showPng(bytes: Uint8Array): void {
  const d = display();
  if (d) d.png(bytes);
  else console.log(`[png ${bytes.length} bytes]`);
}

export async function showFigure(spec: Record<string, unknown>): Promise<void> {
  showPng((await renderVegaLite(spec)).png);
}

const esc = (s: unknown) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** An HTML table of rows (numbers to 4 significant digits); plain text outside a kernel. */
export function showTable(rows: Record<string, unknown>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v ?? ''));
  const d = display();
  if (!d) {
    console.table(rows);
    return;
  }
  d.html(
    `<table><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>` +
      rows.map((r) => `<tr>${cols.map((c) => `<td>${esc(fmt(r[c]))}</td>`).join('')}</tr>`).join('') +
      '</tbody></table>',
  );
}

export function showMarkdown(md: string): void {
  const d = display() as unknown as { markdown?(s: string): void } | null;
  if (d?.markdown) d.markdown(md);
  else console.log(md);
}
