import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLAIMS, claimsMarkdown, evaluateClaims, tInterval, verdict, type ClaimSeed } from '../../src/eval/claims';
import { writeRunClaims } from '../../src/experiments/claims';

const seed = (s: number, sup: number, gpla: number, supGpla: number): ClaimSeed => ({
  seed: s,
  results: {
    Supervised: { semanticAccuracy: sup, groundingScore: 0.8, policyLongHorizonSuccess: 0.4 },
    'GPLA (action-conditioned)': { semanticAccuracy: gpla, groundingScore: 0.78, preferenceAuroc: 0.7, preferenceChosenWrong: 0.2 },
    'Supervised + GPLA (action-conditioned)': { semanticAccuracy: supGpla, groundingScore: 0.85, policyLongHorizonSuccess: 0.4 },
    'GPLA (vision-only grounding)': { semanticAccuracy: 0.1 },
  },
  retrieval: [
    { model: 'action', perturbation: 'none', trajToText: { 5: 0.9 }, textToTraj: {} },
    { model: 'action', perturbation: 'shuffled', trajToText: { 5: 0.2 }, textToTraj: {} },
  ],
});

describe('eval/claims: the paper\'s claims as verdicts on per-seed quantities', () => {
  it('t-interval of the mean by hand, and the verdict rule', () => {
    // [1, 2, 3]: mean 2, sd 1, t(0.975, 2) = 4.303 → 2 ± 4.303/√3.
    const t = tInterval([1, 2, 3]);
    assert.equal(t.mean, 2);
    assert.ok(Math.abs(t.hi - (2 + 4.303 / Math.sqrt(3))) < 1e-12 && Math.abs(t.lo - (2 - 4.303 / Math.sqrt(3))) < 1e-12);
    assert.ok(Number.isNaN(tInterval([0.5]).lo), 'one seed has no interval');
    assert.equal(verdict(0, 0.2), 'holds');
    assert.equal(verdict(-0.3, -0.01), 'does not hold');
    assert.equal(verdict(-0.1, 0.2), 'inconclusive');
    assert.equal(verdict(NaN, NaN), 'inconclusive');
  });

  it('pairs the conditions within a seed: holds, does not hold, inconclusive, and one seed is never settled', () => {
    const seeds = [seed(0, 0.7, 0.6, 0.76), seed(1, 0.72, 0.62, 0.77), seed(2, 0.68, 0.59, 0.74)];
    const rows = Object.fromEntries(evaluateClaims(seeds).map((r) => [r.id, r]));
    // 0.6 − 0.8·0.7 = 0.04, 0.62 − 0.576 = 0.044, 0.59 − 0.544 = 0.046: tight and positive.
    assert.equal(rows['gpla-semantic'].verdict, 'holds');
    assert.ok(Math.abs(rows['gpla-semantic'].mean - (0.04 + 0.044 + 0.046) / 3) < 1e-12);
    assert.equal(rows['sup-gpla-semantic'].verdict, 'holds');
    assert.equal(rows['sup-gpla-execution'].verdict, 'holds', 'a zero difference is ≥ 0');
    assert.equal(rows['grounding-reads-actions'].verdict, 'holds');
    assert.equal(rows['score-tracks-correctness'].verdict, 'holds');
    assert.equal(rows['gpla-grounding'].verdict, 'holds'); // 0.78 − 0.72 > 0
    const worse = evaluateClaims([seed(0, 0.7, 0.3, 0.6), seed(1, 0.7, 0.31, 0.5), seed(2, 0.7, 0.29, 0.55)]);
    assert.equal(worse.find((r) => r.id === 'gpla-semantic')!.verdict, 'does not hold');
    const noisy = evaluateClaims([seed(0, 0.7, 0.3, 0.9), seed(1, 0.7, 0.9, 0.5)]);
    assert.equal(noisy.find((r) => r.id === 'gpla-semantic')!.verdict, 'inconclusive');
    const one = evaluateClaims([seed(0, 0.7, 0.6, 0.75)]);
    assert.ok(one.every((r) => r.verdict === 'inconclusive' && r.seeds <= 1));
    assert.equal(rows['gpla-semantic'].seeds, 3);
    assert.match(rows['gpla-semantic'].measured, /GPLA \(action-conditioned\) semanticAccuracy=0\.603/);
  });

  it('a missing input drops that seed from the claim, not the claim', () => {
    const s = seed(1, 0.7, 0.6, 0.75);
    delete s.results['GPLA (vision-only grounding)'];
    const rows = evaluateClaims([seed(0, 0.7, 0.6, 0.75), s]);
    assert.equal(rows.find((r) => r.id === 'action-vs-vision')!.seeds, 1);
    assert.equal(rows.length, CLAIMS.length);
    assert.match(claimsMarkdown(rows), /^\| claim \|/);
  });

  it('reads a --seeds folder (seed-<s>/summary.json) or a single run, writes tables/claims.csv, and names what is missing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-claims-'));
    for (const [k, v] of [[0, 0.6], [1, 0.62], [2, 0.59]] as const) {
      const s = seed(k, 0.7, v, 0.75);
      fs.mkdirSync(path.join(dir, `seed-${k}`));
      fs.writeFileSync(path.join(dir, `seed-${k}`, 'summary.json'), JSON.stringify({ conditions: s.results, retrieval: s.retrieval }));
    }
    const r = writeRunClaims(dir);
    assert.deepEqual(r.seeds, [0, 1, 2]);
    const csv = fs.readFileSync(path.join(dir, 'tables', 'claims.csv'), 'utf8');
    assert.match(csv.split('\n')[0], /^id,claim,source,quantity,seeds,mean,ci95Lo,ci95Hi,measured,verdict,rule$/);
    assert.match(csv, /gpla-semantic,.*,3,.*holds/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-claims-'));
    assert.throws(() => writeRunClaims(empty), /no summary\.json/);
    assert.throws(() => writeRunClaims(path.join(empty, 'nope')), /no such run folder/);
  });
});
