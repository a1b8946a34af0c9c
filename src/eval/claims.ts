/**
 * The paper's claims as tests on measured numbers (issue 16): each claim is a per-seed quantity that is ≥ 0 when the
 * claim holds (e.g. GPLA's semantic accuracy − 0.8 × Supervised's), its mean over seeds, a 95% t-interval of that
 * mean, and a verdict by one stated rule:
 *
 *   holds           — the whole 95% interval lies at or above 0;
 *   does not hold   — the whole interval lies below 0;
 *   inconclusive    — the interval contains 0, or there are fewer than two seeds (no interval).
 *
 * The t-interval (not the bootstrap of seeds.ts) because with 2–5 seeds a percentile bootstrap cannot be wider than
 * the values' range and would call a claim settled on too little evidence. Quantities are paired within a seed (the
 * same data, boards and grounding model for both conditions), which is what makes seed-to-seed noise cancel.
 */

/** A seed's result rows (condition → metric → value) and its retrieval rows, as summary.json holds them. */
export interface ClaimSeed {
  seed: number;
  results: Record<string, Record<string, number | undefined>>;
  retrieval: { model: string; perturbation: string; trajToText: Record<string, number>; textToTraj: Record<string, number>; trajToTextSemantic?: Record<string, number> }[];
}

export interface ClaimDefinition {
  id: string;
  /** The claim in the paper's words, or ours where we test beyond it. */
  claim: string;
  source: string;
  /** What is computed per seed (the verdict's quantity, ≥ 0 when the claim holds). */
  quantity: string;
  /** The per-seed quantity, or undefined when an input is missing in that seed. */
  value(s: ClaimSeed): number | undefined;
  /** The measured inputs of one seed, for the table's "measured" column. */
  measured(s: ClaimSeed): Record<string, number | undefined>;
}

export type Verdict = 'holds' | 'does not hold' | 'inconclusive';

export interface ClaimRow {
  id: string;
  claim: string;
  source: string;
  quantity: string;
  seeds: number;
  mean: number;
  ci95Lo: number;
  ci95Hi: number;
  /** Inputs averaged over seeds, "name=value" joined by "; ". */
  measured: string;
  rule: string;
  verdict: Verdict;
}

export const CLAIM_RULE = 'holds if the 95% t-interval of the per-seed quantity is ≥ 0; does not hold if it is < 0; else (or < 2 seeds) inconclusive';

const GPLA = 'GPLA (action-conditioned)';
const SUP = 'Supervised';
const SUP_GPLA = 'Supervised + GPLA (action-conditioned)';
const GPLA_VISION = 'GPLA (vision-only grounding)';

const metric = (s: ClaimSeed, cond: string, m: string): number | undefined => {
  const v = s.results[cond]?.[m];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};
/** Trajectory→text recall@k: semantic (a retrieved text naming the same block and target counts) where recorded. */
const recall = (s: ClaimSeed, model: string, perturbation: string, key: string): number | undefined => {
  const r = s.retrieval.find((x) => x.model === model && x.perturbation === perturbation);
  const v = (r?.trajToTextSemantic ?? r?.trajToText)?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};
const diff = (a: number | undefined, b: number | undefined, k = 1) => (a === undefined || b === undefined ? undefined : a - k * b);

/** A ≥ k·B between two conditions on one metric. */
const atLeast = (id: string, claim: string, source: string, a: string, b: string, m: string, k: number): ClaimDefinition => ({
  id, claim, source,
  quantity: `${a} ${m} − ${k === 1 ? '' : `${k} × `}${b} ${m}`,
  value: (s) => diff(metric(s, a, m), metric(s, b, m), k),
  measured: (s) => ({ [`${a} ${m}`]: metric(s, a, m), [`${b} ${m}`]: metric(s, b, m) }),
});

