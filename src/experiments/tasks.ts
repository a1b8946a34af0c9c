/**
 * What each model's training needs, in the one loop's terms (src/train/loop.ts): how a batch is drawn and what the
 * loss is; plus the adapters through which the SimPO iterations see the planner and the grounding model.
 */
import * as tf from '@tensorflow/tfjs';
import type { HierarchicalSample, PolicySample } from '../data/samples';
import { ImageCache } from '../data/samples';
import { generateGreedy, subTaskAccuracy } from '../eval/conditions';
import { directionMetrics, retrievalRecall, semanticRanks } from '../eval/retrieval';
import { sceneDescriptionAccuracy } from '../eval/scene-description';
import { TRAJECTORY_NORMALISATION, type GroundingModel } from '../models/grounding';
import type { Planner } from '../models/planner';
import { pointerLabels, sampleFlowTime, type Policy } from '../models/policy';
import { parseSubTask } from '../text/subtask-parser';
import type { BlockSpec } from '../sim/constants';
import { randomQuestion, sceneQA, type SceneBoard, type SceneQuestion } from '../sim/scenes';
import { FAMILIES, instructionFor, sampleTask } from '../sim/tasks';
import { HARD_NEGATIVE_KINDS, hardNegative, semanticKey } from '../text/hard-negatives';
import { EOS, type Tokenizer } from '../text/tokenizer';
import { flowMatchingLoss, symmetricInfoNCE } from '../train/losses';
import type { TrainTask } from '../train/loop';
import type { CandidateScorer, PreferencePolicy } from '../train/simpo-iterations';
import { Rng } from '../util/rng';
import { groundingBatch, imageBatch, plannerCompletion, plannerInputs, policyInputs, textBatch } from '../models/inputs';
import { imagePoint, type CameraName } from '../sim/render';

const pick = <T>(rng: Rng, xs: T[], n: number) => Array.from({ length: n }, () => xs[rng.int(xs.length)]);

/** How the grounding model's InfoNCE batches are built (schedule.ts GroundingSchedule). */
export interface GroundingTaskOptions {
  /** Leave same-(block, target) pairs out of the negatives (losses.ts `groups`). */
  maskSameSubTask: boolean;
  /** Hard-negative texts per sample (0–4: swapped block, swapped target, dropped target, garbled; the first n kinds). */
  hardNegatives: number;
}

/**
 * Symmetric InfoNCE on (image, trajectory, low-level instruction); validation = retrieval recall both ways, exact and
 * semantic. Each sample's group is its parsed (block, target), so paraphrases of one sub-task are not negatives of
 * each other; its hard negatives are edits that ask for another block or target.
 */
export function groundingTask(name: string, m: GroundingModel, train: HierarchicalSample[], val: HierarchicalSample[], tok: Tokenizer, cache: ImageCache, batchSize: number, opts: GroundingTaskOptions = { maskSameSubTask: true, hardNegatives: 0 }): TrainTask<{ b: ReturnType<typeof groundingBatch>; t: ReturnType<typeof textBatch>; groups?: number[]; hard?: ReturnType<typeof textBatch> }> {
  const c = m.config;
  const H = opts.hardNegatives;
  if (!(Number.isInteger(H) && H >= 0 && H <= HARD_NEGATIVE_KINDS.length)) throw new Error(`groundingTask: hardNegatives must be an integer in 0…${HARD_NEGATIVE_KINDS.length} (got ${H})`);
  const keyIds = new Map<string, number>();
  const group = (s: HierarchicalSample) => {
    const k = semanticKey(s.lowLevel) ?? `text:${s.lowLevel}`;
    if (!keyIds.has(k)) keyIds.set(k, keyIds.size);
    return keyIds.get(k)!;
  };
  return {
    name,
    params: m.params,
    nextBatch: (rng) => {
      // Distinct instructions within a batch: a repeated text is the same item twice.
      const chosen: HierarchicalSample[] = [];
      const seen = new Set<string>();
      for (let tries = 0; chosen.length < batchSize && tries < batchSize * 20; tries++) {
        const s = train[rng.int(train.length)];
        if (seen.has(s.lowLevel)) continue;
        seen.add(s.lowLevel);
        chosen.push(s);
      }
      let hard: ReturnType<typeof textBatch> | undefined;
      if (H > 0) {
        const texts = chosen.flatMap((s, i) => HARD_NEGATIVE_KINDS.slice(0, H).map((kind) => {
          // An edit that cannot be made falls back to another sample's description of a different sub-task.
          const edit = hardNegative(s.lowLevel, kind, rng);
          return edit ?? chosen[(i + 1 + rng.int(chosen.length - 1)) % chosen.length].lowLevel;
        }));
        hard = textBatch(tok, texts, c.maxText);
      }
      return {
        b: groundingBatch(cache, chosen, c.trajectoryLength), t: textBatch(tok, chosen.map((s) => s.lowLevel), c.maxText),
        groups: opts.maskSameSubTask ? chosen.map(group) : undefined, hard,
      };
    },
    loss: ({ b, t, groups, hard }) => symmetricInfoNCE(m.encodeVisionAction(b), m.encodeText(t.ids, t.mask), m.scale(), {
      groups, hardNegatives: hard ? m.encodeText(hard.ids, hard.mask) : undefined,
    }),
    disposeBatch: ({ b, t, hard }) => tf.dispose([b.images, b.trajectories, b.trajectoryMask, t.ids, t.mask, ...(hard ? [hard.ids, hard.mask] : [])]),
    validate: () => groundingRetrieval(m, val.slice(0, 128), tok, cache),
  };
}

