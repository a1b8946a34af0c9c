/**
 * Presets: plain typed data, one place. A preset is the models' widths (here) plus the experiment schedule
 * (schedule.ts); an experiment changes a few fields of one.
 *   tiny  — tests and CI: every model under ~100k parameters, 32×32 images, seconds.
 *   small — the default reproduction on a laptop CPU: models of ~1–3M parameters, 64×64 images, minutes.
 *   paper — the real components' widths and depths (SigLIP 2 B/16 towers, a Gemma 3 4B-class planner, SmolVLA
 *           450M); for a GPU. Here its parameter counts and FLOPs are computed from the config without weights.
 */
import type { GroundingConfig } from '../models/grounding';
import type { PlannerConfig } from '../models/planner';
import type { PolicyConfig } from '../models/policy';
import { SCHEDULES, type ExperimentSchedule, type PresetName } from './schedule';

export type { PresetName } from './schedule';
export const PRESET_NAMES: PresetName[] = ['tiny', 'small', 'paper'];

export interface ModelPresets {
  /** Filled in from the tokenizer at run time (placeholder sizes here are for counting). */
  grounding: GroundingConfig;
  planner: PlannerConfig;
  policy: PolicyConfig;
}

export interface Preset {
  name: PresetName;
  models: ModelPresets;
  schedule: ExperimentSchedule;
}

/** Per-channel pixel mean and std of the simulator's top-down images (500 frames of the small preset's data: 0.207 and 0.062 per channel; the board is dark grey, blocks cover ~2% of it). */
const SIM_PIXEL_MEAN: [number, number, number] = [0.207, 0.207, 0.207];
const SIM_PIXEL_STD: [number, number, number] = [0.062, 0.062, 0.062];

const enc = (width: number, layers: number, heads: number, mlp = 4 * width) => ({ width, layers, heads, mlp });

const MODELS: Record<PresetName, ModelPresets> = {
  tiny: {
    grounding: {
      conditioning: 'action', image: 32, patch: 8, vision: enc(32, 2, 2, 64), pixelMean: [0.5, 0.5, 0.5], pixelStd: [0.5, 0.5, 0.5], pooling: 'attention', vocab: 128, maxText: 24, text: enc(32, 1, 2, 64),
      trajectoryLength: 16, action: enc(32, 1, 2, 64), embed: 32, logitScaleInit: 1 / 0.07, logitScaleMax: 100,
    },
    planner: {
      vocab: 128, width: 48, layers: 2, heads: 2, kvHeads: 1, headDim: 24, mlp: 96, window: 16, globalEvery: 2, ropeTheta: 10000,
      image: 32, patch: 8, vision: enc(32, 1, 2, 64), imageTokens: 4, pixelMean: SIM_PIXEL_MEAN, pixelStd: SIM_PIXEL_STD, slots: 0, maxPrompt: 20, maxCompletion: 16,
    },
    policy: {
      image: 32, patch: 8, vocab: 128, maxText: 16, backbone: { width: 48, layers: 2, heads: 2, kvHeads: 1, headDim: 24, mlp: 96 },
      expertWidth: 36, expertHeads: 2, expertMlp: 72, chunk: 4, actionDim: 2, steps: 4, actionScale: 0.03,
    },
  },
  small: {
    // Patch 16 on 64×64 images (16 patch tokens) keeps a training step within a laptop CPU's budget on wasm.
    grounding: {
      conditioning: 'action', image: 64, patch: 16, vision: enc(128, 3, 4), pixelMean: SIM_PIXEL_MEAN, pixelStd: SIM_PIXEL_STD, keypoints: { keypoints: 8, cell: 4, hidden: 32 }, pooling: 'attention', vocab: 256, maxText: 24, text: enc(96, 2, 4),
      trajectoryLength: 32, action: enc(64, 2, 4), embed: 96, logitScaleInit: 1 / 0.07, logitScaleMax: 100,
    },
    planner: {
      vocab: 256, width: 128, layers: 4, heads: 4, kvHeads: 2, headDim: 32, mlp: 384, window: 16, globalEvery: 4, ropeTheta: 10000,
      image: 64, patch: 16, vision: enc(96, 2, 4), imageTokens: 16, pixelMean: SIM_PIXEL_MEAN, pixelStd: SIM_PIXEL_STD, slots: 0, maxPrompt: 20, maxCompletion: 16,
    },
    policy: {
      image: 64, patch: 16, vocab: 256, maxText: 16, backbone: { width: 128, layers: 4, heads: 4, kvHeads: 2, headDim: 32, mlp: 384 },
      expertWidth: 96, expertHeads: 4, expertMlp: 288, chunk: 8, actionDim: 2, steps: 10, actionScale: 0.03,
      // Keypoints (cell 2: ~3 mm), the pointer with its geometry head, and a regression of the chunk at t = 1: the
      // combination that pushes blocks in bench/probes/policy.ts (environment.md, "An object-centric pointer").
      keypoints: { keypoints: 8, cell: 2, hidden: 32, relative: true }, pointer: { blocks: 4, head: 256 },
      prediction: 'action', regression: true, executeSteps: 2,
    },
  },
  paper: {
    grounding: {
      conditioning: 'action', image: 224, patch: 16, vision: enc(768, 12, 12, 3072), pixelMean: [0.5, 0.5, 0.5], pixelStd: [0.5, 0.5, 0.5], pooling: 'attention', vocab: 256000, maxText: 64, text: enc(768, 12, 12, 3072),
      trajectoryLength: 64, action: enc(384, 4, 6), embed: 768, logitScaleInit: 1 / 0.07, logitScaleMax: 100,
    },
    planner: {
      vocab: 262144, width: 2560, layers: 34, heads: 8, kvHeads: 4, headDim: 256, mlp: 10240, window: 1024, globalEvery: 6, ropeTheta: 1000000,
      image: 896, patch: 14, vision: enc(1152, 27, 16, 4304), imageTokens: 256, pixelMean: [0.5, 0.5, 0.5], pixelStd: [0.5, 0.5, 0.5], slots: 0, maxPrompt: 64, maxCompletion: 32,
    },
    policy: {
      image: 512, patch: 16, vocab: 49280, maxText: 48, backbone: { width: 960, layers: 16, heads: 15, kvHeads: 5, headDim: 64, mlp: 2560 },
      expertWidth: 720, expertHeads: 15, expertMlp: 2048, chunk: 50, actionDim: 32, steps: 10, actionScale: 1,
    },
  },
};

export function getPreset(name: string): Preset {
  if (!PRESET_NAMES.includes(name as PresetName)) throw new Error(`unknown preset "${name}": accepted are ${PRESET_NAMES.join(', ')}`);
  const n = name as PresetName;
  return { name: n, models: structuredClone(MODELS[n]), schedule: structuredClone(SCHEDULES[n]) };
}
