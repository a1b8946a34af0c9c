/**
 * Retrieval with a grounding model on held-out (image + trajectory, sub-task text) pairs, and how much the model uses
 * the actions: the same retrieval with each sample's trajectory replaced by another sample's (shuffled across samples)
 * or run backwards in time. A model that ignores the actions scores the same under all three; one that reads them
 * falls toward chance when they no longer belong to the image and the text.
 *
 * Besides exact-pair recall (the true description must be retrieved), semantic recall counts any description that
 * parses to the same block and target, with its chance level; and the hard-negative win rate says how often the
 * true description scores above an edit of it that asks for something else (text/hard-negatives.ts) — what the
 * preference loop needs from the grounding score.
 */
import * as tf from '@tensorflow/tfjs';
import type { HierarchicalSample } from '../data/samples';
import { TRAJECTORY_FEATURES, type ImageCache } from '../data/samples';
import { groundingBatch, textBatch } from '../models/inputs';
import type { GroundingModel } from '../models/grounding';
import type { Tokenizer } from '../text/tokenizer';
import { Rng } from '../util/rng';
import { HARD_NEGATIVE_KINDS, hardNegatives, semanticKey, type HardNegativeKind } from '../text/hard-negatives';
import { DEFAULT_KS, directionMetrics, retrievalRecall, semanticChance, semanticRanks, type RetrievalResult } from './retrieval';

export const PERTURBATIONS = ['none', 'shuffled', 'reversed'] as const;
export type Perturbation = (typeof PERTURBATIONS)[number];

/**
 * A permutation with no fixed point (Sattolo's algorithm: a uniformly random cyclic permutation), so that every
 * sample gets another sample's trajectory; a plain shuffle would leave about one sample with its own.
 */
export function derangement(n: number, rng: Rng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i); // j < i: Sattolo, not Fisher–Yates
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/**
 * A trajectory played backwards: steps in reverse order, with each action negated (the move from step t+1 back to
 * step t); effector positions are kept, so the path is the same curve travelled the other way.
 */
export function reverseTrajectory(t: Float32Array, length: number): Float32Array {
  const F = TRAJECTORY_FEATURES;
  if (t.length !== length * F) throw new Error(`reverseTrajectory: ${t.length} values for ${length} steps (${length * F} expected)`);
  const r = new Float32Array(t.length);
  for (let i = 0; i < length; i++) {
    const src = (length - 1 - i) * F;
    r[i * F] = -t[src];
    r[i * F + 1] = -t[src + 1];
    r[i * F + 2] = t[src + 2];
    r[i * F + 3] = t[src + 3];
  }
  return r;
}

/** The samples with their trajectories perturbed (images and texts untouched). */
export function perturbSamples(samples: HierarchicalSample[], kind: Perturbation, seed = 0): HierarchicalSample[] {
  switch (kind) {
    case 'none':
      return samples;
    case 'shuffled': {
      if (samples.length < 2) throw new Error('perturbSamples: shuffling trajectories needs at least 2 samples');
      const p = derangement(samples.length, new Rng(seed));
      return samples.map((s, i) => ({ ...s, trajectory: samples[p[i]].trajectory, length: samples[p[i]].length }));
    }
    case 'reversed':
      return samples.map((s) => ({ ...s, trajectory: reverseTrajectory(s.trajectory, s.length) }));
    default:
      throw new Error(`perturbSamples: unknown perturbation "${kind as string}": accepted are ${PERTURBATIONS.join(', ')}`);
  }
}

/** Unit embeddings of the vision(-action) side and of the texts, [N × D] each, row-major. */
export function embedPairs(g: GroundingModel, tok: Tokenizer, cache: ImageCache, samples: HierarchicalSample[], chunk = 64): { vision: Float32Array; text: Float32Array; dim: number } {
  const vs: Float32Array[] = [];
  const ts: Float32Array[] = [];
  for (let i = 0; i < samples.length; i += chunk) {
    const part = samples.slice(i, i + chunk);
    const b = groundingBatch(cache, part, g.config.trajectoryLength);
    const t = textBatch(tok, part.map((s) => s.lowLevel), g.config.maxText);
    vs.push(tf.tidy(() => g.encodeVisionAction(b).dataSync() as Float32Array));
    ts.push(tf.tidy(() => g.encodeText(t.ids, t.mask).dataSync() as Float32Array));
    tf.dispose([b.images, b.trajectories, b.trajectoryMask, t.ids, t.mask]);
  }
  const cat = (xs: Float32Array[]) => {
    const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
    let o = 0;
    for (const x of xs) {
      out.set(x, o);
      o += x.length;
    }
    return out;
  };
  const vision = cat(vs);
  return { vision, text: cat(ts), dim: samples.length ? vision.length / samples.length : 0 };
}