/** Similarity matrix (rows: vision-action of sample i; cols: text of sample j) and recall@1/5 both ways, exact and semantic. */
export function groundingRetrieval(m: GroundingModel, samples: HierarchicalSample[], tok: Tokenizer, cache: ImageCache): Record<string, number> {
  if (samples.length < 2) return {};
  const sim = groundingSimilarity(m, samples, tok, cache);
  const r = retrievalRecall(sim, [1, 5]);
  const keys = samples.map((s) => semanticKey(s.lowLevel));
  const sem = directionMetrics(semanticRanks(sim, keys), [1, 5]).recall;
  const semT = directionMetrics(semanticRanks(sim, keys, true), [1, 5]).recall;
  return {
    'val/traj2text@1': r.rowToCol[1], 'val/traj2text@5': r.rowToCol[5], 'val/text2traj@1': r.colToRow[1], 'val/text2traj@5': r.colToRow[5],
    'val/traj2textSem@1': sem[1], 'val/traj2textSem@5': sem[5], 'val/text2trajSem@1': semT[1], 'val/text2trajSem@5': semT[5],
  };
}

export function groundingSimilarity(m: GroundingModel, samples: HierarchicalSample[], tok: Tokenizer, cache: ImageCache, chunk = 64): number[][] {
  const va: tf.Tensor2D[] = [];
  const tx: tf.Tensor2D[] = [];
  for (let i = 0; i < samples.length; i += chunk) {
    const part = samples.slice(i, i + chunk);
    const b = groundingBatch(cache, part, m.config.trajectoryLength);
    const t = textBatch(tok, part.map((s) => s.lowLevel), m.config.maxText);
    va.push(m.encodeVisionAction(b));
    tx.push(m.encodeText(t.ids, t.mask));
    tf.dispose([b.images, b.trajectories, b.trajectoryMask, t.ids, t.mask]);
  }
  const sim = tf.tidy(() => tf.matMul(tf.concat(va), tf.concat(tx), false, true).arraySync() as number[][]);
  tf.dispose([...va, ...tx]);
  return sim;
}

/**
 * Detection for the policy's keypoints (PaliGemma-style localisation as regression, on the simulator's random boards):
 * keypoint k < n says where block k of the block set is, keypoint n where the effector is, in the image frame of
 * sim/render.ts imagePoint. The dataset's frames carry no block positions, so the boards are rendered afresh.
 */
export interface PolicyDetection {
  boards: SceneBoard[];
  camera: CameraName;
  weight: number;
}

/** Detection targets [B, n + 1, 2] of boards: the blocks in block-set order, then the effector. */
export function keypointTargets(boards: SceneBoard[], camera: CameraName): tf.Tensor3D {
  const n = boards[0].state.blocks.length + 1;
  return tf.tensor3d(boards.flatMap((b) => [...b.state.blocks.map((bl) => [bl.x, bl.y] as [number, number]), b.state.effector].flatMap((p) => imagePoint(camera, p))), [boards.length, n, 2]);
}

/**
 * The pointer's supervision (PolicyConfig.pointer): the blocks behind its keypoints, in keypoint order (the board's
 * block-set order, as the detection targets), and the weight of its two cross-entropies. Its labels are the parse of
 * each sample's own instruction (text/subtask-parser.ts): nothing the policy is not already given.
 */
export interface PolicyPointerLoss {
  blocks: BlockSpec[];
  weight: number;
}

