/**
 * The figures of a finished run, drawn from its files alone (metrics.jsonl, summary.json): training curves, the
 * conditions' results, and the SimPO iteration curves. Written to RUN/figures and any extra folders.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readMetrics } from '../train/loop';
import { saveFigure } from './render';
import { resultsBars, simpoIterationCurves, trainingCurves } from './specs';

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
    const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as { conditions: Record<string, Record<string, number>> };
    const shown: [string, string][] = [
      ['bleu4', 'BLEU-4 (0–1)'], ['rougeL', 'ROUGE-L F (0–1)'], ['ciderD', 'CIDEr-D (0–10)'],
      ['semanticAccuracy', 'semantic accuracy (share)'], ['blockAccuracy', 'block accuracy (share)'], ['groundingScore', 'grounding score (cosine)'],
    ];
    const rows = Object.entries(summary.conditions).flatMap(([condition, m]) => shown.filter(([k]) => typeof m[k] === 'number').map(([k, label]) => ({ condition, metric: label, mean: m[k] })));
    await saveFigure(resultsBars(rows), dirs, 'results');
    written.push('results');
  }
  return written;
}
