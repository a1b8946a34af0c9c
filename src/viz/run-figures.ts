/**
 * The figures of a finished run, drawn from its files alone (metrics.jsonl, summary.json): training curves, the
 * conditions' text and grounding results, closed-loop execution, retrieval with true / shuffled / reversed
 * trajectories, and the SimPO iteration curves; error bars where the run spans several seeds. Written to RUN/figures
 * and any extra folders.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readMetrics } from '../train/loop';
import { closedLoopFilmStrip } from './filmstrip';
import { saveFigure } from './render';
import { resultsBars, retrievalBars, simpoIterationCurves, trainingCurves } from './specs';

interface RunSummary {
  conditions: Record<string, Record<string, number>>;
  /** Across seeds (gpla reproduce --seeds N): per condition and metric, the 95% bootstrap interval of the mean. */
  intervals?: Record<string, Record<string, { lo: number; hi: number }>>;
  retrieval?: { model: string; perturbation: string; n: number; trajToText: Record<string, number>; textToTraj: Record<string, number> }[];
}

const PERTURBATION_LABEL: Record<string, string> = { none: 'true', shuffled: 'shuffled', reversed: 'time-reversed' };

/** The error bar of a bar, when the run carries intervals across seeds. */
function interval(s: RunSummary, condition: string, metric: string): { lo?: number; hi?: number } {
  const iv = s.intervals?.[condition]?.[metric];
  return iv && Number.isFinite(iv.lo) && Number.isFinite(iv.hi) ? { lo: iv.lo, hi: iv.hi } : {};
}

/** Moving average of a series (window w), to show trends through minibatch noise. */
function smooth(values: number[], w: number): number[] {
  return values.map((_, i) => {
    const a = Math.max(0, i - w + 1);
    const part = values.slice(a, i + 1);
    return part.reduce((x, y) => x + y, 0) / part.length;
  });
}

export async function writeRunFigures(runDir: string, extraDirs: string[] = []): Promise<string[]> {
  const dirs = [path.join(runDir, 'figures'), ...extraDirs];
  const metrics = readMetrics(runDir);
  const written: string[] = [];
  // Panel (y-axis title, with the loss's unit) of each training task; losses are 10-step moving means.
  const panels: Record<string, string> = {
    'grounding-action': 'grounding InfoNCE loss (nats)', 'grounding-none': 'grounding InfoNCE loss (nats)', policy: 'policy flow-matching loss (MSE)',
    'planner-pretrain': 'planner cross-entropy (nats/token)', 'planner-sft': 'planner cross-entropy (nats/token)',
  };
  const curveRows: { run: string; step: number; metric: string; value: number }[] = [];
  for (const task of Object.keys(panels)) {
    const rows = metrics.filter((m) => m.task === task && m.kind === 'train');
    const sm = smooth(rows.map((r) => r.loss as number), 10);
    rows.forEach((r, i) => curveRows.push({ run: task, step: r.step as number, metric: panels[task], value: sm[i] }));
  }
  if (curveRows.length) {
    await saveFigure(trainingCurves(curveRows), dirs, 'training-curves');
    written.push('training-curves');
  }
  const simpoRows = metrics
    .filter((m) => m.kind === 'simpo')
    .map((m) => ({
      condition: String(m.task).replace('simpo-planner-', ''),
      iteration: m.iteration as number,
      chosenScore: m.chosenScore as number,
      margin: m.margin as number,
      pairs: m.pairs as number,
    }));
  if (simpoRows.length) {
    await saveFigure(simpoIterationCurves(simpoRows), dirs, 'simpo-iterations');
    written.push('simpo-iterations');
  }
  const summaryFile = path.join(runDir, 'summary.json');
  if (fs.existsSync(summaryFile)) {
    const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as RunSummary;
    const bars = (shown: [string, string][]) =>
      Object.entries(summary.conditions).flatMap(([condition, m]) =>
        shown.filter(([k]) => Number.isFinite(m[k])).map(([k, label]) => ({ condition, metric: label, mean: m[k], ...interval(summary, condition, k) })));
    const results = bars([
      ['bleu4', 'BLEU-4 (0–1)'], ['rougeL', 'ROUGE-L F (0–1)'], ['ciderD', 'CIDEr-D (0–10)'],
      ['semanticAccuracy', 'semantic accuracy (share)'], ['blockAccuracy', 'block accuracy (share)'], ['groundingScore', 'grounding score (cosine)'],
    ]);
    if (results.length) {
      await saveFigure(resultsBars(results), dirs, 'results');
      written.push('results');
    }
    const execution = bars([
      ['policySubTaskSuccess', 'sub-task success, policy (share)'], ['policySubTaskMatch', 'sub-task = ground truth, policy (share)'], ['policyLongHorizonSuccess', 'long-horizon success, policy (share)'],
      ['oracleSubTaskSuccess', 'sub-task success, oracle (share)'], ['oracleSubTaskMatch', 'sub-task = ground truth, oracle (share)'], ['oracleLongHorizonSuccess', 'long-horizon success, oracle (share)'],
    ]);
    if (execution.length) {
      await saveFigure(resultsBars(execution, { domain: [0, 1] }), dirs, 'execution');
      written.push('execution');
    }
    const retrieval = (summary.retrieval ?? []).flatMap((r) =>
      (['trajToText', 'textToTraj'] as const).flatMap((dir) =>
        Object.entries(r[dir]).map(([k, recall]) => ({
          model: `${r.model === 'action' ? 'action-conditioned' : 'vision only'}, ${PERTURBATION_LABEL[r.perturbation] ?? r.perturbation}`,
          direction: dir === 'trajToText' ? 'trajectory → text' : 'text → trajectory', k: Number(k), recall,
        }))));
    if (retrieval.length) {
      await saveFigure(retrievalBars(retrieval, { n: summary.retrieval![0].n }), dirs, 'retrieval');
      written.push('retrieval');
    }
  }
  // Closed-loop film strips, one per condition and executor (rollouts/*.json, written by the evaluation).
  const rollouts = path.join(runDir, 'rollouts');
  if (fs.existsSync(rollouts)) {
    for (const f of fs.readdirSync(rollouts).filter((x) => x.endsWith('.json')).sort()) {
      const r = JSON.parse(fs.readFileSync(path.join(rollouts, f), 'utf8')) as { condition: string; executor: string; highLevel: string; frames: { jpegBase64: string; caption: string }[] };
      const name = `closed-loop-${f.replace(/\.json$/, '')}`;
      const title = `${r.condition}, ${r.executor} executing: "${r.highLevel}"`;
      await saveFigure(closedLoopFilmStrip(r.frames.map((x) => ({ imageJpeg: Buffer.from(x.jpegBase64, 'base64'), caption: x.caption })), { title }), dirs, name);
      written.push(name);
    }
  }
  return written;
}
