/**
 * TFRecord framing (tensorflow/core/lib/io/record_writer.cc): each record is
 *   uint64 length (LE) | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)
 * Reading streams through a file handle with a buffer that grows only to the largest record, so a 400 MB shard is
 * never held in memory; both checksums are verified.
 */
import * as fs from 'node:fs';
import { maskedCrc32c } from './crc32c';
import { DataError } from './errors';

export interface TFRecord {
  /** Index of the record in its file. */
  index: number;
  /** Byte offset of the record's header in the file. */
  offset: number;
  data: Uint8Array;
}

export interface ReadStats {
  records: number;
  skipped: number;
  errors: DataError[];
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
 * Streams the records of a TFRecord file. With onCorrupt 'skip', a record with a bad data checksum is skipped; a bad
 * length header or a truncated tail ends the file (there is no reliable way to find the next record boundary).
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
  const fail = (err: DataError): boolean => {
    if (onCorrupt === 'throw') throw err;
    stats.skipped++;
    stats.errors.push(err);
    return true;
  };
  try {
    while (pos < size) {
      const ctx = { file, record: index, offset: pos };
      if (size - pos < HEADER) {
        fail(new DataError('truncated record header', { ...ctx, field: 'length', expected: `${HEADER} header bytes`, found: `${size - pos}` }));
        break;
      }
      await fh.read(header, 0, HEADER, pos);
      const lenBig = headerView.getBigUint64(0, true);
      if (verify && headerView.getUint32(8, true) !== maskedCrc32c(header.subarray(0, 8))) {
        fail(new DataError('length checksum mismatch', { ...ctx, field: 'length_crc', expected: `masked crc32c ${maskedCrc32c(header.subarray(0, 8))}`, found: `${headerView.getUint32(8, true)}` }));
        break;
      }
      if (lenBig > BigInt(maxBytes)) {
        fail(new DataError('record length is implausible', { ...ctx, field: 'length', expected: `≤ ${maxBytes} bytes`, found: `${lenBig}` }));
        break;
      }
      const len = Number(lenBig);
      if (pos + HEADER + len + FOOTER > size) {
        fail(new DataError('truncated record', { ...ctx, field: 'data', expected: `${len + FOOTER} bytes after the header`, found: `${size - pos - HEADER}` }));
        break;
      }
      if (buf.length < len + FOOTER) buf = new Uint8Array(Math.max(len + FOOTER, buf.length * 2));
      await fh.read(buf, 0, len + FOOTER, pos + HEADER);
      const data = buf.subarray(0, len);
      const stored = new DataView(buf.buffer, buf.byteOffset + len, 4).getUint32(0, true);
      const recordPos = pos;
      pos += HEADER + len + FOOTER;
      index++;
      if (verify && stored !== maskedCrc32c(data)) {
        fail(new DataError('data checksum mismatch', { ...ctx, field: 'data_crc', expected: `masked crc32c ${maskedCrc32c(data)}`, found: `${stored}` }));
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
