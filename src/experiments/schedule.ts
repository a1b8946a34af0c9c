/**
 * The experiment side of a preset: how much data, how long each model trains, and the preference iterations.
 * Model widths live beside it in presets.ts; an experiment is a preset with a few fields changed.
 *
 * Sizes: `tiny` runs the whole pipeline in the test suite in well under two minutes; `small` is the default
 * reproduction on a 2-core laptop CPU (≤ 30 minutes); `paper` names the scale of the paper's setting for a GPU.
 */
import type { BlockSetKey } from '../sim/constants';

export type PresetName = 'tiny' | 'small' | 'paper';

export interface DataSchedule {
  /** Long-horizon episodes synthesised by the simulator (ignored with --data). */
  episodes: number;
  /** Block set of synthesised data and closed-loop boards: 4, 8 or 'real' (the real robot's eight blocks). */
  blocks: BlockSetKey;
  /** Image side fed to the models (square), and the stored image size of synthesised data. */
  imageSize: number;
  storedImage: [number, number];
  /** Trajectory length the grounding model sees (sub-episodes are resampled to it). */
  trajectoryLength: number;
  /** Fractions of episodes (by id hash) held out for validation and test. */
  valFraction: number;
  testFraction: number;
}

export interface StageSchedule {
  steps: number;
  batchSize: number;
  peakLr: number;
  warmupSteps: number;
  finalLr: number;
  weightDecay: number;
  clipNorm: number;
}

/** The base planner's pre-training (tasks.ts plannerPretrainTask): scene descriptions and instruction language. */
export interface PlannerPretrainSchedule extends StageSchedule {
  /** Share of batches that are scene descriptions (the rest: instruction language without an image). */
  sceneShare: number;
  /** Random boards rendered for the scene descriptions (questions are drawn afresh every batch). */
  sceneBoards: number;
  /** Weight of the detection loss on scene batches (0: none; needs PlannerConfig.slots). */
  detectionWeight: number;
}

/** The policy's behaviour cloning (tasks.ts policyTask) and the two losses that can stand beside it. */
export interface PolicySchedule extends StageSchedule {
  /** Random boards rendered for the keypoints' detection loss (blocks and effector), and its weight (0: none; needs PolicyConfig.keypoints). */
  detectionBoards: number;
  detectionWeight: number;
  /** Weight of the pointer's two cross-entropies against the parse of each sample's instruction (0: none; needs PolicyConfig.pointer). */
  pointerWeight: number;
}

export interface SimpoSchedule {
  iterations: number;
  candidates: number;
  temperature: number;
  topP: number;
  beta: number;
  gammaBetaRatio: number;
  minMargin: number;
  stepsPerIteration: number;
  batchSize: number;
  peakLr: number;
  /** Training samples used for candidate generation per iteration (sampling is the costly part). */
  samplesPerIteration: number;
  /** NLL weight on the chosen text (CPO's cpo_alpha; 0 = the paper's plain SimPO). */
  sftWeight: number;
  /** Unparseable candidates may be rejected but never chosen (false = the paper's plain ranking). */
  rejectInvalid: boolean;
}

export interface EvalSchedule {
  /** Held-out samples evaluated per condition. */
  samples: number;
  /** Closed-loop long-horizon episodes in the simulator per condition and executor (run in lockstep, one model batch per round). */
  rolloutEpisodes: number;
  /** Maximum policy steps per sub-task in closed loop. */
  stepsPerSubtask: number;
  /** Qualitative rows written to qualitative.csv. */
  qualitative: number;
  /** Held-out random boards for the scene-description accuracy (one question each). */
  sceneBoards: number;
}

export interface ExperimentSchedule {
  data: DataSchedule;
  grounding: StageSchedule;
  policy: PolicySchedule;
  plannerPretrain: PlannerPretrainSchedule;
  plannerSft: StageSchedule;
  simpo: SimpoSchedule;
  eval: EvalSchedule;
}

const stageDefaults = { warmupSteps: 20, weightDecay: 0.01, clipNorm: 10 };

