/**
 * Seeded corruption campaign over the three reading paths (not a test file: test/data/fuzz.test.ts runs a few
 * hundred cases, `npm run bench -- fuzz` the full 10,000). Each case damages one shard of a 3-episode builder folder
 * in one of the kinds below and reads it (1) record by record with the episode decoder and a full JPEG decode of
 * every frame, (2) through the builder, stopping at the first error, (3) through the builder in skip-and-count mode.
 * Every outcome must be a typed DataError (naming the file, and for a decoder error the offset where a record really
 * starts) or a decode whose values hold (finite floats, declared frame size, sound sub-task ranges); skip mode must
 * account for every record dataset_info.json lists. Anything else is a failure, reported with the case's seed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { maskedCrc32c } from '../../src/data/crc32c';
import { openBuilder, writeBuilder, type BuilderMeta } from '../../src/data/builder';
import type { Episode } from '../../src/data/episode';
import { DataError } from '../../src/data/errors';
import { decodeExample, encodeExample, type Features } from '../../src/data/example';
import { decodeJpeg, encodeJpeg } from '../../src/data/image';
import { decodeEpisode, encodeEpisode } from '../../src/data/languagetable';
import { frameRecords, readTFRecords, type ReadStats } from '../../src/data/tfrecord';
import { Rng } from '../../src/util/rng';
import { fakeEpisode } from './fixtures';

export const CORRUPTION_KINDS = [
  'frame-bitflip', // bits flipped anywhere in the file (checksums left as they were)
  'truncate', // the file cut at a random length
  'splice', // bytes inserted or deleted at a random place
  'length', // a record's length field rewritten with a valid length checksum
  'payload-bitflip', // bits flipped inside a record's Example, re-framed with valid checksums
  'payload-bytes', // a run of random bytes inside a record's Example, re-framed
  'value', // a CRC-valid record with a bad value: NaN/Inf, non-0/1 booleans, missing or retyped features, short lists
  'jpeg', // a frame's JPEG bytes damaged (header or data), re-framed
  'duplicate', // a second record with the same episode id
] as const;
export type CorruptionKind = (typeof CORRUPTION_KINDS)[number];

const META: BuilderMeta = { name: 'fuzz', imageShape: [8, 8], hierarchy: true };
const SPEC = { imageShape: META.imageShape, episodeId: true, hierarchy: true };

export interface FuzzReport {
  cases: number;
  /** kind → outcome ('decoded' | 'DataError' | 'skip-accounted') → count over the three paths. */
  outcomes: Record<string, Record<string, number>>;
  failures: string[];
  slowestMs: number;
}

function mutateFeatures(f: Features, rng: Rng): void {
  const keys = [...f.keys()];
  const key = keys[rng.int(keys.length)];
  const feat = f.get(key)!;
  switch (rng.int(6)) {
    case 0:
      f.delete(key);
      return;
    case 1:
      // Retype: the same key as another kind.
      f.set(key, feat.kind === 'float' ? { kind: 'int64', value: Float64Array.from(feat.value, Math.round) } : { kind: 'float', value: Float32Array.from([1, 2, 3]) });
      return;
    case 2:
      if (feat.kind !== 'bytes') f.set(key, { ...feat, value: feat.value.subarray(0, rng.int(feat.value.length + 1)) } as never);
      else f.set(key, { kind: 'bytes', value: feat.value.slice(0, rng.int(feat.value.length + 1)) });
      return;
    default: {
      const floats = ['steps/action', 'steps/reward', 'steps/observation/effector_translation', 'steps/observation/effector_target_translation'];
      const ints = ['steps/is_first', 'steps/is_last', 'steps/is_terminal', 'steps/observation/instruction', 'subtasks/start', 'subtasks/end'];
      if (rng.uniform(0, 1) < 0.5) {
        const v = f.get(floats[rng.int(floats.length)])!.value as Float32Array;
        v[rng.int(v.length)] = [NaN, Infinity, -Infinity, 3.4e38, -0][rng.int(5)];
      } else {
        const v = f.get(ints[rng.int(ints.length)])!.value as Float64Array;
        v[rng.int(v.length)] = [2, 256, -1, 1e15, -(2 ** 40), 0, 1][rng.int(7)];
      }
    }
  }
}

