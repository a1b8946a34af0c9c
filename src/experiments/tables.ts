/**
 * The run's tables, built as danfojs DataFrames and written as CSV (danfojs's own toCSV({filePath}) does not write
 * local files in Node, so the CSV text is written here): tables/results.csv (one row per condition, one column per
 * metric) and tables/qualitative.csv (the paper's Table 2: high-level instruction, ground truth, each condition).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HierarchicalSample } from '../data/samples';
import { loadDanfo } from '../util/danfo';

function dataFrame(rows: Record<string, string | number>[]): { columns: string[]; values: (string | number)[][] } {
  const dfd = loadDanfo() as unknown as { DataFrame: new (rows: Record<string, string | number>[]) => { columns: string[]; values: (string | number)[][] } };
  return new dfd.DataFrame(rows);
}

const csvCell = (v: string | number) => {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : '') : v;
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(df: { columns: string[]; values: (string | number)[][] }): string {
  return [df.columns.map(csvCell).join(','), ...df.values.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
}

export async function writeTables(
  runDir: string,
  conditions: readonly string[],
  results: Record<string, object>,
  samples: HierarchicalSample[],
  generated: Record<string, string[]>,
  qualitativeRows: number,
): Promise<{ results: string; qualitative: string }> {
  const dir = path.join(runDir, 'tables');
  fs.mkdirSync(dir, { recursive: true });
  // Rows share one column set (a reference row without text metrics gets empty cells, not a shifted row).
  const columns = [...new Set(conditions.flatMap((c) => Object.keys(results[c] ?? {})))];
  const rows = conditions.map((c) => ({ condition: c, ...Object.fromEntries(columns.map((k) => [k, (results[c] as Record<string, number>)?.[k] ?? NaN])) }));
  const resultsFile = path.join(dir, 'results.csv');
  fs.writeFileSync(resultsFile, toCsv(dataFrame(rows)));
  // Qualitative: one sample per distinct high-level instruction first, like the paper's Table 2.
  const picked: number[] = [];
  const seen = new Set<string>();
  samples.forEach((s, i) => {
    if (picked.length < qualitativeRows && !seen.has(s.highLevel ?? '')) {
      seen.add(s.highLevel ?? '');
      picked.push(i);
    }
  });
  const qual = picked.map((i) => ({
    'high-level instruction': samples[i].highLevel ?? '',
    'low-level instruction (GT)': samples[i].lowLevel,
    ...Object.fromEntries(conditions.filter((c) => generated[c]).map((c) => [c, generated[c][i] ?? ''])),
  }));
  const qualFile = path.join(dir, 'qualitative.csv');
  fs.writeFileSync(qualFile, qual.length ? toCsv(dataFrame(qual)) : '');
  return { results: resultsFile, qualitative: qualFile };
}
