import { Command } from 'commander';
import { writeRunFigures } from '../viz/run-figures';
import { ensureOutputDir } from './options';

export function register(program: Command): void {
  program
    .command('figures')
    .description('re-draw the figures of a finished run (SVG + PNG + vega-lite JSON) into RUN/figures')
    .argument('<run>', 'run folder')
    .option('--also <dir>', 'also write them here (e.g. figures/)')
    .action(async (run: string, o: { also?: string }) => {
      if (o.also) ensureOutputDir(o.also, '--also');
      const names = await writeRunFigures(run, o.also ? [o.also] : []);
      console.log(`wrote ${names.join(', ')} to ${run}/figures${o.also ? ` and ${o.also}` : ''}`);
    });
}
