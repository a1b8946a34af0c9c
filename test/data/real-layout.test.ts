import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { openBuilder, readEpisodes, writeBuilder } from '../../src/data/builder';
import type { Episode } from '../../src/data/episode';
import { encodeEpisode } from '../../src/data/languagetable';
import { shardPath } from '../../src/data/shard-names';
import { datasetInfoJson, featuresJson, HIERARCHY_FILE } from '../../src/data/tfds-metadata';
import { writeTFRecordFile } from '../../src/data/tfrecord';
import { register as registerInspect } from '../../src/commands/inspect';
import { DEFAULT_EPISODE, simulateEpisode } from '../../src/sim/episode';

/** TFDS's own language_table metadata (see the README beside it). */
const REAL = path.join(__dirname, 'tfds-language_table');
const realJson = (f: string) => JSON.parse(fs.readFileSync(path.join(REAL, f), 'utf8'));
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-real-'));

/** Two short simulator episodes rendered at the real datasets' 360×640 from the reference camera. */
function simEpisodes(): Episode[] {
  const o = { ...DEFAULT_EPISODE, image: [360, 640] as [number, number], camera: 'perspective' as const, maxSteps: 6, maxStepsPerSubtask: 3 };
  return [0, 1].map((i) => simulateEpisode(`sim-real-${i}`, 100 + i, o).episode);
}

/** A folder as TFDS lays out language_table: its real metadata and one shard under the name its template gives. */
async function realLayoutFolder(eps: Episode[]): Promise<{ dir: string; shard: string }> {
  const dir = tmp();
  for (const f of ['dataset_info.json', 'features.json']) fs.copyFileSync(path.join(REAL, f), path.join(dir, f));
  const shard = path.join(dir, 'language_table-train.tfrecord-00000');
  await writeTFRecordFile(shard, eps.map(encodeEpisode));
  return { dir, shard };
}

async function inspectJson(source: string): Promise<Record<string, unknown>> {
  const program = new Command();
  program.exitOverride();
  registerInspect(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    await program.parseAsync(['node', 'gpla', 'inspect', source, '--json']);
  } finally {
    console.log = log;
  }
  return JSON.parse(lines.join('\n'));
}

