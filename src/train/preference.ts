/**
 * Preference pairs without human labels (GPLA §3): for each sample the planner proposes K candidate sub-tasks, the
 * frozen grounding model scores each against the sample's image and recorded trajectory, and the best and the worst
 * candidate become (chosen, rejected). Pairs whose scores are tied (or closer than `minMargin`) carry no preference
 * and are dropped; so are samples whose candidates are all the same text.
 */

export interface ScoredCandidate {
  text: string;
  score: number;
}

export interface PreferencePair {
  /** Index of the training sample the pair belongs to. */
  sample: number;
  chosen: ScoredCandidate;
  rejected: ScoredCandidate;
  margin: number;
}

export interface PairingOptions {
  /** Minimum chosen − rejected score for a pair to be kept (0 keeps every non-tie). */
  minMargin: number;
  /** Scores closer than this count as a tie (float noise of the cosine). */
  tieEpsilon: number;
}

export const DEFAULT_PAIRING: PairingOptions = { minMargin: 0, tieEpsilon: 1e-6 };

export interface PairingResult {
  pairs: PreferencePair[];
  /** Samples dropped because best and worst tied (including all-identical candidates). */
  ties: number;
  /** Samples dropped because the margin was below minMargin (but not a tie). */
  belowMargin: number;
  /** Samples with fewer than two candidates. */
  tooFew: number;
}

/** Best-vs-worst pairs from scored candidates, one list per sample (order = sample index). */
export function buildPreferencePairs(candidates: ScoredCandidate[][], options: Partial<PairingOptions> = {}): PairingResult {
  const opt = { ...DEFAULT_PAIRING, ...options };
  const result: PairingResult = { pairs: [], ties: 0, belowMargin: 0, tooFew: 0 };
  candidates.forEach((list, sample) => {
    if (list.length < 2) {
      result.tooFew++;
      return;
    }
    for (const c of list) {
      if (!Number.isFinite(c.score)) throw new Error(`preference pairs: sample ${sample}: candidate "${c.text}" has non-finite score ${c.score}`);
    }
    // Stable choice among equal scores: the first best and the last worst, so results do not depend on sort internals.
    let best = list[0];
    let worst = list[0];
    for (const c of list) {
      if (c.score > best.score) best = c;
      if (c.score <= worst.score) worst = c;
    }
    const margin = best.score - worst.score;
    if (best.text === worst.text || margin <= opt.tieEpsilon) {
      result.ties++;
      return;
    }
    if (margin < opt.minMargin) {
      result.belowMargin++;
      return;
    }
    result.pairs.push({ sample, chosen: best, rejected: worst, margin });
  });
  return result;
}

/**
 * Area under the ROC curve of scores against binary labels: the probability that a random positive scores above a
 * random negative (ties count ½), by the rank-sum formula. NaN when either class is empty.
 */
export function auroc(scores: number[], positive: boolean[]): number {
  if (scores.length !== positive.length) throw new Error(`auroc: ${scores.length} scores but ${positive.length} labels`);
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    for (let k = i; k <= j; k++) ranks[idx[k]] = (i + j) / 2 + 1; // average rank of a tie group, 1-based
    i = j + 1;
  }
  const nPos = positive.filter(Boolean).length;
  const nNeg = positive.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  const rankSum = positive.reduce((a, p, i) => a + (p ? ranks[i] : 0), 0);
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * How far the preference signal agrees with correctness, measured with labels the loop itself never sees (issue 16):
 * `correct[i][k]` says whether candidate k of sample i names the right sub-task.
 */
export interface PreferenceDiagnostics {
  /** Share of candidates that are correct. */
  correctShare: number;
  /** Share of samples with at least one correct candidate (what best-of-K can pick at most). */
  rightAvailableShare: number;
  /** Over kept pairs: the chosen is correct / the chosen is wrong / the rejected is correct. */
  chosenCorrectShare: number;
  chosenWrongShare: number;
  rejectedCorrectShare: number;
  /** AUROC of the grounding score against correctness over every scored candidate. */
  auroc: number;
}

export function preferenceDiagnostics(candidates: ScoredCandidate[][], pairs: PreferencePair[], correct: boolean[][]): PreferenceDiagnostics {
  if (correct.length !== candidates.length) throw new Error(`preference diagnostics: ${candidates.length} samples but ${correct.length} correctness lists`);
  const isRight = (sample: number, text: string) => candidates[sample].some((c, k) => c.text === text && correct[sample][k]);
  const share = (xs: boolean[]) => (xs.length ? xs.filter(Boolean).length / xs.length : NaN);
  const flatCorrect = correct.flat();
  return {
    correctShare: share(flatCorrect),
    rightAvailableShare: share(correct.map((c) => c.some(Boolean))),
    chosenCorrectShare: share(pairs.map((p) => isRight(p.sample, p.chosen.text))),
    chosenWrongShare: share(pairs.map((p) => !isRight(p.sample, p.chosen.text))),
    rejectedCorrectShare: share(pairs.map((p) => isRight(p.sample, p.rejected.text))),
    auroc: auroc(candidates.flat().map((c) => c.score), flatCorrect),
  };
}
