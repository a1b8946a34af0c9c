/**
 * The same figures as plotly figure objects ({data, layout}: plain JSON) for interactive use in a notebook, with the
 * vega-lite PNG as the fallback that offline viewers show (plotly.js cannot render in Node: "self is not defined").
 * `figure(kind, input)` gives both specs from one input; `plotlyFigure(kind, input)` only the plotly one.
 */
import { OKABE_ITO, plotlyBase } from './theme';
import {
  CurveRow,
  embeddingScatter,
  HeatmapOptions,
  LegacyCurveRow,
  ResultRow,
  resultsBars,
  RetrievalBarRow,
  retrievalBars,
  ScatterOptions,
  ScatterPoint,
  scoreHeatmap,
  SIMPO_METRICS,
  SimpoIterationRow,
  simpoIterationCurves,
  Spec,
  trainingCurves,
} from './specs';

export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
}

export interface HeatmapInput {
  matrix: ArrayLike<number>[];
  rowLabels: string[];
  colLabels: string[];
  options?: HeatmapOptions;
}

/** Each figure kind and the input its builders take. */
export interface FigureInputs {
  trainingCurves: (CurveRow | LegacyCurveRow)[];
  resultsBars: ResultRow[];
  simpoIterationCurves: SimpoIterationRow[];
  retrievalBars: RetrievalBarRow[];
  embeddingScatter: ScatterPoint[] | { points: ScatterPoint[]; options?: ScatterOptions };
  scoreHeatmap: HeatmapInput;
}

export type FigureKind = keyof FigureInputs;

export const FIGURE_KINDS: FigureKind[] = ['trainingCurves', 'resultsBars', 'simpoIterationCurves', 'retrievalBars', 'embeddingScatter', 'scoreHeatmap'];

const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];
const colour = (i: number) => OKABE_ITO[i % OKABE_ITO.length];

/** Axis ids of panel k (0-based) in plotly's numbering: x, x2, x3, … */
const axisId = (k: number) => (k === 0 ? '' : String(k + 1));

/** Small multiples: panel k of `titles` on a grid of `columns`, each panel's axes titled. */
function grid(titles: { x: string; y: string }[], columns: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const cols = Math.min(columns, titles.length);
  const rows = Math.ceil(titles.length / cols);
  const layout: Record<string, unknown> = {
    ...plotlyBase(),
    width: 360 * cols,
    height: 280 * rows + 60,
    ...(titles.length > 1 ? { grid: { rows, columns: cols, pattern: 'independent', xgap: 0.25, ygap: 0.35 } } : {}),
    ...extra,
  };
  titles.forEach((t, k) => {
    layout[`xaxis${axisId(k)}`] = { title: { text: t.x }, zeroline: false };
    layout[`yaxis${axisId(k)}`] = { title: { text: t.y }, zeroline: false };
  });
  return layout;
}

/** Lines per series and metric panel: the shape shared by training and SimPO curves. */
function linePanelsPlotly(values: { series: string; x: number; metric: string; value: number }[], xTitle: string, columns: number, markers: boolean): PlotlyFigure {
  const metrics = uniq(values.map((v) => v.metric));
  const series = uniq(values.map((v) => v.series));
  const data: Record<string, unknown>[] = [];
  metrics.forEach((m, k) =>
    series.forEach((s, si) => {
      const pts = values.filter((v) => v.metric === m && v.series === s).sort((a, b) => a.x - b.x);
      if (pts.length === 0) return;
      data.push({
        type: 'scatter',
        mode: markers ? 'lines+markers' : 'lines',
        name: s,
        legendgroup: s,
        showlegend: k === 0,
        x: pts.map((p) => p.x),
        y: pts.map((p) => p.value),
        line: { color: colour(si), width: 1.5 },
        xaxis: `x${axisId(k)}`,
        yaxis: `y${axisId(k)}`,
      });
    }),
  );
  return { data, layout: grid(metrics.map((m) => ({ x: xTitle, y: m })), columns) };
}

export function plotlyTrainingCurves(rows: (CurveRow | LegacyCurveRow)[], yTitle = 'loss'): PlotlyFigure {
  const values = rows.map((r) => ({
    series: 'run' in r ? r.run : r.series,
    x: r.step,
    metric: 'metric' in r ? r.metric : r.panel ?? yTitle,
    value: r.value,
  }));
  return linePanelsPlotly(values, 'training step', 2, false);
}

