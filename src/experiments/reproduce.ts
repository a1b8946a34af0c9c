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
import { evaluationQuestions } from '../eval/scene-description';
import { blockSet } from '../sim/constants';
import { sceneTexts, templateTexts } from '../sim/scenes';
import { synthesize, defaultWorkers } from '../sim/synth';
import { Tokenizer } from '../text/tokenizer';
import { logMetrics, train, type TrainConfig } from '../train/loop';
import { runSimpoIterations, SIMPO_EXTRAS, type SimpoConfig } from '../train/simpo-iterations';
import { datasetBoard, loadSamples, trainTokenizer } from './dataset';
import { frameViewFor } from '../data/frames';
import { getPreset, type Preset } from './presets';
import type { SimpoSchedule, StageSchedule } from './schedule';
import { setNativeThreads } from '../backend/native-blas';
import { applySets } from './overrides';
import { gitRevision, readStage, stage, stageDone, writeJsonAtomic } from './stages';
import { clearClaims, runStages, type StageSpec } from './stage-scheduler';
import { defaultJobs, processAlive, startStageWorkers } from './stage-workers';
import { groundingScorer, groundingTask, plannerPolicy, plannerPretrainTask, plannerSftTask, policyTask } from './tasks';
import {
  CONDITION_MODEL, CONDITIONS, evaluateCondition, sceneBoardSet, evaluateGroundTruth, evaluateRetrieval, GROUND_TRUTH_PLANNER, mergeEvaluation, slug, writeEvaluation,
  type EvaluationContext, type PlannerEvaluation, type ResultRow,
} from './evaluate';
import type { GroundingRetrievalRow } from '../eval/grounding-retrieval';
import { writeRunFigures } from '../viz/run-figures';
import { namesSameSubTask } from '../eval/conditions';
import { parseSubTask } from '../text/subtask-parser';
import type { IterationLog } from '../train/simpo-iterations';

