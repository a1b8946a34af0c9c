/**
 * `npm run bench -- fuzz [cases] [seed]`: the full seeded corruption campaign (default 10,000 cases) over the three
 * reading paths of test/data/fuzz-harness.ts; prints outcomes per corruption kind, the slowest case and any failure
 * (an untyped error, an error without its file or record offset, a bad value decoded, skip-mode accounting that does
 * not add up). Exits 1 on a failure.
 */
import { fuzzCampaign } from '../test/data/fuzz-harness';
import { printTable, writeResults } from './util';

export async function run(args: string[]): Promise<void> {
  const cases = Number(args[0] ?? 10_000);
  const seed = Number(args[1] ?? 0);
  const t0 = Date.now();
  const r = await fuzzCampaign(cases, seed);
  const seconds = (Date.now() - t0) / 1000;
  const rows = Object.entries(r.outcomes).map(([kind, o]) => ({ kind, DataError: o.DataError ?? 0, decoded: o.decoded ?? 0, 'skip accounted': o['skip-accounted'] ?? 0 }));
  printTable(rows);
  console.log(`${cases} cases (seed ${seed}) in ${seconds.toFixed(1)} s; slowest case ${r.slowestMs} ms; ${r.failures.length} failures`);
  for (const f of r.failures.slice(0, 20)) console.log(`  ${f}`);
  writeResults('fuzz', { cases, seed, seconds, slowestMs: r.slowestMs, outcomes: r.outcomes, failures: r.failures.length, firstFailures: r.failures.slice(0, 20) });
  if (r.failures.length) process.exitCode = 1;
}
