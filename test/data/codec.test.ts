import { strict as assert } from 'node:assert';
import * as protobuf from 'protobufjs';
import { crc32c, maskedCrc32c } from '../../src/data/crc32c';
import { DataError } from '../../src/data/errors';
import { decodeExample, encodeExample, type Features } from '../../src/data/example';
import { decodeEpisode, decodeInstruction, encodeEpisode, encodeInstruction } from '../../src/data/languagetable';
import { decodeJpeg, encodeJpeg, resizeRgb } from '../../src/data/image';
import { fakeEpisode } from './fixtures';

// protobufjs as the independent reference for the wire format (tensorflow/core/example/feature.proto).
const root = protobuf.Root.fromJSON(({
  nested: {
    BytesList: { fields: { value: { rule: 'repeated', type: 'bytes', id: 1 } } },
    FloatList: { fields: { value: { rule: 'repeated', type: 'float', id: 1, options: { packed: true } } } },
    Int64List: { fields: { value: { rule: 'repeated', type: 'int64', id: 1, options: { packed: true } } } },
    Feature: { oneofs: { kind: { oneof: ['bytesList', 'floatList', 'int64List'] } }, fields: { bytesList: { type: 'BytesList', id: 1 }, floatList: { type: 'FloatList', id: 2 }, int64List: { type: 'Int64List', id: 3 } } },
    Features: { fields: { feature: { keyType: 'string', type: 'Feature', id: 1 } } },
    Example: { fields: { features: { type: 'Features', id: 1 } } },
  },
}) as unknown as protobuf.INamespace);
const ExampleType = root.lookupType('Example');

describe('data/crc32c', () => {
  it('matches the standard check values', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });
  it('is the same in one call and in pieces, and masks as TFRecord does', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog, twice over.');
    assert.equal(crc32c(data.subarray(13), crc32c(data.subarray(0, 13))), crc32c(data));
    const c = crc32c(data);
    assert.equal(maskedCrc32c(data), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
  });
});

