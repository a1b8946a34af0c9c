import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { layerViolations } from '../../scripts/lint-layers';

describe('scripts: lint:layers', () => {
  it('accepts imports that run down or stay in a folder, and names each one that runs up', () => {
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-layers-'));
    const put = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
      fs.writeFileSync(path.join(src, rel), text);
    };
    put('util/rng.ts', 'export const x = 1;\n');
    put('nn/layers.ts', "import { x } from '../util/rng';\nimport { y } from './blocks';\n");
    put('nn/blocks.ts', 'export const y = 2;\n');
    put('eval/metrics.ts', "import { x } from '../util/rng';\n\nimport type { Z } from '../experiments/run';\n");
    put('experiments/run.ts', "import { x } from '../util/rng';\nexport type Z = number;\n");
    put('odd/thing.ts', 'export {};\n');
    const got = layerViolations(src).map((v) => `${path.relative(src, v.file)}:${v.line} ${v.from}→${v.to}`).sort();
    assert.deepEqual(got, ['eval/metrics.ts:3 eval→experiments', 'odd/thing.ts:0 odd→(no layer: add the folder to LAYERS in scripts/lint-layers.ts)']);
  });
});