/** Pointer labels [block, target] of each instruction (−1: no class; its term is masked). */
export function pointerLabelsOf(instructions: string[], blocks: BlockSpec[]): Int32Array {
  const names = blocks.map((b) => b.name);
  return Int32Array.from(instructions.flatMap((text) => pointerLabels(parseSubTask(text, blocks), names)));
}

/** Mean cross-entropy of logits [B, C] against labels [B] (−1: left out), 0 when every label is left out. */
export function maskedCrossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  const C = logits.shape[1];
  const keep = Float32Array.from(labels, (l) => (l >= 0 ? 1 : 0));
  const n = keep.reduce((a, b) => a + b, 0);
  if (n === 0) return tf.scalar(0);
  const onehot = tf.oneHot(tf.tensor1d(Int32Array.from(labels, (l) => Math.max(l, 0)), 'int32'), C);
  const nll = tf.logSoftmax(logits).mul(onehot).sum(1).neg();
  return nll.mul(tf.tensor1d(keep)).sum().div(n) as tf.Scalar;
}

type PolicyBatch = { inp: ReturnType<typeof policyInputs>; actions: tf.Tensor3D; mask: tf.Tensor2D; noise: tf.Tensor3D; t: tf.Tensor1D; detection?: { images: tf.Tensor4D; targets: tf.Tensor3D }; pointer?: { block: Int32Array; target: Int32Array } };

/**
 * Flow-matching behaviour cloning on (image, sub-task, state) → action chunk, with the keypoints' detection loss and
 * the pointer's cross-entropies beside it.
 */
export function policyTask(p: Policy, train: PolicySample[], tok: Tokenizer, cache: ImageCache, batchSize: number, detection?: PolicyDetection, pointer?: PolicyPointerLoss): TrainTask<PolicyBatch> {
  const c = p.config;
  if (detection && detection.weight > 0) {
    const need = detection.boards[0].state.blocks.length + 1;
    if (!c.keypoints || c.keypoints.keypoints < need) throw new Error(`policyTask: detection needs a policy with at least ${need} keypoints (one per block and the effector; PolicyConfig.keypoints is ${JSON.stringify(c.keypoints)})`);
  }
  if (pointer && pointer.weight > 0 && (!c.pointer || c.pointer.blocks !== pointer.blocks.length)) {
    throw new Error(`policyTask: the pointer loss names ${pointer.blocks.length} blocks but PolicyConfig.pointer is ${JSON.stringify(c.pointer)}`);
  }
  const detect = detection && detection.weight > 0 ? detection : null;
  const point = pointer && pointer.weight > 0 ? pointer : null;
  const labels = new Map<string, [number, number]>();
  const labelOf = (text: string) => {
    let l = labels.get(text);
    if (!l) labels.set(text, (l = [...pointerLabelsOf([text], point!.blocks)] as [number, number]));
    return l;
  };
  return {
    name: 'policy',
    params: p.params,
    nextBatch: (rng) => {
      const s = pick(rng, train, batchSize);
      const batch: PolicyBatch = {
        inp: policyInputs(cache, tok, s, c.maxText),
        actions: tf.tensor3d(Float32Array.from(s.flatMap((x) => Array.from(x.actions))), [batchSize, c.chunk, c.actionDim]),
        mask: tf.tensor2d(Float32Array.from(s.flatMap((x) => Array.from(x.mask))), [batchSize, c.chunk]),
        noise: tf.tensor3d(rng.normals(batchSize * c.chunk * c.actionDim), [batchSize, c.chunk, c.actionDim]),
        t: tf.tensor1d(sampleFlowTime(rng, batchSize, c.regression)),
      };
      if (detect) {
        const boards = pick(rng, detect.boards, batchSize);
        batch.detection = { images: imageBatch(cache, boards.map((b) => b.imageJpeg)), targets: keypointTargets(boards, detect.camera) };
      }
      if (point) {
        const l = s.map((x) => labelOf(x.instruction));
        batch.pointer = { block: Int32Array.from(l, (v) => v[0]), target: Int32Array.from(l, (v) => v[1]) };
      }
      return batch;
    },
    loss: (b) => {
      const { pred, target, pointer: pt } = p.flowMatching(b.inp, b.actions, b.noise, b.t);
      let loss = flowMatchingLoss(pred, target, b.mask);
      if (point && pt && b.pointer) {
        loss = loss.add(maskedCrossEntropy(pt.blockLogits, b.pointer.block).add(maskedCrossEntropy(pt.targetLogits, b.pointer.target)).mul(point.weight));
      }
      if (!detect || !b.detection) return loss;
      const n = b.detection.targets.shape[1];
      const coords = p.locate(b.detection.images).slice([0, 0, 0], [-1, n, -1]);
      return loss.add(tf.losses.meanSquaredError(b.detection.targets, coords).mul(detect.weight)) as tf.Scalar;
    },
    disposeBatch: (b) => tf.dispose([b.inp.images, b.inp.textIds, b.inp.textMask, b.inp.state, b.actions, b.mask, b.noise, b.t, ...(b.detection ? [b.detection.images, b.detection.targets] : [])]),
  };
}

