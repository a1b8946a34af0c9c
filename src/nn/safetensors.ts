/**
 * The safetensors format (huggingface/safetensors): 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then the raw little-endian
 * tensor data. Offsets are relative to the start of the data section. Only F32 and I32 are produced here; reading
 * also accepts F16/BF16 → float32 would need conversion and is rejected with the tensor named.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type SafeDType = 'F32' | 'I32';

export interface NamedArray {
  dtype: SafeDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

const BYTES: Record<SafeDType, number> = { F32: 4, I32: 4 };

export class SafetensorsError extends Error {
  constructor(readonly file: string, readonly tensor: string | null, message: string) {
    super(`${file}${tensor ? `: tensor "${tensor}"` : ''}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

/** Serialises named arrays (sorted by name, as the reference implementation does) into safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const n of names) {
    const t = tensors[n];
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== expected) throw new Error(`safetensors: tensor "${n}" has ${t.data.length} values for shape [${t.shape}]`);
    const bytes = t.data.length * BYTES[t.dtype];
    header[n] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data section starts 8-byte aligned (as the reference writer does).
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const n of names) {
    const t = tensors[n];
    // Float32Array/Int32Array are little-endian on every platform Node runs on here (x86-64, arm64).
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** Parses safetensors bytes, validating the header, dtypes, shapes and offsets; `file` is used in errors. */
export function decodeSafetensors(bytes: Uint8Array, file = '<buffer>'): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new SafetensorsError(file, null, `truncated: ${bytes.length} bytes, need at least 8 for the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.length - 8) throw new SafetensorsError(file, null, `truncated: header length ${n} exceeds the ${bytes.length - 8} bytes after it`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  } catch (e) {
    throw new SafetensorsError(file, null, `header is not valid JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors: Record<string, NamedArray> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (e.dtype !== 'F32' && e.dtype !== 'I32') throw new SafetensorsError(file, name, `dtype ${e.dtype} is not supported (expected F32 or I32)`);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new SafetensorsError(file, name, `invalid shape ${JSON.stringify(e.shape)}`);
    }
    const [begin, end] = e.data_offsets ?? [];
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || end - begin !== count * 4) {
      throw new SafetensorsError(file, name, `data_offsets [${begin}, ${end}] do not hold ${count} values of shape [${e.shape}]`);
    }
    if (end > dataLen) throw new SafetensorsError(file, name, `truncated data: needs bytes up to ${end}, the file has ${dataLen}`);
    const copy = bytes.slice(dataStart + begin, dataStart + end);
    const data = e.dtype === 'F32' ? new Float32Array(copy.buffer, 0, count) : new Int32Array(copy.buffer, 0, count);
    tensors[name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return { tensors, metadata };
}

/** Writes atomically: a temporary file in the same folder, then rename. */
export function writeSafetensorsFile(file: string, tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, encodeSafetensors(tensors, metadata));
  fs.renameSync(tmp, file);
}

export function readSafetensorsFile(file: string): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  return decodeSafetensors(new Uint8Array(fs.readFileSync(file)), file);
}
