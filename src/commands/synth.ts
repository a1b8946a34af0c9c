import * as fs from 'node:fs';
import { Command } from 'commander';
import { openBuilder } from '../data/builder';
import type { ReadStats } from '../data/tfrecord';
import { ensureOutputDir, ensureOutputFile, integerOption, seedOption } from './options';
import { printSkipReport } from './inspect';
import { defaultWorkers, synthesize } from '../sim/synth';
import { episodeFilmStrip, episodeGif } from '../sim/view';
import type { CameraName } from '../sim/render';
import { blockSetKey } from '../sim/constants';

export function parseImageSize(v: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m || +m[1] <= 0 || +m[2] <= 0) throw new Error(`--image must be HxW with positive integers (e.g. 64x64, 180x320), got "${v}"`);
  return [+m[1], +m[2]];
}

export function register(program: Command): void {
  program
    .command('synth')
    .description('simulate long-horizon LanguageTable episodes and write them as a TFDS builder folder (RLDS layout)')
    .requiredOption('--out <dir>', 'output folder')
    .requiredOption('--episodes <n>', 'number of episodes', integerOption(1))
    .option('--seed <s>', 'random seed', seedOption, 0)
    .option('--blocks <set>', 'block set: 4 (BLOCK_4), 8 (BLOCK_8) or real (the real robot\'s board: red star, red circle, green star, green circle, blue cube, blue triangle, yellow heart, yellow hexagon)', blockSetKey, 4)
    .option('--image <HxW>', 'stored image size', '64x64')
    .option('--camera <name>', 'perspective (reference view) or topdown', 'perspective')
    .option('--goals <names>', 'comma-separated goal names (default: all that apply)')
    .option('--per-shard <n>', 'episodes per shard', integerOption(1), 50)
    .option('--workers <n>', 'worker threads', integerOption(1), defaultWorkers())
    .action(async (o) => {
      const image = parseImageSize(o.image);
      ensureOutputDir(o.out, '--out');
      const summary = await synthesize({
        out: o.out, episodes: o.episodes, seed: o.seed, blocks: o.blocks, image, camera: o.camera as CameraName,
        goals: o.goals ? String(o.goals).split(',') : undefined, episodesPerShard: o.perShard, workers: o.workers,
      });
      console.log(JSON.stringify(summary, null, 2));
    });
  program
    .command('view')
    .description('render an episode of a builder folder as a PNG film strip or an animated GIF')
    .argument('<dir>', 'TFDS builder folder')
    .option('--episode <i>', 'episode index', integerOption(0), 0)
    .option('--out <file>', 'output .png or .gif', 'episode.png')
    .option('--frames <n>', 'frames in the film strip', integerOption(1), 8)
    .option('--skip-corrupt', 'skip damaged records (counted and reported per shard) instead of stopping at the first')
    .action(async (dir: string, o) => {
      if (!/\.(png|gif)$/i.test(o.out)) throw new Error(`--out ${o.out}: expected a .png or .gif file name`);
      ensureOutputFile(o.out, '--out');
      const b = await openBuilder(dir);
      const stats: ReadStats = { records: 0, skipped: 0, errors: [] };
      let i = 0;
      for await (const ep of b.episodes(o.skipCorrupt ? { onCorrupt: 'skip', stats } : {})) {
        if (i++ < o.episode) continue;
        const bytes = o.out.endsWith('.gif') ? episodeGif(ep) : episodeFilmStrip(ep, o.frames);
        fs.writeFileSync(o.out, bytes);
        if (o.skipCorrupt && stats.skipped) printSkipReport(stats, (l) => console.error(l));
        console.log(`${o.out}: ${ep.hierarchy?.longHorizonInstruction ?? ep.steps[0]?.instruction}`);
        return;
      }
      throw new Error(`${dir}: episode ${o.episode} not found (the folder has ${b.numEpisodes})`);
    });
}
