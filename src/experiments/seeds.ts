/**
 * `gpla reproduce --seeds N`: the whole pipeline once per seed (OUT/seed-<s>/, each a complete, resumable run with
 * its own synthetic dataset, initialisation and sampling), then the conditions' metrics across seeds:
 *
 *   OUT/tables/results.csv    condition, metric, seeds, mean, std (n − 1), 95% percentile-bootstrap interval of the
 *                             mean (1000 resamples), and the per-seed values;
 *   OUT/tables/retrieval.csv  the same for each grounding model × trajectory perturbation × recall@k;
 *   OUT/tables/claims.csv     each claim of the paper: its per-seed quantity, 95% t-interval and verdict (eval/claims.ts);
 *   OUT/summary.json          means, intervals and per-seed values, from which `gpla figures OUT` draws error bars.
 *
 * With 3–5 seeds a bootstrap interval is coarse (it cannot be wider than the values' range); it is reported beside
 * the std, not instead of it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { summarize, type Summary } from '../eval/stats';
import type { GroundingRetrievalRow } from '../eval/grounding-retrieval';
import { writeRunFigures } from '../viz/run-figures';
import { CONDITIONS, GROUND_TRUTH_PLANNER, writeClaimsTable, type ResultRow } from './evaluate';
import { evaluateClaims, type ClaimSeed } from '../eval/claims';
import { reproduce, type ReproduceOptions, type ReproduceResult } from './reproduce';
import { writeJsonAtomic } from './stages';
import { toCsv } from './tables';

export interface SeedRun {
  seed: number;
  results: Record<string, ResultRow>;
  retrieval: GroundingRetrievalRow[];
}

export interface SeedAggregate {
  seeds: number[];
  /** condition → metric → summary across seeds (metrics that are finite in every seed). */
  results: Record<string, Record<string, Summary & { values: number[] }>>;
  /** "model|perturbation|direction@k" → summary. */
  retrieval: Record<string, Summary & { values: number[] }>;
}

const ROWS = [...CONDITIONS, GROUND_TRUTH_PLANNER];
/** The recall@k families of a retrieval row aggregated across seeds (exact pairs and semantic, both ways). */
const RETRIEVAL_DIRECTIONS = ['trajToText', 'textToTraj', 'trajToTextSemantic', 'textToTrajSemantic'] as const;

/** Per (condition, metric) across seeds; a metric missing or non-finite in any seed is left out, not averaged. */
export function aggregateSeeds(runs: SeedRun[], bootstrapSeed = 0): SeedAggregate {
  if (runs.length === 0) throw new Error('aggregateSeeds: no runs');
  const results: SeedAggregate['results'] = {};
  for (const cond of ROWS) {
    const metrics = Object.keys(runs[0].results[cond] ?? {});
    for (const m of metrics) {
      const values = runs.map((r) => r.results[cond]?.[m as keyof ResultRow] as number | undefined);
      if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) continue;
      (results[cond] ??= {})[m] = { ...summarize(values as number[], { seed: bootstrapSeed }), values: values as number[] };
    }
  }
  const retrieval: SeedAggregate['retrieval'] = {};
  const key = (r: GroundingRetrievalRow, dir: string, k: string) => `${r.model}|${r.perturbation}|${dir}@${k}`;
  const collect = new Map<string, number[]>();
  for (const run of runs) {
    for (const r of run.retrieval) {
      for (const dir of RETRIEVAL_DIRECTIONS) {
        for (const [k, v] of Object.entries(r[dir] ?? {})) collect.set(key(r, dir, k), [...(collect.get(key(r, dir, k)) ?? []), v]);
      }
    }
  }
  for (const [k, values] of collect) if (values.length === runs.length) retrieval[k] = { ...summarize(values, { seed: bootstrapSeed }), values };
  return { seeds: runs.map((r) => r.seed), results, retrieval };
}

