import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openBuilder, writeBuilder, type BuilderMeta } from '../../src/data/builder';
import type { Episode } from '../../src/data/episode';
import { DataError } from '../../src/data/errors';
import { decodeExample, encodeExample, type Features } from '../../src/data/example';
import { decodeJpeg, encodeJpeg, jpegHeader } from '../../src/data/image';
import { decodeEpisode, encodeEpisode } from '../../src/data/languagetable';
import { ImageCache } from '../../src/data/samples';
import { frameRecords, type ReadStats } from '../../src/data/tfrecord';
import { fakeEpisode } from './fixtures';

const META: BuilderMeta = { name: 'language_table_test', imageShape: [8, 8], hierarchy: true };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-valid-'));
const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};
const newStats = (): ReadStats => ({ records: 0, skipped: 0, errors: [] });
const eps = (n: number, from = 0) => Array.from({ length: n }, (_, i) => fakeEpisode(`episode-${from + i}`, 4, from + i, { hierarchy: true }));

/** A record with some features changed (CRC-valid: the framing is written afresh). */
function mutated(ep: Episode, change: (f: Features) => void): Uint8Array {
  const f = decodeExample(encodeEpisode(ep));
  change(f);
  return encodeExample(f);
}

/** A builder folder of 3 shards × 3 episodes; returns it and the shard paths. */
async function builder(): Promise<{ dir: string; shards: string[]; episodes: Episode[] }> {
  const dir = tmp();
  const episodes = eps(9);
  await writeBuilder(dir, META, episodes, 3);
  return { dir, shards: (await openBuilder(dir)).shardPaths, episodes };
}

/** Replaces shard `s`'s records. */
function writeShard(file: string, records: Uint8Array[]): Uint8Array {
  const bytes = frameRecords(records);
  fs.writeFileSync(file, bytes);
  return bytes;
}

const throwsData = async (p: Promise<unknown>, check: (e: DataError) => boolean) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `not a DataError: ${e}`);
    assert.ok(check(e), e.message);
    return true;
  });

describe('data: offsets name the record; the decoder position is separate', () => {
  it('a decoder fault inside record 1 reports the record\'s file offset and the position inside it', async () => {
    const { dir, shards, episodes } = await builder();
    const recs = episodes.slice(0, 3).map(encodeEpisode);
    const bad = recs[1].slice();
    // Cut the record's outer message short: the declared Example.features length now runs past the end.
    const cut = bad.subarray(0, bad.length - 5);
    writeShard(shards[0], [recs[0], cut, recs[2]]);
    const second = 12 + recs[0].length + 4;
    await throwsData(collect((await openBuilder(dir)).episodes()), (e) =>
      e.record === 1 && e.offset === second && e.position !== undefined && e.position < cut.length && e.file === shards[0] &&
      new RegExp(`record 1, byte offset ${second}, byte \\d+ of the record`).test(e.message));
  });
});