describe('data/example: tf.train.Example codec', () => {
  it('decodes hand-made bytes of each list type, including a negative int64', () => {
    // Example{features{feature{key:"a" value{int64_list{value:[1,-1]}}}}}
    // int64_list: tag 0x1a (field 3, wire 2); packed value: tag 0x0a, len 11, 0x01, then -1 as 10 bytes ff×9 01.
    const int64List = [0x0a, 11, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const feature = [0x1a, int64List.length, ...int64List];
    const entry = [0x0a, 1, 0x61, 0x12, feature.length, ...feature];
    const features = [0x0a, entry.length, ...entry];
    const example = Uint8Array.from([0x0a, features.length, ...features]);
    const f = decodeExample(example);
    assert.deepEqual(Array.from((f.get('a') as { value: Float64Array }).value), [1, -1]);
    // float_list {value: [1.5]} packed: 0x12 (field 2) len 6: 0x0a len 4 + LE float32 1.5 = 00 00 c0 3f
    const fl = [0x12, 6, 0x0a, 4, 0x00, 0x00, 0xc0, 0x3f];
    const e2 = [0x0a, 1, 0x62, 0x12, fl.length, ...fl];
    const f2 = decodeExample(Uint8Array.from([0x0a, e2.length + 2, 0x0a, e2.length, ...e2]));
    assert.deepEqual(Array.from((f2.get('b') as { value: Float32Array }).value), [1.5]);
    // bytes_list {value: ["hi", ""]}: 0x0a (field 1) len 6: 0x0a 2 'h' 'i' 0x0a 0
    const bl = [0x0a, 6, 0x0a, 2, 0x68, 0x69, 0x0a, 0];
    const e3 = [0x0a, 1, 0x63, 0x12, bl.length, ...bl];
    const f3 = decodeExample(Uint8Array.from([0x0a, e3.length + 2, 0x0a, e3.length, ...e3]));
    assert.deepEqual((f3.get('c') as { value: Uint8Array[] }).value.map((b) => Buffer.from(b).toString()), ['hi', '']);
  });

  it('encodes bytes that protobufjs decodes to the same values, and decodes protobufjs output', () => {
    const f: Features = new Map();
    f.set('x/bytes', { kind: 'bytes', value: [Buffer.from('jpeg?'), Buffer.from('')] });
    f.set('x/float', { kind: 'float', value: Float32Array.from([0.5, -2.25, 3e-8]) });
    f.set('x/int', { kind: 'int64', value: Float64Array.from([0, 1, 300, -7, 2 ** 40]) });
    const bytes = encodeExample(f);
    const ref = ExampleType.toObject(ExampleType.decode(bytes), { longs: Number, bytes: Array }) as { features: { feature: Record<string, Record<string, { value: unknown[] }>> } };
    assert.deepEqual(ref.features.feature['x/int'].int64List.value, [0, 1, 300, -7, 2 ** 40]);
    assert.deepEqual(ref.features.feature['x/float'].floatList.value, Array.from(Float32Array.from([0.5, -2.25, 3e-8])));
    const refBytes = ExampleType.encode(ExampleType.fromObject({ features: { feature: { k: { int64List: { value: [5, -3] } }, s: { bytesList: { value: [Buffer.from('ab')] } } } } })).finish();
    const back = decodeExample(refBytes);
    assert.deepEqual(Array.from((back.get('k') as { value: Float64Array }).value), [5, -3]);
    assert.equal(Buffer.from((back.get('s') as { value: Uint8Array[] }).value[0]).toString(), 'ab');
  });
});

describe('data/languagetable: episode codec', () => {
  it('episode → Example → episode is exact, with and without a hierarchy and a terminal step', () => {
    for (const opts of [{}, { hierarchy: true }, { hierarchy: true, terminal: true }]) {
      const ep = fakeEpisode('ep-1', 7, 3, opts);
      const back = decodeEpisode(encodeEpisode(ep));
      assert.deepEqual(back, ep);
    }
  });

  it('writes the flattened LanguageTable keys with the reference types', () => {
    const f = decodeExample(encodeEpisode(fakeEpisode('e', 3, 1)));
    const kinds = Object.fromEntries([...f].map(([k, v]) => [k, `${v.kind}:${v.value.length}`]));
    assert.deepEqual(kinds, {
      episode_id: 'bytes:1', 'steps/action': 'float:6', 'steps/is_first': 'int64:3', 'steps/is_last': 'int64:3',
      'steps/is_terminal': 'int64:3', 'steps/observation/effector_target_translation': 'float:6',
      'steps/observation/effector_translation': 'float:6', 'steps/observation/instruction': 'int64:1536',
      'steps/observation/rgb': 'bytes:3', 'steps/reward': 'float:3',
    });
  });

  it('instruction: 512 UTF-8 byte slots, zero padding dropped, non-UTF-8 rejected', () => {
    assert.equal(decodeInstruction(encodeInstruction('déplace le cube')), 'déplace le cube');
    assert.throws(() => encodeInstruction('x'.repeat(513)), /too long/);
    const bad = new Float64Array(512);
    bad[0] = 0xc3; // a lone lead byte
    assert.throws(() => decodeInstruction(bad), (e: unknown) => e instanceof DataError && /not valid UTF-8/.test(e.message) && e.field === 'steps/observation/instruction');
  });

  it('a feature with the wrong type or length is a DataError naming the field', () => {
    const f = decodeExample(encodeEpisode(fakeEpisode('e', 3, 1)));
    f.set('steps/reward', { kind: 'int64', value: Float64Array.from([0, 0, 0]) });
    assert.throws(() => decodeEpisode(encodeExample(f), { file: 'x.tfrecord', record: 4, offset: 99 }), (e: unknown) =>
      e instanceof DataError && e.field === 'steps/reward' && /x\.tfrecord, record 4, byte offset 99/.test(e.message) && /expected float list, found int64 list/.test(e.message));
    f.set('steps/reward', { kind: 'float', value: Float32Array.from([0, 0]) });
    assert.throws(() => decodeEpisode(encodeExample(f)), /steps\/reward.*expected 3 steps × 1 = 3 values, found 2/);
    f.delete('steps/reward');
    assert.throws(() => decodeEpisode(encodeExample(f)), /field "steps\/reward": missing feature/);
  });
});

describe('data/image', () => {
  it('JPEG round trip is close and resize averages areas', () => {
    const data = new Uint8Array(16 * 16 * 3);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) data.set(x < 8 ? [200, 40, 40] : [40, 40, 200], (y * 16 + x) * 3);
    const back = decodeJpeg(encodeJpeg({ height: 16, width: 16, data }, 95));
    assert.equal(back.width, 16);
    let err = 0;
    for (let i = 0; i < data.length; i++) err = Math.max(err, Math.abs(back.data[i] - data[i]));
    assert.ok(err < 40, `max JPEG error ${err}`);
    const small = resizeRgb({ height: 16, width: 16, data }, 2, 2);
    assert.deepEqual(Array.from(small.data), [200, 40, 40, 40, 40, 200, 200, 40, 40, 40, 40, 200]);
  });
  it('an undecodable JPEG is a DataError', () => {
    assert.throws(() => decodeJpeg(Uint8Array.from([1, 2, 3, 4])), (e: unknown) => e instanceof DataError && /undecodable JPEG/.test(e.message));
  });
});
