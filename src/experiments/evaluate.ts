/**
 * Evaluation of a run's conditions (the `evaluate` stage of `gpla reproduce`, and `gpla evaluate RUN` on its own):
 *
 *   text and grounding — every planner's greedy sub-tasks on the held-out split against the ground truth (BLEU-4,
 *     ROUGE-L, CIDEr-D, exact match, semantic accuracy) and against the recorded trajectory (grounding score);
 *   execution — every planner driving closed-loop long-horizon episodes in the simulator, with the learned policy and
 *     with the scripted oracle as executor, plus a ground-truth planner as the upper bound of each executor;
 *   retrieval — both grounding models' recall@k on the held-out pairs with true, shuffled and time-reversed
 *     trajectories.
 *
 * Written: tables/results.csv (a row per condition), tables/retrieval.csv, tables/qualitative.csv,
 * tables/execution-episodes.jsonl (every closed-loop sub-task), summary.json, and the figures.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HierarchicalSample } from '../data/samples';
import { evaluateGenerated, generateGreedy, type ConditionMetrics } from '../eval/conditions';
import { evaluationQuestions, sceneDescriptionAccuracy, type SceneAccuracy } from '../eval/scene-description';
import { blockSet } from '../sim/constants';
import { DEFAULT_EPISODE } from '../sim/episode';
import { sceneBoards, type SceneBoard } from '../sim/scenes';
import { PERTURBATIONS, groundingRetrieval, type GroundingRetrievalRow } from '../eval/grounding-retrieval';
import {
  batchedModelPlanner, batchedOracleExecutor, batchedPlanner, batchedPolicyExecutor, groundTruthPlanner, hierarchyMetrics, runHierarchyBatched,
  type BatchedExecutor, type BatchedPlannerFn, type HierarchyEpisode, type HierarchyMetrics,
} from '../eval/hierarchy';
import type { GroundingModel } from '../models/grounding';
import type { Planner } from '../models/planner';
import type { Policy } from '../models/policy';
import type { Tokenizer } from '../text/tokenizer';
import { logMetrics } from '../train/loop';
import { progress } from '../util/progress';
import type { ImageCache } from '../data/samples';
import type { ExperimentSchedule } from './schedule';
import { writeJsonAtomic } from './stages';
import { toCsv, writeTables } from './tables';
import { evaluateClaims, type ClaimRow, type ClaimSeed } from '../eval/claims';

export const CONDITIONS = ['Base', 'Supervised', 'GPLA (action-conditioned)', 'Supervised + GPLA (action-conditioned)', 'GPLA (vision-only grounding)'] as const;
export type Condition = (typeof CONDITIONS)[number];
export const CONDITION_MODEL: Record<Condition, string> = {
  Base: 'planner-base',
  Supervised: 'planner-sft',
  'GPLA (action-conditioned)': 'planner-gpla-action',
  'Supervised + GPLA (action-conditioned)': 'planner-sft-gpla-action',
  'GPLA (vision-only grounding)': 'planner-gpla-vision',
};
/** The reference row of the execution metrics: the ground-truth next sub-task, written by the goal plan. */
export const GROUND_TRUTH_PLANNER = 'Ground-truth sub-tasks';

/** Execution metrics, prefixed by executor: policySubTaskSuccess, oracleLongHorizonSuccess, … */
export type ExecutionMetrics = Record<string, number>;
export type ResultRow = Partial<ConditionMetrics> & Partial<SceneAccuracy> & ExecutionMetrics;

export interface EvaluationContext {
  runDir: string;
  seed: number;
  schedule: ExperimentSchedule;
  testSamples: HierarchicalSample[];
  tok: Tokenizer;
  cache: ImageCache;
  groundings: Record<'action' | 'none', GroundingModel>;
  policy: Policy;
  /** One planner whose weights are swapped per condition. */
  planner: Planner;
  weights: (name: string) => string;
  log: (line: string) => void;
  progressMode?: 'auto' | 'lines' | 'silent';
}

export interface EvaluationSummary {
  results: Record<string, ResultRow>;
  generated: Record<string, string[]>;
  retrieval: GroundingRetrievalRow[];
}

/** Held-out evaluation boards: a seed stream apart from the dataset's (which uses the run seed itself). */
export const evaluationBoardSeed = (runSeed: number) => runSeed + 1000003;

/** Random boards for scene descriptions: training, validation and test each from their own seed stream. */
const SCENE_SEED_OFFSET = { train: 2000003, val: 2000029, test: 2000039 } as const;
export function sceneBoardSet(schedule: ExperimentSchedule, runSeed: number, split: keyof typeof SCENE_SEED_OFFSET, n: number): SceneBoard[] {
  return sceneBoards(n, runSeed + SCENE_SEED_OFFSET[split], {
    specs: blockSet(schedule.data.blocks), image: schedule.data.storedImage, camera: 'topdown', jpegQuality: DEFAULT_EPISODE.jpegQuality,
  });
}