const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${(100 * v).toFixed(0)}%`);
/** One line per SimPO iteration: the pairs, their scores, and how the judge's choices compare with the truth. */
export function describeIteration(l: IterationLog): string {
  const d = l.diagnostics;
  return `pairs ${l.pairs}, chosen/rejected score ${l.chosenScore.toFixed(3)}/${l.rejectedScore.toFixed(3)}, candidate score ${l.candidateScore.toFixed(3)}, ` +
    `ties ${pct(l.tieShare)}, distinct ${pct(l.distinctShare)}` +
    (d ? `; right one among candidates ${pct(d.rightAvailableShare)}, chosen right ${pct(d.chosenCorrectShare)} (rejected right ${pct(d.rejectedCorrectShare)}), AUROC ${Number.isFinite(d.auroc) ? d.auroc.toFixed(2) : 'n/a'}` : '');
}

export interface ReproduceOptions {
  preset: string;
  out: string;
  data?: string;
  /** With `data`: 'skip' drops damaged records, counting each per shard (recorded in config.json as `dataSkipped`). */
  onCorrupt?: 'throw' | 'skip';
  seed: number;
  progress?: TrainConfig['progress'];
  /** `path=value` changes to the preset (`--set`, overrides.ts), applied in order and recorded in config.json. */
  sets?: string[];
  /** Apply these changes to the preset (experiments change a few fields). */
  override?: (p: Preset) => void;
  log?: (line: string) => void;
  /**
   * Processes for the training stages (default: GPLA_JOBS, else 2 on a machine with ≥ 2 cores). Independent stages
   * run side by side; each computes exactly what it computes alone. Needs no `override` (a function cannot be
   * passed to another process): with one, stages run in this process only.
   */
  jobs?: number;
  /** Internal: set in the extra processes that `jobs` starts. */
  stageWorker?: { session: string; parentPid: number };
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

/** The preference loop's settings from the schedule's (the rest: a tenth of the steps as warm-up, clip 10, no decay). */
export function simpoConfig(s: SimpoSchedule): SimpoConfig {
  return {
    iterations: s.iterations, candidates: s.candidates, temperature: s.temperature, topP: s.topP,
    beta: s.beta, gammaBetaRatio: s.gammaBetaRatio, pairing: { minMargin: s.minMargin },
    stepsPerIteration: s.stepsPerIteration, batchSize: s.batchSize, peakLr: s.peakLr,
    warmupSteps: Math.ceil(s.stepsPerIteration / 10), clipNorm: 10, weightDecay: 0,
    finalLrFraction: SIMPO_EXTRAS.finalLrFraction, sftWeight: s.sftWeight, rejectInvalid: s.rejectInvalid, samplesPerIteration: s.samplesPerIteration,
  };
}

export async function reproduce(o: ReproduceOptions): Promise<ReproduceResult> {
  const t0 = Date.now();
  const log = o.log ?? ((l: string) => console.error(l));
  const preset = getPreset(o.preset);
  applySets(preset, o.sets ?? []);
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
  const samples = await loadSamples(dataDir, { valFraction: S.data.valFraction, testFraction: S.data.testFraction, chunk: preset.models.policy.chunk, policyStride: 2, onCorrupt: o.onCorrupt });
  // A published dataset's own board: the blocks its sub-tasks name (for parsing them and for closed-loop boards).
  const board = o.data ? datasetBoard(samples.name) : null;
  if (board !== null && board !== S.data.blocks) {
    if (!o.stageWorker) log(`data: ${samples.name} is recorded on the ${board === 'real' ? 'real robot\'s' : `BLOCK_${board}`} board; blocks ${S.data.blocks} → ${board}`);
    S.data.blocks = board;
  }
  if (samples.skipped) log(`--skip-corrupt: ${samples.skipped.skipped} damaged record(s) skipped: ${samples.skipped.shards.map((s) => `${path.basename(s.file)} ${s.rejected} rejected, ${s.lost} lost`).join('; ')}`);
  const tokFile = path.join(o.out, 'tokenizer.json');
  // The tokenizer also knows the words of the base planner's scene descriptions (simulator templates, no labels).
  const tok = fs.existsSync(tokFile) ? Tokenizer.load(tokFile) : trainTokenizer(samples, [...sceneTexts(blockSet(S.data.blocks)), ...templateTexts(blockSet(S.data.blocks))]);
  if (!o.stageWorker) tok.save(tokFile);
  const M = preset.models;
  M.grounding.vocab = M.planner.vocab = M.policy.vocab = tok.size;
  M.grounding.trajectoryLength = S.data.trajectoryLength;
  const cache = new ImageCache(S.data.imageSize);
  for (const m of [M.grounding, M.planner, M.policy]) m.image = S.data.imageSize;
  if (!o.stageWorker) writeJsonAtomic(path.join(o.out, 'config.json'), {
    preset: preset.name, seed: o.seed, sets: o.sets ?? [], data: dataDir, frames: samples.imageShape && frameViewFor(samples.imageShape), ...(o.onCorrupt === 'skip' ? { onCorrupt: 'skip', dataSkipped: samples.skipped } : {}), backend: backend.name, backendVersion: backend.version, git: gitRevision(),
    models: M, schedule: S, tokenizer: { size: tok.size, file: 'tokenizer.json' },
    samples: Object.fromEntries(Object.entries(samples.hierarchical).map(([k, v]) => [k, v.length])), episodes: samples.episodes,
  });
  log(`samples: ${JSON.stringify(Object.fromEntries(Object.entries(samples.hierarchical).map(([k, v]) => [k, v.length])))}; vocabulary ${tok.size}`);

  const weights = (name: string) => path.join(modelsDir, `${name}.safetensors`);
  // Extra processes need no function-valued options (override cannot cross a process boundary).
  const jobs = o.stageWorker || o.override ? 1 : Math.max(1, o.jobs ?? defaultJobs(backend.name));
  // Two processes' progress bars would overwrite each other: with jobs, progress is periodic lines.
  if (jobs > 1 && (o.progress ?? 'auto') === 'auto') o = { ...o, progress: 'lines' };
  // The stage processes fill the cores: each, this one included, runs the addon on one thread unless told otherwise
  // (two processes with a spinning helper thread each would put three busy threads on two cores).
  if ((jobs > 1 || o.stageWorker) && process.env.GPLA_BLAS_THREADS === undefined) setNativeThreads(1);
  const groundingSeed = (cond: 'action' | 'none') => o.seed + (cond === 'action' ? 11 : 12);
  const newGrounding = (cond: 'action' | 'none') => new GroundingModel({ ...M.grounding, conditioning: cond }, groundingSeed(cond));
  // A process keeps at most one instance of each model; each stage reads what it needs from models/ (written by
  // whichever process ran the stage before), so stages can run in any process.
  const loaded: Partial<Record<'action' | 'none', GroundingModel>> = {};
  const loadGrounding = (cond: 'action' | 'none') => {
    if (!loaded[cond]) {
      const g = newGrounding(cond);
      g.ps.load(weights(`grounding-${cond}`));
      loaded[cond] = g;
    }
    return loaded[cond]!;
  };
  const planner = new Planner(M.planner, o.seed + 14);
  const simpoCfg = simpoConfig(S.simpo);
  const specs = blockSet(S.data.blocks);
  // Every condition's preference iterations draw from all training samples (their labels unused): each iteration
  // takes samplesPerIteration of them afresh, the same draw for every condition (the draw depends on the seed only).
  const prefSamples = samples.hierarchical.train;

  const groundingStage = (cond: 'action' | 'none'): StageSpec => ({
    name: `grounding-${cond}`, deps: [],
    run: async () => {
      const name = `grounding-${cond}`;
      const g = newGrounding(cond);
      const r = await train(groundingTask(name, g, samples.hierarchical.train, samples.hierarchical.val, tok, cache, S.grounding.batchSize), trainConfig(S.grounding, o, o.seed + 101));
      g.ps.save(weights(name), { model: 'grounding', conditioning: cond });
      g.dispose();
      return { finalLoss: r.finalLoss, firstLoss: r.losses[0], validation: r.validation };
    },
  });
  const simpoStage = (name: string, start: string, cond: 'action' | 'none'): StageSpec => ({
    name, deps: [start, `grounding-${cond}`],
    run: async () => {
      planner.ps.load(weights(start));
      const logs = await runSimpoIterations(name, plannerPolicy(planner, tok, cache), groundingScorer(loadGrounding(cond), tok, cache), prefSamples, simpoCfg,
        {
          runDir: o.out, seed: o.seed + 200, resume: true, progress: o.progress,
          validCandidate: (text) => parseSubTask(text, specs) !== null,
          // For the logs only: the loop pairs and updates on grounding scores alone.
          judge: (s, text) => namesSameSubTask(text, s.lowLevel, specs),
        });
      planner.ps.save(weights(name), { model: 'planner', start, grounding: cond });
      for (const l of logs) log(`  ${name} iteration ${l.iteration}: ${describeIteration(l)}`);
      return { iterations: logs.map(({ examples, ...rest }) => rest), examples: logs[logs.length - 1]?.examples ?? [] };
    },
  });
  // Priority order: the head of the longest chain (base → SFT → SFT + GPLA) first, so two processes stay busy.
  const trainingStages: StageSpec[] = [
    {
      name: 'planner-base', deps: [],
      run: async () => {
        const P = S.plannerPretrain;
        const valBoards = sceneBoardSet(S, o.seed, 'val', 96);
        const scenes = { boards: sceneBoardSet(S, o.seed, 'train', P.sceneBoards), share: P.sceneShare, detectionWeight: P.detectionWeight, val: { boards: valBoards, questions: evaluationQuestions(valBoards, o.seed + 5) } };
        const r = await train(plannerPretrainTask(planner, samples.hierarchical.train, tok, cache, P.batchSize, scenes), trainConfig(P, o, o.seed + 103));
        planner.ps.save(weights('planner-base'), { model: 'planner', condition: 'Base' });
        return { finalLoss: r.finalLoss, firstLoss: r.losses[0], validation: r.validation };
      },
    },
    groundingStage('action'),
    {
      name: 'planner-sft', deps: ['planner-base'],
      run: async () => {
        planner.ps.load(weights('planner-base'));
        const r = await train(plannerSftTask(planner, samples.hierarchical.train, tok, cache, S.plannerSft.batchSize, samples.hierarchical.val.slice(0, 128)), trainConfig(S.plannerSft, o, o.seed + 104));
        planner.ps.save(weights('planner-sft'), { model: 'planner', condition: 'Supervised' });
        return { finalLoss: r.finalLoss, firstLoss: r.losses[0], validation: r.validation };
      },
    },
    groundingStage('none'),
    {
      name: 'policy', deps: [],
      run: async () => {
        const policy = new Policy(M.policy, o.seed + 13);
        const Q = S.policy;
        const detection = Q.detectionWeight > 0 ? { boards: sceneBoardSet(S, o.seed, 'train', Q.detectionBoards), camera: 'topdown' as const, weight: Q.detectionWeight } : undefined;
        const pointer = Q.pointerWeight > 0 ? { blocks: blockSet(S.data.blocks), weight: Q.pointerWeight } : undefined;
        const r = await train(policyTask(policy, samples.policy.train, tok, cache, Q.batchSize, detection, pointer), trainConfig(Q, o, o.seed + 102));
        policy.ps.save(weights('policy'), { model: 'policy' });
        policy.dispose();
        return { finalLoss: r.finalLoss, firstLoss: r.losses[0] };
      },
    },
    simpoStage('planner-gpla-action', 'planner-base', 'action'),
    simpoStage('planner-sft-gpla-action', 'planner-sft', 'action'),
    simpoStage('planner-gpla-vision', 'planner-base', 'none'),
  ];

  // ---------------------------------------------------------------- evaluation parts
  // Each condition's evaluation, the ground-truth planner's and the retrieval are independent stages too (same
  // held-out samples and board seeds whatever runs them); the `evaluate` stage below only merges them.
  const testSamples = samples.hierarchical.test.slice(0, S.eval.samples);
  let evalPolicy: Policy | null = null;
  const evalCtx = (): EvaluationContext => ({
    runDir: o.out, seed: o.seed, schedule: S, testSamples, tok, cache, planner, weights, log, progressMode: o.progress,
    groundings: { action: loadGrounding('action'), none: loadGrounding('none') },
    // Loaded on first use: the retrieval part does not need the policy.
    get policy() {
      if (!evalPolicy) {
        evalPolicy = new Policy(M.policy, o.seed + 13);
        evalPolicy.ps.load(weights('policy'));
      }
      return evalPolicy;
    },
  });
  const evalDeps = ['policy', 'grounding-action', 'grounding-none'];
  const evaluationStages: StageSpec[] = stageDone(o.out, 'evaluate') ? [] : [
    ...CONDITIONS.map((cond): StageSpec => ({ name: `evaluate-${slug(cond)}`, deps: [CONDITION_MODEL[cond], ...evalDeps], run: async () => evaluateCondition(evalCtx(), cond) })),
    { name: 'evaluate-ground-truth', deps: evalDeps, run: async () => evaluateGroundTruth(evalCtx()) },
    { name: 'evaluate-retrieval', deps: ['grounding-action', 'grounding-none'], run: async () => ({ retrieval: evaluateRetrieval(evalCtx()) }) },
  ];
  const allStages = [...trainingStages, ...evaluationStages];

  // ---------------------------------------------------------------- training and evaluation stages, in `jobs` processes
  const session = o.stageWorker?.session ?? `${Date.now().toString(36)}-${process.pid}`;
  const todo = allStages.filter((st) => !stageDone(o.out, st.name));
  const peers = jobs > 1 && todo.length > 1 ? startStageWorkers(Math.min(jobs, todo.length) - 1, o, session, log, backend.name) : null;
  try {
    await runStages(o.out, allStages, {
      session, log,
      peerError: () => peers?.error() ?? (o.stageWorker && !processAlive(o.stageWorker.parentPid) ? new Error('the main reproduce process is gone') : null),
    });
    if (peers) await peers.finished();
  } finally {
    peers?.stop();
  }
  const disposeModels = () => {
    for (const g of Object.values(loaded)) g?.dispose();
    (evalPolicy as Policy | null)?.dispose();
    planner.dispose();
  };
  if (o.stageWorker) {
    disposeModels();
    return { runDir: o.out, results: {}, seconds: (Date.now() - t0) / 1000 };
  }
  clearClaims(o.out, session);

  // ---------------------------------------------------------------- evaluation: merge the parts
  const evaluation = await stage(o.out, 'evaluate', async () => {
    const parts: Record<string, PlannerEvaluation> = { [GROUND_TRUTH_PLANNER]: readStage<PlannerEvaluation>(o.out, 'evaluate-ground-truth') };
    for (const cond of CONDITIONS) parts[cond] = readStage<PlannerEvaluation>(o.out, `evaluate-${slug(cond)}`);
    return mergeEvaluation(o.out, parts, readStage<{ retrieval: GroundingRetrievalRow[] }>(o.out, 'evaluate-retrieval').retrieval);
  }, log);
  const seconds = (Date.now() - t0) / 1000;
  // Peak resident memory of this process (kB → MiB): what a laptop needs to run the preset.
  await writeEvaluation(o.out, evaluation, testSamples, S.eval.qualitative, { seconds, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) });
  await writeRunFigures(o.out);
  disposeModels();
  return { runDir: o.out, results: evaluation.results, seconds };
}
