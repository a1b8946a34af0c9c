/**
 * Figure specs (pure functions: rows in → vega-lite spec out) in one theme: DejaVu Sans, labelled axes with units,
 * sized for a 3.5-inch column, the Okabe–Ito colour-blind-safe palette.
 */
import { FONT } from './render';

export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

const theme = (width = 300, height = 180) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width,
  height,
  background: 'white',
  config: {
    font: FONT,
    axis: { labelFont: FONT, titleFont: FONT, labelFontSize: 10, titleFontSize: 11, grid: true, gridOpacity: 0.4 },
    legend: { labelFont: FONT, titleFont: FONT, labelFontSize: 10, titleFontSize: 11, labelLimit: 260 },
    title: { font: FONT, fontSize: 12 },
    header: { labelFont: FONT, titleFont: FONT },
    range: { category: OKABE_ITO },
  },
});

/** Loss (or any metric) against step, one line per series, optionally one panel per `panel`. */
export function trainingCurves(rows: { series: string; step: number; value: number; panel?: string }[], yTitle = 'loss'): Record<string, unknown> {
  const base = {
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  if (rows.some((r) => r.panel)) {
    const { width, height, ...t } = theme(220, 150);
    return { ...t, data: { values: rows }, facet: { field: 'panel', type: 'nominal', title: null }, columns: 3, spec: { width, height, ...base }, resolve: { scale: { y: 'independent' } } };
  }
  return { ...theme(), data: { values: rows }, ...base };
}

/** One bar per condition for a metric, with optional error bars (lo, hi). */
export function resultsBars(rows: { condition: string; metric: string; mean: number; lo?: number; hi?: number }[]): Record<string, unknown> {
  const { width, height, ...t } = theme(160, 140);
  return {
    ...t,
    data: { values: rows },
    facet: { field: 'metric', type: 'nominal', title: null },
    columns: 3,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width,
      height,
      layer: [
        { mark: 'bar', encoding: { x: { field: 'condition', type: 'nominal', title: null, sort: null, axis: { labels: false, ticks: false } }, y: { field: 'mean', type: 'quantitative', title: 'value' }, color: { field: 'condition', type: 'nominal', title: 'condition', sort: null } } },
        // Error bars (e.g. across seeds) only when the rows carry an interval.
        ...(rows.some((r) => r.lo !== undefined) ? [{ mark: { type: 'errorbar', ticks: true }, encoding: { x: { field: 'condition', type: 'nominal', sort: null }, y: { field: 'lo', type: 'quantitative', title: 'value' }, y2: { field: 'hi' } } }] : []),
      ],
    },
  };
}

/** SimPO iteration curves: chosen-candidate grounding score and margin per iteration, one line per run. */
export function simpoCurves(rows: { run: string; iteration: number; metric: string; value: number }[]): Record<string, unknown> {
  const { width, height, ...t } = theme(200, 150);
  return {
    ...t,
    data: { values: rows },
    facet: { field: 'metric', type: 'nominal', title: null },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width,
      height,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'iteration', type: 'ordinal', title: 'SimPO iteration' },
        y: { field: 'value', type: 'quantitative', title: 'value (cosine)', scale: { zero: false } },
        color: { field: 'run', type: 'nominal', title: null },
      },
    },
  };
}

/** A heat map of a matrix (e.g. grounding scores, trajectories × descriptions). */
export function scoreHeatmap(matrix: number[][], rowTitle: string, colTitle: string, valueTitle = 'cosine score'): Record<string, unknown> {
  const values = matrix.flatMap((r, i) => r.map((v, j) => ({ row: i, col: j, value: v })));
  return {
    ...theme(240, 240),
    data: { values },
    mark: 'rect',
    encoding: {
      x: { field: 'col', type: 'ordinal', title: colTitle, axis: { labels: false, ticks: false } },
      y: { field: 'row', type: 'ordinal', title: rowTitle, axis: { labels: false, ticks: false } },
      color: { field: 'value', type: 'quantitative', title: valueTitle, scale: { scheme: 'viridis' } },
    },
  };
}

/** A 2-D scatter of embeddings coloured by a field, shaped by modality. */
export function embeddingScatter(points: { x: number; y: number; modality: string; group: string }[], title = 'PCA of embeddings'): Record<string, unknown> {
  return {
    ...theme(300, 240),
    title,
    data: { values: points },
    mark: { type: 'point', filled: true, size: 30, opacity: 0.8 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'PC 1' },
      y: { field: 'y', type: 'quantitative', title: 'PC 2' },
      color: { field: 'group', type: 'nominal', title: 'block' },
      shape: { field: 'modality', type: 'nominal', title: 'modality' },
    },
  };
}
