/**
 * GPLA's preference iterations (offline preference learning, method.md §3):
 *
 *   repeat R times:
 *     for every training sample, sample K candidate sub-tasks from the current planner (temperature, top-p);
 *     score each candidate with the frozen grounding model against the sample's image and recorded trajectory;
 *     keep best vs worst as (chosen, rejected) — ties and small margins dropped;
 *     update the planner with SimPO on these pairs (no reference model).
 *
 * The planner and the grounding model enter through two small interfaces, so the loop is tested on a toy policy
 * whose optimum is known, and the real models plug in through adapters (src/experiments/).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { simpoLoss } from './losses';
import { logMetrics, train, type TrainConfig } from './loop';
import { buildPreferencePairs, preferenceDiagnostics, type PairingOptions, type PreferenceDiagnostics, type PreferencePair, type ScoredCandidate } from './preference';

/** What the preference loop needs from a planner. */
export interface PreferencePolicy<S> {
  params: Map<string, tf.Variable>;
  /** K sampled completions per sample (all randomness from rng). */
  sample(samples: S[], k: number, opts: { temperature: number; topP: number }, rng: Rng): string[][];
  /** Length-normalised (mean per-token) log-probability of each completion given its sample's prompt; differentiable. */
  meanLogProb(samples: S[], completions: string[]): tf.Tensor1D;
}

/** What the preference loop needs from the grounding model: a score per (sample, candidate text). */
export interface CandidateScorer<S> {
  score(samples: S[], texts: string[][]): number[][];
}

export interface SimpoConfig {
  iterations: number;
  /** Candidates sampled per sample (K). */
  candidates: number;
  temperature: number;
  topP: number;
  /** SimPO β (reference default 2.0) and γ/β (0.5 suggested as a start). */
  beta: number;
  gammaBetaRatio: number;
  pairing: Partial<PairingOptions>;
  /** Optimisation per iteration: steps over random minibatches of pairs. */
  stepsPerIteration: number;
  batchSize: number;
  peakLr: number;
  warmupSteps: number;
  clipNorm: number;
  weightDecay: number;
  /** LR at the end of each iteration's schedule, as a fraction of peakLr. */
  finalLrFraction: number;
  /**
   * Weight of an NLL term on the chosen text added to the SimPO loss (CPO's `cpo_alpha`; 0 = plain SimPO, the paper's
   * setting): keeps the planner near fluent, parseable text while the preference term moves it.
   */
  sftWeight: number;
  /**
   * Candidates the `validCandidate` check rejects (e.g. text the sub-task grammar cannot read) get the lowest score
   * before pairing, so they can be rejected but never chosen. false = the paper's plain ranking.
   */
  rejectInvalid: boolean;
  /**
   * Samples drawn afresh (without replacement, from the iteration's seed) from `samples` for each iteration's
   * candidates; undefined = all of them every iteration. The loop needs no labels, so it can see new unlabelled
   * samples every round instead of the same few again.
   */
  samplesPerIteration?: number;
}

/** Defaults of the options beyond the paper's SimPO (plain SimPO). */
export const SIMPO_EXTRAS = { finalLrFraction: 0.1, sftWeight: 0, rejectInvalid: false } as const;

export interface IterationLog {
  iteration: number;
  /** Mean grounding score of the chosen candidates (the quantity GPLA pushes up). */
  chosenScore: number;
  /** Mean grounding score of all sampled candidates (the planner's average groundedness). */
  candidateScore: number;
  /** Mean chosen − rejected score over kept pairs. */
  margin: number;
  pairs: number;
  /** Mean grounding score of the rejected candidates of kept pairs. */
  rejectedScore: number;
  /** Share of samples dropped as ties. */
  tieShare: number;
  /** Share of distinct texts among all candidates (diversity of sampling). */
  distinctShare: number;
  finalLoss: number;
  /** Candidates the validity check rejected (share of all), when `rejectInvalid` is on. */
  invalidShare: number;
  /** Correctness diagnostics, present when the caller passed a `judge` (labels the loop never uses). */
  diagnostics?: PreferenceDiagnostics;
  /** A few samples' candidates; `sample` indexes the samples the loop was given. */
  examples: { sample: number; candidates: ScoredCandidate[] }[];
}

