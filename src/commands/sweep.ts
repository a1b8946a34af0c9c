import { Command } from 'commander';
import { initBackend } from '../backend';
import { SWEEP_STARTS, sweep, type SweepStart } from '../experiments/sweep';
import { ensureOutputDir, integerOption } from './options';

export function register(program: Command): void {
  program
    .command('sweep')
    .description('choose the preference loop\'s settings on the validation split: from a trained run, re-run SimPO with one field changed at a time and evaluate each result on validation samples')
    .argument('<run>', 'a gpla reproduce run folder whose training stages have finished')
    .requiredOption('--out <dir>', 'sweep folder (re-running resumes)')
    .requiredOption('--vary <field=v1,v2,...>', 'a simpo.* field and its values, e.g. simpo.beta=1,2,4 (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--start <name>', `start planner(s): ${Object.keys(SWEEP_STARTS).join(', ')} (repeatable; default both)`, (v: string, acc: string[] = []) => [...acc, v])
    .option('--samples <n>', 'validation samples per configuration (default: the run\'s eval.samples)', integerOption(1))
    .action(async (run: string, o: { out: string; vary: string[]; start?: string[]; samples?: number }) => {
      for (const s of o.start ?? []) if (!(s in SWEEP_STARTS)) throw new Error(`--start ${s}: expected one of ${Object.keys(SWEEP_STARTS).join(', ')}`);
      ensureOutputDir(o.out, '--out');
      await initBackend();
      const rows = await sweep({ from: run, out: o.out, vary: o.vary, starts: o.start as SweepStart[] | undefined, samples: o.samples });
      console.log(`done: ${rows.length} configurations; ${o.out}/tables/sweep.csv, ${o.out}/figures/sweep.png`);
    });
}
