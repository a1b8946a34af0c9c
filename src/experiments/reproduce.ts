/**
 * `gpla reproduce`: the paper's experiment end to end, as resumable stages of one run folder.
 *
 *   data → grounding models (action-conditioned, vision-only) → policy → base planner (text-only LM) →
 *   Supervised (SFT) → GPLA (SimPO with the action-conditioned grounding model, from the base planner) →
 *   Supervised + GPLA (from the supervised planner) → GPLA with the vision-only grounding model (ablation) →
 *   evaluation of every condition (held-out text metrics, closed-loop execution, retrieval; evaluate.ts) → tables.
 *
 * Everything random flows from the run seed; each stage leaves stages/<name>.json and its weights in models/, so
 * re-running the same command skips finished stages and resumes an interrupted one from its checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../backend';
import { ImageCache } from '../data/samples';
import { GroundingModel } from '../models/grounding';
import { Planner } from '../models/planner';
import { Policy } from '../models/policy';
import { synthesize, defaultWorkers } from '../sim/synth';
import { Tokenizer } from '../text/tokenizer';
import { logMetrics, train, type TrainConfig } from '../train/loop';
import { runSimpoIterations } from '../train/simpo-iterations';
import { loadSamples, trainTokenizer } from './dataset';
import { getPreset, type Preset } from './presets';
import type { StageSchedule } from './schedule';
import { gitRevision, stage, writeJsonAtomic } from './stages';
import { groundingScorer, groundingTask, plannerPolicy, plannerPretrainTask, plannerSftTask, policyTask } from './tasks';
import { evaluateConditions, writeEvaluation, type ResultRow } from './evaluate';
import { writeRunFigures } from '../viz/run-figures';

export interface ReproduceOptions {
  preset: string;
  out: string;
  data?: string;
  seed: number;
  progress?: TrainConfig['progress'];
  /** Apply these changes to the preset (experiments change a few fields). */
  override?: (p: Preset) => void;
  log?: (line: string) => void;
}

export { CONDITIONS, type Condition } from './evaluate';

export interface ReproduceResult {
  runDir: string;
  /** A row per condition (text, grounding and execution metrics) plus the ground-truth planner's execution row. */
  results: Record<string, ResultRow>;
  seconds: number;
}

function trainConfig(s: StageSchedule, o: ReproduceOptions, seed: number): TrainConfig {
  return {
    steps: s.steps, peakLr: s.peakLr, warmupSteps: s.warmupSteps, finalLr: s.finalLr, optimizer: { weightDecay: s.weightDecay },
    clipNorm: s.clipNorm, seed, runDir: o.out, checkpointEvery: Math.max(50, Math.ceil(s.steps / 5)), validateEvery: Math.max(1, Math.ceil(s.steps / 4)),
    resume: true, progress: o.progress,
  };
}

