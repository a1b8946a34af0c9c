/**
 * TFRecord framing (tensorflow/core/lib/io/record_writer.cc): each record is
 *   uint64 length (LE) | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)
 * Reading streams through a file handle with a buffer that grows only to the largest record, so a 400 MB shard is
 * never held in memory; both checksums are verified. Record indices after a damaged region count the region as one
 * record (the true count is unknown there; the builder reconciles it with dataset_info.json).
 */
import * as fs from 'node:fs';
import { maskedCrc32c } from './crc32c';
import { DataError, type DataErrorContext } from './errors';

export interface TFRecord {
  /** Index of the record in its file. */
  index: number;
  /** Byte offset of the record's header in the file. */
  offset: number;
  data: Uint8Array;
}

export interface ReadStats {
  /** Records delivered. */
  records: number;
  /**
   * Records lost: each record whose data checksum failed, plus at least one for each damaged region (a bad length
   * header or a cut tail, where framing was lost until the next valid record); the builder adds the rest of what
   * dataset_info.json's shardLengths say a shard held (and every record it rejects while decoding).
   */
  skipped: number;
  errors: DataError[];
  /** Damaged regions (framing lost, then found again or the file ended). */
  gaps?: number;
  /** Per shard, filled by the builder in skip mode. */
  shards?: ShardReport[];
}

/** What one shard gave in skip-and-count mode. */
export interface ShardReport {
  file: string;
  /** Episodes dataset_info.json lists for the shard. */
  expected: number;
  /** Records decoded and validated. */
  read: number;
  /** Records found but rejected: checksum failures and damaged regions (each at least one record), decoding, values, duplicates. */
  rejected: number;
  /** The rest of what the shard is listed with: records lost inside damaged regions or missing (expected − read − rejected). */
  lost: number;
}

export interface ReadOptions {
  /** 'throw' (default) stops at the first bad record; 'skip' counts it in `stats` and resynchronises. */
  onCorrupt?: 'throw' | 'skip';
  verifyChecksums?: boolean;
  /** Filled while iterating. */
  stats?: ReadStats;
  /** Refuse record lengths above this (protects against a corrupt length asking for gigabytes). */
  maxRecordBytes?: number;
}

const HEADER = 12;
const FOOTER = 4;

/** Frames records into one buffer (the bytes of a .tfrecord file). */
export function frameRecords(records: Uint8Array[]): Uint8Array {
  const total = records.reduce((a, r) => a + HEADER + r.length + FOOTER, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const r of records) {
    view.setBigUint64(pos, BigInt(r.length), true);
    view.setUint32(pos + 8, maskedCrc32c(out.subarray(pos, pos + 8)), true);
    out.set(r, pos + HEADER);
    view.setUint32(pos + HEADER + r.length, maskedCrc32c(r), true);
    pos += HEADER + r.length + FOOTER;
  }
  return out;
}

/**
 * The next offset after `from` where a whole valid record starts (length checksum, plausible length, data
 * checksum), or `size` when there is none. Two 32-bit checksums must match by chance for a false start, so the scan
 * is safe; it costs one 8-byte CRC per byte scanned and only runs after damage in skip mode.
 */
async function nextRecordStart(fh: fs.promises.FileHandle, from: number, size: number, maxBytes: number): Promise<number> {
  const CHUNK = 1 << 20;
  const buf = new Uint8Array(CHUNK + HEADER);
  const view = new DataView(buf.buffer);
  let data = new Uint8Array(0);
  for (let base = from; base + HEADER <= size; base += CHUNK) {
    const n = Math.min(buf.length, size - base);
    await fh.read(buf, 0, n, base);
    for (let i = 0; i < CHUNK && i + HEADER <= n; i++) {
      if (view.getUint32(i + 8, true) !== maskedCrc32c(buf.subarray(i, i + 8))) continue;
      const len = view.getBigUint64(i, true);
      const p = base + i;
      if (len > BigInt(maxBytes) || p + HEADER + Number(len) + FOOTER > size) continue;
      const L = Number(len);
      if (data.length < L + FOOTER) data = new Uint8Array(L + FOOTER);
      await fh.read(data, 0, L + FOOTER, p + HEADER);
      if (new DataView(data.buffer, L, 4).getUint32(0, true) === maskedCrc32c(data.subarray(0, L))) return p;
    }
  }
  return size;
}

