/**
 * Figure specs: pure functions, rows in → vega-lite spec out, all in the theme of `theme.ts` (DejaVu Sans, axes
 * titled with their units, a 3.5-inch column per panel, Okabe–Ito colours). A figure with several metrics is a grid
 * of panels (vega-lite `concat`), each with its own y axis titled by the metric, and one shared colour legend.
 * Series colours follow the order of first appearance in the rows, so pass rows in a stable order (e.g. conditions
 * in table order) to keep a condition's colour the same across figures.
 */
import { textWidth } from './text-width';
import { FONT_SIZE, PANEL, vlBase } from './theme';

export type Spec = Record<string, unknown>;

/**
 * An axis title that fits `px` (the panel side it runs along): wrapped onto several lines at spaces when too long,
 * since vega centres a long title on the axis and reserves layout space for the overhang.
 */
export function fitTitle(text: string, px: number, fontSize = FONT_SIZE.title): string | string[] {
  if (textWidth(text, fontSize) <= px) return text;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word;
    if (line && textWidth(next, fontSize) > px) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  lines.push(line);
  return lines;
}

const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];

// Legend settings on each legend: vega ignores config.legend.labelLimit here and truncates labels at 160 px.
const legend = (entries: number, extra: Record<string, unknown> = {}) => ({ labelLimit: 300, columns: Math.min(2, entries), ...extra });

function requireRows(what: string, rows: unknown[]): void {
  if (!Array.isArray(rows) || rows.length === 0) throw new Error(`${what}: no rows to draw`);
}

interface PanelOptions {
  xField: string;
  xTitle: string;
  xInteger?: boolean;
  seriesField: string;
  seriesTitle: string;
  logY?: boolean;
  points?: boolean;
  columns?: number;
  width?: number;
  height?: number;
}

/** Lines of `value` against x, one colour per series, one panel per metric (y titled by the metric). */
function linePanels(values: { metric: string; value: number }[], o: PanelOptions): Spec {
  const metrics = uniq(values.map((v) => v.metric));
  const series = uniq(values.map((v) => String((v as Record<string, unknown>)[o.seriesField])));
  const panel = (metric: string) => ({
    width: o.width ?? PANEL.width,
    height: o.height ?? PANEL.height,
    ...(metrics.length > 1 ? { transform: [{ filter: { field: 'metric', equal: metric } }] } : {}),
    mark: { type: 'line', point: o.points ?? false, clip: true },
    encoding: {
      x: { field: o.xField, type: 'quantitative', title: o.xTitle, ...(o.xInteger ? { axis: { tickMinStep: 1, format: 'd' } } : {}) },
      y: { field: 'value', type: 'quantitative', title: fitTitle(metric, o.height ?? PANEL.height), scale: o.logY ? { type: 'log' } : { zero: false } },
      color: { field: o.seriesField, type: 'nominal', title: o.seriesTitle, scale: { domain: series }, legend: legend(series.length) },
    },
  });
  const base = { ...vlBase(), data: { values } };
  if (metrics.length === 1) return { ...base, ...panel(metrics[0]) };
  return { ...base, concat: metrics.map(panel), columns: o.columns ?? 2, resolve: { scale: { color: 'shared' } } };
}

// ---------------------------------------------------------------------------------------------------------------
// Training curves

/** One logged value of a training run. `metric` names the y axis, with its unit, e.g. 'InfoNCE loss (nats)'. */
export interface CurveRow {
  run: string;
  step: number;
  metric: string;
  value: number;
}

/** The first version's rows: `series` is the run and `panel` the metric. */
export interface LegacyCurveRow {
  series: string;
  step: number;
  value: number;
  panel?: string;
}

export interface CurveOptions {
  /** Metric name for rows without one. */
  yTitle?: string;
  xTitle?: string;
  logY?: boolean;
  columns?: number;
}

/** Metric against training step, one line per run, one panel per metric. */
export function trainingCurves(rows: (CurveRow | LegacyCurveRow)[], opts: CurveOptions | string = {}): Spec {
  requireRows('trainingCurves', rows);
  const o = typeof opts === 'string' ? { yTitle: opts } : opts;
  const values = rows.map((r) => {
    const run = 'run' in r ? r.run : r.series;
    const metric = 'metric' in r ? r.metric : r.panel ?? o.yTitle ?? 'loss';
    return { run, step: r.step, metric, value: r.value };
  });
  return linePanels(values, { xField: 'step', xTitle: o.xTitle ?? 'training step', seriesField: 'run', seriesTitle: 'run', logY: o.logY, columns: o.columns });
}