function mutateJpeg(j: Uint8Array, rng: Rng): Uint8Array {
  const out = j.slice();
  const r = rng.int(5);
  if (r === 0) return out.subarray(0, rng.int(out.length)); // cut
  if (r === 1) return encodeJpeg({ height: 1 + rng.int(4), width: 1 + rng.int(4), data: new Uint8Array(48).fill(9) }); // valid, wrong size
  if (r === 2) {
    // The frame header claims a huge size.
    for (let p = 2; p + 9 < out.length; ) {
      if (out[p + 1] === 0xc0) {
        out[p + 5] = 0x20; out[p + 7] = 0x20;
        break;
      }
      p += 2 + ((out[p + 2] << 8) | out[p + 3]);
    }
    return out;
  }
  const n = 1 + rng.int(8);
  const headerOnly = r === 3;
  for (let i = 0; i < n; i++) out[headerOnly ? rng.int(Math.min(out.length, 180)) : rng.int(out.length)] = rng.int(256);
  return out;
}

/** Builds one damaged shard file's bytes from the three clean records. */
function corrupt(kind: CorruptionKind, episodes: Episode[], rng: Rng): Uint8Array {
  const records = episodes.map(encodeEpisode);
  const target = rng.int(records.length);
  const reframed = (change: (r: Uint8Array) => Uint8Array) => frameRecords(records.map((r, i) => (i === target ? change(r) : r)));
  switch (kind) {
    case 'frame-bitflip': {
      const bytes = frameRecords(records);
      for (let i = 1 + rng.int(3); i > 0; i--) bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
      return bytes;
    }
    case 'truncate': {
      const bytes = frameRecords(records);
      return bytes.subarray(0, rng.int(bytes.length));
    }
    case 'splice': {
      const bytes = frameRecords(records);
      const at = rng.int(bytes.length);
      const n = 1 + rng.int(16);
      if (rng.uniform(0, 1) < 0.5) return Uint8Array.from([...bytes.subarray(0, at), ...Array.from({ length: n }, () => rng.int(256)), ...bytes.subarray(at)]);
      return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + n)]);
    }
    case 'length': {
      const bytes = frameRecords(records);
      let pos = 0;
      for (let i = 0; i < target; i++) pos += 12 + records[i].length + 4;
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const len = [0, 1, records[target].length - 1, records[target].length + 1, rng.int(1 << 20), 2 ** 40][rng.int(6)];
      view.setBigUint64(pos, BigInt(len), true);
      // A valid length checksum, so the reader trusts the wrong length.
      view.setUint32(pos + 8, maskedCrc32c(bytes.subarray(pos, pos + 8)), true);
      return bytes;
    }
    case 'payload-bitflip':
      return reframed((r) => {
        const out = r.slice();
        for (let i = 1 + rng.int(4); i > 0; i--) out[rng.int(out.length)] ^= 1 << rng.int(8);
        return out;
      });
    case 'payload-bytes':
      return reframed((r) => {
        const out = r.slice();
        const at = rng.int(out.length);
        for (let i = 0; i < 1 + rng.int(12) && at + i < out.length; i++) out[at + i] = rng.int(256);
        return out;
      });
    case 'value':
      return reframed((r) => {
        const f = decodeExample(r);
        mutateFeatures(f, rng);
        return encodeExample(f);
      });
    case 'jpeg':
      return reframed((r) => {
        const f = decodeExample(r);
        const frames = f.get('steps/observation/rgb')!.value as Uint8Array[];
        const t = rng.int(frames.length);
        frames[t] = mutateJpeg(frames[t], rng);
        return encodeExample(f);
      });
    case 'duplicate':
      return reframed((r) => {
        const f = decodeExample(r);
        f.set('episode_id', { kind: 'bytes', value: [Buffer.from(episodes[(target + 1) % episodes.length].episodeId)] });
        return encodeExample(f);
      });
  }
}