/**
 * Streams the records of a TFRecord file. With onCorrupt 'skip', a record with a bad data checksum is skipped and
 * counted; after a bad length header or a cut record the reader scans for the next valid record and counts the
 * damaged region as (at least) one lost record. Errors name the file, the record index and its byte offset.
 */
export async function* readTFRecords(file: string, opts: ReadOptions = {}): AsyncGenerator<TFRecord> {
  const onCorrupt = opts.onCorrupt ?? 'throw';
  const verify = opts.verifyChecksums ?? true;
  const stats = opts.stats ?? { records: 0, skipped: 0, errors: [] };
  const maxBytes = opts.maxRecordBytes ?? 2 ** 31;
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    throw new DataError(`cannot open TFRecord file: ${(e as Error).message}`, { file });
  }
  const size = (await fh.stat()).size;
  const header = new Uint8Array(HEADER);
  const headerView = new DataView(header.buffer);
  let buf = new Uint8Array(1 << 16);
  let pos = 0;
  let index = 0;
  const lose = (err: DataError) => {
    if (onCorrupt === 'throw') throw err;
    stats.skipped++;
    stats.errors.push(err);
  };
  /** Framing is lost at `pos`: count the region as one lost record and move on to the next valid record start. */
  const resync = async (problem: string, ctx: DataErrorContext) => {
    if (onCorrupt === 'throw') throw new DataError(problem, ctx);
    const next = await nextRecordStart(fh, pos + 1, size, maxBytes);
    const found = `${ctx.found}; ${next < size ? `framing found again at byte offset ${next}` : 'no valid record after it'}`;
    lose(new DataError(problem, { ...ctx, found }));
    stats.gaps = (stats.gaps ?? 0) + 1;
    pos = next;
    index++;
  };
  try {
    while (pos < size) {
      const ctx = { file, record: index, offset: pos };
      if (size - pos < HEADER) {
        await resync('truncated record header', { ...ctx, field: 'length', expected: `${HEADER} header bytes`, found: `${size - pos}` });
        continue;
      }
      await fh.read(header, 0, HEADER, pos);
      const lenBig = headerView.getBigUint64(0, true);
      if (verify && headerView.getUint32(8, true) !== maskedCrc32c(header.subarray(0, 8))) {
        await resync('length checksum mismatch', { ...ctx, field: 'length_crc', expected: `masked crc32c ${maskedCrc32c(header.subarray(0, 8))}`, found: `${headerView.getUint32(8, true)}` });
        continue;
      }
      if (lenBig > BigInt(maxBytes)) {
        await resync('record length is implausible', { ...ctx, field: 'length', expected: `≤ ${maxBytes} bytes`, found: `${lenBig}` });
        continue;
      }
      const len = Number(lenBig);
      if (pos + HEADER + len + FOOTER > size) {
        await resync('truncated record', { ...ctx, field: 'data', expected: `${len + FOOTER} bytes after the header`, found: `${size - pos - HEADER}` });
        continue;
      }
      if (buf.length < len + FOOTER) buf = new Uint8Array(Math.max(len + FOOTER, buf.length * 2));
      await fh.read(buf, 0, len + FOOTER, pos + HEADER);
      const data = buf.subarray(0, len);
      const stored = new DataView(buf.buffer, buf.byteOffset + len, 4).getUint32(0, true);
      const recordPos = pos;
      pos += HEADER + len + FOOTER;
      index++;
      if (verify && stored !== maskedCrc32c(data)) {
        lose(new DataError('data checksum mismatch', { ...ctx, field: 'data_crc', expected: `masked crc32c ${maskedCrc32c(data)}`, found: `${stored}` }));
        continue;
      }
      stats.records++;
      // A copy: the read buffer is reused for the next record.
      yield { index: index - 1, offset: recordPos, data: data.slice() };
    }
  } finally {
    await fh.close();
  }
}

/** Writes framed records atomically: `<file>.tmp`, then rename, so a kill never leaves a half shard. */
export async function writeTFRecordFile(file: string, records: Uint8Array[]): Promise<number> {
  const bytes = frameRecords(records);
  const tmp = `${file}.tmp`;
  await fs.promises.writeFile(tmp, bytes);
  await fs.promises.rename(tmp, file);
  return bytes.length;
}