/** The scene-description accuracy of the loaded planner on the held-out boards (none when the schedule has none). */
function sceneRow(ctx: EvaluationContext): Partial<SceneAccuracy> {
  const n = ctx.schedule.eval.sceneBoards ?? 0;
  if (!(n > 0)) return {};
  const boards = sceneBoardSet(ctx.schedule, ctx.seed, 'test', n);
  return sceneDescriptionAccuracy(ctx.planner, ctx.tok, ctx.cache, boards, evaluationQuestions(boards, ctx.seed + SCENE_SEED_OFFSET.test));
}

function executionMetrics(executor: 'policy' | 'oracle', m: HierarchyMetrics): ExecutionMetrics {
  return {
    [`${executor}SubTaskSuccess`]: m.subTaskSuccess,
    [`${executor}SubTaskMatch`]: m.subTaskMatch,
    [`${executor}SubTaskAlreadySatisfied`]: m.subTaskAlreadySatisfied,
    [`${executor}LongHorizonSuccess`]: m.longHorizonSuccess,
    [`${executor}SubTasksPerEpisode`]: m.episodes ? m.subTasks / m.episodes : NaN,
  };
}

function runExecution(ctx: EvaluationContext, name: string, plan: BatchedPlannerFn, episodesOut: EpisodeRecord[]): ExecutionMetrics {
  const E = ctx.schedule.eval;
  const executors: [('policy' | 'oracle'), BatchedExecutor][] = [['policy', batchedPolicyExecutor(ctx.policy, ctx.tok, ctx.cache)], ['oracle', batchedOracleExecutor]];
  const out: ExecutionMetrics = {};
  for (const [exName, executor] of executors) {
    const bar = progress({ label: `execute ${name} (${exName})`, total: E.rolloutEpisodes, unit: 'episodes', mode: ctx.progressMode });
    // All episodes in lockstep: one planner batch and one policy batch per round (eval/hierarchy.ts).
    const episodes = runHierarchyBatched(plan, executor, {
      episodes: E.rolloutEpisodes, seed: evaluationBoardSeed(ctx.seed), blocks: ctx.schedule.data.blocks,
      stepsPerSubtask: E.stepsPerSubtask, storedImage: ctx.schedule.data.storedImage, keepFrames: 1,
    }, (_, e) => bar.tick(1, { 'long-horizon ok': e.success ? 'yes' : 'no' }));
    bar.stop();
    writeRollout(ctx.runDir, name, exName, episodes[0]);
    for (const { frames, ...episode } of episodes) episodesOut.push({ condition: name, executor: exName, episode });
    Object.assign(out, executionMetrics(exName, hierarchyMetrics(episodes)));
  }
  return out;
}

export const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/**
 * rollouts/<condition>-<executor>.json: the first closed-loop episode's frames (JPEG, base64) with captions, from
 * which `gpla figures` draws the film strips.
 */
function writeRollout(runDir: string, condition: string, executor: string, e: HierarchyEpisode | undefined): void {
  if (!e?.frames) return;
  const captions = [
    ...e.subTasks.map((s, k) => `${k + 1}. ${s.planned || '(empty)'} ${s.success ? '✓' : s.alreadySatisfied ? '(already done)' : '✗'}`),
    `end: goal ${e.success ? 'reached ✓' : 'not reached ✗'}`,
  ];
  writeJsonAtomic(path.join(runDir, 'rollouts', `${slug(condition)}-${executor}.json`), {
    condition, executor, goal: e.goal, highLevel: e.highLevel, success: e.success,
    frames: e.frames.map((f, k) => ({ jpegBase64: Buffer.from(f).toString('base64'), caption: captions[k] })),
  });
}

/** One closed-loop sub-task record of tables/execution-episodes.jsonl (frames left out). */
export type EpisodeRecord = { condition: string; executor: string; episode: HierarchyEpisode };

/** The evaluation of one planner (a condition, or the ground-truth planner): its row, texts and episodes. */
export interface PlannerEvaluation {
  row: ResultRow;
  /** Greedy sub-tasks on the held-out samples (conditions only). */
  generated?: string[];
  episodes: EpisodeRecord[];
}

/**
 * The preference loop's record for a GPLA condition, as result columns: pairs formed over all iterations, whether any
 * update happened (a condition with no pair is the planner it started from, and is reported as such, never as a
 * result of its own), and the mean over iterations of the correctness diagnostics (AUROC of the grounding score vs
 * "names the right block and target", share of chosen texts that are wrong). Empty for conditions without one.
 */
