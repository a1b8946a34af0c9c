import { Command, Option } from 'commander';
import { reproduce } from '../experiments/reproduce';
import { reproduceSeeds } from '../experiments/seeds';

export function register(program: Command): void {
  program
    .command('reproduce')
    .description('run the paper\'s pipeline: data, grounding models, policy, planners (Base, Supervised, GPLA, Supervised + GPLA, vision-only GPLA), evaluation, tables, figures')
    .option('--preset <name>', 'tiny | small | paper', 'small')
    .requiredOption('--out <dir>', 'run folder (re-running resumes)')
    .option('--data <dir>', 'a LanguageTable builder folder instead of synthesising one')
    .option('--seed <n>', 'run seed (with --seeds: the first seed)', (v) => parseInt(v, 10), 0)
    .option('--seeds <n>', 'repeat the whole pipeline over N seeds (OUT/seed-<s>/) and report mean, std and 95% bootstrap intervals', (v) => parseInt(v, 10))
    .option('--jobs <n>', 'processes for the training stages (default: GPLA_JOBS, else 2 on wasm/cpu with ≥ 2 cores); independent stages run side by side, each with the same result as alone', (v) => parseInt(v, 10))
    .addOption(new Option('--stage-worker <session>', 'internal: an extra process started by --jobs').hideHelp())
    .addOption(new Option('--parent-pid <pid>', 'internal: the process that started this stage worker').hideHelp().argParser((v) => parseInt(v, 10)))
    .action(async (o: { preset: string; out: string; data?: string; seed: number; seeds?: number; jobs?: number; stageWorker?: string; parentPid?: number }) => {
      if (o.jobs !== undefined && !(Number.isInteger(o.jobs) && o.jobs >= 1)) throw new Error(`--jobs must be a positive integer, got ${o.jobs}`);
      if (o.stageWorker !== undefined) {
        await reproduce({ preset: o.preset, out: o.out, data: o.data, seed: o.seed, stageWorker: { session: o.stageWorker, parentPid: o.parentPid ?? process.ppid } });
        return;
      }
      if (o.seeds !== undefined) {
        const r = await reproduceSeeds({ preset: o.preset, out: o.out, data: o.data, seed: o.seed, seeds: o.seeds, jobs: o.jobs });
        console.log(`done: ${r.runs.length} seeds; ${o.out}/tables/results.csv (mean, std, 95% CI per condition and metric)`);
        return;
      }
      const r = await reproduce({ preset: o.preset, out: o.out, data: o.data, seed: o.seed, jobs: o.jobs });
      console.log(`done in ${r.seconds.toFixed(0)} s: ${o.out}/tables/results.csv`);
    });
}