/**
 * The base planner's pre-training: the analog of a pretrained VLM, from data the simulator makes on its own. Each
 * batch is, with probability `sceneShare`, scene descriptions — a random board's image and a question about it
 * ("where is the red moon", "which block is nearest to the top left corner") answered from the board state
 * (src/sim/scenes.ts) — and otherwise instruction language with no image: a high-level instruction of the dataset
 * as the prompt and, as the completion, the simulator's template text for a random task of a random family on a
 * random board. No dataset sub-task label and no pairing of a goal, or of an image, with its sub-task reaches it:
 * it learns to see and name blocks, and the form of a sub-task, but not which sub-task a goal needs next.
 */
/** Where the blocks of scene boards are, in the detection head's coordinates ([B, n, 2], block-set order). */
export function detectionTargets(boards: SceneBoard[], n: number): tf.Tensor3D {
  const k = TRAJECTORY_NORMALISATION;
  return tf.tensor3d(boards.flatMap((b) => b.state.blocks.slice(0, n).flatMap((bl) => [(bl.x - k.xCenter) * k.xScale, bl.y * k.yScale])), [boards.length, n, 2]);
}

type PretrainBatch = ReturnType<typeof sftBatch> & { detection?: tf.Tensor3D };

/**
 * The base planner's pre-training: scene descriptions of random boards (questions afresh every batch) and instruction
 * language without an image; with detection slots, scene batches also train slot k to say where block k is
 * (`detectionWeight` × MSE in the trajectory model's board coordinates). No sub-task label, no goal→sub-task pair.
 */
export function plannerPretrainTask(pl: Planner, train: HierarchicalSample[], tok: Tokenizer, cache: ImageCache, batchSize: number, scenes: { boards: SceneBoard[]; share: number; detectionWeight?: number; val?: { boards: SceneBoard[]; questions: SceneQuestion[] } }): TrainTask<PretrainBatch> {
  const prompts = train.filter((s) => s.highLevel !== undefined);
  const slots = pl.config.slots ?? 0;
  const detectionWeight = scenes.detectionWeight ?? 0;
  if (detectionWeight > 0 && slots === 0) throw new Error('plannerPretrainTask: detectionWeight > 0 needs a planner with detection slots (PlannerConfig.slots)');
  const nDetect = Math.min(slots, scenes.boards[0]?.state.blocks.length ?? 0);
  return {
    name: 'planner-pretrain',
    params: pl.params,
    nextBatch: (rng) => {
      const boards = pick(rng, scenes.boards, batchSize);
      if (rng.random() < scenes.share) {
        const qa = boards.map((b) => sceneQA(randomQuestion(b.state, rng), b.state));
        const batch: PretrainBatch = sftBatch(pl, tok, cache, boards.map((b, i) => ({ imageJpeg: b.imageJpeg, highLevel: qa[i].prompt })), qa.map((x) => x.answer));
        if (detectionWeight > 0 && nDetect > 0) batch.detection = detectionTargets(boards, nDetect);
        return batch;
      }
      const texts = boards.map((b) => randomInstruction(b.state, rng));
      return sftBatch(pl, tok, null, pick(rng, prompts.length ? prompts : train, batchSize), texts);
    },
    loss: (b) => {
      const lm = lmLoss(pl, b);
      if (!b.detection) return lm;
      const pred = pl.detect(b.inp.images!).slice([0, 0, 0], [-1, nDetect, 2]);
      return lm.add(tf.losses.meanSquaredError(b.detection, pred).mul(detectionWeight)) as tf.Scalar;
    },
    disposeBatch: (b) => {
      disposeSft(b);
      b.detection?.dispose();
    },
    validate: scenes.val ? () => {
      const a = sceneDescriptionAccuracy(pl, tok, cache, scenes.val!.boards, scenes.val!.questions);
      return { 'val/sceneDescriptionAccuracy': a.sceneDescriptionAccuracy, 'val/sceneWhere': a.sceneWhereAccuracy, 'val/sceneRelation': a.sceneRelationAccuracy, 'val/sceneNearest': a.sceneNearestAccuracy };
    } : undefined,
  };
}

