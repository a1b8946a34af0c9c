import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { FIGURE_KINDS, figure, FigureInputs, plotlyFigure } from '../../src/viz/plotly';
import { renderVegaLite, saveFigure } from '../../src/viz/render';
import {
  embeddingScatter,
  fitTitle,
  resultsBars,
  retrievalBars,
  scoreHeatmap,
  simpoCurves,
  simpoIterationCurves,
  trainingCurves,
} from '../../src/viz/specs';
import { haveFontMetrics, textWidth } from '../../src/viz/text-width';
import { OKABE_ITO } from '../../src/viz/theme';

function checkPng(bytes: Uint8Array): { width: number; height: number } {
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  const png = PNG.sync.read(Buffer.from(bytes));
  assert.ok(png.width > 0 && png.height > 0, `size ${png.width}×${png.height}`);
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length && colours.size < 50; i += 4) colours.add(png.data.readUInt32BE(i));
  assert.ok(colours.size >= 50, `only ${colours.size} distinct colours: the image is (nearly) blank`);
  return { width: png.width, height: png.height };
}

// Small inputs, one per figure kind (rendered at scale 1 to keep the test fast).
const INPUTS: FigureInputs = {
  trainingCurves: [1, 2, 3, 4].flatMap((step) => [
    { run: 'action', step, metric: 'InfoNCE loss (nats)', value: 4 / step },
    { run: 'image only', step, metric: 'InfoNCE loss (nats)', value: 4.2 / step },
    { run: 'action', step, metric: 'accuracy (share)', value: step / 5 },
  ]),
  resultsBars: [
    { condition: 'Supervised', metric: 'BLEU-4 (0–1)', mean: 0.3, lo: 0.25, hi: 0.35 },
    { condition: 'GPLA (action-conditioned)', metric: 'BLEU-4 (0–1)', mean: 0.2, lo: 0.1, hi: 0.3 },
    { condition: 'Supervised', metric: 'CIDEr-D (0–10)', mean: 1.5, lo: 1.2, hi: 1.8 },
    { condition: 'GPLA (action-conditioned)', metric: 'CIDEr-D (0–10)', mean: 1.1, lo: 0.9, hi: 1.4 },
  ],
  simpoIterationCurves: [1, 2, 3].flatMap((iteration) => [
    { condition: 'GPLA', iteration, chosenScore: 0.5 + 0.1 * iteration, margin: 1 / iteration, pairs: 90 + iteration },
    { condition: 'Supervised + GPLA', iteration, chosenScore: 0.7 + 0.05 * iteration, margin: 0.5 / iteration, pairs: 80 },
  ]),
  retrievalBars: ['action', 'image only'].flatMap((model, m) =>
    ['trajectory → text', 'text → trajectory'].flatMap((direction) => [1, 5, 10].map((k) => ({ model, direction, k, recall: Math.min(1, (0.3 - 0.1 * m) * Math.sqrt(k)) }))),
  ),
  embeddingScatter: {
    points: Array.from({ length: 12 }, (_, i) => ({ x: Math.cos(i), y: Math.sin(2 * i), modality: i % 2 ? 'text' : 'vision-action', label: `sample ${i}`, group: ['red moon', 'blue cube', 'green star'][i % 3] })),
    options: { colorBy: 'group', colorTitle: 'block', xTitle: 'PC 1 (40% of variance)', yTitle: 'PC 2 (20% of variance)' },
  },
  scoreHeatmap: {
    matrix: [[0.9, 0.1, -0.2], [0.2, 0.8, 0.0], [-0.1, 0.3, 0.7]],
    rowLabels: ['traj 0', 'traj 1', 'traj 2'],
    colLabels: ['push red', 'slide blue', 'move green'],
    options: { rowTitle: 'image + trajectory', colTitle: 'description' },
  },
};