export function preferenceColumns(runDir: string, model: string): Record<string, number> {
  const file = path.join(runDir, 'stages', `${model}.json`);
  if (!model.includes('gpla') || !fs.existsSync(file)) return {};
  const st = JSON.parse(fs.readFileSync(file, 'utf8')) as { iterations?: { pairs: number; diagnostics?: { auroc: number; chosenWrongShare: number } }[] };
  const its = st.iterations ?? [];
  const meanOf = (xs: number[]) => { const f = xs.filter(Number.isFinite); return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN; };
  const pairs = its.reduce((a, l) => a + l.pairs, 0);
  return {
    preferencePairs: pairs,
    preferenceUpdated: pairs > 0 ? 1 : 0,
    preferenceAuroc: meanOf(its.map((l) => l.diagnostics?.auroc ?? NaN)),
    preferenceChosenWrong: meanOf(its.filter((l) => l.pairs > 0).map((l) => l.diagnostics?.chosenWrongShare ?? NaN)),
  };
}

/**
 * Evaluates one condition: text and grounding metrics of its greedy sub-tasks, and closed-loop execution with both
 * executors. Independent of every other condition (same held-out samples, same board seeds), so conditions can be
 * evaluated in any order or in separate processes.
 */
export function evaluateCondition(ctx: EvaluationContext, cond: Condition): PlannerEvaluation {
  ctx.planner.ps.load(ctx.weights(CONDITION_MODEL[cond]));
  const gen = generateGreedy(ctx.planner, ctx.tok, ctx.cache, ctx.testSamples);
  const text = evaluateGenerated(gen, ctx.groundings.action, ctx.tok, ctx.cache, blockSet(ctx.schedule.data.blocks));
  const scene = sceneRow(ctx);
  const episodes: EpisodeRecord[] = [];
  const exec = runExecution(ctx, cond, batchedModelPlanner(ctx.planner, ctx.tok, ctx.cache), episodes);
  const row = { ...text, ...scene, ...exec, ...preferenceColumns(ctx.runDir, CONDITION_MODEL[cond]) };
  logMetrics(ctx.runDir, { task: 'evaluate', kind: 'eval', condition: cond, ...row });
  ctx.log(`  ${cond}: BLEU-4 ${text.bleu4.toFixed(3)}, block ${text.blockAccuracy.toFixed(3)}, semantic ${text.semanticAccuracy.toFixed(3)}, scene ${scene.sceneDescriptionAccuracy?.toFixed(3) ?? '-'}, grounding ${text.groundingScore.toFixed(3)}; ` +
    `sub-task success ${exec.policySubTaskSuccess.toFixed(2)} (policy) / ${exec.oracleSubTaskSuccess.toFixed(2)} (oracle), ` +
    `long-horizon ${exec.policyLongHorizonSuccess.toFixed(2)} / ${exec.oracleLongHorizonSuccess.toFixed(2)}`);
  return { row, generated: gen.map((g) => g.text), episodes };
}

/** The reference row: the goal plan's own next sub-task, executed by the policy and by the oracle. */
export function evaluateGroundTruth(ctx: EvaluationContext): PlannerEvaluation {
  const episodes: EpisodeRecord[] = [];
  const row = runExecution(ctx, GROUND_TRUTH_PLANNER, batchedPlanner(groundTruthPlanner), episodes);
  ctx.log(`  ${GROUND_TRUTH_PLANNER}: sub-task success ${row.policySubTaskSuccess.toFixed(2)} / ${row.oracleSubTaskSuccess.toFixed(2)}, long-horizon ${row.policyLongHorizonSuccess.toFixed(2)} / ${row.oracleLongHorizonSuccess.toFixed(2)}`);
  return { row, episodes };
}

/** Retrieval of both grounding models with true, shuffled and time-reversed trajectories. */
export function evaluateRetrieval(ctx: EvaluationContext): GroundingRetrievalRow[] {
  const retrieval: GroundingRetrievalRow[] = [];
  for (const model of ['action', 'none'] as const) {
    for (const p of PERTURBATIONS) {
      const row = groundingRetrieval(model, ctx.groundings[model], ctx.tok, ctx.cache, ctx.testSamples, p, ctx.seed);
      retrieval.push(row);
      ctx.log(`  retrieval (${model}, trajectories ${p}): trajectory→text R@1 ${row.trajToText[1].toFixed(3)} R@5 ${row.trajToText[5].toFixed(3)}, semantic R@1 ${row.trajToTextSemantic[1].toFixed(3)} R@5 ${row.trajToTextSemantic[5].toFixed(3)} (chance ${row.semanticChance[5].toFixed(3)}); text→trajectory R@5 ${row.textToTraj[5].toFixed(3)}; hard negatives beaten ${row.hardNegativeWin.all.toFixed(3)}`);
    }
  }
  return retrieval;
}