// ---------------------------------------------------------------------------------------------------------------
// SimPO iterations

export interface SimpoIterationRow {
  condition: string;
  iteration: number;
  /** Mean grounding score of the chosen candidates. */
  chosenScore: number;
  /** Mean chosen − rejected grounding score. */
  margin: number;
  /** Preference pairs kept. */
  pairs: number;
}

export const SIMPO_METRICS: [keyof SimpoIterationRow, string][] = [
  ['chosenScore', 'chosen grounding score (cosine)'],
  ['margin', 'chosen − rejected margin (cosine)'],
  ['pairs', 'preference pairs kept (count)'],
];

/** The preference loop per iteration: chosen score, margin and pairs kept, one line per condition. */
export function simpoIterationCurves(rows: SimpoIterationRow[], opts: { columns?: number } = {}): Spec {
  requireRows('simpoIterationCurves', rows);
  const values = rows.flatMap((r) => SIMPO_METRICS.map(([k, metric]) => ({ condition: r.condition, iteration: r.iteration, metric, value: r[k] as number })));
  return linePanels(values, { xField: 'iteration', xTitle: 'SimPO iteration', xInteger: true, seriesField: 'condition', seriesTitle: 'condition', points: true, columns: opts.columns ?? 3 });
}

/** Long-form SimPO curves (any metrics): rows {run, iteration, metric, value}. */
export function simpoCurves(rows: { run: string; iteration: number; metric: string; value: number }[], opts: { columns?: number } = {}): Spec {
  requireRows('simpoCurves', rows);
  return linePanels(rows, { xField: 'iteration', xTitle: 'SimPO iteration', xInteger: true, seriesField: 'run', seriesTitle: 'run', points: true, columns: opts.columns ?? 3 });
}

/**
 * A one-field-at-a-time hyper-parameter sweep: per field a panel of the validation metric against the field's value,
 * a line per start planner. Rows: {panel (the field), x (its value), series, value}.
 */
export function sweepCurves(rows: { panel: string; x: number; series: string; value: number }[], opts: { metric?: string; columns?: number } = {}): Spec {
  requireRows('sweepCurves', rows);
  const panels = uniq(rows.map((r) => r.panel));
  const series = uniq(rows.map((r) => r.series));
  const panel = (field: string) => ({
    width: PANEL.width,
    height: PANEL.height,
    transform: [{ filter: { field: 'panel', equal: field } }],
    mark: { type: 'line', point: true, clip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: field, scale: { zero: false } },
      y: { field: 'value', type: 'quantitative', title: fitTitle(opts.metric ?? 'val semantic accuracy', PANEL.height), scale: { domain: [0, 1] } },
      color: { field: 'series', type: 'nominal', title: 'start', scale: { domain: series }, legend: legend(series.length) },
    },
  });
  return { ...vlBase(), data: { values: rows }, concat: panels.map(panel), columns: opts.columns ?? Math.min(3, panels.length), resolve: { scale: { color: 'shared' } } };
}

// ---------------------------------------------------------------------------------------------------------------
// Results

export interface ResultRow {
  condition: string;
  /** The metric and its unit or range, e.g. 'BLEU-4 (0–1)'. */
  metric: string;
  mean: number;
  /** Interval across seeds (e.g. the bootstrap CI of the mean); drawn as an error bar when present. */
  lo?: number;
  hi?: number;
}

