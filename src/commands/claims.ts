import { Command } from 'commander';
import { CLAIM_RULE, claimsMarkdown } from '../eval/claims';
import { writeRunClaims } from '../experiments/claims';

export function register(program: Command): void {
  program
    .command('claims')
    .description("test the paper's claims on a run: per-seed quantities, 95% intervals and verdicts (use a `reproduce --seeds N` folder for intervals)")
    .argument('<run>', 'run folder (one run, or the OUT of reproduce --seeds N)')
    .action((run: string) => {
      const r = writeRunClaims(run);
      console.log(claimsMarkdown(r.rows));
      console.log(`\nrule: ${CLAIM_RULE}\nseeds: ${r.seeds.join(', ')}; wrote ${r.file}`);
    });
}
