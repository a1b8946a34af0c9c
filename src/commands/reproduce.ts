import { Command } from 'commander';
import { reproduce } from '../experiments/reproduce';

export function register(program: Command): void {
  program
    .command('reproduce')
    .description('run the paper\'s pipeline: data, grounding models, policy, planners (Base, Supervised, GPLA, Supervised + GPLA, vision-only GPLA), evaluation, tables')
    .option('--preset <name>', 'tiny | small | paper', 'small')
    .requiredOption('--out <dir>', 'run folder (re-running resumes)')
    .option('--data <dir>', 'a LanguageTable builder folder instead of synthesising one')
    .option('--seed <n>', 'run seed', (v) => parseInt(v, 10), 0)
    .action(async (o: { preset: string; out: string; data?: string; seed: number }) => {
      const r = await reproduce({ preset: o.preset, out: o.out, data: o.data, seed: o.seed });
      console.log(`done in ${r.seconds.toFixed(0)} s: ${o.out}/tables/results.csv`);
    });
}