export function writeSeedTables(out: string, agg: SeedAggregate, n: number): void {
  const dir = path.join(out, 'tables');
  fs.mkdirSync(dir, { recursive: true });
  const columns = ['condition', 'metric', 'seeds', 'mean', 'std', 'ci95Lo', 'ci95Hi', 'values'];
  const rows = Object.entries(agg.results).flatMap(([cond, ms]) =>
    Object.entries(ms).map(([m, s]) => [cond, m, s.n, s.mean, s.std, s.lo, s.hi, s.values.map((v) => Math.round(v * 1e6) / 1e6).join(' ')]));
  fs.writeFileSync(path.join(dir, 'results.csv'), toCsv({ columns, values: rows }));
  const rcols = ['model', 'trajectories', 'direction', 'k', 'seeds', 'mean', 'std', 'ci95Lo', 'ci95Hi', 'values'];
  const rrows = Object.entries(agg.retrieval).map(([k, s]) => {
    const [model, perturbation, dk] = k.split('|');
    const [direction, kk] = dk.split('@');
    return [model, perturbation, direction, Number(kk), s.n, s.mean, s.std, s.lo, s.hi, s.values.map((v) => Math.round(v * 1e6) / 1e6).join(' ')];
  });
  fs.writeFileSync(path.join(dir, 'retrieval.csv'), toCsv({ columns: rcols, values: rrows }));
  // summary.json in the shape the figures read: means as the conditions' values, intervals as error bars.
  const conditions = Object.fromEntries(Object.entries(agg.results).map(([c, ms]) => [c, Object.fromEntries(Object.entries(ms).map(([m, s]) => [m, s.mean]))]));
  const intervals = Object.fromEntries(Object.entries(agg.results).map(([c, ms]) => [c, Object.fromEntries(Object.entries(ms).map(([m, s]) => [m, { lo: s.lo, hi: s.hi }]))]));
  const byModel = new Map<string, GroundingRetrievalRow>();
  for (const [k, s] of Object.entries(agg.retrieval)) {
    const [model, perturbation, dk] = k.split('|');
    const [direction, kk] = dk.split('@');
    const id = `${model}|${perturbation}`;
    const row = byModel.get(id) ?? {
      model, perturbation: perturbation as GroundingRetrievalRow['perturbation'], n, trajToText: {}, textToTraj: {}, medianRankTrajToText: NaN, medianRankTextToTraj: NaN,
      trajToTextSemantic: {}, textToTrajSemantic: {}, semanticChance: {}, hardNegativeWin: {} as GroundingRetrievalRow['hardNegativeWin'],
    };
    row[direction as (typeof RETRIEVAL_DIRECTIONS)[number]][Number(kk)] = s.mean;
    byModel.set(id, row);
  }
  writeJsonAtomic(path.join(out, 'summary.json'), { seeds: agg.seeds, conditions, intervals, aggregate: agg.results, retrieval: [...byModel.values()] });
}

export async function reproduceSeeds(o: ReproduceOptions & { seeds: number }): Promise<{ runs: ReproduceResult[]; aggregate: SeedAggregate }> {
  if (!Number.isInteger(o.seeds) || o.seeds < 1) throw new Error(`--seeds must be a positive integer, got ${o.seeds}`);
  const runs: ReproduceResult[] = [];
  const seedRuns: SeedRun[] = [];
  for (let k = 0; k < o.seeds; k++) {
    const seed = o.seed + k;
    (o.log ?? console.error)(`==== seed ${seed} (${k + 1}/${o.seeds})`);
    const r = await reproduce({ ...o, seed, out: path.join(o.out, `seed-${seed}`) });
    runs.push(r);
    const summary = JSON.parse(fs.readFileSync(path.join(r.runDir, 'summary.json'), 'utf8')) as { retrieval: GroundingRetrievalRow[] };
    seedRuns.push({ seed, results: r.results, retrieval: summary.retrieval });
  }
  const aggregate = aggregateSeeds(seedRuns, o.seed);
  writeSeedTables(o.out, aggregate, seedRuns[0].retrieval[0]?.n ?? 0);
  writeClaimsTable(o.out, evaluateClaims(seedRuns as unknown as ClaimSeed[]));
  await writeRunFigures(o.out);
  return { runs, aggregate };
}
