import * as path from 'node:path';
import { Command } from 'commander';
import { openBuilder } from '../data/builder';
import { actionSteps } from '../data/languagetable';
import type { ReadStats } from '../data/tfrecord';

/** The skip-and-count report: records lost in total and per shard, and the first errors (the rest are counted). */
export function skipReport(stats: ReadStats) {
  return {
    skipped: stats.skipped,
    shards: (stats.shards ?? []).filter((s) => s.rejected + s.lost > 0).map((s) => ({ ...s, file: path.basename(s.file) })),
    errors: stats.errors.slice(0, 20).map((e) => e.message),
    moreErrors: Math.max(0, stats.errors.length - 20),
  };
}

export function printSkipReport(stats: ReadStats, print: (line: string) => void): void {
  const r = skipReport(stats);
  print(`skipped ${r.skipped} damaged record${r.skipped === 1 ? '' : 's'}${r.shards.length ? ':' : ''}`);
  for (const s of r.shards) print(`  ${s.file}: ${s.expected} listed, ${s.read} read, ${s.rejected} rejected, ${s.lost} lost`);
  for (const e of r.errors) print(`  ${e}`);
  if (r.moreErrors) print(`  … and ${r.moreErrors} more`);
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('describe LanguageTable episodes (real or simulated): a TFDS builder folder, one shard file, or a glob of shards')
    .argument('<source>', 'folder with dataset_info.json, features.json and the shards; or a shard file; or a quoted glob such as "DIR/language_table-train.tfrecord-0000*"')
    .option('--json', 'machine-readable output')
    .option('--skip-corrupt', 'skip damaged records, counting every lost record per shard (the shardLengths check still applies), instead of stopping at the first')
    .action(async (dir: string, o: { json?: boolean; skipCorrupt?: boolean }) => {
      const b = await openBuilder(dir);
      let steps = 0;
      let episodes = 0;
      let first: Awaited<ReturnType<typeof b.episodes>> extends AsyncGenerator<infer E> ? E | null : never = null;
      const stats: ReadStats = { records: 0, skipped: 0, errors: [] };
      // Reading every record is the check: values, frame headers, ids and counts are validated on the way.
      for await (const ep of b.episodes(o.skipCorrupt ? { onCorrupt: 'skip', stats } : {})) {
        steps += ep.steps.length;
        episodes++;
        first ??= ep;
      }
      const acts = first ? actionSteps(first).flatMap((s) => s.action) : [];
      const summary = {
        name: b.name, version: b.version, split: b.split, shards: b.shardPaths.length, episodes: b.numEpisodes, episodesRead: episodes, steps, metadata: b.metadata,
        ...(o.skipCorrupt ? { skipCorrupt: skipReport(stats) } : {}),
        imageShape: b.imageShape, hierarchy: b.hierarchy, features: b.features,
        firstEpisode: first && {
          id: first.episodeId, instruction: first.steps[0]?.instruction, length: first.steps.length,
          actionRange: acts.length ? [Math.min(...acts), Math.max(...acts)] : null,
          longHorizonInstruction: first.hierarchy?.longHorizonInstruction,
          subTasks: first.hierarchy?.subTasks,
        },
      };
      if (o.json) {
        console.log(JSON.stringify(summary, null, 2));
        return;
      }
      console.log(`${b.name} ${b.version} (${b.split}): ${b.shardPaths.length} shards, ${b.numEpisodes} episodes, ${steps} steps`);
      if (!b.metadata) console.log('no dataset_info.json / features.json beside the shards: counts read from the shards, every record checked against the step spec');
      if (o.skipCorrupt) printSkipReport(stats, (l) => console.log(l));
      console.log(`image ${b.imageShape?.join('x') ?? '?'} | hierarchy: ${b.hierarchy ? 'yes (long_horizon_instruction, subtasks/*)' : 'no'}`);
      console.log('step features: action[2] is_first is_last is_terminal reward observation/{effector_translation[2], effector_target_translation[2], instruction[512], rgb}');
      if (summary.firstEpisode) {
        const f = summary.firstEpisode;
        console.log(`first episode ${f.id}: ${f.length} steps, instruction "${f.instruction}", action range [${f.actionRange?.map((v) => v.toFixed(4)).join(', ')}] m`);
        if (f.longHorizonInstruction) {
          console.log(`  goal: ${f.longHorizonInstruction}`);
          for (const s of f.subTasks ?? []) console.log(`    [${s.start}, ${s.end}) ${s.instruction}`);
        }
      }
    });
}
