/**
 * Images: JPEG decode/encode (jpeg-js) and resizing. Episodes keep JPEG bytes and decode lazily, because a 360×640
 * RGB frame is 691 KB decoded and ~30 KB encoded.
 */
import * as fs from 'node:fs';
import * as vm from 'node:vm';
import * as jpeg from 'jpeg-js';
import { DataError, type DataErrorContext } from './errors';

/**
 * jpeg-js's `encode` builds a new JPEGEncoder (≈ 45 ms of Huffman/colour tables) for every image, which made
 * encoding a 64×64 frame 50× slower than simulating and rendering it. The JPEGEncoder constructor is not exported,
 * so it is taken from the package's own encoder source once and reused per quality (same code, same bytes).
 */
type Encoder = { encode(img: { width: number; height: number; data: Uint8Array }, quality: number): Uint8Array };
const encoders = new Map<number, Encoder>();
let EncoderClass: (new (quality: number) => Encoder) | null = null;
function encoderFor(quality: number): Encoder {
  let enc = encoders.get(quality);
  if (!enc) {
    if (!EncoderClass) {
      const context: Record<string, unknown> = { module: {}, Buffer, console };
      vm.runInNewContext(fs.readFileSync(require.resolve('jpeg-js/lib/encoder.js'), 'utf8'), context);
      EncoderClass = context.JPEGEncoder as new (quality: number) => Encoder;
    }
    enc = new EncoderClass(quality);
    encoders.set(quality, enc);
  }
  return enc;
}

/** An RGB image, row-major HxWx3 uint8. */
export interface RgbImage {
  height: number;
  width: number;
  data: Uint8Array;
}

/** The frame size a JPEG's SOF header declares, read without decoding (a few marker hops). */
export interface JpegHeader {
  height: number;
  width: number;
  components: number;
}

/**
 * Reads the SOF header: SOI, then marker segments (each FFxx + a 2-byte length) up to the first start-of-frame.
 * Throws a DataError when the bytes are not a JPEG or end before a frame header.
 */
export function jpegHeader(bytes: Uint8Array, field = 'steps/observation/rgb'): JpegHeader {
  const bad = (problem: string, at: number): never => {
    throw new DataError(`undecodable JPEG: ${problem}`, { field, found: `${bytes.length} bytes starting ${Buffer.from(bytes.subarray(0, 4)).toString('hex')}, fault at byte ${at}` });
  };
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) bad('no SOI marker (FFD8)', 0);
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) bad('expected a marker', p);
    const marker = bytes[p + 1];
    if (marker === 0xff) { p++; continue; } // fill byte
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { p += 2; continue; } // segments without a length
    const len = (bytes[p + 2] << 8) | bytes[p + 3];
    if (len < 2) bad(`marker FF${marker.toString(16)} has length ${len}`, p);
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (p + 10 > bytes.length) bad('truncated frame header', p);
      return { height: (bytes[p + 5] << 8) | bytes[p + 6], width: (bytes[p + 7] << 8) | bytes[p + 8], components: bytes[p + 9] };
    }
    if (marker === 0xda || marker === 0xd9) bad('no frame header before the scan', p);
    p += 2 + len;
  }
  return bad('no frame header (SOF)', p);
}

/**
 * Where each stored frame came from (file, record, offset, step), noted by the reader, so that a frame that only
 * fails when training decodes it still names its record. Keyed by the bytes' identity, like the image cache.
 */
const frameSources = new WeakMap<Uint8Array, DataErrorContext>();
export function noteFrameSource(bytes: Uint8Array, ctx: DataErrorContext): void {
  frameSources.set(bytes, ctx);
}

/** Largest frame decoded when no size is expected (LanguageTable stores 360×640; a header claiming more is refused). */
export const MAX_JPEG_PIXELS = 2048 * 2048;

/**
 * Decodes JPEG bytes to RGB. The frame header is read first and compared with `expected` (the size features.json
 * declares) or, without one, with MAX_JPEG_PIXELS, so a crafted header claiming 8192×8192 fails at once instead of
 * making jpeg-js allocate gigabytes; jpeg-js's own memory cap is then set from the header's size.
 */
export function decodeJpeg(bytes: Uint8Array, field = 'steps/observation/rgb', expected?: readonly [number, number]): RgbImage {
  const source = frameSources.get(bytes) ?? {};
  const where = (ctx: DataErrorContext) => ({ ...source, field: source.field ?? field, ...ctx });
  let header: JpegHeader;
  try {
    header = jpegHeader(bytes, field);
  } catch (e) {
    throw e instanceof DataError ? e.withContext(where({})) : e;
  }
  checkFrameSize(header, expected, where({}));
  let raw: { width: number; height: number; data: Uint8Array };
  const pixels = header.height * header.width;
  try {
    raw = jpeg.decode(bytes, {
      useTArray: true, formatAsRGBA: false, tolerantDecoding: false,
      // jpeg-js counts its component planes and output; 16 bytes per pixel is above what a 3-component frame needs.
      maxMemoryUsageInMB: Math.ceil((pixels * 16) / 2 ** 20) + 4,
      maxResolutionInMP: Math.max(1, Math.ceil(pixels / 1e6)),
    });
  } catch (e) {
    throw new DataError(`undecodable JPEG: ${(e as Error).message}`, where({ found: `${bytes.length} bytes starting ${Buffer.from(bytes.subarray(0, 4)).toString('hex')}` }));
  }
  if (raw.width !== header.width || raw.height !== header.height || raw.data.length !== raw.width * raw.height * 3) {
    throw new DataError('JPEG decoded to an unexpected size', where({ expected: `${header.height}×${header.width}×3 = ${header.width * header.height * 3} bytes`, found: `${raw.height}×${raw.width}, ${raw.data.length} bytes` }));
  }
  return { height: raw.height, width: raw.width, data: raw.data };
}

