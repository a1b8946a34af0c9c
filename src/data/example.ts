/**
 * tf.train.Example codec (tensorflow/core/example/{example,feature}.proto):
 *   Example { Features features = 1 }   Features { map<string, Feature> feature = 1 }
 *   Feature { oneof { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3 } }
 *   BytesList { repeated bytes value = 1 }  FloatList { repeated float value = 1 [packed] }
 *   Int64List { repeated int64 value = 1 [packed] }
 *
 * The wire format is parsed by hand here. protobufjs (the tests' independent reference) decodes at the same speed
 * (bench/data.ts), but returns a Long object per int64 — 512 per step for the instruction — that would need a
 * conversion pass, while this parser writes straight into typed arrays and raises DataErrors naming the feature.
 * Unpacked repeated scalars, which proto3 parsers must also accept, are handled too.
 */
import { DataError } from './errors';

export type Feature =
  | { kind: 'bytes'; value: Uint8Array[] }
  | { kind: 'float'; value: Float32Array }
  | { kind: 'int64'; value: Float64Array };

export type Features = Map<string, Feature>;

// ---------------------------------------------------------------- decoding

/**
 * A cursor over [pos, end) of one record's bytes. Sub-messages are cursors over the same buffer, so `pos` is always
 * a byte position inside the record (errors report it as `position`; the record's own offset in the file comes from
 * the TFRecord reader).
 */
class Reader {
  constructor(readonly buf: Uint8Array, public pos: number, readonly end: number) {}
  private fail(problem: string, field: string, extra: { expected?: string; found?: string } = {}): never {
    throw new DataError(problem, { field, position: this.pos, ...extra });
  }
  varint(field: string): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', field);
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * shift;
      if (!(b & 0x80)) return result;
      shift *= 128;
    }
    this.fail('varint longer than 10 bytes', field);
  }
  /** An int64 varint as a JS number (two's complement for negatives); exact for |v| ≤ 2^53. */
  int64(field: string): number {
    const start = this.pos;
    const v = this.varint(field);
    if (this.pos - start < 10) return v;
    // A 10-byte varint is a negative int64 (two's complement): redo it exactly with BigInt (rare path).
    let big = 0n;
    for (let i = 0; i < 10; i++) big |= BigInt(this.buf[start + i] & 0x7f) << BigInt(7 * i);
    return Number(BigInt.asIntN(64, big));
  }
  /** A length-delimited field as a cursor over its bytes (same buffer, positions stay record-relative). */
  sub(field: string): Reader {
    const len = this.varint(field);
    if (this.pos + len > this.end) this.fail('length-delimited field runs past its message', field, { expected: `${len} bytes`, found: `${this.end - this.pos}` });
    const r = new Reader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }
  bytes(field: string): Uint8Array {
    const r = this.sub(field);
    return this.buf.subarray(r.pos, r.end);
  }
  skip(wire: number, field: string): void {
    if (wire === 0) this.varint(field);
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.sub(field);
    else if (wire === 5) this.pos += 4;
    else this.fail(`unsupported wire type ${wire}`, field);
    if (this.pos > this.end) this.fail('field runs past its message', field);
  }
}

function decodeFeature(r: Reader, name: string): Feature {
  let feature: Feature | null = null;
  const featureStart = r.pos;
  while (r.pos < r.end) {
    const tag = r.varint(name);
    const fieldNo = tag >>> 3;
    const wire = tag & 7;
    if (wire !== 2 || fieldNo < 1 || fieldNo > 3) {
      r.skip(wire, name);
      continue;
    }
    const lr = r.sub(name);
    if (fieldNo === 1) {
      const values: Uint8Array[] = [];
      while (lr.pos < lr.end) {
        const t = lr.varint(name);
        if (t === (1 << 3) + 2) values.push(lr.bytes(name).slice());
        else lr.skip(t & 7, name);
      }
      feature = { kind: 'bytes', value: values };
    } else if (fieldNo === 2) {
      const values: number[] = [];
      let packed: Float32Array | null = null;
      while (lr.pos < lr.end) {
        const t = lr.varint(name);
        if (t === (1 << 3) + 2) {
          const at = lr.pos;
          const b = lr.bytes(name);
          if (b.length % 4) throw new DataError('packed float list length is not a multiple of 4', { field: name, position: at, found: `${b.length} bytes` });
          const copy = b.slice();
          packed = new Float32Array(copy.buffer, 0, copy.length / 4);
        } else if (t === (1 << 3) + 5) {
          if (lr.pos + 4 > lr.end) throw new DataError('truncated float', { field: name, position: lr.pos });
          values.push(new DataView(lr.buf.buffer, lr.buf.byteOffset + lr.pos, 4).getFloat32(0, true));
          lr.pos += 4;
        } else lr.skip(t & 7, name);
      }
      feature = { kind: 'float', value: packed && values.length === 0 ? packed : Float32Array.from([...(packed ?? []), ...values]) };
    } else {
      const values: number[] = [];
      while (lr.pos < lr.end) {
        const t = lr.varint(name);
        if (t === (1 << 3) + 2) {
          const pr = lr.sub(name);
          while (pr.pos < pr.end) values.push(pr.int64(name));
        } else if (t === (1 << 3) + 0) values.push(lr.int64(name));
        else lr.skip(t & 7, name);
      }
      feature = { kind: 'int64', value: Float64Array.from(values) };
    }
  }
  if (!feature) throw new DataError('feature has no bytes_list, float_list or int64_list', { field: name, position: featureStart });
  return feature;
}