// Axis titles each rendered SVG must contain.
const TITLES: Record<keyof FigureInputs, string[]> = {
  trainingCurves: ['training step', 'InfoNCE loss (nats)', 'accuracy (share)'],
  resultsBars: ['BLEU-4 (0–1)', 'CIDEr-D (0–10)'],
  simpoIterationCurves: ['SimPO iteration', 'pairs kept (count)'],
  retrievalBars: ['k (candidates returned)', 'recall@k', 'trajectory → text'],
  embeddingScatter: ['PC 1 (40% of variance)', 'PC 2 (20% of variance)'],
  scoreHeatmap: ['description', 'image + trajectory', 'cosine score'],
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

describe('viz: every figure renders to a valid, non-empty PNG and an SVG with its axis titles', function () {
  this.timeout(60000);

  for (const kind of FIGURE_KINDS) {
    it(kind, async () => {
      const { svg, png, warnings } = await renderVegaLite(figure(kind, INPUTS[kind] as never).vegaLite, 1);
      for (const t of TITLES[kind]) assert.ok(svg.includes(esc(t)), `SVG of ${kind} lacks the title "${t}"`);
      assert.ok(svg.includes('font-family="DejaVu Sans"'), 'font set on the text');
      assert.ok(!/font-family="(?!DejaVu Sans")/.test(svg), 'no other font family');
      assert.deepEqual(warnings, []);
      checkPng(png);
    });
  }

  it('the first version\'s calls still work (legacy rows and string arguments)', async () => {
    const specs = [
      trainingCurves([{ series: 'a', step: 1, value: 2 }, { series: 'a', step: 2, value: 1 }], 'InfoNCE loss'),
      simpoCurves([{ run: 'gpla', iteration: 1, metric: 'chosen score', value: 0.1 }, { run: 'gpla', iteration: 2, metric: 'chosen score', value: 0.2 }]),
      scoreHeatmap([[1, 0.2], [0.1, 0.9]], 'trajectories', 'descriptions'),
      embeddingScatter([{ x: 0, y: 1, modality: 'text', group: 'red moon' }, { x: 1, y: 0, modality: 'vision-action', group: 'blue cube' }], 'PCA'),
    ];
    const titles = ['InfoNCE loss', 'chosen score', 'descriptions', 'PC 1'];
    for (const [i, spec] of specs.entries()) {
      const { svg, png } = await renderVegaLite(spec, 1);
      assert.ok(svg.includes(titles[i]), `legacy spec ${i} lacks "${titles[i]}"`);
      checkPng(png);
    }
  });

  it('scale 2 doubles the PNG size; saveFigure writes .svg, .png and .vl.json', async () => {
    const spec = resultsBars(INPUTS.resultsBars);
    const a = checkPng((await renderVegaLite(spec, 1)).png);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-viz-'));
    try {
      const files = await saveFigure(spec, [dir, path.join(dir, 'copy')], 'results');
      assert.equal(files.length, 6);
      const b = checkPng(fs.readFileSync(path.join(dir, 'copy', 'results.png')));
      assert.ok(Math.abs(b.width - 2 * a.width) <= 1 && Math.abs(b.height - 2 * a.height) <= 1, `${a.width}×${a.height} → ${b.width}×${b.height}`);
      assert.ok(fs.readFileSync(path.join(dir, 'results.svg'), 'utf8').startsWith('<svg'));
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'results.vl.json'), 'utf8')), spec);
      await assert.rejects(saveFigure(spec, [dir], '../x'), /must be a plain file name/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an invalid spec is rejected with the compiler\'s message', async () => {
    await assert.rejects(renderVegaLite({ mark: 'nonsense', data: { values: [] } }), /vega-lite could not compile the spec/);
  });
});

