import { Command } from 'commander';
import { describeBackend, initBackend, requestedBackend } from '../backend';

export function register(program: Command): void {
  program
    .command('backend')
    .description('select the tensor backend as training would, and print which one, its version, SIMD/threads, and why faster ones were not used')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const info = await initBackend(requestedBackend());
      console.log(opts.json ? JSON.stringify(info, null, 2) : describeBackend(info));
    });
}