/** Compares a frame header with the declared size (or the default cap); throws a DataError naming both. */
export function checkFrameSize(header: JpegHeader, expected: readonly [number, number] | undefined, ctx: DataErrorContext): void {
  if (expected) {
    if (header.height !== expected[0] || header.width !== expected[1]) {
      throw new DataError('JPEG frame size differs from features.json', { ...ctx, expected: `${expected[0]}×${expected[1]} (features.json)`, found: `${header.height}×${header.width}` });
    }
  } else if (header.height * header.width > MAX_JPEG_PIXELS || header.height === 0 || header.width === 0) {
    throw new DataError('JPEG frame size is implausible', { ...ctx, expected: `1 to ${MAX_JPEG_PIXELS} pixels`, found: `${header.height}×${header.width}` });
  }
  if (header.components !== 3) {
    throw new DataError('JPEG is not a 3-component (colour) frame', { ...ctx, expected: '3 components', found: `${header.components}` });
  }
}

export function encodeJpeg(img: RgbImage, quality = 90): Uint8Array {
  const rgba = new Uint8Array(img.width * img.height * 4);
  for (let i = 0, j = 0; i < img.data.length; i += 3, j += 4) {
    rgba[j] = img.data[i];
    rgba[j + 1] = img.data[i + 1];
    rgba[j + 2] = img.data[i + 2];
    rgba[j + 3] = 255;
  }
  const out = encoderFor(quality).encode({ width: img.width, height: img.height, data: rgba }, quality);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength).slice();
}

/**
 * Resizes by area averaging when shrinking (each output pixel averages the input box it covers, with fractional
 * edge weights) and bilinearly when enlarging. Area averaging avoids the aliasing of point sampling at 360×640 → 64×64.
 */
export function resizeRgb(img: RgbImage, height: number, width: number): RgbImage {
  if (img.height === height && img.width === width) return img;
  const out = new Uint8Array(height * width * 3);
  const sy = img.height / height;
  const sx = img.width / width;
  if (sy >= 1 && sx >= 1) {
    for (let oy = 0; oy < height; oy++) {
      const y0 = oy * sy;
      const y1 = y0 + sy;
      for (let ox = 0; ox < width; ox++) {
        const x0 = ox * sx;
        const x1 = x0 + sx;
        let r = 0, g = 0, b = 0, wsum = 0;
        for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
          const wy = Math.min(y + 1, y1) - Math.max(y, y0);
          for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
            const w = wy * (Math.min(x + 1, x1) - Math.max(x, x0));
            const i = (y * img.width + x) * 3;
            r += w * img.data[i];
            g += w * img.data[i + 1];
            b += w * img.data[i + 2];
            wsum += w;
          }
        }
        const o = (oy * width + ox) * 3;
        out[o] = Math.round(r / wsum);
        out[o + 1] = Math.round(g / wsum);
        out[o + 2] = Math.round(b / wsum);
      }
    }
  } else {
    for (let oy = 0; oy < height; oy++) {
      const fy = Math.min(img.height - 1, Math.max(0, (oy + 0.5) * sy - 0.5));
      const y0 = Math.floor(fy);
      const y1 = Math.min(img.height - 1, y0 + 1);
      const ty = fy - y0;
      for (let ox = 0; ox < width; ox++) {
        const fx = Math.min(img.width - 1, Math.max(0, (ox + 0.5) * sx - 0.5));
        const x0 = Math.floor(fx);
        const x1 = Math.min(img.width - 1, x0 + 1);
        const tx = fx - x0;
        for (let c = 0; c < 3; c++) {
          const a = img.data[(y0 * img.width + x0) * 3 + c] * (1 - tx) + img.data[(y0 * img.width + x1) * 3 + c] * tx;
          const b = img.data[(y1 * img.width + x0) * 3 + c] * (1 - tx) + img.data[(y1 * img.width + x1) * 3 + c] * tx;
          out[(oy * width + ox) * 3 + c] = Math.round(a * (1 - ty) + b * ty);
        }
      }
    }
  }
  return { height, width, data: out };
}

/** Decodes and resizes in one call (the model's view of a step). */
export function decodeResized(bytes: Uint8Array, height: number, width: number): RgbImage {
  return resizeRgb(decodeJpeg(bytes), height, width);
}