/** One bar per condition for each metric (a panel per metric), with error bars where rows carry lo/hi. */
export function resultsBars(rows: ResultRow[], opts: { columns?: number; width?: number; height?: number; /** Fixed y range, e.g. [0, 1] for shares. */ domain?: [number, number] } = {}): Spec {
  requireRows('resultsBars', rows);
  rows.forEach((r, i) => {
    if ((r.lo === undefined) !== (r.hi === undefined)) throw new Error(`resultsBars: row ${i} (${r.condition}, ${r.metric}) has only one of lo/hi`);
    if (r.lo !== undefined && r.hi !== undefined && !(r.lo <= r.hi)) throw new Error(`resultsBars: row ${i} (${r.condition}, ${r.metric}) has lo ${r.lo} > hi ${r.hi}`);
  });
  const metrics = uniq(rows.map((r) => r.metric));
  const conditions = uniq(rows.map((r) => r.condition));
  const height = opts.height ?? 120;
  const panel = (metric: string) => {
    const x = { field: 'condition', type: 'nominal', title: null, sort: conditions, axis: { labels: false, ticks: false } };
    const hasInterval = rows.some((r) => r.metric === metric && r.lo !== undefined);
    return {
      width: opts.width ?? 130,
      height,
      transform: [{ filter: { field: 'metric', equal: metric } }],
      layer: [
        {
          mark: { type: 'bar', width: { band: 0.8 } },
          encoding: {
            x,
            y: { field: 'mean', type: 'quantitative', title: fitTitle(metric, height), ...(opts.domain ? { scale: { domain: opts.domain } } : {}) },
            color: { field: 'condition', type: 'nominal', title: 'condition', scale: { domain: conditions }, legend: legend(conditions.length) },
          },
        },
        ...(hasInterval
          ? [{ mark: { type: 'errorbar', ticks: { width: 6 }, color: '#222' }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: fitTitle(metric, height) }, y2: { field: 'hi' } } }]
          : []),
      ],
    };
  };
  return { ...vlBase(), data: { values: rows }, concat: metrics.map(panel), columns: opts.columns ?? 3, resolve: { scale: { color: 'shared' } } };
}

// ---------------------------------------------------------------------------------------------------------------
// Retrieval

export interface RetrievalBarRow {
  model: string;
  /** e.g. 'trajectory → text'. */
  direction: string;
  k: number;
  /** recall@k in [0, 1]. */
  recall: number;
}

/** Grouped bars of recall@k (one group per k, one bar per model), a panel per direction; optional chance ticks k/N. */
export function retrievalBars(rows: RetrievalBarRow[], opts: { n?: number; columns?: number } = {}): Spec {
  requireRows('retrievalBars', rows);
  const directions = uniq(rows.map((r) => r.direction));
  const models = uniq(rows.map((r) => r.model));
  const ks = uniq(rows.map((r) => r.k)).sort((a, b) => a - b);
  const chance = opts.n ? ks.map((k) => ({ k, chance: Math.min(1, k / opts.n!) })) : [];
  const x = { field: 'k', type: 'ordinal', title: 'k (candidates returned)', sort: ks, axis: { labelAngle: 0 } };
  const panel = (direction: string) => ({
    width: 160,
    height: 130,
    title: { text: direction, ...(opts.n ? { subtitle: `black ticks: chance k/N, N = ${opts.n}` } : {}) },
    layer: [
      {
        data: { values: rows },
        transform: [{ filter: { field: 'direction', equal: direction } }],
        mark: 'bar',
        encoding: {
          x,
          xOffset: { field: 'model', type: 'nominal', sort: models },
          y: { field: 'recall', type: 'quantitative', title: 'recall@k', scale: { domain: [0, 1] } },
          color: { field: 'model', type: 'nominal', title: 'model', scale: { domain: models }, legend: legend(models.length) },
        },
      },
      ...(chance.length ? [{ data: { values: chance }, mark: { type: 'tick', color: '#000', thickness: 1.5 }, encoding: { x, y: { field: 'chance', type: 'quantitative' } } }] : []),
    ],
  });
  const base = vlBase();
  if (directions.length === 1) return { ...base, ...panel(directions[0]) };
  return { ...base, concat: directions.map(panel), columns: opts.columns ?? 2, resolve: { scale: { color: 'shared' } } };
}

// ---------------------------------------------------------------------------------------------------------------
// Embeddings

export interface ScatterPoint {
  x: number;
  y: number;
  /** 'text' or 'vision-action'. */
  modality: string;
  /** The text or sample id, shown as a tooltip. */
  label?: string;
  /** A grouping such as the block named by the sub-task. */
  group?: string;
}

export interface ScatterOptions {
  colorBy?: 'group' | 'modality' | 'label';
  /** Title of the colour legend (defaults to the field name). */
  colorTitle?: string;
  title?: string;
  xTitle?: string;
  yTitle?: string;
}

