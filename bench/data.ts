/**
 * `npm run bench -- data`: reading a shard written by the writer — TFRecord framing + CRC only, + Example decoding
 * (hand parser and protobufjs), + LanguageTable episode decoding, + JPEG decoding at 64×64 and at the stored size.
 * Target (issue 3): framing + CRC ≥ 300 MB/s.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { writeBuilder } from '../src/data/builder';
import type { Episode } from '../src/data/episode';
import { decodeExample } from '../src/data/example';
import { decodeJpeg, decodeResized, encodeJpeg } from '../src/data/image';
import { decodeEpisode } from '../src/data/languagetable';
import { readTFRecords } from '../src/data/tfrecord';
import { Rng } from '../src/util/rng';
import { printTable, writeResults } from './util';

function episode(i: number, T: number, h: number, w: number, rng: Rng): Episode {
  const frame = () => {
    const d = new Uint8Array(h * w * 3);
    for (let k = 0; k < d.length; k++) d[k] = (k * 13 + rng.int(40)) & 255;
    return encodeJpeg({ height: h, width: w, data: d }, 90);
  };
  const jpeg = frame();
  return {
    episodeId: `bench-${i}`,
    steps: Array.from({ length: T }, (_, t) => ({
      rgbJpeg: jpeg, effectorTranslation: [0.3, 0.1], effectorTargetTranslation: [0.3, 0.1], instruction: 'push the red moon towards the blue cube',
      action: [0.01, -0.01], reward: 0, isFirst: t === 0, isLast: t === T - 1, isTerminal: false,
    })),
  };
}

async function timeRead(file: string, each: (data: Uint8Array) => void): Promise<{ seconds: number; records: number; bytes: number }> {
  const t0 = process.hrtime.bigint();
  let records = 0;
  let bytes = 0;
  for await (const r of readTFRecords(file)) {
    each(r.data);
    records++;
    bytes += r.data.length + 16;
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, records, bytes };
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-bench-data-'));
  const rng = new Rng(1);
  const [H, W] = [360, 640];
  console.log(`writing a shard of 60 episodes × 30 steps with ${H}×${W} JPEG frames…`);
  await writeBuilder(dir, { name: 'bench', imageShape: [H, W], hierarchy: false }, Array.from({ length: 60 }, (_, i) => episode(i, 30, H, W, rng)), 60);
  const shard = fs.readdirSync(dir).find((f) => f.includes('.tfrecord-'))!;
  const file = path.join(dir, shard);
  const root = protobuf.Root.fromJSON({ nested: {
    BytesList: { fields: { value: { rule: 'repeated', type: 'bytes', id: 1 } } },
    FloatList: { fields: { value: { rule: 'repeated', type: 'float', id: 1 } } },
    Int64List: { fields: { value: { rule: 'repeated', type: 'int64', id: 1 } } },
    Feature: { oneofs: { kind: { oneof: ['bytesList', 'floatList', 'int64List'] } }, fields: { bytesList: { type: 'BytesList', id: 1 }, floatList: { type: 'FloatList', id: 2 }, int64List: { type: 'Int64List', id: 3 } } },
    Features: { fields: { feature: { keyType: 'string', type: 'Feature', id: 1 } } },
    Example: { fields: { features: { type: 'Features', id: 1 } } },
  } } as unknown as protobuf.INamespace);
  const Example = root.lookupType('Example');
  const rows: Record<string, string | number>[] = [];
  const add = (what: string, r: { seconds: number; records: number; bytes: number }) =>
    rows.push({ what, 'records/s': r.records / r.seconds, 'MB/s': r.bytes / 1e6 / r.seconds });
  await timeRead(file, () => undefined); // warm the page cache
  add('framing + CRC-32C', await timeRead(file, () => undefined));
  add('+ Example decode (hand parser)', await timeRead(file, (d) => decodeExample(d)));
  add('+ Example decode (protobufjs)', await timeRead(file, (d) => Example.decode(d)));
  add('+ LanguageTable episode', await timeRead(file, (d) => decodeEpisode(d)));
  add('+ JPEG decode, resize to 64×64', await timeRead(file, (d) => decodeEpisode(d).steps.forEach((s) => decodeResized(s.rgbJpeg, 64, 64))));
  add(`+ JPEG decode at ${H}×${W}`, await timeRead(file, (d) => decodeEpisode(d).steps.forEach((s) => decodeJpeg(s.rgbJpeg))));
  printTable(rows);
  console.log('(records are episodes; episodes/s = records/s)');
  console.log(`written ${writeResults('data', { shardBytes: fs.statSync(file).size, rows })}`);
  fs.rmSync(dir, { recursive: true, force: true });
}