/** Why a decoded episode is not a correct decode (null when its values hold). */
function invalid(ep: Episode): string | null {
  if (!ep.episodeId || ep.steps.length === 0) return 'empty id or no steps';
  for (const [t, s] of ep.steps.entries()) {
    const nums = [...s.action, ...s.effectorTranslation, ...s.effectorTargetTranslation, s.reward];
    if (!nums.every(Number.isFinite)) return `non-finite value at step ${t}`;
    try {
      const img = decodeJpeg(s.rgbJpeg, 'rgb', META.imageShape);
      if (img.height !== 8 || img.width !== 8 || img.data.length !== 192) return `frame ${t} decoded to ${img.height}×${img.width}`;
    } catch (e) {
      if (!(e instanceof DataError) || !e.file) return `frame ${t}: ${e instanceof DataError ? 'DataError without a file' : `untyped ${(e as Error).stack}`}`;
    }
  }
  for (const st of ep.hierarchy?.subTasks ?? []) if (!(st.start >= 0 && st.end > st.start && st.end <= ep.steps.length)) return 'bad sub-task range';
  return null;
}

/** Runs `cases` seeded cases (kinds in turn); `seed` picks the campaign. */
export async function fuzzCampaign(cases: number, seed = 0): Promise<FuzzReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-fuzz-'));
  const episodes = [0, 1, 2].map((i) => fakeEpisode(`episode-${i}`, 3 + i, 40 + i, { hierarchy: true }));
  await writeBuilder(dir, META, episodes, 3);
  const b = await openBuilder(dir);
  const shard = b.shardPaths[0];
  const report: FuzzReport = { cases, outcomes: {}, failures: [], slowestMs: 0 };
  const count = (kind: string, outcome: string) => {
    const k = (report.outcomes[kind] ??= {});
    k[outcome] = (k[outcome] ?? 0) + 1;
  };
  try {
    for (let c = 0; c < cases; c++) {
      const kind = CORRUPTION_KINDS[c % CORRUPTION_KINDS.length];
      const caseSeed = seed * 1_000_003 + c;
      const bytes = corrupt(kind, episodes, new Rng(caseSeed));
      fs.writeFileSync(shard, bytes);
      const fail = (why: string) => report.failures.push(`case ${c} (seed ${caseSeed}, ${kind}): ${why}`);
      const t0 = Date.now();
      const typed = (e: unknown, pathName: string, starts?: Set<number>) => {
        if (!(e instanceof DataError)) return fail(`${pathName}: untyped ${e instanceof Error ? e.stack : String(e)}`);
        if (!e.file) return fail(`${pathName}: DataError without a file: ${e.message}`);
        if (e.position !== undefined && starts && !starts.has(e.offset ?? -1)) return fail(`${pathName}: decoder error at offset ${e.offset}, where no record starts: ${e.message}`);
        count(kind, 'DataError');
      };
      // (1) records one by one.
      const starts = new Set<number>();
      try {
        for await (const rec of readTFRecords(shard)) {
          starts.add(rec.offset);
          const ep = decodeEpisode(rec.data, { file: shard, record: rec.index, offset: rec.offset }, SPEC);
          const why = invalid(ep);
          if (why) fail(`records: ${why}`);
          else count(kind, 'decoded');
        }
      } catch (e) {
        typed(e, 'records', starts);
      }
      // (2) the builder, stopping at the first error.
      try {
        for await (const ep of b.episodes()) {
          const why = invalid(ep);
          if (why) fail(`builder: ${why}`);
        }
        count(kind, 'decoded');
      } catch (e) {
        typed(e, 'builder', starts);
      }
      // (3) skip-and-count: every listed record is read, rejected or lost, and the totals agree.
      const stats: ReadStats = { records: 0, skipped: 0, errors: [] };
      try {
        let read = 0;
        for await (const ep of b.episodes({ onCorrupt: 'skip', stats })) {
          read++;
          const why = invalid(ep);
          if (why) fail(`skip: ${why}`);
        }
        const s = stats.shards?.[0];
        if (!s) fail('skip: no shard report');
        else if (s.read + s.rejected + s.lost !== s.expected || s.read !== read || stats.skipped !== s.rejected + s.lost) {
          fail(`skip: accounting ${JSON.stringify(s)} with ${read} yielded and ${stats.skipped} skipped`);
        } else count(kind, 'skip-accounted');
        for (const e of stats.errors) if (!(e instanceof DataError) || !e.file) fail(`skip: error without a file: ${e}`);
      } catch (e) {
        // Only the shardLengths check may stop skip mode (a splice can make the shard hold more than listed).
        if (e instanceof DataError && e.field === 'shardLengths') count(kind, 'DataError');
        else fail(`skip: ${e instanceof Error ? e.stack : String(e)}`);
      }
      report.slowestMs = Math.max(report.slowestMs, Date.now() - t0);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return report;
}