/** A 2-D view of embeddings (e.g. PCA), coloured by a chosen field and shaped by modality. */
export function embeddingScatter(points: ScatterPoint[], opts: ScatterOptions | string = {}): Spec {
  requireRows('embeddingScatter', points);
  const o: ScatterOptions = typeof opts === 'string' ? { title: opts } : opts;
  const colorBy = o.colorBy ?? (points.some((p) => p.group !== undefined) ? 'group' : 'modality');
  if (points.some((p) => p[colorBy] === undefined)) throw new Error(`embeddingScatter: colorBy "${colorBy}" but some points have no ${colorBy}`);
  return {
    ...vlBase(),
    ...(o.title ? { title: o.title } : {}),
    width: PANEL.width,
    height: 200,
    data: { values: points },
    mark: { type: 'point', filled: true, size: 26, opacity: 0.8 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.xTitle ?? 'PC 1', scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: o.yTitle ?? 'PC 2', scale: { zero: false } },
      color: { field: colorBy, type: 'nominal', title: o.colorTitle ?? colorBy, sort: uniq(points.map((p) => String(p[colorBy]))), legend: legend(1) },
      ...(colorBy !== 'modality' ? { shape: { field: 'modality', type: 'nominal', title: 'modality', legend: legend(1) } } : {}),
      tooltip: [{ field: 'label', type: 'nominal' }, { field: 'modality', type: 'nominal' }],
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Heat map

export interface HeatmapOptions {
  rowTitle?: string;
  colTitle?: string;
  valueTitle?: string;
  /** Above this many rows/columns the tick labels are hidden (only the titles remain). */
  maxLabels?: number;
}

/**
 * A heat map of a matrix (e.g. grounding scores, trajectories × descriptions). rowLabels/colLabels name the rows
 * and columns; a string instead is the axis title and the rows/columns are numbered (the first version's call).
 */
export function scoreHeatmap(matrix: ArrayLike<number>[], rowLabels: string[] | string, colLabels: string[] | string, opts: HeatmapOptions | string = {}): Spec {
  requireRows('scoreHeatmap', matrix);
  const o: HeatmapOptions = typeof opts === 'string' ? { valueTitle: opts } : opts;
  const nr = matrix.length;
  const nc = matrix[0].length;
  matrix.forEach((r, i) => {
    if (r.length !== nc) throw new Error(`scoreHeatmap: row ${i} has ${r.length} values, expected ${nc}`);
  });
  const names = (labels: string[] | string, n: number, what: string) => {
    if (typeof labels === 'string') return Array.from({ length: n }, (_, i) => String(i));
    if (labels.length !== n) throw new Error(`scoreHeatmap: ${labels.length} ${what} labels for ${n} ${what}s`);
    if (new Set(labels).size !== n) throw new Error(`scoreHeatmap: ${what} labels must be distinct (they are the ${what} keys)`);
    return labels;
  };
  const rl = names(rowLabels, nr, 'row');
  const cl = names(colLabels, nc, 'column');
  const rowTitle = o.rowTitle ?? (typeof rowLabels === 'string' ? rowLabels : 'query');
  const colTitle = o.colTitle ?? (typeof colLabels === 'string' ? colLabels : 'candidate');
  const maxLabels = o.maxLabels ?? 30;
  const values = matrix.flatMap((r, i) => Array.from(r, (v, j) => ({ row: rl[i], col: cl[j], value: v })));
  const cell = Math.max(4, Math.min(20, Math.floor(240 / Math.max(nr, nc))));
  return {
    ...vlBase(),
    width: cell * nc,
    height: cell * nr,
    data: { values },
    mark: 'rect',
    encoding: {
      x: { field: 'col', type: 'ordinal', sort: cl, title: colTitle, axis: nc > maxLabels ? { labels: false, ticks: false } : { labelAngle: -45, labelLimit: 90 } },
      y: { field: 'row', type: 'ordinal', sort: rl, title: fitTitle(rowTitle, cell * nr), axis: nr > maxLabels ? { labels: false, ticks: false } : { labelLimit: 90 } },
      color: { field: 'value', type: 'quantitative', title: o.valueTitle ?? 'cosine score', scale: { scheme: 'viridis' }, legend: { orient: 'right', direction: 'vertical', gradientLength: Math.max(60, Math.min(150, cell * nr)) } },
    },
    config: { ...(vlBase().config as Record<string, unknown>), view: { stroke: null }, axis: { ...((vlBase().config as Record<string, Record<string, unknown>>).axis), grid: false } },
  };
}