export const SCHEDULES: Record<PresetName, ExperimentSchedule> = {
  tiny: {
    data: { episodes: 24, blocks: 4, imageSize: 32, storedImage: [32, 32], trajectoryLength: 16, valFraction: 0.15, testFraction: 0.15 },
    grounding: { ...stageDefaults, steps: 40, batchSize: 16, peakLr: 2e-3, finalLr: 2e-4, warmupSteps: 5 },
    policy: { ...stageDefaults, steps: 30, batchSize: 16, peakLr: 2e-3, finalLr: 2e-4, warmupSteps: 5, detectionBoards: 0, detectionWeight: 0, pointerWeight: 0 },
    plannerPretrain: { ...stageDefaults, steps: 40, batchSize: 16, peakLr: 3e-3, finalLr: 3e-4, warmupSteps: 5, sceneShare: 0.5, sceneBoards: 64, detectionWeight: 0 },
    plannerSft: { ...stageDefaults, steps: 40, batchSize: 16, peakLr: 2e-3, finalLr: 2e-4, warmupSteps: 5 },
    simpo: { iterations: 2, candidates: 4, temperature: 1.0, topP: 0.95, beta: 2.0, gammaBetaRatio: 0.5, minMargin: 0, stepsPerIteration: 10, batchSize: 8, peakLr: 5e-4, samplesPerIteration: 24, sftWeight: 0, rejectInvalid: false },
    eval: { samples: 24, rolloutEpisodes: 2, stepsPerSubtask: 20, qualitative: 4, sceneBoards: 24 },
  },
  small: {
    // Sized so the whole pipeline runs in under 30 minutes on a 2-core laptop CPU with the wasm backend.
    data: { episodes: 1200, blocks: 4, imageSize: 64, storedImage: [64, 64], trajectoryLength: 32, valFraction: 0.1, testFraction: 0.15 },
    grounding: { ...stageDefaults, steps: 600, batchSize: 48, peakLr: 1e-3, finalLr: 5e-5, warmupSteps: 20 },
    policy: { ...stageDefaults, steps: 800, batchSize: 32, peakLr: 1e-3, finalLr: 5e-5, warmupSteps: 20, detectionBoards: 3000, detectionWeight: 30, pointerWeight: 1 },
    plannerPretrain: { ...stageDefaults, steps: 200, batchSize: 32, peakLr: 2e-3, finalLr: 1e-4, warmupSteps: 20, sceneShare: 0.75, sceneBoards: 3000, detectionWeight: 0 },
    plannerSft: { ...stageDefaults, steps: 300, batchSize: 32, peakLr: 1e-3, finalLr: 5e-5, warmupSteps: 20 },
    simpo: { iterations: 3, candidates: 6, temperature: 1.0, topP: 0.95, beta: 2.0, gammaBetaRatio: 0.5, minMargin: 0.02, stepsPerIteration: 40, batchSize: 16, peakLr: 3e-4, samplesPerIteration: 96, sftWeight: 0, rejectInvalid: false },
    eval: { samples: 150, rolloutEpisodes: 40, stepsPerSubtask: 40, qualitative: 6, sceneBoards: 150 },
  },
  paper: {
    data: { episodes: 8000, blocks: 8, imageSize: 224, storedImage: [360, 640], trajectoryLength: 64, valFraction: 0.05, testFraction: 0.05 },
    grounding: { ...stageDefaults, steps: 30000, batchSize: 256, peakLr: 1e-4, finalLr: 2.5e-6, warmupSteps: 1000 },
    policy: { ...stageDefaults, steps: 30000, batchSize: 64, peakLr: 1e-4, finalLr: 2.5e-6, warmupSteps: 1000, detectionBoards: 0, detectionWeight: 0, pointerWeight: 0 },
    plannerPretrain: { ...stageDefaults, steps: 5000, batchSize: 64, peakLr: 5e-5, finalLr: 1e-6, warmupSteps: 500, sceneShare: 0.75, sceneBoards: 100000, detectionWeight: 0 },
    plannerSft: { ...stageDefaults, steps: 10000, batchSize: 64, peakLr: 2e-5, finalLr: 1e-6, warmupSteps: 500 },
    simpo: { iterations: 5, candidates: 8, temperature: 1.0, topP: 0.95, beta: 2.0, gammaBetaRatio: 0.5, minMargin: 0.02, stepsPerIteration: 2000, batchSize: 128, peakLr: 8e-7, samplesPerIteration: 20000, sftWeight: 0, rejectInvalid: false },
    eval: { samples: 2000, rolloutEpisodes: 50, stepsPerSubtask: 100, qualitative: 8, sceneBoards: 2000 },
  },
};
