/**
 * Renders vega-lite specs in Node: vega-lite compiles to vega, vega's headless view writes SVG, and
 * @resvg/resvg-js rasterises the SVG to PNG with the system fonts (default family DejaVu Sans; see theme.ts).
 * vega and vega-lite 6 are ES modules with top-level await, so they are loaded through esm.js (a real dynamic
 * import(), which TypeScript compiling to CommonJS, and tslab's kernel, would otherwise turn into require()).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadVega, loadVegaLite } from './esm';
import { vegaTextWidth } from './text-width';
import { FONT } from './theme';

export { FONT } from './theme';

export interface Rendered {
  svg: string;
  png: Uint8Array;
  /** Warnings vega-lite and vega reported while compiling and rendering (e.g. a dropped encoding). */
  warnings: string[];
}

function collector(what: string, warnings: string[]) {
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  const logger = {
    level(..._: unknown[]) {
      return logger;
    },
    error(...args: unknown[]): never {
      throw new Error(`${what}: ${text(args)}`);
    },
    warn(...args: unknown[]) {
      warnings.push(text(args));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger;
}

const pick = (mod: any, name: string) => mod[name] ?? mod.default?.[name];

/** Spec → SVG (vega) and PNG (resvg; `scale` pixels per SVG unit, 2 gives ~190 dpi at a 3.5-inch column). */
export async function renderVegaLite(spec: Record<string, unknown>, scale = 2): Promise<Rendered> {
  const [vega, vl] = await Promise.all([loadVega(), loadVegaLite()]);
  // Measured DejaVu Sans widths instead of vega's 0.8 em guess (see text-width.ts).
  const metrics = pick(vega, 'textMetrics');
  if (metrics) metrics.width = vegaTextWidth;
  const warnings: string[] = [];
  let compiled: unknown;
  try {
    // A copy: vega tags the data objects it ingests (a Symbol id), which would alter the caller's rows.
    compiled = pick(vl, 'compile')(JSON.parse(JSON.stringify(spec)), { logger: collector('vega-lite', warnings) }).spec;
  } catch (e) {
    throw new Error(`renderVegaLite: vega-lite could not compile the spec: ${(e as Error).message}`);
  }
  const View = pick(vega, 'View');
  const view = new View(pick(vega, 'parse')(compiled), { renderer: 'none', logger: collector('vega', warnings) });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: FONT },
    background: 'white',
  })
    .render()
    .asPng();
  return { svg, png: new Uint8Array(png), warnings };
}

/** Renders and writes name.svg, name.png and name.vl.json into each folder (created if missing); returns the paths. */
export async function saveFigure(spec: Record<string, unknown>, dirs: string[], name: string, scale = 2): Promise<string[]> {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`saveFigure: figure name "${name}" must be a plain file name (letters, digits, _ . -)`);
  const { svg, png } = await renderVegaLite(spec, scale);
  const written: string[] = [];
  for (const d of dirs) {
    fs.mkdirSync(d, { recursive: true });
    for (const [ext, body] of [['svg', svg], ['png', png], ['vl.json', JSON.stringify(spec, null, 1) + '\n']] as const) {
      const file = path.join(d, `${name}.${ext}`);
      fs.writeFileSync(file, body);
      written.push(file);
    }
  }
  return written;
}