export const CLAIMS: ClaimDefinition[] = [
  atLeast('gpla-semantic', 'GPLA without labels is comparable to fully supervised fine-tuning (sub-task correctness)', 'abstract; §4', GPLA, SUP, 'semanticAccuracy', 0.8),
  atLeast('gpla-grounding', 'GPLA without labels is comparable to fully supervised fine-tuning (grounding)', 'abstract; §4', GPLA, SUP, 'groundingScore', 0.9),
  atLeast('sup-gpla-semantic', 'Supervised + GPLA writes sub-tasks at least as correct as Supervised', 'Table 2; §4', SUP_GPLA, SUP, 'semanticAccuracy', 1),
  atLeast('sup-gpla-grounding', 'Supervised + GPLA writes more grounded sub-tasks than Supervised', 'Table 2; §4', SUP_GPLA, SUP, 'groundingScore', 1),
  atLeast('sup-gpla-execution', 'Supervised + GPLA completes long-horizon goals at least as often as Supervised (learned policy)', '§4 (execution)', SUP_GPLA, SUP, 'policyLongHorizonSuccess', 1),
  atLeast('action-vs-vision', 'Conditioning the grounding model on actions is what makes GPLA work (vs vision-only grounding)', '§3; ablation', GPLA, GPLA_VISION, 'semanticAccuracy', 1),
  {
    id: 'grounding-reads-actions', claim: 'The grounding model uses the actions: retrieval falls when trajectories are shuffled across samples', source: '§3 (ours: the test)',
    quantity: 'action model trajectory→text R@5 (semantic where recorded), true − shuffled trajectories',
    value: (s) => diff(recall(s, 'action', 'none', '5'), recall(s, 'action', 'shuffled', '5')),
    measured: (s) => ({ 'R@5 true': recall(s, 'action', 'none', '5'), 'R@5 shuffled': recall(s, 'action', 'shuffled', '5') }),
  },
  {
    id: 'score-tracks-correctness', claim: 'The grounding score ranks correct candidates above wrong ones (beyond the paper)', source: 'ours',
    quantity: `AUROC of grounding score vs "names the right block and target" over ${GPLA}'s scored candidates − 0.5`,
    value: (s) => diff(metric(s, GPLA, 'preferenceAuroc'), 0.5),
    measured: (s) => ({ AUROC: metric(s, GPLA, 'preferenceAuroc'), 'chosen wrong share': metric(s, GPLA, 'preferenceChosenWrong') }),
  },
];

/** Two-sided 97.5% quantiles of Student's t for 1…30 degrees of freedom (normal beyond). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean and 95% t-interval of the mean (NaN bounds with fewer than two values). */
export function tInterval(xs: number[]): { mean: number; lo: number; hi: number } {
  const n = xs.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, lo: NaN, hi: NaN };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const h = (T975[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { mean, lo: mean - h, hi: mean + h };
}

export function verdict(lo: number, hi: number): Verdict {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return 'inconclusive';
  if (lo >= 0) return 'holds';
  if (hi < 0) return 'does not hold';
  return 'inconclusive';
}

const fmt = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : (Math.round(v * 1000) / 1000).toString());

/** Evaluates every claim over the seeds; a claim whose inputs are missing in some seed uses the seeds that have them. */
export function evaluateClaims(seeds: ClaimSeed[], claims: ClaimDefinition[] = CLAIMS): ClaimRow[] {
  return claims.map((c) => {
    const values = seeds.map((s) => c.value(s)).filter((v): v is number => v !== undefined);
    const t = tInterval(values);
    const inputs: Record<string, number[]> = {};
    for (const s of seeds) for (const [k, v] of Object.entries(c.measured(s))) if (v !== undefined) (inputs[k] ??= []).push(v);
    const measured = Object.entries(inputs).map(([k, vs]) => `${k}=${fmt(vs.reduce((a, b) => a + b, 0) / vs.length)}`).join('; ');
    return {
      id: c.id, claim: c.claim, source: c.source, quantity: c.quantity, seeds: values.length,
      mean: t.mean, ci95Lo: t.lo, ci95Hi: t.hi, measured, rule: CLAIM_RULE, verdict: verdict(t.lo, t.hi),
    };
  });
}

/** The claims as a Markdown table (for the terminal and the README). */
export function claimsMarkdown(rows: ClaimRow[]): string {
  const head = '| claim | quantity (≥ 0 when it holds) | seeds | mean [95% CI] | measured (means) | verdict |\n|---|---|---|---|---|---|';
  const body = rows.map((r) => `| ${r.claim} | ${r.quantity} | ${r.seeds} | ${fmt(r.mean)} [${fmt(r.ci95Lo)}, ${fmt(r.ci95Hi)}] | ${r.measured} | **${r.verdict}** |`);
  return [head, ...body].join('\n');
}