/** S[i][j] = ⟨vision_i, text_j⟩ as an N×N row-major matrix (rows: trajectories, columns: texts). */
export function similarity(vision: Float32Array, text: Float32Array, dim: number): { values: Float32Array; n: number } {
  const n = vision.length / dim;
  const values = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += vision[i * dim + k] * text[j * dim + k];
      values[i * n + j] = s;
    }
  }
  return { values, n };
}

export interface GroundingRetrievalRow {
  /** The grounding model's conditioning ('action' or 'none'). */
  model: string;
  perturbation: Perturbation;
  n: number;
  /** recall@k trajectory → text and text → trajectory, plus median ranks. */
  trajToText: Record<number, number>;
  textToTraj: Record<number, number>;
  medianRankTrajToText: number;
  medianRankTextToTraj: number;
  /** Semantic recall@k (a retrieved item counts when it parses to the same block and target) and its chance level. */
  trajToTextSemantic: Record<number, number>;
  textToTrajSemantic: Record<number, number>;
  semanticChance: Record<number, number>;
  /** Share of (sample, hard negative) pairs where the true description scores higher, per kind and over all. */
  hardNegativeWin: Record<HardNegativeKind | 'all', number>;
}

/** Cosine of each sample's vision(-action) embedding with each of its hard negatives; wins where the truth is higher. */
export function hardNegativeWinRates(g: GroundingModel, tok: Tokenizer, cache: ImageCache, samples: HierarchicalSample[], seed = 0): Record<HardNegativeKind | 'all', number> {
  const rng = new Rng(seed + 7);
  const negs = samples.map((s) => hardNegatives(s.lowLevel, rng));
  const e = embedPairs(g, tok, cache, samples);
  const flat = negs.flatMap((ns, i) => ns.map((x) => ({ ...x, i })));
  const wins: Record<string, [number, number]> = Object.fromEntries([...HARD_NEGATIVE_KINDS, 'all'].map((k) => [k, [0, 0]]));
  const D = e.dim;
  for (let c = 0; c < flat.length; c += 64) {
    const part = flat.slice(c, c + 64);
    const t = textBatch(tok, part.map((x) => x.text), g.config.maxText);
    const emb = tf.tidy(() => g.encodeText(t.ids, t.mask).dataSync() as Float32Array);
    tf.dispose([t.ids, t.mask]);
    part.forEach((x, r) => {
      let truth = 0;
      let neg = 0;
      for (let d = 0; d < D; d++) {
        truth += e.vision[x.i * D + d] * e.text[x.i * D + d];
        neg += e.vision[x.i * D + d] * emb[r * D + d];
      }
      for (const k of [x.kind, 'all']) {
        wins[k][0] += truth > neg ? 1 : 0;
        wins[k][1]++;
      }
    });
  }
  return Object.fromEntries(Object.entries(wins).map(([k, [w, n]]) => [k, n ? w / n : NaN])) as Record<HardNegativeKind | 'all', number>;
}

export function groundingRetrieval(model: string, g: GroundingModel, tok: Tokenizer, cache: ImageCache, samples: HierarchicalSample[], perturbation: Perturbation, seed = 0, ks = DEFAULT_KS): GroundingRetrievalRow {
  const perturbed = perturbSamples(samples, perturbation, seed);
  const e = embedPairs(g, tok, cache, perturbed);
  const sim = similarity(e.vision, e.text, e.dim);
  const r: RetrievalResult = retrievalRecall(sim, ks);
  const keys = samples.map((s) => semanticKey(s.lowLevel));
  return {
    model, perturbation, n: r.n, trajToText: r.rowToCol, textToTraj: r.colToRow,
    medianRankTrajToText: r.medianRankRowToCol, medianRankTextToTraj: r.medianRankColToRow,
    trajToTextSemantic: directionMetrics(semanticRanks(sim, keys), ks).recall,
    textToTrajSemantic: directionMetrics(semanticRanks(sim, keys, true), ks).recall,
    semanticChance: Object.fromEntries(ks.map((k) => [k, semanticChance(keys, k)])),
    hardNegativeWin: hardNegativeWinRates(g, tok, cache, perturbed, seed),
  };
}
