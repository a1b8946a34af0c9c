import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { getPreset } from '../experiments/presets';
import { ensureOutputDir, integerOption, seedOption } from './options';
import { applySets } from '../experiments/overrides';
import { reproduce } from '../experiments/reproduce';
import { reproduceSeeds } from '../experiments/seeds';

/**
 * Everything checkable before work starts: the preset, the data folder, the output folder, and — when OUT already
 * holds a run — that it is the same run (re-running resumes; a different preset, seed or data would mix two runs'
 * stages and overwrite the finished one's tables).
 */
export function checkReproduceArgs(o: { preset: string; out: string; data?: string; skipCorrupt?: boolean; seed: number; seeds?: number; set?: string[] }): void {
  applySets(getPreset(o.preset), o.set ?? []);
  if (o.skipCorrupt && !o.data) throw new Error('--skip-corrupt applies to --data (a synthesised dataset is written by this run and has no damage to skip)');
  if (o.data !== undefined) {
    if (!fs.existsSync(o.data) || !fs.statSync(o.data).isDirectory()) throw new Error(`--data ${o.data}: not a folder (expected a TFDS builder folder with dataset_info.json)`);
  }
  ensureOutputDir(o.out, '--out');
  const cfgFile = path.join(o.out, o.seeds !== undefined ? `seed-${o.seed}` : '', 'config.json');
  if (!fs.existsSync(cfgFile)) return;
  let prev: { preset?: unknown; seed?: unknown; data?: unknown; sets?: unknown };
  try {
    prev = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw new Error(`${cfgFile}: not valid JSON (${(e as Error).message}); move the folder aside or pick another --out`);
  }
  const data = o.data ? path.resolve(o.data) : undefined;
  const prevData = typeof prev.data === 'string' ? path.resolve(prev.data) : undefined;
  const clash = [
    prev.preset !== o.preset ? `--preset ${o.preset} (the run has ${JSON.stringify(prev.preset)})` : '',
    prev.seed !== o.seed ? `--seed ${o.seed} (the run has ${JSON.stringify(prev.seed)})` : '',
    data !== undefined && data !== prevData ? `--data ${o.data} (the run has ${JSON.stringify(prev.data)})` : '',
    o.set !== undefined && JSON.stringify(o.set) !== JSON.stringify(prev.sets ?? []) ? `--set ${o.set.join(' --set ')} (the run has ${JSON.stringify(prev.sets ?? [])})` : '',
  ].filter(Boolean);
  // Resuming without --set continues with the run's own changes.
  if (o.set === undefined && Array.isArray(prev.sets)) o.set = prev.sets.filter((x): x is string => typeof x === 'string');
  if (clash.length) throw new Error(`--out ${o.out} holds another run: ${clash.join(', ')}; re-run with its settings to resume, or pick another --out`);
}

export function register(program: Command): void {
  program
    .command('reproduce')
    .description('run the paper\'s pipeline: data, grounding models, policy, planners (Base, Supervised, GPLA, Supervised + GPLA, vision-only GPLA), evaluation, tables, figures')
    .option('--preset <name>', 'tiny | small | paper', 'small')
    .requiredOption('--out <dir>', 'run folder (re-running resumes)')
    .option('--data <dir>', 'a LanguageTable builder folder instead of synthesising one')
    .option('--skip-corrupt', 'with --data: skip damaged records (each counted per shard, recorded in config.json) instead of stopping at the first')
    .option('--seed <n>', 'run seed (with --seeds: the first seed)', seedOption, 0)
    .option('--seeds <n>', 'repeat the whole pipeline over N seeds (OUT/seed-<s>/) and report mean, std and 95% bootstrap intervals', integerOption(1, 1000))
    .option('--set <path=value>', 'change one preset field, e.g. simpo.beta=2.5, policy.steps=3000, models.planner.layers=6 (repeatable; recorded in config.json; a resumed run keeps its own)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--jobs <n>', 'processes for the training stages (default: GPLA_JOBS, else 2 on wasm/cpu with ≥ 2 cores); independent stages run side by side, each with the same result as alone', integerOption(1, 64))
    .addOption(new Option('--stage-worker <session>', 'internal: an extra process started by --jobs').hideHelp())
    .addOption(new Option('--parent-pid <pid>', 'internal: the process that started this stage worker').hideHelp().argParser(integerOption(1)))
    .action(async (o: { preset: string; out: string; data?: string; skipCorrupt?: boolean; seed: number; seeds?: number; set?: string[]; jobs?: number; stageWorker?: string; parentPid?: number }) => {
      checkReproduceArgs(o);
      const sets = o.set;
      const onCorrupt = o.skipCorrupt ? ('skip' as const) : undefined;
      if (o.stageWorker !== undefined) {
        await reproduce({ preset: o.preset, out: o.out, data: o.data, onCorrupt, seed: o.seed, sets, stageWorker: { session: o.stageWorker, parentPid: o.parentPid ?? process.ppid } });
        return;
      }
      if (o.seeds !== undefined) {
        const r = await reproduceSeeds({ preset: o.preset, out: o.out, data: o.data, onCorrupt, seed: o.seed, sets, seeds: o.seeds, jobs: o.jobs });
        console.log(`done: ${r.runs.length} seeds; ${o.out}/tables/results.csv (mean, std, 95% CI per condition and metric)`);
        return;
      }
      const r = await reproduce({ preset: o.preset, out: o.out, data: o.data, onCorrupt, seed: o.seed, sets, jobs: o.jobs });
      console.log(`done in ${r.seconds.toFixed(0)} s: ${o.out}/tables/results.csv`);
    });
}