describe('data/shard-names: TFDS filepathTemplate', () => {
  it('fills every placeholder as TFDS does (5 digits, more for more shards) and rejects unknown ones', () => {
    const n = { dataset: 'language_table', split: 'train' };
    assert.equal(shardPath(n, 3, 1024), 'language_table-train.tfrecord-00003-of-01024');
    assert.equal(shardPath({ ...n, template: '{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_INDEX}' }, 0, 1), 'language_table-train.tfrecord-00000');
    assert.equal(shardPath({ ...n, template: '{SPLIT}/{DATASET}.{FILEFORMAT}-{SHARD_INDEX}-of-{NUM_SHARDS}' }, 7, 123456), 'train/language_table.tfrecord-000007-of-123456');
    assert.throws(() => shardPath({ ...n, template: '{DATASET}-{SHARD}' }, 0, 1, { file: 'x/dataset_info.json', field: 'splits[train].filepathTemplate' }),
      /x\/dataset_info.json, field "splits\[train\].filepathTemplate": unknown placeholder \{SHARD\} in the shard file template \(expected \{DATASET\}, .*\{SHARD_X_OF_Y\}/);
  });
});

describe('data/builder: real language_table layout (TFDS metadata, real shard name, 360×640 frames)', function () {
  this.timeout(60000);
  let eps: Episode[];
  before(() => {
    eps = simEpisodes();
  });

  it('opens the folder, the single shard file and a glob, and reads the same episodes', async () => {
    const { dir, shard } = await realLayoutFolder(eps);
    for (const source of [dir, shard, path.join(dir, 'language_table-train.tfrecord-*')]) {
      const b = await openBuilder(source);
      assert.equal(b.metadata, true, source);
      assert.equal(b.name, 'language_table');
      assert.equal(b.version, '0.0.1');
      assert.deepEqual(b.shardPaths, [shard]);
      assert.deepEqual(b.shardLengths, [2]);
      assert.deepEqual(b.imageShape, [360, 640]);
      assert.equal(b.hierarchy, false, 'the real features.json lists no hierarchy');
      const got = await readEpisodes(b);
      assert.deepEqual(got.map((e) => e.episodeId), ['sim-real-0', 'sim-real-1']);
      assert.deepEqual(got[1].steps.map((s) => s.instruction), eps[1].steps.map((s) => s.instruction));
    }
    const summary = await inspectJson(shard);
    assert.equal(summary.episodes, 2);
    assert.deepEqual(summary.imageShape, [360, 640]);
    assert.equal((summary.firstEpisode as { id: string }).id, 'sim-real-0');
  });

  it('reads shards with no metadata beside them, counting them; says what is missing where metadata is needed', async () => {
    const { shard } = await realLayoutFolder(eps);
    const bare = tmp();
    const copy = path.join(bare, path.basename(shard));
    fs.copyFileSync(shard, copy);
    for (const source of [copy, path.join(bare, '*')]) {
      const b = await openBuilder(source);
      assert.equal(b.metadata, false);
      assert.equal(b.features, null);
      assert.deepEqual([b.name, b.split, b.numEpisodes], ['language_table', 'train', 2]);
      assert.deepEqual(b.imageShape, [360, 640]);
      assert.equal((await readEpisodes(b)).length, 2);
    }
    assert.equal((await inspectJson(copy)).metadata, false);
    // A folder is read through its metadata: without it, the error says what to pass instead.
    await assert.rejects(openBuilder(bare), /dataset_info.json: missing file \(expected a TFDS builder folder with dataset_info.json and features.json \(shards without them: pass a shard file or a glob/);
    await assert.rejects(openBuilder(path.join(bare, 'nothing-*')), /nothing-\*: no file matches the glob/);
    await assert.rejects(openBuilder(path.join(bare, 'absent')), /absent: no such file or folder/);
    await assert.rejects(openBuilder('gs://gresearch/robotics/language_table/0.0.1/'), /remote paths are not read directly/);
  });

  it('a shard file not listed in the dataset_info.json beside it, or a listed shard missing, is an error naming both', async () => {
    const { dir, shard } = await realLayoutFolder(eps);
    const stray = path.join(dir, 'language_table-train.tfrecord-00001');
    fs.copyFileSync(shard, stray);
    await assert.rejects(openBuilder(stray), (e: Error) => e.message.includes(stray) && /not listed in the dataset_info.json beside it \(expected one of its 1 shards \(language_table-train.tfrecord-00000\)\)/.test(e.message));
    fs.rmSync(shard);
    await assert.rejects(openBuilder(dir), /language_table-train.tfrecord-00000, field "splits\[train\].filepathTemplate": shard listed in dataset_info.json is missing \(expected 1 shards named by "\{DATASET\}-\{SPLIT\}.\{FILEFORMAT\}-\{SHARD_INDEX\}"\)/);
  });

  it('the writer produces dataset_info.json and features.json field for field like the real ones', async () => {
    const realInfo = realJson('dataset_info.json');
    const meta = { name: 'language_table', version: '0.0.1', imageShape: [360, 640] as [number, number], hierarchy: true, filepathTemplate: realInfo.splits[0].filepathTemplate };
    // Same keys, same order, same values (JSON.stringify compares the order too).
    assert.equal(JSON.stringify(featuresJson(meta)), JSON.stringify(realJson('features.json')));
    assert.equal(JSON.stringify(datasetInfoJson(meta, [2], [903000])), JSON.stringify(realInfo));
    // A written folder: the same two files, the hierarchy only in its own file, shards under the template's names.
    const dir = tmp();
    await writeBuilder(dir, meta, eps, 1);
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'dataset_info.json'), 'utf8'));
    assert.deepEqual(Object.keys(info), Object.keys(realInfo));
    assert.deepEqual(Object.keys(info.splits[0]), Object.keys(realInfo.splits[0]));
    assert.deepEqual(info.splits[0].shardLengths, ['1', '1']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'features.json'), 'utf8')), realJson('features.json'));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['dataset_info.json', 'features.json', HIERARCHY_FILE, 'language_table-train.tfrecord-00000', 'language_table-train.tfrecord-00001']);
    const b = await openBuilder(dir);
    assert.equal(b.hierarchy, true);
    assert.deepEqual(await readEpisodes(b), eps);
  });
});
