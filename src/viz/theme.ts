/**
 * One look for every figure, vega-lite and plotly alike.
 *
 * - Font: DejaVu Sans, set on every text element. It must exist on the machine (`fc-list | grep -i dejavu`): resvg
 *   draws no text at all for a family it cannot find. Debian ships it as fonts-dejavu-core.
 * - Size: a single panel's plot area is 240×150 px; with axes and legend the figure is ~330 px wide, i.e. a 3.5-inch
 *   journal column at ~96 px/in, where 9 px labels and 10 px titles print at ~7 pt, the usual minimum.
 * - Colour: the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), distinguishable under the common
 *   colour-vision deficiencies; yellow is placed last because it is faint as a line on white. Continuous values use
 *   viridis, which is perceptually uniform and colour-blind safe.
 */
export const FONT = 'DejaVu Sans';

export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];

export const PANEL = { width: 240, height: 150 };

export const FONT_SIZE = { label: 9, title: 10, header: 10, chartTitle: 11 };

/** The vega-lite top level every builder starts from. */
export function vlBase(): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    padding: 6,
    config: {
      font: FONT,
      view: { stroke: '#888', strokeWidth: 0.5 },
      axis: {
        labelFont: FONT,
        titleFont: FONT,
        labelFontSize: FONT_SIZE.label,
        titleFontSize: FONT_SIZE.title,
        titleFontWeight: 'normal',
        grid: true,
        gridColor: '#e6e6e6',
        domainColor: '#444',
        tickColor: '#444',
        labelColor: '#222',
        titleColor: '#111',
      },
      legend: {
        labelFont: FONT,
        titleFont: FONT,
        labelFontSize: FONT_SIZE.label,
        titleFontSize: FONT_SIZE.title,
        titleFontWeight: 'normal',
        labelLimit: 240,
        orient: 'bottom',
        direction: 'vertical',
      },
      header: { labelFont: FONT, titleFont: FONT, labelFontSize: FONT_SIZE.header, titleFontSize: FONT_SIZE.header },
      title: { font: FONT, subtitleFont: FONT, fontSize: FONT_SIZE.chartTitle, subtitleFontSize: FONT_SIZE.label, fontWeight: 'normal', anchor: 'start' },
      text: { font: FONT },
      mark: { font: FONT },
      range: { category: OKABE_ITO, ramp: { scheme: 'viridis' }, heatmap: { scheme: 'viridis' } },
      line: { strokeWidth: 1.5 },
      point: { size: 24, filled: true },
      concat: { spacing: 18 },
    },
  };
}

/** The plotly layout fragment every plotly builder starts from. */
export function plotlyBase(): Record<string, unknown> {
  return {
    font: { family: FONT, size: 12 },
    colorway: OKABE_ITO,
    paper_bgcolor: 'white',
    plot_bgcolor: 'white',
    margin: { l: 60, r: 20, t: 40, b: 50 },
    legend: { orientation: 'h', y: -0.2 },
  };
}