describe('data: skip-and-count counts every lost record, by shard', () => {
  it('a bad length header in the middle: the reader finds the next record; every loss is counted', async () => {
    const { dir, shards, episodes } = await builder();
    const recs = episodes.slice(0, 3).map(encodeEpisode);
    const bytes = writeShard(shards[0], recs);
    bytes[12 + recs[0].length + 4 + 2] ^= 0xff; // record 1's length field: its length checksum fails
    fs.writeFileSync(shards[0], bytes);
    await throwsData(collect((await openBuilder(dir)).episodes()), (e) => e.field === 'length_crc' && e.record === 1);
    const stats = newStats();
    const kept = await collect((await openBuilder(dir)).episodes({ onCorrupt: 'skip', stats }));
    assert.deepEqual(kept.map((e) => e.episodeId), ['episode-0', 'episode-2', ...episodes.slice(3).map((e) => e.episodeId)]);
    assert.equal(stats.skipped, 1);
    assert.deepEqual(stats.shards!.map((s) => [path.basename(s.file).slice(-14), s.expected, s.read, s.rejected, s.lost]), [
      ['00000-of-00003', 3, 2, 1, 0], ['00001-of-00003', 3, 3, 0, 0], ['00002-of-00003', 3, 3, 0, 0],
    ]);
    assert.match(stats.errors[0].message, /length checksum mismatch.*framing found again at byte offset/);
  });

  it('a cut tail and an empty shard: the records dataset_info.json lists are all counted lost', async () => {
    const { dir, shards, episodes } = await builder();
    const recs = episodes.slice(0, 3).map(encodeEpisode);
    const bytes = frameRecords(recs);
    fs.writeFileSync(shards[0], bytes.subarray(0, 12 + recs[0].length + 4 + 30)); // record 0 whole, record 1 cut
    fs.writeFileSync(shards[1], new Uint8Array(0)); // listed with 3 episodes
    const stats = newStats();
    const kept = await collect((await openBuilder(dir)).episodes({ onCorrupt: 'skip', stats }));
    assert.equal(kept.length, 1 + 0 + 3);
    assert.equal(stats.skipped, 2 + 3, 'records 1 and 2 of shard 0, all 3 of shard 1');
    assert.deepEqual(stats.shards!.map((s) => [s.read, s.rejected, s.lost]), [[1, 1, 1], [0, 0, 3], [3, 0, 0]], 'shard 0: the cut region rejected, the record after it lost');
    assert.ok(stats.errors.some((e) => /records missing from the shard/.test(e.message) && e.file === shards[1]));
  });

  it('the shardLengths check still applies when skipping: a shard holding more than listed is an error', async () => {
    const { dir, shards } = await builder();
    writeShard(shards[2], eps(4, 100).map(encodeEpisode));
    await throwsData(collect((await openBuilder(dir)).episodes({ onCorrupt: 'skip', stats: newStats() })), (e) =>
      e.field === 'shardLengths' && /expected 3 episodes, found 4/.test(e.message));
  });

  it('records rejected for their values are counted as rejected, and the rest read', async () => {
    const { dir, shards, episodes } = await builder();
    const nan = mutated(episodes[1], (f) => {
      const a = f.get('steps/action')!.value as Float32Array;
      a[3] = NaN;
    });
    writeShard(shards[0], [encodeEpisode(episodes[0]), nan, encodeEpisode(episodes[2])]);
    const stats = newStats();
    assert.equal((await collect((await openBuilder(dir)).episodes({ onCorrupt: 'skip', stats }))).length, 8);
    assert.deepEqual(stats.shards!.map((s) => [s.read, s.rejected, s.lost]), [[2, 1, 0], [3, 0, 0], [3, 0, 0]]);
  });
});

