/**
 * `gpla sweep`: the preference loop's hyper-parameters chosen on the validation split, one field at a time.
 *
 * From a finished run (its grounding model, Base and Supervised planners, tokenizer and data), each configuration —
 * the run's own SimPO settings with one field changed (`--vary simpo.beta=1,2,4`) — runs the preference iterations
 * from each start planner and evaluates the result greedily on validation samples (never the test split the run's
 * tables use): semantic and block accuracy, unparseable share, mean grounding score. Written to OUT/tables/sweep.csv
 * and OUT/figures/sweep.png; each configuration's iterations live in OUT/<start>/<field>=<value>/ and resume.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluateGenerated, generateGreedy, namesSameSubTask } from '../eval/conditions';
import { blockSet } from '../sim/constants';
import { parseSubTask } from '../text/subtask-parser';
import { runSimpoIterations } from '../train/simpo-iterations';
import { saveFigure } from '../viz/render';
import { sweepCurves } from '../viz/specs';
import { applySets, parseSet } from './overrides';
import { simpoConfig } from './reproduce';
import { RunFolder } from './run';
import { writeJsonAtomic } from './stages';
import { toCsv } from './tables';
import { groundingScorer, plannerPolicy } from './tasks';

export const SWEEP_STARTS = { 'planner-base': 'Base → GPLA', 'planner-sft': 'Supervised → Supervised + GPLA' } as const;
export type SweepStart = keyof typeof SWEEP_STARTS;

export interface SweepOptions {
  /** A finished (or at least trained) `gpla reproduce` run folder. */
  from: string;
  out: string;
  /** `simpo.<field>=v1,v2,…`: each value alone, the other fields as in the run. */
  vary: string[];
  starts?: SweepStart[];
  /** Validation samples evaluated per configuration (default: the run's eval.samples, at most the split). */
  samples?: number;
  log?: (line: string) => void;
}

export interface SweepRow {
  start: SweepStart;
  field: string;
  value: string;
  /** Whether this is the run's own value of the field. */
  isDefault: boolean;
  samples: number;
  semanticAccuracy: number;
  blockAccuracy: number;
  unparseable: number;
  groundingScore: number;
  pairs: number;
  chosenRight: number;
}

/** Parses `simpo.beta=1,2,4` into the field and its values; only SimPO fields (the rest would need retraining). */
export function parseVary(arg: string): { path: string; values: string[] } {
  const { path: p, raw } = parseSet(arg);
  if (!p.startsWith('simpo.')) throw new Error(`--vary ${arg}: only simpo.* fields can be swept from a trained run (the other stages would have to be retrained; use reproduce --set)`);
  const values = raw.split(',').map((v) => v.trim()).filter(Boolean);
  if (values.length === 0) throw new Error(`--vary ${arg}: no values`);
  return { path: p, values };
}

export async function sweep(o: SweepOptions): Promise<SweepRow[]> {
  const log = o.log ?? ((l: string) => console.error(l));
  const run = new RunFolder(o.from);
  const varied = o.vary.map(parseVary);
  const base = { name: run.config.preset as never, models: structuredClone(run.config.models), schedule: structuredClone(run.config.schedule) };
  // Every value is checked before any work starts.
  for (const v of varied) for (const value of v.values) applySets(structuredClone(base), [`${v.path}=${value}`]);
  const samples = await run.samples();
  const S = run.config.schedule;
  const specs = blockSet(S.data.blocks);
  const valN = Math.min(o.samples ?? S.eval.samples, samples.hierarchical.val.length);
  if (valN === 0) throw new Error(`${o.from}: the run has no validation samples to choose settings on`);
  const val = samples.hierarchical.val.slice(0, valN);
  const prefSamples = samples.hierarchical.train;
  const grounding = run.grounding('action');
  const rows: SweepRow[] = [];
  for (const start of o.starts ?? (Object.keys(SWEEP_STARTS) as SweepStart[])) {
    for (const v of varied) {
      const key = v.path.split('.').slice(1).join('.');
      for (const value of v.values) {
        const preset = structuredClone(base);
        applySets(preset, [`${v.path}=${value}`]);
        const dir = path.join(o.out, start, `${key}=${value}`);
        const doneFile = path.join(dir, 'row.json');
        if (fs.existsSync(doneFile)) {
          rows.push(JSON.parse(fs.readFileSync(doneFile, 'utf8')));
          log(`[sweep] ${start} ${key}=${value}: done earlier`);
          continue;
        }
        const planner = run.planner(start);
        const t0 = Date.now();
        const logs = await runSimpoIterations(`sweep`, plannerPolicy(planner, run.tokenizer, run.cache), groundingScorer(grounding, run.tokenizer, run.cache), prefSamples, simpoConfig(preset.schedule.simpo), {
          runDir: dir, seed: run.config.seed + 200, resume: true, progress: 'silent',
          validCandidate: (text) => parseSubTask(text, specs) !== null,
          judge: (s, text) => namesSameSubTask(text, s.lowLevel, specs),
        });
        const m = evaluateGenerated(generateGreedy(planner, run.tokenizer, run.cache, val), grounding, run.tokenizer, run.cache, specs);
        planner.dispose();
        const last = logs[logs.length - 1];
        const row: SweepRow = {
          start, field: v.path, value, isDefault: String((base.schedule.simpo as unknown as Record<string, unknown>)[key]) === String((preset.schedule.simpo as unknown as Record<string, unknown>)[key]),
          samples: valN, semanticAccuracy: m.semanticAccuracy, blockAccuracy: m.blockAccuracy, unparseable: m.unparseable, groundingScore: m.groundingScore,
          pairs: logs.reduce((a, l) => a + l.pairs, 0), chosenRight: last?.diagnostics?.chosenCorrectShare ?? NaN,
        };
        writeJsonAtomic(doneFile, row);
        rows.push(row);
        log(`[sweep] ${start} ${key}=${value}: val semantic ${row.semanticAccuracy.toFixed(3)}, block ${row.blockAccuracy.toFixed(3)}, unparseable ${row.unparseable.toFixed(3)}, grounding ${row.groundingScore.toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      }
    }
  }
  grounding.dispose();
  fs.mkdirSync(path.join(o.out, 'tables'), { recursive: true });
  const columns = ['start', 'field', 'value', 'isDefault', 'samples', 'semanticAccuracy', 'blockAccuracy', 'unparseable', 'groundingScore', 'pairs', 'chosenRight'] as const;
  fs.writeFileSync(path.join(o.out, 'tables', 'sweep.csv'), toCsv({ columns: [...columns], values: rows.map((r) => columns.map((c) => (typeof r[c] === 'boolean' ? String(r[c]) : r[c] as string | number))) }));
  const x = (v: string) => (v === 'true' ? 1 : v === 'false' ? 0 : Number(v));
  await saveFigure(sweepCurves(rows.map((r) => ({ panel: r.field, x: x(r.value), series: SWEEP_STARTS[r.start], value: r.semanticAccuracy }))), [path.join(o.out, 'figures')], 'sweep');
  return rows;
}