/** A random task of a random family on a board, in the simulator's templates. */
function randomInstruction(s: SceneBoard['state'], rng: Rng): string {
  for (;;) {
    const task = sampleTask(rng.choice(FAMILIES), s, rng);
    if (task) return instructionFor(task, s, rng);
  }
}

/** Supervised fine-tuning on ground-truth sub-tasks given image + high-level instruction ("Supervised"). */
export function plannerSftTask(pl: Planner, train: HierarchicalSample[], tok: Tokenizer, cache: ImageCache, batchSize: number, val?: HierarchicalSample[]): TrainTask<ReturnType<typeof sftBatch>> {
  return {
    name: 'planner-sft',
    params: pl.params,
    nextBatch: (rng) => {
      const s = pick(rng, train, batchSize);
      return sftBatch(pl, tok, cache, s, s.map((x) => x.lowLevel));
    },
    loss: (b) => lmLoss(pl, b),
    disposeBatch: disposeSft,
    validate: val?.length ? () => {
      const acc = subTaskAccuracy(generateGreedy(pl, tok, cache, val));
      return { 'val/blockAccuracy': acc.blockAccuracy, 'val/semanticAccuracy': acc.semanticAccuracy, 'val/unparseable': acc.unparseable };
    } : undefined,
  };
}

function sftBatch(pl: Planner, tok: Tokenizer, cache: ImageCache | null, prompts: { imageJpeg: Uint8Array; highLevel?: string }[], completions: string[]) {
  return { inp: plannerInputs(cache, tok, prompts, pl.config.maxPrompt), comp: plannerCompletion(tok, completions, pl.config.maxCompletion) };
}

function lmLoss(pl: Planner, b: ReturnType<typeof sftBatch>): tf.Scalar {
  const { perToken } = pl.logProb(b.inp, b.comp.ids, b.comp.mask);
  return perToken.sum().neg().div(b.comp.mask.sum()) as tf.Scalar;
}

function disposeSft(b: ReturnType<typeof sftBatch>) {
  tf.dispose([b.inp.images ?? [], b.inp.promptIds, b.inp.promptMask, b.comp.ids, b.comp.mask].flat());
}


/** The planner as the preference loop sees it: sampling K candidates and mean token log-probabilities. */
export function plannerPolicy(pl: Planner, tok: Tokenizer, cache: ImageCache): PreferencePolicy<HierarchicalSample> {
  return {
    params: pl.params,
    sample(samples, k, { temperature, topP }, rng) {
      const rows = samples.flatMap((s) => Array.from({ length: k }, () => s));
      const inp = plannerInputs(cache, tok, rows, pl.config.maxPrompt);
      const out = pl.generate(inp, { maxNew: pl.config.maxCompletion - 1, temperature, topP, rng });
      tf.dispose([inp.images ?? [], inp.promptIds, inp.promptMask].flat());
      return samples.map((_, i) => out.slice(i * k, (i + 1) * k).map((ids) => tok.decode([...ids, EOS])));
    },
    meanLogProb(samples, completions) {
      const inp = plannerInputs(cache, tok, samples, pl.config.maxPrompt);
      const comp = plannerCompletion(tok, completions, pl.config.maxCompletion);
      const mean = pl.logProb(inp, comp.ids, comp.mask).mean;
      tf.dispose([inp.images ?? [], inp.promptIds, inp.promptMask, comp.ids, comp.mask].flat());
      return mean;
    },
  };
}

/** The frozen grounding model as a scorer of candidate sub-tasks against each sample's image and trajectory. */
export function groundingScorer(m: GroundingModel, tok: Tokenizer, cache: ImageCache): CandidateScorer<HierarchicalSample> {
  return {
    score(samples, texts) {
      return tf.tidy(() => {
        const b = groundingBatch(cache, samples, m.config.trajectoryLength);
        const va = m.encodeVisionAction(b); // [S, D]
        const flat = texts.flat();
        const t = textBatch(tok, flat.map((x) => x || ' '), m.config.maxText);
        const tx = m.encodeText(t.ids, t.mask); // [S·K, D]
        const k = texts[0]?.length ?? 0;
        const rows = va.expandDims(1).tile([1, k, 1]).reshape([flat.length, -1]);
        const scores = rows.mul(tx).sum(1).arraySync() as number[];
        return texts.map((_, i) => scores.slice(i * k, (i + 1) * k));
      });
    },
  };
}