describe('data: values are checked against features.json at read time', () => {
  const ep = fakeEpisode('episode-x', 4, 3, { hierarchy: true });
  const spec = { imageShape: [8, 8] as const, episodeId: true, hierarchy: true };
  const where = { file: 'x.tfrecord', record: 7, offset: 1234 };
  const bad = (change: (f: Features) => void, re: RegExp, field: string) =>
    assert.throws(() => decodeEpisode(mutated(ep, change), where, spec), (e: unknown) =>
      e instanceof DataError && e.field === field && e.record === 7 && e.offset === 1234 && re.test(e.message));

  it('NaN and Inf floats name the field and the step', () => {
    bad((f) => ((f.get('steps/action')!.value as Float32Array)[5] = NaN), /not finite.*found NaN at step 2, component 1/, 'steps/action');
    bad((f) => ((f.get('steps/reward')!.value as Float32Array)[0] = Infinity), /found Infinity at step 0/, 'steps/reward');
    bad((f) => ((f.get('steps/observation/effector_translation')!.value as Float32Array)[0] = -Infinity), /not finite/, 'steps/observation/effector_translation');
  });

  it('booleans other than 0 and 1 are refused', () => {
    for (const v of [2, 256, -1]) bad((f) => ((f.get('steps/is_first')!.value as Float64Array)[0] = v), new RegExp(`expected 0 or 1, found ${v} at step 0`), 'steps/is_first');
    bad((f) => ((f.get('steps/is_last')!.value as Float64Array)[3] = 2), /found 2 at step 3/, 'steps/is_last');
  });

  it('episode_id and long_horizon_instruction are required where features.json declares them', () => {
    bad((f) => f.delete('episode_id'), /missing feature/, 'episode_id');
    bad((f) => f.set('episode_id', { kind: 'bytes', value: [new Uint8Array(0)] }), /episode_id is empty/, 'episode_id');
    bad((f) => f.delete('long_horizon_instruction'), /missing feature that features.json declares/, 'long_horizon_instruction');
    // Undeclared (a plain RLDS folder): the same record without the hierarchy is an episode without one.
    const plain = decodeEpisode(mutated(ep, (f) => f.delete('long_horizon_instruction')), where, { ...spec, hierarchy: false });
    assert.equal(plain.hierarchy, undefined);
  });

  it('frame sizes are compared with features.json from the JPEG header, before any decoding', () => {
    const tiny = encodeJpeg({ height: 1, width: 1, data: Uint8Array.from([1, 2, 3]) });
    bad((f) => ((f.get('steps/observation/rgb')!.value as Uint8Array[])[2] = tiny), /frame size differs from features.json.*expected 8×8.*found 1×1/, 'steps/observation/rgb (step 2)');
  });

  it('a duplicate episode id is an error naming both records', async () => {
    const { dir, shards, episodes } = await builder();
    writeShard(shards[2], [encodeEpisode(episodes[6]), encodeEpisode(episodes[1]), encodeEpisode(episodes[8])]);
    await throwsData(collect((await openBuilder(dir)).episodes()), (e) =>
      e.field === 'episode_id' && e.record === 1 && /duplicate episode.*"episode-1", first seen at .*00000-of-00003 record 1/.test(e.message));
  });

  it('features.json declaring another shape or dtype is refused when the folder is opened', async () => {
    const { dir } = await builder();
    const file = path.join(dir, 'features.json');
    const f = JSON.parse(fs.readFileSync(file, 'utf8'));
    f.featuresDict.features.steps.sequence.feature.featuresDict.features.action.tensor.shape.dimensions = ['3'];
    fs.writeFileSync(file, JSON.stringify(f));
    await assert.rejects(openBuilder(dir), (e: unknown) => e instanceof DataError && e.field === 'steps/action' && /expected float32 \[2\], found float32 \[3\]/.test(e.message));
  });
});

describe('data/image: JPEG headers are checked before decoding', () => {
  /** A valid JPEG with its frame header's height and width replaced. */
  function claiming(h: number, w: number): Uint8Array {
    const j = encodeJpeg({ height: 8, width: 8, data: new Uint8Array(8 * 8 * 3).fill(90) });
    for (let p = 2; p < j.length; ) {
      const m = j[p + 1];
      if (m === 0xc0) {
        j[p + 5] = h >> 8; j[p + 6] = h & 255; j[p + 7] = w >> 8; j[p + 8] = w & 255;
        return j;
      }
      p += 2 + ((j[p + 2] << 8) | j[p + 3]);
    }
    throw new Error('no SOF0');
  }

  it('reads the frame size without decoding', () => {
    assert.deepEqual(jpegHeader(encodeJpeg({ height: 5, width: 7, data: new Uint8Array(105) })), { height: 5, width: 7, components: 3 });
  });

  it('a header claiming 8192×8192 fails at once, with or without a declared size', () => {
    const crafted = claiming(8192, 8192);
    const t0 = Date.now();
    assert.throws(() => decodeJpeg(crafted), /JPEG frame size is implausible.*found 8192×8192/);
    assert.throws(() => decodeJpeg(crafted, 'rgb', [8, 8]), /differs from features.json.*expected 8×8.*found 8192×8192/);
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  });

  it('a frame that only fails when training decodes it names its file, record and step', () => {
    const ep = fakeEpisode('episode-y', 3, 5);
    ep.steps[1].rgbJpeg = ep.steps[1].rgbJpeg.slice(0, -2); // header intact, end-of-image marker gone
    const back = decodeEpisode(encodeEpisode(ep), { file: 'shard-7.tfrecord', record: 4, offset: 999 });
    const cache = new ImageCache(8);
    assert.equal(cache.get(back.steps[0].rgbJpeg).width, 8);
    assert.throws(() => cache.get(back.steps[1].rgbJpeg), (e: unknown) =>
      e instanceof DataError && /^shard-7\.tfrecord, record 4, byte offset 999, field "steps\/observation\/rgb \(step 1\)": undecodable JPEG/.test(e.message));
  });
});
