/**
 * `npm run bench -- <area> [args…]`: runs bench/<area>.ts, whose `run(args)` prints a table and writes
 * bench/results/<area>.json. Benchmarks are kept out of the test suite: tests check numbers, benches measure speed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

async function main() {
  const [area, ...args] = process.argv.slice(2);
  const available = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
    .map((f) => f.replace(/\.ts$/, ''));
  if (!area || !available.includes(area)) {
    console.error(`usage: npm run bench -- <area>\n  areas: ${available.join(', ')}`);
    process.exit(area ? 1 : 0);
  }
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  const mod = require(path.join(__dirname, area)) as { run(args: string[]): Promise<void> };
  await mod.run(args);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
