/**
 * The figures of a finished run, drawn from its files alone (metrics.jsonl, summary.json): training curves, the
 * conditions' results, and the SimPO iteration curves. Written to RUN/figures and any extra folders.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readMetrics } from '../train/loop';
import { saveFigure } from './render';
import { resultsBars, simpoCurves, trainingCurves } from './specs';

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
  const panels: Record<string, string> = {
    'grounding-action': 'grounding (InfoNCE)', 'grounding-none': 'grounding (InfoNCE)', policy: 'policy (flow matching)',
    'planner-pretrain': 'planner (cross-entropy)', 'planner-sft': 'planner (cross-entropy)',
  };
  const curveRows: { series: string; step: number; value: number; panel: string }[] = [];
  for (const task of Object.keys(panels)) {
    const rows = metrics.filter((m) => m.task === task && m.kind === 'train');
    const sm = smooth(rows.map((r) => r.loss as number), 10);
    rows.forEach((r, i) => curveRows.push({ series: task, step: r.step as number, value: sm[i], panel: panels[task] }));
  }
  if (curveRows.length) {
    await saveFigure(trainingCurves(curveRows, 'training loss (10-step mean)'), dirs, 'training-curves');
    written.push('training-curves');
  }
  const simpoRows = metrics
    .filter((m) => m.kind === 'simpo')
    .flatMap((m) => [
      { run: String(m.task).replace('simpo-planner-', ''), iteration: m.iteration as number, metric: 'chosen candidates: grounding score', value: m.chosenScore as number },
      { run: String(m.task).replace('simpo-planner-', ''), iteration: m.iteration as number, metric: 'all candidates: grounding score', value: m.candidateScore as number },
      { run: String(m.task).replace('simpo-planner-', ''), iteration: m.iteration as number, metric: 'chosen − rejected margin', value: m.margin as number },
    ]);
  if (simpoRows.length) {
    await saveFigure(simpoCurves(simpoRows), dirs, 'simpo-iterations');
    written.push('simpo-iterations');
  }
  const summaryFile = path.join(runDir, 'summary.json');
  if (fs.existsSync(summaryFile)) {
    const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as { conditions: Record<string, Record<string, number>> };
    const shown: [string, string][] = [['bleu4', 'BLEU-4'], ['rougeL', 'ROUGE-L'], ['semanticAccuracy', 'semantic accuracy'], ['blockAccuracy', 'block accuracy'], ['groundingScore', 'grounding score (action model)'], ['ciderD', 'CIDEr-D']];
    const rows = Object.entries(summary.conditions).flatMap(([condition, m]) => shown.map(([k, label]) => ({ condition, metric: label, mean: m[k] })));
    await saveFigure(resultsBars(rows), dirs, 'results');
    written.push('results');
  }
  return written;
}
