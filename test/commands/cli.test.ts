import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CommanderError } from 'commander';
import { buildProgram } from '../../src/cli';
import { writeBuilder } from '../../src/data/builder';
import { decodeExample, encodeExample } from '../../src/data/example';
import { encodeEpisode } from '../../src/data/languagetable';
import { frameRecords } from '../../src/data/tfrecord';
import { getPreset } from '../../src/experiments/presets';
import { validateRunConfig } from '../../src/experiments/run';
import { fakeEpisode } from '../data/fixtures';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-cli-'));

/** Runs `gpla ARGS` in this process; resolves with stdout lines, rejects with the error (commander's or the action's). */
async function gpla(...args: string[]): Promise<string[]> {
  const program = buildProgram();
  const err: string[] = [];
  for (const c of [program, ...program.commands]) c.exitOverride().configureOutput({ writeErr: (s) => err.push(s), writeOut: () => {} });
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  try {
    await program.parseAsync(['node', 'gpla', ...args]);
  } finally {
    console.log = log;
  }
  return out;
}

const rejectsOption = (args: string[], re: RegExp) =>
  assert.rejects(gpla(...args), (e: unknown) => {
    assert.ok(e instanceof CommanderError, `not a commander error: ${e}`);
    assert.match(e.message, re);
    return true;
  });

describe('commands: every number option is checked before any work, naming the option', () => {
  it('synth: --episodes 1.5, --episodes 0, --seed abc, --workers -2 are refused and nothing is written', async () => {
    const out = path.join(tmp(), 'never');
    await rejectsOption(['synth', '--out', out, '--episodes', '1.5'], /option '--episodes <n>' argument '1\.5' is invalid\. expected an integer ≥ 1/);
    await rejectsOption(['synth', '--out', out, '--episodes', '0'], /'--episodes <n>' argument '0' is invalid/);
    await rejectsOption(['synth', '--out', out, '--episodes', '2', '--seed', 'abc'], /option '--seed <s>' argument 'abc' is invalid\. expected an integer in \[0, 2147483647\], got "abc"/);
    await rejectsOption(['synth', '--out', out, '--episodes', '2', '--workers', '-2'], /'--workers <n>' argument '-2' is invalid/);
    assert.ok(!fs.existsSync(out));
  });

  it('reproduce: --seed abc, --seeds 0, --jobs 1e3 are refused', async () => {
    const out = path.join(tmp(), 'run');
    await rejectsOption(['reproduce', '--out', out, '--seed', 'abc'], /'--seed <n>' argument 'abc' is invalid/);
    await rejectsOption(['reproduce', '--out', out, '--seeds', '0'], /'--seeds <n>' argument '0' is invalid/);
    await rejectsOption(['reproduce', '--out', out, '--jobs', '1e3'], /'--jobs <n>' argument '1e3' is invalid/);
    assert.ok(!fs.existsSync(out));
  });

  it('evaluate: --episodes -1 and --samples 0 are refused and the results table is left as it was', async () => {
    const run = tmp();
    fs.mkdirSync(path.join(run, 'tables'));
    fs.writeFileSync(path.join(run, 'tables', 'results.csv'), 'condition,success\nGPLA,0.5\n');
    await rejectsOption(['evaluate', run, '--episodes', '-1'], /'--episodes <n>' argument '-1' is invalid/);
    await rejectsOption(['evaluate', run, '--samples', '0'], /'--samples <n>' argument '0' is invalid/);
    assert.equal(fs.readFileSync(path.join(run, 'tables', 'results.csv'), 'utf8'), 'condition,success\nGPLA,0.5\n');
  });

  it('an output path that is a file, or lies under a file, is a clear error', async () => {
    const dir = tmp();
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    await assert.rejects(gpla('synth', '--out', file, '--episodes', '1'), /--out .*a-file: is a file, not a folder/);
    await assert.rejects(gpla('reproduce', '--preset', 'tiny', '--out', path.join(file, 'run')), /--out .*a-file\/run: .*a-file is a file, so the folder cannot be made/);
    await assert.rejects(gpla('view', dir, '--out', path.join(file, 'x.png')), /--out .*is a file, so the folder cannot be made/);
  });

  it('reproduce into a folder holding another run (other seed or preset) refuses instead of mixing the two', async () => {
    const out = tmp();
    fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify({ preset: 'tiny', seed: 0, data: path.join(out, 'data') }));
    await assert.rejects(gpla('reproduce', '--preset', 'tiny', '--out', out, '--seed', '1'), /holds another run: --seed 1 \(the run has 0\)/);
    await assert.rejects(gpla('reproduce', '--preset', 'small', '--out', out), /--preset small \(the run has "tiny"\)/);
  });
});

describe('experiments/run: config.json is type-checked field by field', () => {
  const good = () => {
    const p = getPreset('tiny');
    return { preset: 'tiny', seed: 0, data: '/tmp/d', backend: 'cpu', git: 'x', models: p.models, schedule: p.schedule } as Record<string, unknown>;
  };
  it('accepts a config made from its preset', () => {
    assert.equal(validateRunConfig(good(), 'config.json').seed, 0);
  });
  it('"seed": "zero", a string count, a missing field, a fractional width are errors naming the field', () => {
    const c1 = good();
    c1.seed = 'zero';
    assert.throws(() => validateRunConfig(c1, 'run/config.json'), /run\/config.json: field "seed": expected a non-negative integer, found "zero"/);
    const c2 = good();
    (c2.schedule as { eval: Record<string, unknown> }).eval.samples = 'many';
    assert.throws(() => validateRunConfig(c2, 'c.json'), /field "schedule.eval.samples": expected number \(as in preset tiny\), found "many"/);
    const c3 = good();
    delete (c3.schedule as { data: Record<string, unknown> }).data.imageSize;
    assert.throws(() => validateRunConfig(c3, 'c.json'), /field "schedule.data.imageSize": expected a value/);
    const c4 = good();
    (c4.models as { policy: Record<string, unknown> }).policy.chunk = 2.5;
    assert.throws(() => validateRunConfig(c4, 'c.json'), /field "models.policy.chunk": expected an integer/);
  });
});

describe('commands/inspect: validation and --skip-corrupt', () => {
  it('a NaN action fails inspect naming file, record and field; --skip-corrupt counts it by shard', async () => {
    const dir = tmp();
    const eps = [0, 1, 2, 3].map((i) => fakeEpisode(`episode-${i}`, 4, i, { hierarchy: true }));
    await writeBuilder(dir, { name: 'lt', imageShape: [8, 8], hierarchy: true }, eps, 2);
    const f = decodeExample(encodeEpisode(eps[1]));
    (f.get('steps/action')!.value as Float32Array)[0] = NaN;
    const shard = path.join(dir, 'lt-train.tfrecord-00000-of-00002');
    fs.writeFileSync(shard, frameRecords([encodeEpisode(eps[0]), encodeExample(f)]));
    await assert.rejects(gpla('inspect', dir), /lt-train\.tfrecord-00000-of-00002, record 1, byte offset \d+, field "steps\/action": value is not finite/);
    const lines = await gpla('inspect', dir, '--skip-corrupt', '--json');
    const summary = JSON.parse(lines.join('\n'));
    assert.equal(summary.episodesRead, 3);
    assert.equal(summary.skipCorrupt.skipped, 1);
    assert.deepEqual(summary.skipCorrupt.shards, [{ file: 'lt-train.tfrecord-00000-of-00002', expected: 2, read: 1, rejected: 1, lost: 0 }]);
  });
});
