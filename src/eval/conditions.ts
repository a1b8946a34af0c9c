/**
 * Evaluates a planner on held-out hierarchical samples: greedy sub-tasks against the ground truth (BLEU-4, ROUGE-L,
 * CIDEr-D, exact match, semantic accuracy via the template parser, text-embedding similarity) and against what the
 * robot did (the action-conditioned grounding score of the generated text with the recorded trajectory).
 */
import * as tf from '@tensorflow/tfjs';
import type { HierarchicalSample } from '../data/samples';
import { ImageCache } from '../data/samples';
import { groundingBatch, plannerInputs, textBatch } from '../models/inputs';
import type { GroundingModel } from '../models/grounding';
import type { Planner } from '../models/planner';
import { ciderD, corpusBleu, exactMatch, meanRougeL } from '../text/metrics';
import type { BlockSpec } from '../sim/constants';
import { parseSubTask } from '../text/subtask-parser';
import type { Tokenizer } from '../text/tokenizer';

export interface ConditionMetrics {
  samples: number;
  bleu4: number;
  rougeL: number;
  ciderD: number;
  exactMatch: number;
  blockAccuracy: number;
  targetAccuracy: number;
  semanticAccuracy: number;
  unparseable: number;
  groundingScore: number;
  groundingScoreGT: number;
  textSimilarity: number;
}

export interface Generated {
  sample: HierarchicalSample;
  text: string;
}

export function generateGreedy(pl: Planner, tok: Tokenizer, cache: ImageCache, samples: HierarchicalSample[], chunk = 64): Generated[] {
  const out: Generated[] = [];
  for (let i = 0; i < samples.length; i += chunk) {
    const part = samples.slice(i, i + chunk);
    const inp = plannerInputs(cache, tok, part, pl.config.maxPrompt);
    const ids = pl.generate(inp, { maxNew: pl.config.maxCompletion - 1, temperature: 0 });
    tf.dispose([inp.images ?? [], inp.promptIds, inp.promptMask].flat());
    part.forEach((s, j) => out.push({ sample: s, text: tok.decode(ids[j]) }));
  }
  return out;
}

/** Mean cosine of the grounding model between each sample's image+trajectory and the given texts. */
export function meanGroundingScore(g: GroundingModel, tok: Tokenizer, cache: ImageCache, samples: HierarchicalSample[], texts: string[], chunk = 64): number {
  let total = 0;
  for (let i = 0; i < samples.length; i += chunk) {
    const part = samples.slice(i, i + chunk);
    const b = groundingBatch(cache, part, g.config.trajectoryLength);
    const t = textBatch(tok, texts.slice(i, i + chunk), g.config.maxText);
    total += tf.tidy(() => g.score(b, t.ids, t.mask).sum().dataSync()[0]);
    tf.dispose([b.images, b.trajectories, b.trajectoryMask, t.ids, t.mask]);
  }
  return samples.length ? total / samples.length : NaN;
}

function textSimilarity(g: GroundingModel, tok: Tokenizer, a: string[], b: string[]): number {
  if (a.length === 0) return NaN;
  return tf.tidy(() => {
    const ta = textBatch(tok, a, g.config.maxText);
    const tb = textBatch(tok, b, g.config.maxText);
    return g.encodeText(ta.ids, ta.mask).mul(g.encodeText(tb.ids, tb.mask)).sum(1).mean().dataSync()[0];
  });
}

/** Whether a text names the same sub-task (block and target, as the parser reads them) as a reference text. */
export function namesSameSubTask(text: string, reference: string, onBoard?: BlockSpec[]): boolean {
  const p = parseSubTask(text, onBoard);
  const t = parseSubTask(reference, onBoard);
  return !!p && !!t && p.block === t.block && p.target === t.target;
}

/** Parses generated and true sub-tasks: shares naming the right block, target, both, and unparseable. `board`: the
 * blocks the samples' boards hold, for names by colour or shape alone (default BLOCK_4, the parser's). */
export function subTaskAccuracy(gen: Generated[], board?: BlockSpec[]): { blockAccuracy: number; targetAccuracy: number; semanticAccuracy: number; unparseable: number } {
  let block = 0;
  let target = 0;
  let both = 0;
  let unparseable = 0;
  for (const g of gen) {
    const p = parseSubTask(g.text, board);
    const t = parseSubTask(g.sample.lowLevel, board);
    if (!p) {
      unparseable++;
      continue;
    }
    const bOk = !!t && p.block === t.block;
    const tOk = !!t && p.target === t.target;
    block += +bOk;
    target += +tOk;
    both += +(bOk && tOk);
  }
  const n = gen.length || 1;
  return { blockAccuracy: block / n, targetAccuracy: target / n, semanticAccuracy: both / n, unparseable: unparseable / n };
}

export function evaluateGenerated(gen: Generated[], grounding: GroundingModel, tok: Tokenizer, cache: ImageCache, board?: BlockSpec[]): ConditionMetrics {
  const cands = gen.map((g) => g.text);
  const refs = gen.map((g) => [g.sample.lowLevel]);
  const samples = gen.map((g) => g.sample);
  return {
    samples: gen.length,
    bleu4: corpusBleu(cands, refs, { smoothing: 'method1' }),
    rougeL: meanRougeL(cands, refs),
    ciderD: ciderD(cands, refs),
    exactMatch: exactMatch(cands, refs),
    ...subTaskAccuracy(gen, board),
    groundingScore: meanGroundingScore(grounding, tok, cache, samples, cands),
    groundingScoreGT: meanGroundingScore(grounding, tok, cache, samples, samples.map((s) => s.lowLevel)),
    textSimilarity: textSimilarity(grounding, tok, cands, samples.map((s) => s.lowLevel)),
  };
}
