/**
 * Scene-description accuracy: how well a planner answers questions about where blocks are (src/sim/scenes.ts) on
 * boards it has not seen: the share of greedy answers equal to the true answer, overall and per question kind.
 * This is what the base planner's pre-training teaches (a pretrained VLM's "sees and names objects").
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageCache } from '../data/samples';
import { plannerInputs } from '../models/inputs';
import type { Planner } from '../models/planner';
import { SCENE_KINDS, sceneQA, type SceneBoard, type SceneQuestion } from '../sim/scenes';
import type { LocationName } from '../sim/constants';
import { LOCATIONS } from '../sim/constants';
import type { Tokenizer } from '../text/tokenizer';
import { Rng } from '../util/rng';

/** One question per board, the kinds in turn (board i gets kind i mod 3), drawn from a seed. */
export function evaluationQuestions(boards: SceneBoard[], seed: number): SceneQuestion[] {
  const rng = new Rng(seed);
  return boards.map((b, i) => {
    const names = b.state.blocks.map((x) => x.name);
    const kind = SCENE_KINDS[i % SCENE_KINDS.length];
    if (kind === 'where') return { kind, block: rng.choice(names) };
    if (kind === 'relation') {
      const block = rng.choice(names);
      return { kind, block, other: rng.choice(names.filter((n) => n !== block)) };
    }
    return { kind, location: rng.choice(Object.keys(LOCATIONS) as LocationName[]) };
  });
}

export interface SceneAccuracy {
  sceneDescriptionAccuracy: number;
  sceneWhereAccuracy: number;
  sceneRelationAccuracy: number;
  sceneNearestAccuracy: number;
}

export function sceneDescriptionAccuracy(pl: Planner, tok: Tokenizer, cache: ImageCache, boards: SceneBoard[], questions: SceneQuestion[], chunk = 64): SceneAccuracy {
  if (boards.length !== questions.length) throw new Error(`sceneDescriptionAccuracy: ${boards.length} boards but ${questions.length} questions`);
  const right: Record<string, number[]> = { where: [], relation: [], nearest: [] };
  for (let i = 0; i < boards.length; i += chunk) {
    const qa = questions.slice(i, i + chunk).map((q, j) => ({ q, ...sceneQA(q, boards[i + j].state) }));
    const inp = plannerInputs(cache, tok, qa.map((x, j) => ({ imageJpeg: boards[i + j].imageJpeg, highLevel: x.prompt })), pl.config.maxPrompt);
    const ids = pl.generate(inp, { maxNew: pl.config.maxCompletion - 1, temperature: 0 });
    tf.dispose([inp.images ?? [], inp.promptIds, inp.promptMask].flat());
    qa.forEach((x, j) => right[x.q.kind].push(+(tok.decode(ids[j]) === tok.decode(tok.encode(x.answer)))));
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return {
    sceneDescriptionAccuracy: mean(Object.values(right).flat()),
    sceneWhereAccuracy: mean(right.where),
    sceneRelationAccuracy: mean(right.relation),
    sceneNearestAccuracy: mean(right.nearest),
  };
}
