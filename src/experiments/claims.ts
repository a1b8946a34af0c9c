/**
 * The claims table of a run folder (`gpla claims RUN`, and what `reproduce` writes to tables/claims.csv): a single
 * run gives each claim's point estimate (inconclusive by the rule: one seed has no interval); a `--seeds N` folder
 * pairs the seeds' own summaries (OUT/seed-<s>/summary.json).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluateClaims, type ClaimRow, type ClaimSeed } from '../eval/claims';
import { writeClaimsTable } from './evaluate';

/** The per-seed summaries under a run folder: its seed-<s>/ folders, or the folder itself for a single run. */
export function claimSeeds(dir: string): ClaimSeed[] {
  const read = (d: string, seed: number): ClaimSeed => {
    const f = path.join(d, 'summary.json');
    if (!fs.existsSync(f)) throw new Error(`${d}: no summary.json (has the run's evaluate stage finished? run \`gpla reproduce --out ${d}\`)`);
    const s = JSON.parse(fs.readFileSync(f, 'utf8')) as { conditions?: ClaimSeed['results']; retrieval?: ClaimSeed['retrieval'] };
    if (!s.conditions || !s.retrieval) throw new Error(`${f}: expected "conditions" and "retrieval" (a run's summary), found ${Object.keys(s).join(', ')}`);
    return { seed, results: s.conditions, retrieval: s.retrieval };
  };
  if (!fs.existsSync(dir)) throw new Error(`${dir}: no such run folder`);
  const seedDirs = fs.readdirSync(dir).filter((n) => /^seed-\d+$/.test(n) && fs.existsSync(path.join(dir, n, 'summary.json'))).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  if (seedDirs.length > 0) return seedDirs.map((n) => read(path.join(dir, n), Number(n.slice(5))));
  const cfg = path.join(dir, 'config.json');
  return [read(dir, fs.existsSync(cfg) ? (JSON.parse(fs.readFileSync(cfg, 'utf8')) as { seed: number }).seed : NaN)];
}

/** Evaluates the claims of a run folder and writes its tables/claims.csv. */
export function writeRunClaims(dir: string): { rows: ClaimRow[]; file: string; seeds: number[] } {
  const seeds = claimSeeds(dir);
  const rows = evaluateClaims(seeds);
  return { rows, file: writeClaimsTable(dir, rows), seeds: seeds.map((s) => s.seed) };
}
