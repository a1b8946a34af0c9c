import { strict as assert } from 'node:assert';
import { PNG } from 'pngjs';
import { renderVegaLite } from '../../src/viz/render';
import { embeddingScatter, resultsBars, scoreHeatmap, simpoCurves, trainingCurves } from '../../src/viz/specs';

function checkPng(bytes: Uint8Array) {
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  const png = PNG.sync.read(Buffer.from(bytes));
  assert.ok(png.width > 100 && png.height > 100, `size ${png.width}×${png.height}`);
  const first = png.data.readUInt32BE(0);
  let differs = 0;
  for (let i = 0; i < png.data.length; i += 4) if (png.data.readUInt32BE(i) !== first) differs++;
  assert.ok(differs > 1000, 'the image is not blank');
}

describe('viz: every figure renders to a valid, non-empty PNG with its axis titles', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['training curves', trainingCurves([{ series: 'a', step: 1, value: 2 }, { series: 'a', step: 2, value: 1 }]), 'training step'],
    ['results bars', resultsBars([{ condition: 'Supervised', metric: 'BLEU-4', mean: 0.3, lo: 0.25, hi: 0.35 }, { condition: 'GPLA', metric: 'BLEU-4', mean: 0.2, lo: 0.1, hi: 0.3 }]), 'value'],
    ['SimPO curves', simpoCurves([{ run: 'gpla', iteration: 1, metric: 'chosen', value: 0.1 }, { run: 'gpla', iteration: 2, metric: 'chosen', value: 0.2 }]), 'SimPO iteration'],
    ['heat map', scoreHeatmap([[1, 0.2], [0.1, 0.9]], 'trajectories', 'descriptions'), 'descriptions'],
    ['embedding scatter', embeddingScatter([{ x: 0, y: 1, modality: 'text', group: 'red moon' }, { x: 1, y: 0, modality: 'vision-action', group: 'blue cube' }]), 'PC 1'],
  ];
  for (const [name, spec, title] of cases) {
    it(name, async function () {
      this.timeout(30000);
      const { svg, png } = await renderVegaLite(spec);
      assert.ok(svg.includes(title), `SVG lacks "${title}"`);
      assert.ok(svg.includes('DejaVu Sans'), 'font set');
      checkPng(png);
    });
  }
});
