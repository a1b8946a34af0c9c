/**
 * Text metrics between generated and ground-truth sub-tasks. Every metric reads the same tokenisation
 * (`tokenize`: lower-case, split on anything that is not a letter or a digit), so punctuation and case never count.
 *
 * - BLEU (Papineni et al. 2002): clipped ("modified") n-gram precisions pooled over the corpus, their geometric mean
 *   with uniform weights, times the brevity penalty exp(1 − r/c) when the candidates are shorter than the references
 *   (r: per candidate, the reference length closest to the candidate's, ties → the shorter, as NLTK and multi-bleu).
 *   Smoothing for zero counts (Chen & Cherry 2014 give the catalogue):
 *     'none'     no smoothing; any order with no match gives BLEU 0 (NLTK's default).
 *     'method1'  Chen & Cherry's method 1 = NLTK `SmoothingFunction().method1`: an order with 0 matches gets ε / total
 *                (ε = 0.1) instead of 0.
 *     'add-one'  Lin & Och 2004 (ORANGE, "BLEU+1") = NLTK `method2`: for n ≥ 2, (matches + 1) / (total + 1).
 *   Like NLTK, BLEU is 0 when no unigram matches at all, and an order with no candidate n-gram anywhere in the corpus
 *   (every candidate shorter than n) has total 1 rather than 0 (NLTK's max(1, ·)), so sentence BLEU of a short
 *   candidate is defined under smoothing. Pooling is otherwise Papineni's: the corpus total is the number of
 *   candidate n-grams (NLTK adds 1 per candidate shorter than n; the two differ only in that corner).
 * - ROUGE-L (Lin 2004): LCS-based F-measure F = (1 + β²)·P·R / (R + β²·P), P = LCS/|candidate|, R = LCS/|reference|;
 *   with several references P and R are each the maximum over references and β = 1.2, as pycocoevalcap's `Rouge`.
 * - CIDEr-D (Vedantam et al. 2015), as pycocoevalcap's `cider_scorer.py`: per order n = 1..4 a TF-IDF vector
 *   tf·(log D − log max(1, df)) where D is the number of samples and df counts the samples whose references hold the
 *   n-gram; candidate weights are clipped by the reference's (min), cosine-normalised, multiplied by the Gaussian
 *   length penalty exp(−(ℓ_c − ℓ_r)² / 2σ²) with σ = 6; averaged over references and orders, ×10, then averaged over
 *   the corpus. The document frequencies come from the corpus passed in, so CIDEr-D of a single sample is 0 (log 1).
 * - Exact match: the token sequences are equal (so case, punctuation and spacing are ignored) for any reference.
 */

/** The tokenizer every metric uses: lower-case, split on non-alphanumerics (Unicode letters and digits kept). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Former name of `tokenize`. */
export const words = tokenize;