/** Puts the parts together in the tables' order and writes tables/execution-episodes.jsonl. */
export function mergeEvaluation(runDir: string, parts: Record<string, PlannerEvaluation>, retrieval: GroundingRetrievalRow[]): EvaluationSummary {
  const results: Record<string, ResultRow> = {};
  const generated: Record<string, string[]> = {};
  const episodes: EpisodeRecord[] = [];
  for (const name of [...CONDITIONS, GROUND_TRUTH_PLANNER]) {
    const part = parts[name];
    if (!part) throw new Error(`evaluation: the part for "${name}" is missing`);
    results[name] = part.row;
    if (part.generated) generated[name] = part.generated;
    episodes.push(...part.episodes);
  }
  const dir = path.join(runDir, 'tables');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'execution-episodes.jsonl'), episodes.map((e) => JSON.stringify({ condition: e.condition, executor: e.executor, ...e.episode })).join('\n') + '\n');
  return { results, generated, retrieval };
}

/** The whole evaluation in this process (`gpla evaluate`); `gpla reproduce` runs the same parts as stages. */
export async function evaluateConditions(ctx: EvaluationContext): Promise<EvaluationSummary> {
  const parts: Record<string, PlannerEvaluation> = {};
  for (const cond of CONDITIONS) parts[cond] = evaluateCondition(ctx, cond);
  parts[GROUND_TRUTH_PLANNER] = evaluateGroundTruth(ctx);
  return mergeEvaluation(ctx.runDir, parts, evaluateRetrieval(ctx));
}

/** tables/claims.csv: a row per claim of the paper with its per-seed quantity, interval and verdict (eval/claims.ts). */
export function writeClaimsTable(runDir: string, rows: ClaimRow[]): string {
  const file = path.join(runDir, 'tables', 'claims.csv');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const columns = ['id', 'claim', 'source', 'quantity', 'seeds', 'mean', 'ci95Lo', 'ci95Hi', 'measured', 'verdict', 'rule'] as const;
  fs.writeFileSync(file, toCsv({ columns: [...columns], values: rows.map((r) => columns.map((c) => r[c])) }));
  return file;
}

/** tables/retrieval.csv: a row per (grounding model, trajectory perturbation). */
export function writeRetrievalTable(runDir: string, rows: GroundingRetrievalRow[]): string {
  const flat = rows.map((r) => ({
    model: r.model, trajectories: r.perturbation, n: r.n,
    ...Object.fromEntries(Object.entries(r.trajToText).map(([k, v]) => [`trajToTextR@${k}`, v])),
    ...Object.fromEntries(Object.entries(r.textToTraj).map(([k, v]) => [`textToTrajR@${k}`, v])),
    medianRankTrajToText: r.medianRankTrajToText, medianRankTextToTraj: r.medianRankTextToTraj,
    ...Object.fromEntries(Object.entries(r.trajToTextSemantic).map(([k, v]) => [`trajToTextSemanticR@${k}`, v])),
    ...Object.fromEntries(Object.entries(r.textToTrajSemantic).map(([k, v]) => [`textToTrajSemanticR@${k}`, v])),
    ...Object.fromEntries(Object.entries(r.semanticChance).map(([k, v]) => [`semanticChanceR@${k}`, v])),
    ...Object.fromEntries(Object.entries(r.hardNegativeWin).map(([k, v]) => [`hardNegativeWin:${k}`, v])),
  }));
  const file = path.join(runDir, 'tables', 'retrieval.csv');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const columns = Object.keys(flat[0] ?? {});
  fs.writeFileSync(file, toCsv({ columns, values: flat.map((r) => columns.map((c) => (r as Record<string, string | number>)[c])) }));
  return file;
}

/** Writes the tables and summary.json of an evaluation. */
export async function writeEvaluation(runDir: string, s: EvaluationSummary, testSamples: HierarchicalSample[], qualitativeRows: number, extra: Record<string, unknown> = {}): Promise<void> {
  const rows = [...CONDITIONS, GROUND_TRUTH_PLANNER];
  await writeTables(runDir, rows, s.results, testSamples, s.generated, qualitativeRows);
  writeRetrievalTable(runDir, s.retrieval);
  writeClaimsTable(runDir, evaluateClaims([{ seed: NaN, results: s.results as ClaimSeed['results'], retrieval: s.retrieval as unknown as ClaimSeed['retrieval'] }]));
  writeJsonAtomic(path.join(runDir, 'summary.json'), { ...extra, conditions: s.results, retrieval: s.retrieval });
}
