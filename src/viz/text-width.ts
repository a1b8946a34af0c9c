/**
 * Text widths for vega's layout in Node. Without node-canvas vega guesses 0.8 em per character, about 40% wider
 * than DejaVu Sans really is, so legends truncate early and axis titles reserve space they do not use. Here the
 * advance widths come from the font file itself (TrueType 'cmap' format 4, 'hmtx', 'head', 'hhea'), which is what
 * resvg then draws with; kerning is ignored (a fraction of a pixel per pair). vega-scenegraph documents replacing
 * `textMetrics.width` for exactly this (vl-convert does the same).
 */
import * as fs from 'node:fs';

/** Where distributions put DejaVu Sans (Debian/Ubuntu, Fedora, Arch, macOS with Homebrew fonts). */
const FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/dejavu', '/usr/share/fonts/TTF', '/usr/share/fonts/dejavu-sans-fonts', '/Library/Fonts'];

/** Advance width (in em) of each BMP code point, read from a TrueType file; null if the file is not usable. */
export function readAdvanceWidths(file: string): ((codePoint: number) => number) | null {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return null;
  }
  const tables = new Map<string, number>();
  const numTables = buf.readUInt16BE(4);
  for (let i = 0; i < numTables; i++) tables.set(buf.toString('latin1', 12 + 16 * i, 16 + 16 * i), buf.readUInt32BE(20 + 16 * i));
  const [head, hhea, hmtx, cmap] = ['head', 'hhea', 'hmtx', 'cmap'].map((t) => tables.get(t));
  if (head === undefined || hhea === undefined || hmtx === undefined || cmap === undefined) return null;
  const unitsPerEm = buf.readUInt16BE(head + 18);
  const numberOfHMetrics = buf.readUInt16BE(hhea + 34);
  let sub = -1;
  for (let i = 0; i < buf.readUInt16BE(cmap + 2); i++) {
    const platform = buf.readUInt16BE(cmap + 4 + 8 * i);
    const encoding = buf.readUInt16BE(cmap + 6 + 8 * i);
    const at = cmap + buf.readUInt32BE(cmap + 8 + 8 * i);
    // Windows Unicode BMP (3, 1) or Unicode (0, *), in format 4.
    if (((platform === 3 && encoding === 1) || platform === 0) && buf.readUInt16BE(at) === 4) {
      sub = at;
      break;
    }
  }
  if (sub < 0) return null;
  const segCount = buf.readUInt16BE(sub + 6) / 2;
  const endCodes = sub + 14;
  const startCodes = endCodes + 2 * segCount + 2;
  const idDeltas = startCodes + 2 * segCount;
  const idRangeOffsets = idDeltas + 2 * segCount;
  const glyphOf = (c: number): number => {
    for (let i = 0; i < segCount; i++) {
      if (buf.readUInt16BE(endCodes + 2 * i) < c) continue;
      const start = buf.readUInt16BE(startCodes + 2 * i);
      if (start > c) return 0;
      const delta = buf.readInt16BE(idDeltas + 2 * i);
      const ro = buf.readUInt16BE(idRangeOffsets + 2 * i);
      if (ro === 0) return (c + delta) & 0xffff;
      const g = buf.readUInt16BE(idRangeOffsets + 2 * i + ro + 2 * (c - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
  const cache = new Map<number, number>();
  return (c: number) => {
    let w = cache.get(c);
    if (w === undefined) {
      const g = Math.min(glyphOf(c), numberOfHMetrics - 1);
      w = buf.readUInt16BE(hmtx + 4 * g) / unitsPerEm;
      cache.set(c, w);
    }
    return w;
  };
}

type Advance = (codePoint: number) => number;
let fonts: { regular: Advance | null; bold: Advance | null } | null = null;

function load(): { regular: Advance | null; bold: Advance | null } {
  if (!fonts) {
    const find = (name: string) => {
      for (const d of FONT_DIRS) {
        const f = readAdvanceWidths(`${d}/${name}`);
        if (f) return f;
      }
      return null;
    };
    fonts = { regular: find('DejaVuSans.ttf'), bold: find('DejaVuSans-Bold.ttf') };
  }
  return fonts;
}

/** True when the DejaVu Sans file was found (otherwise widths fall back to 0.6 em per character). */
export function haveFontMetrics(): boolean {
  return load().regular !== null;
}

/** Width in px of `text` at `fontSize` px in DejaVu Sans (bold when asked). */
export function textWidth(text: string, fontSize: number, bold = false): number {
  const f = load();
  const adv = (bold ? f.bold : null) ?? f.regular;
  if (!adv) return 0.6 * fontSize * text.length;
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    w += c > 0xffff ? 1 : adv(c);
  }
  return w * fontSize;
}

interface TextItem {
  fontSize?: number | string;
  fontWeight?: number | string;
  limit?: number;
}

/** A replacement for vega's `textMetrics.width(item, text)`. */
export function vegaTextWidth(item: TextItem, text: unknown): number {
  const s = text == null ? '' : String(text).trim();
  const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
  const w = textWidth(s, size, bold);
  // vega truncates labels to `limit` px (with an ellipsis) before drawing them.
  return item.limit && item.limit > 0 ? Math.min(w, item.limit) : w;
}
