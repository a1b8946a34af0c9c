/**
 * `npm run lint:layers`: every import in src/ must run down the layers below (or stay in its own folder), so that a
 * reader can understand each folder from the ones beneath it alone. Fails listing each import that runs up.
 *
 *   util → backend, data → nn, sim → text → models → train → viz, eval → experiments → commands, notebook → cli
 *
 * Type-only imports count too: a type from a higher layer is still knowledge of it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The layer of each top-level folder (and of src/cli.ts): an import may go to an equal or lower number only within its own folder, to a lower one otherwise. */
export const LAYERS: Record<string, number> = {
  util: 0, backend: 1, data: 1, nn: 2, sim: 2, text: 3, models: 4, train: 5, viz: 6, eval: 6, experiments: 7, commands: 8, notebook: 8, cli: 9,
};

export interface Violation {
  file: string;
  line: number;
  from: string;
  to: string;
}

const folderOf = (srcDir: string, file: string): string => {
  const rel = path.relative(srcDir, file).split(path.sep);
  return rel.length === 1 ? rel[0].replace(/\.[jt]s$/, '') : rel[0];
};

function* sourceFiles(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (/\.(ts|js)$/.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

export function layerViolations(srcDir: string): Violation[] {
  const out: Violation[] = [];
  for (const file of sourceFiles(srcDir)) {
    const from = folderOf(srcDir, file);
    if (!(from in LAYERS)) {
      out.push({ file, line: 0, from, to: '(no layer: add the folder to LAYERS in scripts/lint-layers.ts)' });
      continue;
    }
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, i) => {
      const m = /(?:from\s+|require\(\s*|import\(\s*)['"](\.[^'"]*)['"]/.exec(text);
      if (!m) return;
      const target = path.resolve(path.dirname(file), m[1]);
      if (!target.startsWith(srcDir + path.sep) && target !== srcDir) return; // package.json and the like
      const to = folderOf(srcDir, fs.existsSync(target) && fs.statSync(target).isDirectory() ? path.join(target, 'index.ts') : target + '.ts');
      if (to === from) return;
      if (!(to in LAYERS) || LAYERS[to] >= LAYERS[from]) out.push({ file, line: i + 1, from, to });
    });
  }
  return out;
}

if (require.main === module) {
  const src = path.join(__dirname, '..', 'src');
  const bad = layerViolations(src);
  for (const v of bad) console.error(`${path.relative(process.cwd(), v.file)}:${v.line}: ${v.from} (layer ${LAYERS[v.from]}) imports ${v.to} (layer ${LAYERS[v.to] ?? '?'})`);
  if (bad.length) {
    console.error(`lint:layers: ${bad.length} import(s) run up the layers (${Object.entries(LAYERS).map(([k, n]) => `${k}=${n}`).join(', ')})`);
    process.exit(1);
  }
  console.log(`lint:layers: every import in src/ runs down the layers`);
}
