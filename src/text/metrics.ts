/**
 * Text metrics between generated and ground-truth sub-tasks, on one tokenisation (lower-case words, punctuation
 * dropped): corpus BLEU-4 (Papineni et al. 2002: clipped n-gram precisions, geometric mean, brevity penalty; optional
 * smoothing "method1" of Chen & Cherry 2014: ε = 0.1 added to zero n-gram matches), ROUGE-L F-measure (Lin 2004;
 * β = 1.2 as in pycocoevalcap), CIDEr-D (Vedantam et al. 2015: TF-IDF n-gram vectors n = 1..4 with document
 * frequencies from the references, clipped candidate counts, Gaussian length penalty σ = 6, ×10), exact match.
 */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

function ngrams(ws: string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= ws.length; i++) {
    const k = ws.slice(i, i + n).join(' ');
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Corpus BLEU-4 over candidates and one or more references each. */
export function corpusBleu(candidates: string[], references: string[][], opts: { smoothing?: 'none' | 'method1'; maxN?: number } = {}): number {
  const N = opts.maxN ?? 4;
  const matches = new Array(N).fill(0);
  const totals = new Array(N).fill(0);
  let candLen = 0;
  let refLen = 0;
  candidates.forEach((c, i) => {
    const cw = words(c);
    const refs = references[i].map(words);
    candLen += cw.length;
    // Closest reference length (ties → shorter), as in the reference implementations.
    refLen += refs.map((r) => r.length).reduce((best, l) => (Math.abs(l - cw.length) < Math.abs(best - cw.length) || (Math.abs(l - cw.length) === Math.abs(best - cw.length) && l < best) ? l : best), Infinity);
    for (let n = 1; n <= N; n++) {
      const cg = ngrams(cw, n);
      const maxRef = new Map<string, number>();
      for (const r of refs) for (const [k, v] of ngrams(r, n)) maxRef.set(k, Math.max(maxRef.get(k) ?? 0, v));
      for (const [k, v] of cg) matches[n - 1] += Math.min(v, maxRef.get(k) ?? 0);
      totals[n - 1] += Math.max(0, cw.length - n + 1);
    }
  });
  if (candLen === 0) return 0;
  let logP = 0;
  for (let n = 0; n < N; n++) {
    let m = matches[n];
    if (m === 0) {
      if (opts.smoothing !== 'method1' || totals[n] === 0) return 0;
      m = 0.1;
    }
    logP += Math.log(m / totals[n]) / N;
  }
  const bp = candLen > refLen ? 1 : Math.exp(1 - refLen / candLen);
  return bp * Math.exp(logP);
}

function lcs(a: string[], b: string[]): number {
  const dp = new Array(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let prev = 0;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = a[i - 1] === b[j - 1] ? prev + 1 : Math.max(dp[j], dp[j - 1]);
      prev = tmp;
    }
  }
  return dp[b.length];
}

/** ROUGE-L F of one candidate against references (max precision and max recall over references, pycocoevalcap). */
export function rougeL(candidate: string, references: string[], beta = 1.2): number {
  const c = words(candidate);
  let p = 0;
  let r = 0;
  for (const ref of references.map(words)) {
    const l = lcs(c, ref);
    p = Math.max(p, c.length ? l / c.length : 0);
    r = Math.max(r, ref.length ? l / ref.length : 0);
  }
  if (p === 0 || r === 0) return 0;
  return ((1 + beta * beta) * p * r) / (r + beta * beta * p);
}

export function meanRougeL(candidates: string[], references: string[][]): number {
  return candidates.length ? candidates.reduce((a, c, i) => a + rougeL(c, references[i]), 0) / candidates.length : 0;
}

/** CIDEr-D over a corpus (document frequencies from the references of this corpus). */
export function ciderD(candidates: string[], references: string[][], sigma = 6): number {
  const N = 4;
  const refGrams = references.map((refs) => refs.map((r) => Array.from({ length: N }, (_, n) => ngrams(words(r), n + 1))));
  const df = Array.from({ length: N }, () => new Map<string, number>());
  for (const refs of refGrams) {
    for (let n = 0; n < N; n++) {
      const seen = new Set<string>();
      for (const g of refs) for (const k of g[n].keys()) seen.add(k);
      for (const k of seen) df[n].set(k, (df[n].get(k) ?? 0) + 1);
    }
  }
  const logD = Math.log(Math.max(1, references.length));
  const vec = (g: Map<string, number>, n: number) => {
    const v = new Map<string, number>();
    for (const [k, tf] of g) v.set(k, tf * (logD - Math.log(Math.max(1, df[n].get(k) ?? 0))));
    return v;
  };
  const norm = (v: Map<string, number>) => Math.sqrt([...v.values()].reduce((a, x) => a + x * x, 0));
  let total = 0;
  candidates.forEach((c, i) => {
    const cw = words(c);
    let score = 0;
    for (let n = 0; n < N; n++) {
      const cv = vec(ngrams(cw, n + 1), n);
      let s = 0;
      for (const [ri, rg] of refGrams[i].entries()) {
        const rv = vec(rg[n], n);
        let dot = 0;
        // CIDEr-D clips candidate TF-IDF by the reference's (min), which blunts repetition gaming.
        for (const [k, x] of cv) if (rv.has(k)) dot += Math.min(x, rv.get(k)!) * rv.get(k)!;
        const denom = norm(cv) * norm(rv);
        const delta = cw.length - words(references[i][ri]).length;
        s += denom > 0 ? (dot / denom) * Math.exp(-(delta * delta) / (2 * sigma * sigma)) : 0;
      }
      score += s / refGrams[i].length / N;
    }
    total += score * 10;
  });
  return candidates.length ? total / candidates.length : 0;
}

export function exactMatch(candidates: string[], references: string[][]): number {
  const norm = (s: string) => words(s).join(' ');
  return candidates.length ? candidates.filter((c, i) => references[i].some((r) => norm(r) === norm(c))).length / candidates.length : 0;
}