describe('viz: builders check their input and follow the theme', () => {
  it('bad input is rejected with context', () => {
    assert.throws(() => resultsBars([{ condition: 'a', metric: 'm', mean: 1, lo: 2, hi: 0 }]), /row 0 \(a, m\) has lo 2 > hi 0/);
    assert.throws(() => resultsBars([{ condition: 'a', metric: 'm', mean: 1, lo: 0 }]), /only one of lo\/hi/);
    assert.throws(() => trainingCurves([]), /trainingCurves: no rows/);
    assert.throws(() => scoreHeatmap([[1, 2], [3]], ['a', 'b'], ['c', 'd']), /row 1 has 1 values, expected 2/);
    assert.throws(() => scoreHeatmap([[1]], ['a', 'b'], ['c']), /2 row labels for 1 rows/);
    assert.throws(() => embeddingScatter([{ x: 0, y: 0, modality: 't' }], { colorBy: 'label' }), /colorBy "label" but some points have no label/);
  });

  it('series keep their order of appearance, so colours are stable; Okabe–Ito palette in the config', () => {
    const spec = simpoIterationCurves(INPUTS.simpoIterationCurves) as any;
    assert.deepEqual(spec.concat[0].encoding.color.scale.domain, ['GPLA', 'Supervised + GPLA']);
    assert.deepEqual(spec.config.range.category, OKABE_ITO);
    assert.equal(spec.config.font, 'DejaVu Sans');
    assert.equal(spec.concat.length, 3);
  });

  it('retrieval chance ticks at k/N', () => {
    const spec = retrievalBars(INPUTS.retrievalBars, { n: 20 }) as any;
    assert.deepEqual(spec.concat[0].layer[1].data.values, [{ k: 1, chance: 0.05 }, { k: 5, chance: 0.25 }, { k: 10, chance: 0.5 }]);
  });

  it('DejaVu Sans widths come from the font file; long axis titles wrap to fit', function () {
    if (!haveFontMetrics()) this.skip(); // DejaVu Sans not installed: widths fall back to 0.6 em
    // DejaVu Sans advance widths (units per em 2048): "a" 1255, space 651, "m" 1995.
    assert.equal(textWidth('a', 2048), 1255);
    assert.equal(textWidth('a m', 2048), 1255 + 651 + 1995);
    assert.equal(fitTitle('loss', 150), 'loss');
    const lines = fitTitle('chosen − rejected grounding score margin (cosine)', 150) as string[];
    assert.ok(Array.isArray(lines) && lines.length >= 2, JSON.stringify(lines));
    assert.equal(lines.join(' '), 'chosen − rejected grounding score margin (cosine)');
    for (const l of lines) assert.ok(textWidth(l, 10) <= 150, `"${l}" is ${textWidth(l, 10)} px`);
  });
});

describe('viz/plotly: the same figures as {data, layout} JSON', () => {
  it('every kind gives plain JSON with titled axes, one legend entry per series and the palette colours', () => {
    for (const kind of FIGURE_KINDS) {
      const fig = plotlyFigure(kind, INPUTS[kind] as never);
      assert.deepEqual(JSON.parse(JSON.stringify(fig)), fig, `${kind} is plain JSON`);
      assert.ok(fig.data.length > 0, `${kind} has traces`);
      assert.equal((fig.layout.font as { family: string }).family, 'DejaVu Sans');
      const axisTitles = Object.entries(fig.layout)
        .filter(([k]) => /^[xy]axis\d*$/.test(k))
        .map(([, v]) => (v as { title?: { text: string } }).title?.text);
      assert.ok(axisTitles.length >= 2 && axisTitles.every((t) => typeof t === 'string' && t.length > 0), `${kind} axes titled: ${JSON.stringify(axisTitles)}`);
    }
    const curves = plotlyFigure('trainingCurves', INPUTS.trainingCurves);
    // Two panels: loss (2 runs) and accuracy (1 run) → 3 traces; each run listed once in the legend.
    assert.equal(curves.data.length, 3);
    assert.deepEqual(curves.data.filter((t) => t.showlegend).map((t) => t.name), ['action', 'image only']);
    assert.equal(curves.data[2].yaxis, 'y2');
    assert.deepEqual(curves.data.map((t) => (t.line as { color: string }).color), [OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[0]]);
    const bars = plotlyFigure('resultsBars', INPUTS.resultsBars);
    // Asymmetric error bars from lo/hi: GPLA BLEU-4 0.2 in [0.1, 0.3].
    const e = bars.data[1].error_y as { array: number[]; arrayminus: number[] };
    assert.ok(Math.abs(e.array[0] - 0.1) < 1e-12 && Math.abs(e.arrayminus[0] - 0.1) < 1e-12);
    const heat = plotlyFigure('scoreHeatmap', INPUTS.scoreHeatmap);
    assert.deepEqual(heat.data[0].z, INPUTS.scoreHeatmap.matrix);
  });
});
