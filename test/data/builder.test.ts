import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openBuilder, shardFileName, splitOf, writeBuilder, type BuilderMeta } from '../../src/data/builder';
import type { Episode } from '../../src/data/episode';
import { DataError } from '../../src/data/errors';
import { decodeEpisode, encodeEpisode } from '../../src/data/languagetable';
import { batchTrajectories, fitTrajectory, hierarchicalSamples, policySamples } from '../../src/data/samples';
import { frameRecords, readTFRecords, type ReadStats } from '../../src/data/tfrecord';
import { Rng } from '../../src/util/rng';
import { fakeEpisode } from './fixtures';

const META: BuilderMeta = { name: 'language_table_test', imageShape: [8, 8], hierarchy: true };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-data-'));
const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

async function writeSample(dir: string, n = 10, perShard = 4): Promise<Episode[]> {
  const eps = Array.from({ length: n }, (_, i) => fakeEpisode(`episode-${i}`, 4 + (i % 3), i, { hierarchy: true }));
  await writeBuilder(dir, META, eps, perShard);
  return eps;
}

describe('data/tfrecord + data/builder: TFDS folders', () => {
  it('episode → shards → episode round trip is exact, via dataset_info.json', async () => {
    const dir = tmp();
    const eps = await writeSample(dir);
    const b = await openBuilder(dir);
    assert.equal(b.shardPaths.length, 3);
    assert.deepEqual(b.shardLengths, [4, 4, 2]);
    assert.equal(b.numEpisodes, 10);
    assert.ok(b.hierarchy);
    assert.deepEqual(b.imageShape, [8, 8]);
    assert.equal(path.basename(b.shardPaths[1]), 'language_table_test-train.tfrecord-00001-of-00003');
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'dataset_info.json'), 'utf8'));
    assert.deepEqual(info.splits[0].shardLengths, ['4', '4', '2'], 'shardLengths are strings, as TFDS writes them');
    assert.deepEqual(await collect(b.episodes()), eps);
  });

  it('shuffling is seeded, split is by episode id, limit stops early', async () => {
    const dir = tmp();
    await writeSample(dir, 12);
    const b = await openBuilder(dir);
    const ids = async (o: object) => (await collect(b.episodes(o))).map((e) => e.episodeId);
    const s1 = await ids({ shuffleSeed: 4, shuffleWindow: 5 });
    assert.deepEqual(await ids({ shuffleSeed: 4, shuffleWindow: 5 }), s1);
    assert.notDeepEqual(s1, await ids({}));
    assert.deepEqual([...s1].sort(), (await ids({})).sort());
    const split = { valFraction: 0.25, testFraction: 0.25 };
    const parts = await Promise.all((['train', 'val', 'test'] as const).map((name) => ids({ split: { name, ...split } })));
    assert.equal(parts.flat().length, 12);
    for (const [i, name] of (['train', 'val', 'test'] as const).entries()) for (const id of parts[i]) assert.equal(splitOf(id, 0.25, 0.25), name);
    assert.equal((await ids({ limit: 3 })).length, 3);
  });

  it('bad input raises typed errors naming file, record, offset and field', async () => {
    const dir = tmp();
    await writeSample(dir, 6, 3);
    const b = await openBuilder(dir);
    const shard = b.shardPaths[0];
    const bytes = fs.readFileSync(shard);
    // 1. corrupt a data byte of record 1 → data checksum mismatch at its offset
    const firstLen = Number(bytes.readBigUInt64LE(0));
    const second = 12 + firstLen + 4;
    const corrupt = Buffer.from(bytes);
    corrupt[second + 12 + 5] ^= 0xff;
    fs.writeFileSync(shard, corrupt);
    await assert.rejects(collect(b.episodes()), (e: unknown) => e instanceof DataError && e.record === 1 && e.offset === second && e.field === 'data_crc' && e.file === shard);
    // ... and 'skip' counts it and goes on
    const stats: ReadStats = { records: 0, skipped: 0, errors: [] };
    const kept = await collect(b.episodes({ onCorrupt: 'skip', stats }));
    assert.equal(kept.length, 5);
    assert.equal(stats.skipped, 1);
    // 2. truncated file
    fs.writeFileSync(shard, bytes.subarray(0, bytes.length - 10));
    await assert.rejects(collect(b.episodes()), /truncated record/);
    // 3. dataset_info.json that disagrees with the shard
    fs.writeFileSync(shard, bytes);
    const infoFile = path.join(dir, 'dataset_info.json');
    const info = JSON.parse(fs.readFileSync(infoFile, 'utf8'));
    info.splits[0].shardLengths[0] = '4';
    fs.writeFileSync(infoFile, JSON.stringify(info));
    await assert.rejects(collect((await openBuilder(dir)).episodes()), /disagrees with the shard.*expected 4 episodes, found 3/);
    // 4. a shard listed but missing
    fs.rmSync(b.shardPaths[1]);
    await assert.rejects(openBuilder(dir), (e: unknown) => e instanceof DataError && /shard listed in dataset_info.json is missing/.test(e.message) && e.file === b.shardPaths[1]);
    // 5. not a builder folder
    await assert.rejects(openBuilder(tmp()), /missing file.*dataset_info.json/);
  });

  it('fuzz: random and mutated records give only DataErrors, never a crash or a hang', async function () {
    this.timeout(60000);
    const rng = new Rng(77);
    const good = encodeEpisode(fakeEpisode('f', 3, 1, { hierarchy: true }));
    let typed = 0;
    let decoded = 0;
    for (let i = 0; i < 3000; i++) {
      let rec: Uint8Array;
      if (i % 3 === 0) {
        rec = new Uint8Array(rng.int(200));
        for (let j = 0; j < rec.length; j++) rec[j] = rng.int(256);
      } else {
        rec = good.slice(0, i % 3 === 1 ? rng.int(good.length) : good.length);
        for (let m = 0; m < 1 + rng.int(6); m++) if (rec.length) rec[rng.int(rec.length)] = rng.int(256);
      }
      try {
        decodeEpisode(rec, { record: i });
        decoded++;
      } catch (e) {
        assert.ok(e instanceof DataError, `record ${i}: ${(e as Error).constructor.name}: ${(e as Error).message}`);
        typed++;
      }
    }
    assert.ok(typed > 1000, `only ${typed} errors of 3000`);
    // Mutated framing: the reader must also fail only with DataError.
    const dir = tmp();
    const framed = frameRecords([good, good, good]);
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from(framed.slice(0, framed.length - rng.int(40)));
      b[rng.int(b.length)] ^= 1 << rng.int(8);
      const file = path.join(dir, `f${i}.tfrecord`);
      fs.writeFileSync(file, b);
      try {
        await collect(readTFRecords(file));
      } catch (e) {
        assert.ok(e instanceof DataError, `framing ${i}: ${(e as Error).message}`);
      }
    }
    void decoded;
  });
});

