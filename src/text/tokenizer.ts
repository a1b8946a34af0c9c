/**
 * A word-level tokenizer trained on the dataset's instruction text, saved with each run as JSON.
 *
 * Why not a library: no tokenizer package that trains in Node installs here without native downloads, and the
 * LanguageTable instructions are templated English with a vocabulary of a few hundred words, for which a word-level
 * vocabulary is exact and keeps sequences short (8–16 tokens). Text is lower-cased and split into words and
 * punctuation; words not seen in training fall back to <unk> (and are counted by `coverage`).
 */
import * as fs from 'node:fs';

export const SPECIALS = ['<pad>', '<bos>', '<eos>', '<unk>', '<sep>'] as const;
export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
export const UNK = 3;
export const SEP = 4;

export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
}

export class Tokenizer {
  readonly index: Map<string, number>;
  constructor(readonly vocab: string[]) {
    SPECIALS.forEach((s, i) => {
      if (vocab[i] !== s) throw new Error(`tokenizer: vocabulary must start with ${SPECIALS.join(', ')} (position ${i} is "${vocab[i]}")`);
    });
    this.index = new Map(vocab.map((w, i) => [w, i]));
  }

  static train(texts: Iterable<string>, minCount = 1): Tokenizer {
    const counts = new Map<string, number>();
    for (const t of texts) for (const w of splitWords(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const words = [...counts].filter(([, c]) => c >= minCount).map(([w]) => w).sort();
    return new Tokenizer([...SPECIALS, ...words]);
  }

  get size(): number {
    return this.vocab.length;
  }

  encode(text: string): number[] {
    return splitWords(text).map((w) => this.index.get(w) ?? UNK);
  }

  /** Joins words with spaces; punctuation attaches to the previous word. Stops at <eos>, drops other specials. */
  decode(ids: number[]): string {
    let out = '';
    for (const id of ids) {
      if (id === EOS) break;
      if (id < SPECIALS.length) continue;
      const w = this.vocab[id] ?? '<unk>';
      out += out && /^[a-z0-9<]/.test(w) ? ` ${w}` : w;
    }
    return out;
  }

  /** Share of words of `texts` that are in the vocabulary. */
  coverage(texts: string[]): number {
    let known = 0;
    let total = 0;
    for (const t of texts) for (const w of splitWords(t)) {
      total++;
      known += +this.index.has(w);
    }
    return total ? known / total : 1;
  }

  toJSON(): { type: 'word'; vocab: string[] } {
    return { type: 'word', vocab: this.vocab };
  }

  save(file: string): void {
    fs.writeFileSync(file, JSON.stringify(this.toJSON()));
  }

  static load(file: string): Tokenizer {
    const o = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (o.type !== 'word' || !Array.isArray(o.vocab)) throw new Error(`${file}: not a gpla word tokenizer (expected {type: "word", vocab: [...]})`);
    return new Tokenizer(o.vocab);
  }
}

/** Token id rows padded to a fixed length, with a 0/1 mask; `align` puts padding on the right or the left. */
export function padRows(rows: number[][], length: number, align: 'right' | 'left' = 'right'): { ids: Int32Array; mask: Float32Array } {
  const ids = new Int32Array(rows.length * length);
  const mask = new Float32Array(rows.length * length);
  rows.forEach((r, b) => {
    const row = r.slice(0, length);
    const off = align === 'right' ? 0 : length - row.length;
    row.forEach((id, i) => {
      ids[b * length + off + i] = id;
      mask[b * length + off + i] = 1;
    });
  });
  return { ids, mask };
}
