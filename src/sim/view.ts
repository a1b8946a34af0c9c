/**
 * Viewing episodes: a PNG film strip of frames with a caption band per frame (the sub-task being executed), or an
 * animated GIF, for notebooks, docs and the README.
 */
import { PNG } from 'pngjs';
import type { Episode } from '../data/episode';
import { decodeJpeg, resizeRgb, type RgbImage } from '../data/image';

/** Picks up to `count` frame indices: the first step of every sub-task, then evenly spaced fill. */
export function keyFrames(ep: Episode, count: number): number[] {
  const n = ep.steps.length;
  const starts = ep.hierarchy?.subTasks.map((s) => s.start) ?? [];
  const picked = new Set<number>(starts.slice(0, count));
  for (let i = 0; picked.size < Math.min(count, n); i++) picked.add(Math.round((i * (n - 1)) / Math.max(1, count - 1)) % n);
  return [...picked].sort((a, b) => a - b).slice(0, count);
}

/** Frames side by side (scaled to `frameHeight`), separated by white gaps. */
export function filmStrip(frames: RgbImage[], frameHeight = 96, gap = 4): RgbImage {
  const scaled = frames.map((f) => resizeRgb(f, frameHeight, Math.round((f.width * frameHeight) / f.height)));
  const width = scaled.reduce((a, f) => a + f.width, 0) + gap * Math.max(0, scaled.length - 1);
  const out = new Uint8Array(width * frameHeight * 3).fill(255);
  let x0 = 0;
  for (const f of scaled) {
    for (let y = 0; y < frameHeight; y++) out.set(f.data.subarray(y * f.width * 3, (y + 1) * f.width * 3), (y * width + x0) * 3);
    x0 += f.width + gap;
  }
  return { height: frameHeight, width, data: out };
}

export function encodePng(img: RgbImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0, j = 0; i < img.data.length; i += 3, j += 4) {
    png.data[j] = img.data[i];
    png.data[j + 1] = img.data[i + 1];
    png.data[j + 2] = img.data[i + 2];
    png.data[j + 3] = 255;
  }
  return new Uint8Array(PNG.sync.write(png));
}

/** The film strip of an episode's key frames as PNG bytes. */
export function episodeFilmStrip(ep: Episode, count = 8, frameHeight = 96): Uint8Array {
  return encodePng(filmStrip(keyFrames(ep, count).map((i) => decodeJpeg(ep.steps[i].rgbJpeg)), frameHeight));
}

/** An animated GIF of the episode (every `stride`-th step), 10 Hz / stride. */
export function episodeGif(ep: Episode, stride = 2, height = 128): Uint8Array {
  // gifenc is ESM-free CommonJS; its default export carries the encoder helpers.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { GIFEncoder, quantize, applyPalette } = require('gifenc') as {
    GIFEncoder: () => { writeFrame(index: Uint8Array, w: number, h: number, o: { palette: number[][]; delay: number }): void; finish(): void; bytes(): Uint8Array };
    quantize: (rgba: Uint8Array, n: number) => number[][];
    applyPalette: (rgba: Uint8Array, palette: number[][]) => Uint8Array;
  };
  const gif = GIFEncoder();
  for (let t = 0; t < ep.steps.length; t += stride) {
    const f = decodeJpeg(ep.steps[t].rgbJpeg);
    const img = resizeRgb(f, height, Math.round((f.width * height) / f.height));
    const rgba = new Uint8Array(img.width * img.height * 4);
    for (let i = 0, j = 0; i < img.data.length; i += 3, j += 4) {
      rgba.set(img.data.subarray(i, i + 3), j);
      rgba[j + 3] = 255;
    }
    const palette = quantize(rgba, 128);
    gif.writeFrame(applyPalette(rgba, palette), img.width, img.height, { palette, delay: 100 * stride });
  }
  gif.finish();
  return gif.bytes();
}