interface IterationData {
  /** Indices into `samples` of this iteration's samples (absent: all, in order). */
  sampleIndices?: number[];
  candidates: ScoredCandidate[][];
  pairs: PreferencePair[];
  ties: number;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** `n` distinct indices of `0…total−1` drawn with `rng` (partial Fisher–Yates), or undefined for all of them. */
export function drawIndices(total: number, n: number | undefined, rng: Rng): number[] | undefined {
  if (n === undefined || n >= total) return undefined;
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`SimPO: samplesPerIteration must be a positive integer (got ${n})`);
  const idx = Array.from({ length: total }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(total - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, n);
}

/** A score below every candidate's, for candidates that may be rejected but never chosen. */
const lowestScore = (list: ScoredCandidate[]) => Math.min(...list.map((c) => c.score)) - 1;

/** Samples and scores candidates for every sample, in chunks so memory stays bounded. */
function sampleAndScore<S>(policy: PreferencePolicy<S>, scorer: CandidateScorer<S>, samples: S[], cfg: SimpoConfig, rng: Rng, chunk = 32): ScoredCandidate[][] {
  const out: ScoredCandidate[][] = [];
  for (let i = 0; i < samples.length; i += chunk) {
    const part = samples.slice(i, i + chunk);
    const texts = policy.sample(part, cfg.candidates, { temperature: cfg.temperature, topP: cfg.topP }, rng);
    const scores = scorer.score(part, texts);
    texts.forEach((list, j) => out.push(list.map((text, c) => ({ text, score: scores[j][c] }))));
  }
  return out;
}

/**
 * Runs the iterations in place on `policy.params`. Each iteration's candidates and pairs are saved under
 * `<runDir>/simpo/<name>/iter-<r>.json`, and its optimisation checkpoints through the training loop, so an
 * interrupted run resumes where it stopped with the same result.
 */
export async function runSimpoIterations<S>(
  name: string,
  policy: PreferencePolicy<S>,
  scorer: CandidateScorer<S>,
  samples: S[],
  cfg: SimpoConfig,
  opts: {
    runDir: string; seed: number; resume: boolean; progress?: TrainConfig['progress']; examples?: number;
    /** Whether a candidate is well-formed (for `rejectInvalid`; uses no sub-task label). */
    validCandidate?: (text: string) => boolean;
    /** Evaluation only: whether a candidate names the sample's true sub-task. Never influences pairs or updates. */
    judge?: (sample: S, text: string) => boolean;
  },
): Promise<IterationLog[]> {
  if (cfg.rejectInvalid && !opts.validCandidate) throw new Error('SimPO: rejectInvalid needs a validCandidate check');
  const dir = path.join(opts.runDir, 'simpo', name);
  fs.mkdirSync(dir, { recursive: true });
  const logs: IterationLog[] = [];
  for (let r = 1; r <= cfg.iterations; r++) {
    const file = path.join(dir, `iter-${r}.json`);
    const rng = new Rng(opts.seed * 1009 + r);
    let data: IterationData;
    if (opts.resume && fs.existsSync(file)) {
      data = JSON.parse(fs.readFileSync(file, 'utf8'));
    } else {
      const sampleIndices = drawIndices(samples.length, cfg.samplesPerIteration, rng);
      const candidates = sampleAndScore(policy, scorer, sampleIndices ? sampleIndices.map((i) => samples[i]) : samples, cfg, rng);
      const ranked = cfg.rejectInvalid ? candidates.map((list) => list.map((c) => (opts.validCandidate!(c.text) ? c : { ...c, score: lowestScore(list) }))) : candidates;
      const paired = buildPreferencePairs(ranked, cfg.pairing);
      data = { ...(sampleIndices ? { sampleIndices } : {}), candidates, pairs: paired.pairs, ties: paired.ties };
      const tmp = `${file}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(data));
      fs.renameSync(tmp, file);
    }
    const { candidates, pairs } = data;
    // This iteration's samples; pairs and candidates index into them.
    const these = data.sampleIndices ? data.sampleIndices.map((i) => samples[i]) : samples;
    let finalLoss = NaN;
    if (pairs.length > 0) {
      const result = await train(
        {
          name: `simpo-${name}-iter${r}`,
          params: policy.params,
          nextBatch: (brng) => Array.from({ length: Math.min(cfg.batchSize, pairs.length) }, () => pairs[brng.int(pairs.length)]),
          loss: (batch) => {
            const ss = batch.map((p) => these[p.sample]);
            // Chosen and rejected in one forward pass of twice the batch (TRL's concatenated forward): the same
            // numbers as two passes, half the kernels.
            const n = batch.length;
            const both = policy.meanLogProb([...ss, ...ss], [...batch.map((p) => p.chosen.text), ...batch.map((p) => p.rejected.text)]);
            const chosen = both.slice(0, n);
            const rejected = both.slice(n, n);
            const loss = simpoLoss(chosen, rejected, cfg.beta, cfg.gammaBetaRatio);
            return cfg.sftWeight > 0 ? (loss.sub(chosen.mean().mul(cfg.sftWeight)) as tf.Scalar) : loss;
          },
        },
        {
          steps: cfg.stepsPerIteration,
          peakLr: cfg.peakLr,
          warmupSteps: cfg.warmupSteps,
          finalLr: cfg.peakLr * cfg.finalLrFraction,
          optimizer: { weightDecay: cfg.weightDecay },
          clipNorm: cfg.clipNorm,
          seed: opts.seed * 7919 + r,
          runDir: opts.runDir,
          checkpointEvery: 0,
          validateEvery: 0,
          resume: opts.resume,
          progress: opts.progress,
        },
      );
      finalLoss = result.finalLoss;
    }
    const all = candidates.flat();
    // Scores as the grounding model gave them (invalid candidates' lowered scores are for pairing only).
    const raw = (p: PreferencePair, which: 'chosen' | 'rejected') => candidates[p.sample].find((c) => c.text === p[which].text)?.score ?? p[which].score;
    const log: IterationLog = {
      iteration: r,
      chosenScore: mean(pairs.map((p) => raw(p, 'chosen'))),
      rejectedScore: mean(pairs.map((p) => raw(p, 'rejected'))),
      candidateScore: mean(all.map((c) => c.score)),
      margin: mean(pairs.map((p) => p.margin)),
      pairs: pairs.length,
      tieShare: candidates.length ? data.ties / candidates.length : 0,
      distinctShare: all.length ? new Set(all.map((c) => c.text)).size / all.length : 0,
      finalLoss,
      invalidShare: opts.validCandidate ? all.filter((c) => !opts.validCandidate!(c.text)).length / (all.length || 1) : NaN,
      ...(opts.judge ? { diagnostics: preferenceDiagnostics(candidates, pairs, candidates.map((list, i) => list.map((c) => opts.judge!(these[i], c.text)))) } : {}),
      examples: candidates.slice(0, opts.examples ?? 3).map((c, k) => ({ sample: data.sampleIndices?.[k] ?? k, candidates: c })),
    };
    logs.push(log);
    logMetrics(opts.runDir, { task: `simpo-${name}`, kind: 'simpo', ...log });
  }
  return logs;
}
