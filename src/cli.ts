/**
 * `gpla`: one command line over the package's stages. Each subcommand lives in src/commands/<name>.ts and
 * exports `register(program)`; this file only assembles them.
 */
import { Command } from 'commander';
import * as backendCmd from './commands/backend';
import * as claimsCmd from './commands/claims';
import * as evaluateCmd from './commands/evaluate';
import * as figuresCmd from './commands/figures';
import * as inspectCmd from './commands/inspect';
import * as modelsCmd from './commands/models';
import * as reproduceCmd from './commands/reproduce';
import * as sweepCmd from './commands/sweep';
import * as synthCmd from './commands/synth';

const COMMANDS: { register(program: Command): void }[] = [backendCmd, claimsCmd, evaluateCmd, figuresCmd, inspectCmd, modelsCmd, reproduceCmd, sweepCmd, synthCmd];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('gpla')
    .description(
      'GPLA: grounding hierarchical vision-language-action models through explicit language-action alignment ' +
        '(a TypeScript reproduction on LanguageTable)',
    )
    .version(require('../package.json').version)
    .showHelpAfterError();
  for (const c of COMMANDS) c.register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}

if (require.main === module) {
  main(process.argv).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
