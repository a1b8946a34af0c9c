/**
 * Renders vega-lite specs to SVG (vega's headless view) and PNG (@resvg/resvg-js) in Node, with a font that exists
 * on the machine (DejaVu Sans; a missing font makes text vanish), and saves figures as .svg, .png and .vl.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadVega, loadVegaLite } from './esm';

export const FONT = 'DejaVu Sans';

export async function renderVegaLite(spec: Record<string, unknown>, scale = 2): Promise<{ svg: string; png: Uint8Array }> {
  const [vega, vl] = await Promise.all([loadVega(), loadVegaLite()]);
  const compiled = (vl.compile ?? vl.default.compile)(spec).spec;
  const view = new (vega.View ?? vega.default.View)((vega.parse ?? vega.default.parse)(compiled), { renderer: 'none' });
  const svg: string = await view.toSVG();
  view.finalize();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true, defaultFontFamily: FONT }, background: 'white' }).render().asPng();
  return { svg, png: new Uint8Array(png) };
}

/** Writes name.svg, name.png and name.vl.json into each folder; returns the PNG bytes. */
export async function saveFigure(spec: Record<string, unknown>, dirs: string[], name: string): Promise<Uint8Array> {
  const { svg, png } = await renderVegaLite(spec);
  for (const d of dirs) {
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, `${name}.svg`), svg);
    fs.writeFileSync(path.join(d, `${name}.png`), png);
    fs.writeFileSync(path.join(d, `${name}.vl.json`), JSON.stringify(spec, null, 1));
  }
  return png;
}