export function plotlySimpoIterationCurves(rows: SimpoIterationRow[]): PlotlyFigure {
  const values = rows.flatMap((r) => SIMPO_METRICS.map(([k, metric]) => ({ series: r.condition, x: r.iteration, metric, value: r[k] as number })));
  const fig = linePanelsPlotly(values, 'SimPO iteration', 3, true);
  for (const key of Object.keys(fig.layout)) if (key.startsWith('xaxis')) (fig.layout[key] as Record<string, unknown>).dtick = 1;
  return fig;
}

export function plotlyResultsBars(rows: ResultRow[]): PlotlyFigure {
  const metrics = uniq(rows.map((r) => r.metric));
  const conditions = uniq(rows.map((r) => r.condition));
  const data: Record<string, unknown>[] = [];
  metrics.forEach((m, k) =>
    conditions.forEach((c, ci) => {
      const r = rows.find((x) => x.metric === m && x.condition === c);
      if (!r) return;
      data.push({
        type: 'bar',
        name: c,
        legendgroup: c,
        showlegend: k === 0,
        x: [c],
        y: [r.mean],
        marker: { color: colour(ci) },
        ...(r.lo !== undefined && r.hi !== undefined
          ? { error_y: { type: 'data', symmetric: false, array: [r.hi - r.mean], arrayminus: [r.mean - r.lo], color: '#222' } }
          : {}),
        xaxis: `x${axisId(k)}`,
        yaxis: `y${axisId(k)}`,
      });
    }),
  );
  const layout = grid(metrics.map((m) => ({ x: 'condition', y: m })), 3, { barmode: 'group' });
  for (const key of Object.keys(layout)) if (key.startsWith('xaxis')) (layout[key] as Record<string, unknown>).showticklabels = false;
  return { data, layout };
}

export function plotlyRetrievalBars(rows: RetrievalBarRow[], n?: number): PlotlyFigure {
  const directions = uniq(rows.map((r) => r.direction));
  const models = uniq(rows.map((r) => r.model));
  const ks = uniq(rows.map((r) => r.k)).sort((a, b) => a - b);
  const data: Record<string, unknown>[] = [];
  directions.forEach((d, k) => {
    models.forEach((m, mi) => {
      const pts = ks.map((kk) => rows.find((r) => r.direction === d && r.model === m && r.k === kk));
      data.push({
        type: 'bar',
        name: m,
        legendgroup: m,
        showlegend: k === 0,
        x: ks.map(String),
        y: pts.map((p) => (p ? p.recall : null)),
        marker: { color: colour(mi) },
        xaxis: `x${axisId(k)}`,
        yaxis: `y${axisId(k)}`,
      });
    });
    if (n) {
      data.push({
        type: 'scatter',
        mode: 'markers',
        name: `chance k/N (N = ${n})`,
        legendgroup: 'chance',
        showlegend: k === 0,
        x: ks.map(String),
        y: ks.map((kk) => Math.min(1, kk / n)),
        marker: { symbol: 'line-ew-open', size: 24, color: '#000', line: { width: 2 } },
        xaxis: `x${axisId(k)}`,
        yaxis: `y${axisId(k)}`,
      });
    }
  });
  const layout = grid(directions.map(() => ({ x: 'k (candidates returned)', y: 'recall@k' })), 2, {
    barmode: 'group',
    annotations: directions.map((d, k) => ({ text: d, showarrow: false, xref: `x${axisId(k)} domain`, yref: `y${axisId(k)} domain`, x: 0, y: 1.12, xanchor: 'left' })),
  });
  for (const key of Object.keys(layout)) if (key.startsWith('yaxis')) (layout[key] as Record<string, unknown>).range = [0, 1];
  for (const key of Object.keys(layout)) if (key.startsWith('xaxis')) (layout[key] as Record<string, unknown>).type = 'category';
  return { data, layout };
}