/** Decodes a serialized tf.train.Example into its feature map. Error positions are byte positions in `buf`. */
export function decodeExample(buf: Uint8Array): Features {
  const features: Features = new Map();
  const r = new Reader(buf, 0, buf.length);
  while (r.pos < r.end) {
    const tag = r.varint('Example');
    if (tag !== (1 << 3) + 2) {
      r.skip(tag & 7, 'Example');
      continue;
    }
    const fr = r.sub('Example.features');
    while (fr.pos < fr.end) {
      const t = fr.varint('Features');
      if (t !== (1 << 3) + 2) {
        fr.skip(t & 7, 'Features');
        continue;
      }
      // A map entry: key = 1 (string), value = 2 (Feature).
      const er = fr.sub('Features.feature');
      let key = '';
      let value: Reader | null = null;
      while (er.pos < er.end) {
        const et = er.varint('Features.feature');
        if (et === (1 << 3) + 2) key = Buffer.from(er.bytes('Features.feature.key')).toString('utf8');
        else if (et === (2 << 3) + 2) value = er.sub(key || 'Features.feature.value');
        else er.skip(et & 7, 'Features.feature');
      }
      features.set(key, value ? decodeFeature(value, key) : { kind: 'bytes', value: [] });
    }
  }
  return features;
}

// ---------------------------------------------------------------- encoding

class Writer {
  private chunks: number[] = [];
  private parts: Uint8Array[] = [];
  private size = 0;
  private flush() {
    if (this.chunks.length) {
      this.parts.push(Uint8Array.from(this.chunks));
      this.size += this.chunks.length;
      this.chunks = [];
    }
  }
  varint(v: number): this {
    if (v < 0) {
      // int64 two's complement: 10 bytes, computed exactly with BigInt.
      let big = BigInt.asUintN(64, BigInt(v));
      for (let i = 0; i < 9; i++) {
        this.chunks.push(Number(big & 0x7fn) | 0x80);
        big >>= 7n;
      }
      this.chunks.push(Number(big));
      return this;
    }
    // Values ≥ 2^53 lose precision in JS numbers; TFDS never writes such values for LanguageTable.
    while (v >= 128) {
      this.chunks.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    this.chunks.push(v);
    return this;
  }
  raw(b: Uint8Array): this {
    this.flush();
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  lengthDelimited(field: number, b: Uint8Array): this {
    return this.varint((field << 3) | 2).varint(b.length).raw(b);
  }
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.size);
    let pos = 0;
    for (const p of this.parts) {
      out.set(p, pos);
      pos += p.length;
    }
    return out;
  }
}

function encodeFeature(f: Feature): Uint8Array {
  const list = new Writer();
  if (f.kind === 'bytes') {
    for (const b of f.value) list.lengthDelimited(1, b);
  } else if (f.kind === 'float') {
    const bytes = new Uint8Array(f.value.length * 4);
    const view = new DataView(bytes.buffer);
    f.value.forEach((v, i) => view.setFloat32(i * 4, v, true));
    if (f.value.length) list.lengthDelimited(1, bytes);
  } else {
    const packed = new Writer();
    for (const v of f.value) {
      if (!Number.isInteger(v)) throw new DataError('int64 feature value is not an integer', { found: String(v) });
      packed.varint(v);
    }
    if (f.value.length) list.lengthDelimited(1, packed.finish());
  }
  const field = f.kind === 'bytes' ? 1 : f.kind === 'float' ? 2 : 3;
  return new Writer().lengthDelimited(field, list.finish()).finish();
}

/** Encodes a feature map as a tf.train.Example; keys are written in sorted order (deterministic bytes). */
export function encodeExample(features: Features): Uint8Array {
  const fw = new Writer();
  for (const key of [...features.keys()].sort()) {
    const entry = new Writer().lengthDelimited(1, Buffer.from(key, 'utf8')).lengthDelimited(2, encodeFeature(features.get(key)!)).finish();
    fw.lengthDelimited(1, entry);
  }
  return new Writer().lengthDelimited(1, fw.finish()).finish();
}