export async function reproduce(o: ReproduceOptions): Promise<ReproduceResult> {
  const t0 = Date.now();
  const log = o.log ?? ((l: string) => console.error(l));
  const preset = getPreset(o.preset);
  o.override?.(preset);
  const S = preset.schedule;
  fs.mkdirSync(o.out, { recursive: true });
  const backend = await initBackend();
  const modelsDir = path.join(o.out, 'models');
  fs.mkdirSync(modelsDir, { recursive: true });

  // ---------------------------------------------------------------- data
  const dataDir = o.data ?? path.join(o.out, 'data');
  if (!o.data) {
    await stage(o.out, 'data', async () =>
      synthesize({
        out: dataDir, episodes: S.data.episodes, seed: o.seed, blocks: S.data.blocks, image: S.data.storedImage, camera: 'topdown',
        episodesPerShard: 50, workers: defaultWorkers(), progress: o.progress,
      }), log);
  }
  const samples = await loadSamples(dataDir, { valFraction: S.data.valFraction, testFraction: S.data.testFraction, chunk: preset.models.policy.chunk, policyStride: 2 });
  const tokFile = path.join(o.out, 'tokenizer.json');
  const tok = fs.existsSync(tokFile) ? Tokenizer.load(tokFile) : trainTokenizer(samples);
  tok.save(tokFile);
  const M = preset.models;
  M.grounding.vocab = M.planner.vocab = M.policy.vocab = tok.size;
  M.grounding.trajectoryLength = S.data.trajectoryLength;
  const cache = new ImageCache(S.data.imageSize);
  for (const m of [M.grounding, M.planner, M.policy]) m.image = S.data.imageSize;
  writeJsonAtomic(path.join(o.out, 'config.json'), {
    preset: preset.name, seed: o.seed, data: dataDir, backend: backend.name, backendVersion: backend.version, git: gitRevision(),
    models: M, schedule: S, tokenizer: { size: tok.size, file: 'tokenizer.json' },
    samples: Object.fromEntries(Object.entries(samples.hierarchical).map(([k, v]) => [k, v.length])), episodes: samples.episodes,
  });
  log(`samples: ${JSON.stringify(Object.fromEntries(Object.entries(samples.hierarchical).map(([k, v]) => [k, v.length])))}; vocabulary ${tok.size}`);

  const weights = (name: string) => path.join(modelsDir, `${name}.safetensors`);

  // ---------------------------------------------------------------- grounding models
  const groundings: Record<'action' | 'none', GroundingModel> = {} as never;
  for (const cond of ['action', 'none'] as const) {
    const name = `grounding-${cond}`;
    const g = new GroundingModel({ ...M.grounding, conditioning: cond }, o.seed + (cond === 'action' ? 11 : 12));
    await stage(o.out, name, async () => {
      const r = await train(groundingTask(name, g, samples.hierarchical.train, samples.hierarchical.val, tok, cache, S.grounding.batchSize), trainConfig(S.grounding, o, o.seed + 101));
      g.ps.save(weights(name), { model: 'grounding', conditioning: cond });
      return { finalLoss: r.finalLoss, firstLoss: r.losses[0], validation: r.validation };
    }, log);
    g.ps.load(weights(name));
    groundings[cond] = g;
  }

  // ---------------------------------------------------------------- policy
  const policy = new Policy(M.policy, o.seed + 13);
  await stage(o.out, 'policy', async () => {
    const r = await train(policyTask(policy, samples.policy.train, tok, cache, S.policy.batchSize), trainConfig(S.policy, o, o.seed + 102));
    policy.ps.save(weights('policy'), { model: 'policy' });
    return { finalLoss: r.finalLoss, firstLoss: r.losses[0] };
  }, log);
  policy.ps.load(weights('policy'));

  // ---------------------------------------------------------------- planners
  const planner = new Planner(M.planner, o.seed + 14);
  await stage(o.out, 'planner-base', async () => {
    const r = await train(plannerPretrainTask(planner, samples.hierarchical.train, tok, S.plannerPretrain.batchSize), trainConfig(S.plannerPretrain, o, o.seed + 103));
    planner.ps.save(weights('planner-base'), { model: 'planner', condition: 'Base' });
    return { finalLoss: r.finalLoss, firstLoss: r.losses[0] };
  }, log);

  await stage(o.out, 'planner-sft', async () => {
    planner.ps.load(weights('planner-base'));
    const r = await train(plannerSftTask(planner, samples.hierarchical.train, tok, cache, S.plannerSft.batchSize), trainConfig(S.plannerSft, o, o.seed + 104));
    planner.ps.save(weights('planner-sft'), { model: 'planner', condition: 'Supervised' });
    return { finalLoss: r.finalLoss, firstLoss: r.losses[0] };
  }, log);

  const simpoCfg = {
    iterations: S.simpo.iterations, candidates: S.simpo.candidates, temperature: S.simpo.temperature, topP: S.simpo.topP,
    beta: S.simpo.beta, gammaBetaRatio: S.simpo.gammaBetaRatio, pairing: { minMargin: S.simpo.minMargin },
    stepsPerIteration: S.simpo.stepsPerIteration, batchSize: S.simpo.batchSize, peakLr: S.simpo.peakLr,
    warmupSteps: Math.ceil(S.simpo.stepsPerIteration / 10), clipNorm: 10, weightDecay: 0,
  };
  // The same training samples for every condition's preference iterations.
  const prefSamples = samples.hierarchical.train.slice(0, S.simpo.samplesPerIteration);
  const simpoRuns: [string, string, 'action' | 'none'][] = [
    ['planner-gpla-action', 'planner-base', 'action'],
    ['planner-sft-gpla-action', 'planner-sft', 'action'],
    ['planner-gpla-vision', 'planner-base', 'none'],
  ];
  for (const [name, start, cond] of simpoRuns) {
    await stage(o.out, name, async () => {
      planner.ps.load(weights(start));
      const logs = await runSimpoIterations(name, plannerPolicy(planner, tok, cache), groundingScorer(groundings[cond], tok, cache), prefSamples, simpoCfg,
        { runDir: o.out, seed: o.seed + 200, resume: true, progress: o.progress });
      planner.ps.save(weights(name), { model: 'planner', start, grounding: cond });
      for (const l of logs) log(`  ${name} iteration ${l.iteration}: pairs ${l.pairs}, chosen score ${l.chosenScore.toFixed(3)}, candidate score ${l.candidateScore.toFixed(3)}, margin ${l.margin.toFixed(3)}, ties ${(100 * l.tieShare).toFixed(0)}%`);
      return { iterations: logs.map(({ examples, ...rest }) => rest), examples: logs[logs.length - 1]?.examples ?? [] };
    }, log);
  }

  // ---------------------------------------------------------------- evaluation
  const testSamples = samples.hierarchical.test.slice(0, S.eval.samples);
  const evaluation = await stage(o.out, 'evaluate', () =>
    evaluateConditions({
      runDir: o.out, seed: o.seed, schedule: S, testSamples, tok, cache, groundings, policy, planner, weights, log, progressMode: o.progress,
    }), log);
  const seconds = (Date.now() - t0) / 1000;
  // Peak resident memory of this process (kB → MiB): what a laptop needs to run the preset.
  await writeEvaluation(o.out, evaluation, testSamples, S.eval.qualitative, { seconds, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) });
  await writeRunFigures(o.out);
  const results = evaluation.results;
  for (const g of Object.values(groundings)) g.dispose();
  policy.dispose();
  planner.dispose();
  return { runDir: o.out, results, seconds };
}
