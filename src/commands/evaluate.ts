import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../backend';
import { evaluateConditions, writeEvaluation } from '../experiments/evaluate';
import { RunFolder } from '../experiments/run';
import { integerOption } from './options';
import { stageFile, writeJsonAtomic } from '../experiments/stages';
import { writeRunFigures } from '../viz/run-figures';

/**
 * Re-runs a finished run's evaluation from its files (the models, tokenizer, config and dataset it names), replacing
 * its evaluate stage, tables, summary and figures; training stages are untouched. Useful after changing an
 * evaluation setting (e.g. more closed-loop episodes) or the evaluation code.
 */
export async function evaluateRun(dir: string, o: { episodes?: number; samples?: number; log?: (l: string) => void; progress?: 'auto' | 'lines' | 'silent' } = {}): Promise<void> {
  const log = o.log ?? ((l: string) => console.error(l));
  // Bad settings fail here, before anything is computed or overwritten (a negative count once wrote empty
  // execution columns over a finished run's results).
  for (const [name, v] of [['episodes', o.episodes], ['samples', o.samples]] as const) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) throw new Error(`evaluate: ${name} must be a positive integer, got ${v}`);
  }
  const run = new RunFolder(dir);
  await initBackend();
  for (const name of ['grounding-action', 'grounding-none', 'policy', 'planner-base', 'planner-sft', 'planner-gpla-action', 'planner-sft-gpla-action', 'planner-gpla-vision']) run.weights(name);
  const S = run.config.schedule;
  if (o.episodes !== undefined) S.eval.rolloutEpisodes = o.episodes;
  if (o.samples !== undefined) S.eval.samples = o.samples;
  const samples = await run.samples();
  const testSamples = samples.hierarchical.test.slice(0, S.eval.samples);
  if (testSamples.length === 0) throw new Error(`${dir}: no held-out test samples in ${run.config.data}; nothing was re-evaluated or overwritten`);
  const groundings = { action: run.grounding('action'), none: run.grounding('none') };
  const policy = run.policy();
  const planner = run.planner('planner-base');
  const t0 = Date.now();
  const evaluation = await evaluateConditions({
    runDir: dir, seed: run.config.seed, schedule: S, testSamples, tok: run.tokenizer, cache: run.cache, groundings, policy, planner,
    weights: (n) => run.weights(n), log, progressMode: o.progress,
  });
  writeJsonAtomic(stageFile(dir, 'evaluate'), { ...evaluation, seconds: (Date.now() - t0) / 1000, evaluationSettings: S.eval });
  const summaryFile = path.join(dir, 'summary.json');
  const previous = fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, 'utf8')) : {};
  await writeEvaluation(dir, evaluation, testSamples, S.eval.qualitative, { seconds: previous.seconds, evaluationSettings: S.eval });
  await writeRunFigures(dir);
  for (const m of [groundings.action, groundings.none, policy, planner]) m.dispose();
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('re-run the evaluation of a finished run (text metrics, closed-loop execution, retrieval) and rewrite its tables, summary and figures')
    .argument('<run>', 'run folder')
    .option('--episodes <n>', 'closed-loop long-horizon episodes per condition and executor (default: the preset\'s)', integerOption(1))
    .option('--samples <n>', 'held-out samples for the text metrics (default: the preset\'s)', integerOption(1))
    .action(async (run: string, o: { episodes?: number; samples?: number }) => {
      await evaluateRun(run, o);
      console.log(`wrote ${run}/tables/results.csv, retrieval.csv, qualitative.csv and ${run}/figures`);
    });
}