describe('data/samples: hierarchical samples and batches', () => {
  it('builds one sample per sub-task with the right image, instructions and trajectory', () => {
    const ep = fakeEpisode('h', 6, 2, { hierarchy: true, terminal: true });
    const s = hierarchicalSamples(ep);
    assert.equal(s.length, 2);
    assert.equal(s[0].highLevel, 'put all the blocks in the top left corner');
    assert.equal(s[1].lowLevel, 'move the blue cube to the top left corner');
    assert.equal(s[1].imageJpeg, ep.steps[3].rgbJpeg);
    // The second sub-task is steps 3..5 but step 5 is terminal: 2 action steps.
    assert.equal(s[1].length, 2);
    assert.deepEqual(Array.from(s[1].trajectory.subarray(0, 4)), [...ep.steps[3].action, ...ep.steps[3].effectorTranslation]);
    const flat = hierarchicalSamples({ ...ep, hierarchy: undefined });
    assert.equal(flat.length, 1);
    assert.equal(flat[0].highLevel, undefined);
  });

  it('pads or resamples trajectories with a correct mask', () => {
    const traj = Float32Array.from([0, 0, 0, 0, 2, 4, 6, 8]);
    const pad = fitTrajectory(traj, 2, 3, 'pad');
    assert.deepEqual(Array.from(pad.mask), [1, 1, 0]);
    assert.deepEqual(Array.from(pad.values.subarray(8)), [0, 0, 0, 0]);
    const rs = fitTrajectory(traj, 2, 3, 'resample');
    assert.deepEqual(Array.from(rs.values.subarray(4, 8)), [1, 2, 3, 4]);
    const batch = batchTrajectories([{ trajectory: traj, length: 2 }, { trajectory: traj.subarray(0, 4), length: 1 }], 2, 'pad');
    assert.deepEqual(Array.from(batch.mask), [1, 1, 1, 0]);
  });

  it('policy samples carry action chunks that stop at the sub-task end', () => {
    const ep = fakeEpisode('p', 6, 2, { hierarchy: true });
    const ps = policySamples(ep, 4);
    assert.equal(ps.length, 6);
    assert.deepEqual(Array.from(ps[1].mask), [1, 1, 0, 0]); // sub-task 0 is steps 0..2
    assert.equal(ps[3].instruction, 'move the blue cube to the top left corner');
  });
});