export function plotlyEmbeddingScatter(points: ScatterPoint[], opts: ScatterOptions = {}): PlotlyFigure {
  const colorBy = opts.colorBy ?? (points.some((p) => p.group !== undefined) ? 'group' : 'modality');
  const keys = uniq(points.map((p) => String(p[colorBy])));
  const modalities = uniq(points.map((p) => p.modality));
  const symbols = ['circle', 'square', 'diamond', 'triangle-up', 'cross'];
  const data: Record<string, unknown>[] = [];
  keys.forEach((key, ci) =>
    modalities.forEach((mod, mi) => {
      const pts = points.filter((p) => String(p[colorBy]) === key && p.modality === mod);
      if (pts.length === 0) return;
      data.push({
        type: 'scatter',
        mode: 'markers',
        name: colorBy === 'modality' ? key : `${key} (${mod})`,
        x: pts.map((p) => p.x),
        y: pts.map((p) => p.y),
        text: pts.map((p) => p.label ?? ''),
        hovertemplate: '%{text}<extra>%{fullData.name}</extra>',
        marker: { color: colour(ci), symbol: symbols[mi % symbols.length], size: 7, opacity: 0.85 },
      });
    }),
  );
  return { data, layout: grid([{ x: opts.xTitle ?? 'PC 1', y: opts.yTitle ?? 'PC 2' }], 1, opts.title ? { title: { text: opts.title } } : {}) };
}

export function plotlyScoreHeatmap(input: HeatmapInput): PlotlyFigure {
  const o = input.options ?? {};
  return {
    data: [
      {
        type: 'heatmap',
        z: input.matrix.map((r) => Array.from(r)),
        x: input.colLabels,
        y: input.rowLabels,
        colorscale: 'Viridis',
        colorbar: { title: { text: o.valueTitle ?? 'cosine score' } },
      },
    ],
    layout: { ...grid([{ x: o.colTitle ?? 'candidate', y: o.rowTitle ?? 'query' }], 1), yaxis: { title: { text: o.rowTitle ?? 'query' }, autorange: 'reversed', type: 'category' } },
  };
}

const asScatter = (input: FigureInputs['embeddingScatter']) => (Array.isArray(input) ? { points: input, options: {} } : { points: input.points, options: input.options ?? {} });

/** The plotly figure of a kind. */
export function plotlyFigure<K extends FigureKind>(kind: K, input: FigureInputs[K]): PlotlyFigure {
  const i = input as FigureInputs[FigureKind];
  switch (kind) {
    case 'trainingCurves':
      return plotlyTrainingCurves(i as FigureInputs['trainingCurves']);
    case 'resultsBars':
      return plotlyResultsBars(i as FigureInputs['resultsBars']);
    case 'simpoIterationCurves':
      return plotlySimpoIterationCurves(i as FigureInputs['simpoIterationCurves']);
    case 'retrievalBars':
      return plotlyRetrievalBars(i as FigureInputs['retrievalBars']);
    case 'embeddingScatter': {
      const s = asScatter(i as FigureInputs['embeddingScatter']);
      return plotlyEmbeddingScatter(s.points, s.options);
    }
    case 'scoreHeatmap':
      return plotlyScoreHeatmap(i as HeatmapInput);
    default:
      throw new Error(`plotlyFigure: unknown figure kind "${kind}" (one of ${FIGURE_KINDS.join(', ')})`);
  }
}

/** The vega-lite spec of a kind (what renders to SVG/PNG). */
export function vegaLiteFigure<K extends FigureKind>(kind: K, input: FigureInputs[K]): Spec {
  const i = input as FigureInputs[FigureKind];
  switch (kind) {
    case 'trainingCurves':
      return trainingCurves(i as FigureInputs['trainingCurves']);
    case 'resultsBars':
      return resultsBars(i as FigureInputs['resultsBars']);
    case 'simpoIterationCurves':
      return simpoIterationCurves(i as FigureInputs['simpoIterationCurves']);
    case 'retrievalBars':
      return retrievalBars(i as FigureInputs['retrievalBars']);
    case 'embeddingScatter': {
      const s = asScatter(i as FigureInputs['embeddingScatter']);
      return embeddingScatter(s.points, s.options);
    }
    case 'scoreHeatmap': {
      const h = i as HeatmapInput;
      return scoreHeatmap(h.matrix, h.rowLabels, h.colLabels, h.options ?? {});
    }
    default:
      throw new Error(`vegaLiteFigure: unknown figure kind "${kind}" (one of ${FIGURE_KINDS.join(', ')})`);
  }
}

/** Both specs of one figure from one input: plotly for interaction, vega-lite for the SVG/PNG (and the fallback). */
export function figure<K extends FigureKind>(kind: K, input: FigureInputs[K]): { vegaLite: Spec; plotly: PlotlyFigure } {
  return { vegaLite: vegaLiteFigure(kind, input), plotly: plotlyFigure(kind, input) };
}
