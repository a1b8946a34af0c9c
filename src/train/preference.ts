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