function ngramCounts(ws: string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  // \u0001 cannot appear inside a token, so joined keys are unambiguous.
  for (let i = 0; i + n <= ws.length; i++) {
    const k = ws.slice(i, i + n).join('\u0001');
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

function checkCorpus(metric: string, candidates: string[], references: string[][]): void {
  if (candidates.length !== references.length) {
    throw new Error(`${metric}: ${candidates.length} candidates but ${references.length} reference lists (one list per candidate expected)`);
  }
  references.forEach((refs, i) => {
    if (!Array.isArray(refs) || refs.length === 0) throw new Error(`${metric}: candidate ${i} has no reference (at least one expected)`);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// BLEU

export type BleuSmoothing = 'none' | 'method1' | 'add-one';

export interface BleuOptions {
  /** Highest n-gram order (4 → BLEU-4). */
  maxN?: number;
  smoothing?: BleuSmoothing;
  /** ε of 'method1' (NLTK's default 0.1). */
  epsilon?: number;
}

export interface BleuDetail {
  bleu: number;
  /** Clipped n-gram matches and candidate n-gram totals per order, pooled over the corpus. */
  matches: number[];
  totals: number[];
  /** The precisions actually used (after smoothing). */
  precisions: number[];
  brevityPenalty: number;
  candidateLength: number;
  referenceLength: number;
}

/** Clipped n-gram matches of one candidate against its references, and the candidate's n-gram count. */
export function modifiedPrecision(candidate: string, references: string[], n: number): { matches: number; total: number } {
  const cand = ngramCounts(tokenize(candidate), n);
  const maxRef = new Map<string, number>();
  for (const r of references) for (const [k, v] of ngramCounts(tokenize(r), n)) maxRef.set(k, Math.max(maxRef.get(k) ?? 0, v));
  let matches = 0;
  let total = 0;
  for (const [k, v] of cand) {
    matches += Math.min(v, maxRef.get(k) ?? 0);
    total += v;
  }
  return { matches, total };
}

export function corpusBleuDetail(candidates: string[], references: string[][], opts: BleuOptions = {}): BleuDetail {
  checkCorpus('corpusBleu', candidates, references);
  const N = opts.maxN ?? 4;
  const smoothing = opts.smoothing ?? 'none';
  const eps = opts.epsilon ?? 0.1;
  if (!Number.isInteger(N) || N < 1) throw new Error(`corpusBleu: maxN must be a positive integer, got ${N}`);
  if (!['none', 'method1', 'add-one'].includes(smoothing)) throw new Error(`corpusBleu: smoothing must be none | method1 | add-one, got "${smoothing}"`);
  const matches = new Array<number>(N).fill(0);
  const totals = new Array<number>(N).fill(0);
  let c = 0;
  let r = 0;
  candidates.forEach((cand, i) => {
    const cl = tokenize(cand).length;
    c += cl;
    // Closest reference length; ties go to the shorter (NLTK `closest_ref_length`).
    let best = Infinity;
    for (const ref of references[i]) {
      const l = tokenize(ref).length;
      if (Math.abs(l - cl) < Math.abs(best - cl) || (Math.abs(l - cl) === Math.abs(best - cl) && l < best)) best = l;
    }
    r += best;
    for (let n = 1; n <= N; n++) {
      const p = modifiedPrecision(cand, references[i], n);
      matches[n - 1] += p.matches;
      totals[n - 1] += p.total;
    }
  });
  const brevityPenalty = c === 0 ? 0 : c > r ? 1 : Math.exp(1 - r / c);
  const precisions = matches.map((m, k) => {
    const t = Math.max(1, totals[k]);
    if (smoothing === 'add-one' && k > 0) return (m + 1) / (t + 1);
    if (smoothing === 'method1' && m === 0) return eps / t;
    return m / t;
  });
  const detail = { matches, totals, precisions, brevityPenalty, candidateLength: c, referenceLength: r };
  if (c === 0 || matches[0] === 0 || precisions.some((p) => p === 0)) return { bleu: 0, ...detail };
  const logMean = precisions.reduce((a, p) => a + Math.log(p), 0) / N;
  return { bleu: brevityPenalty * Math.exp(logMean), ...detail };
}

/** Corpus BLEU (default BLEU-4, no smoothing) of candidates against one or more references each. */
export function corpusBleu(candidates: string[], references: string[][], opts: BleuOptions = {}): number {
  return corpusBleuDetail(candidates, references, opts).bleu;
}

/** BLEU of one candidate (a corpus of one: NLTK `sentence_bleu`). */
export function sentenceBleu(candidate: string, references: string[], opts: BleuOptions = {}): number {
  return corpusBleu([candidate], [references], opts);
}

// ---------------------------------------------------------------------------------------------------------------
// ROUGE-L

/** Length of the longest common subsequence of two token lists (O(|a|·|b|) time, O(|b|) memory). */
export function lcsLength(a: string[], b: string[]): number {
  const dp = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = dp[j];
      dp[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(up, dp[j - 1]);
      diag = up;
    }
  }
  return dp[b.length];
}

/** ROUGE-L F-measure of one candidate against its references (β = 1.2 as pycocoevalcap). */
export function rougeL(candidate: string, references: string[], beta = 1.2): number {
  if (references.length === 0) throw new Error('rougeL: no reference (at least one expected)');
  if (!(beta > 0)) throw new Error(`rougeL: beta must be > 0, got ${beta}`);
  const c = tokenize(candidate);
  let p = 0;
  let r = 0;
  for (const ref of references.map(tokenize)) {
    const l = lcsLength(c, ref);
    if (c.length) p = Math.max(p, l / c.length);
    if (ref.length) r = Math.max(r, l / ref.length);
  }
  if (p === 0 || r === 0) return 0;
  const b2 = beta * beta;
  return ((1 + b2) * p * r) / (r + b2 * p);
}

/** Mean sentence ROUGE-L over a corpus (how pycocoevalcap reports it). */
export function meanRougeL(candidates: string[], references: string[][], beta = 1.2): number {
  checkCorpus('meanRougeL', candidates, references);
  return candidates.length ? candidates.reduce((a, c, i) => a + rougeL(c, references[i], beta), 0) / candidates.length : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// CIDEr-D

export interface CiderOptions {
  /** Width of the Gaussian length penalty (6 in CIDEr-D). */
  sigma?: number;
  /** Highest n-gram order (4). */
  maxN?: number;
}

/** CIDEr-D of every candidate (document frequencies from this corpus's references). */
export function ciderDScores(candidates: string[], references: string[][], opts: CiderOptions | number = {}): number[] {
  checkCorpus('ciderD', candidates, references);
  const { sigma = 6, maxN: N = 4 } = typeof opts === 'number' ? { sigma: opts } : opts;
  const gramsOf = (ws: string[]) => Array.from({ length: N }, (_, n) => ngramCounts(ws, n + 1));
  const refToks = references.map((refs) => refs.map(tokenize));
  const refGrams = refToks.map((refs) => refs.map(gramsOf));
  // df: in how many samples (images, in COCO) some reference holds the n-gram.
  const df = new Map<string, number>();
  for (const refs of refGrams) {
    const seen = new Set<string>();
    for (const g of refs) for (const order of g) for (const k of order.keys()) seen.add(k);
    for (const k of seen) df.set(k, (df.get(k) ?? 0) + 1);
  }
  const logD = Math.log(candidates.length);
  const tfidf = (g: Map<string, number>[]) =>
    g.map((order) => {
      const v = new Map<string, number>();
      let sq = 0;
      for (const [k, tf] of order) {
        const w = tf * (logD - Math.log(Math.max(1, df.get(k) ?? 0)));
        v.set(k, w);
        sq += w * w;
      }
      return { v, norm: Math.sqrt(sq) };
    });
  const twoSigma2 = 2 * sigma * sigma;
  return candidates.map((cand, i) => {
    const cw = tokenize(cand);
    const cv = tfidf(gramsOf(cw));
    let total = 0;
    refGrams[i].forEach((rg, j) => {
      const rv = tfidf(rg);
      const delta = cw.length - refToks[i][j].length;
      const penalty = Math.exp(-(delta * delta) / twoSigma2);
      for (let n = 0; n < N; n++) {
        let dot = 0;
        // Clipping the candidate's weight by the reference's (the "-D") stops repeated n-grams from gaining score.
        for (const [k, x] of cv[n].v) {
          const y = rv[n].v.get(k);
          if (y !== undefined) dot += Math.min(x, y) * y;
        }
        const denom = cv[n].norm * rv[n].norm;
        total += (denom > 0 ? dot / denom : 0) * penalty;
      }
    });
    return (10 * total) / N / refGrams[i].length;
  });
}

/** Corpus CIDEr-D: the mean of the per-candidate scores. */
export function ciderD(candidates: string[], references: string[][], opts: CiderOptions | number = {}): number {
  const s = ciderDScores(candidates, references, opts);
  return s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Exact match, and all metrics at once

/** The normal form exact match compares: tokens joined by single spaces. */
export function normalizeText(text: string): string {
  return tokenize(text).join(' ');
}

/** Share of candidates equal (after normalisation) to at least one of their references. */
export function exactMatch(candidates: string[], references: string[][]): number {
  checkCorpus('exactMatch', candidates, references);
  if (candidates.length === 0) return 0;
  return candidates.filter((c, i) => references[i].some((r) => normalizeText(r) === normalizeText(c))).length / candidates.length;
}

export interface TextMetrics {
  bleu4: number;
  rougeL: number;
  ciderD: number;
  exactMatch: number;
}

/** The four corpus metrics the result tables report (BLEU-4 with method1 smoothing). */
export function textMetrics(candidates: string[], references: string[][], bleu: BleuOptions = { smoothing: 'method1' }): TextMetrics {
  return {
    bleu4: corpusBleu(candidates, references, bleu),
    rougeL: meanRougeL(candidates, references),
    ciderD: ciderD(candidates, references),
    exactMatch: exactMatch(candidates, references),
  };
}
