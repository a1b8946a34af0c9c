/**
 * Hierarchical samples: one per labelled sub-task of an episode — the image at the sub-task's start, the long-horizon
 * (high-level) instruction, the sub-task's (low-level) instruction, and the sub-episode's trajectory (per step:
 * action Δx, Δy and effector x, y). An episode without a hierarchy gives one sample, the whole episode as its only
 * sub-task, with no high-level instruction. Batching turns samples into plain typed arrays with padding masks; the
 * training code makes tensors of them.
 */
import { DataError } from './errors';
import type { Episode } from './episode';
import { decodeModelView } from './frames';
import type { RgbImage } from './image';
import { actionSteps } from './languagetable';

export interface HierarchicalSample {
  episodeId: string;
  subTaskIndex: number;
  /** Absent for episodes without a long-horizon annotation. */
  highLevel?: string;
  lowLevel: string;
  /** JPEG of the observation at the sub-task's first step. */
  imageJpeg: Uint8Array;
  /** [T, 4]: action x, action y, effector x, effector y, per step of the sub-task. */
  trajectory: Float32Array;
  length: number;
  /** Step range in the episode. */
  start: number;
  end: number;
}

export const TRAJECTORY_FEATURES = 4;

export function hierarchicalSamples(ep: Episode): HierarchicalSample[] {
  const steps = actionSteps(ep);
  const subTasks = ep.hierarchy?.subTasks ?? [{ start: 0, end: steps.length, instruction: steps[0]?.instruction ?? '' }];
  const out: HierarchicalSample[] = [];
  subTasks.forEach((s, i) => {
    const end = Math.min(s.end, steps.length);
    if (end <= s.start) return; // a sub-task made only of the terminal step has no actions
    const T = end - s.start;
    const traj = new Float32Array(T * TRAJECTORY_FEATURES);
    for (let t = 0; t < T; t++) {
      const st = steps[s.start + t];
      traj.set([st.action[0], st.action[1], st.effectorTranslation[0], st.effectorTranslation[1]], t * TRAJECTORY_FEATURES);
    }
    out.push({
      episodeId: ep.episodeId, subTaskIndex: i, highLevel: ep.hierarchy?.longHorizonInstruction, lowLevel: s.instruction,
      imageJpeg: steps[s.start].rgbJpeg, trajectory: traj, length: T, start: s.start, end,
    });
  });
  return out;
}

/** A policy training sample: the observation at step t and the next `chunk` actions (padded, with a mask). */
export interface PolicySample {
  episodeId: string;
  instruction: string;
  imageJpeg: Uint8Array;
  state: [number, number];
  actions: Float32Array; // [chunk, 2]
  mask: Float32Array; // [chunk]
}

/** Per-step samples within each sub-task (actions do not cross into the next sub-task). */
export function policySamples(ep: Episode, chunk: number, stride = 1): PolicySample[] {
  const steps = actionSteps(ep);
  const subTasks = ep.hierarchy?.subTasks ?? [{ start: 0, end: steps.length, instruction: steps[0]?.instruction ?? '' }];
  const out: PolicySample[] = [];
  for (const s of subTasks) {
    const end = Math.min(s.end, steps.length);
    for (let t = s.start; t < end; t += stride) {
      const actions = new Float32Array(chunk * 2);
      const mask = new Float32Array(chunk);
      for (let c = 0; c < chunk && t + c < end; c++) {
        actions[2 * c] = steps[t + c].action[0];
        actions[2 * c + 1] = steps[t + c].action[1];
        mask[c] = 1;
      }
      out.push({ episodeId: ep.episodeId, instruction: s.instruction, imageJpeg: steps[t].rgbJpeg, state: steps[t].effectorTranslation, actions, mask });
    }
  }
  return out;
}

/**
 * Fits a [T, F] trajectory to L steps: 'pad' keeps the first L steps (zero padding, mask 0 after the end);
 * 'resample' linearly interpolates to exactly L steps (mask all ones), so short and long sub-tasks look alike.
 */
export function fitTrajectory(traj: Float32Array, T: number, L: number, mode: 'pad' | 'resample', F = TRAJECTORY_FEATURES): { values: Float32Array; mask: Float32Array } {
  const values = new Float32Array(L * F);
  const mask = new Float32Array(L);
  if (T <= 0) return { values, mask };
  if (mode === 'pad') {
    const n = Math.min(T, L);
    values.set(traj.subarray(0, n * F));
    mask.fill(1, 0, n);
    return { values, mask };
  }
  for (let i = 0; i < L; i++) {
    const x = L === 1 ? 0 : (i * (T - 1)) / (L - 1);
    const a = Math.floor(x);
    const b = Math.min(T - 1, a + 1);
    const w = x - a;
    for (let f = 0; f < F; f++) values[i * F + f] = traj[a * F + f] * (1 - w) + traj[b * F + f] * w;
  }
  mask.fill(1);
  return { values, mask };
}

/**
 * Decoded model-resolution images, cached by JPEG identity (a sample's image is decoded once per run). A stored frame
 * becomes the square input by frames.ts's view (the reference crop and resize for 16:9 camera frames such as the
 * real 360×640, a plain resize for the simulator's squares).
 */
export class ImageCache {
  private cache = new WeakMap<Uint8Array, RgbImage>();
  constructor(readonly size: number) {}
  get(jpeg: Uint8Array): RgbImage {
    let img = this.cache.get(jpeg);
    if (!img) {
      img = decodeModelView(jpeg, this.size);
      this.cache.set(jpeg, img);
    }
    return img;
  }
}

/** Writes images as floats in [0, 1] into a [B, S, S, 3] array. */
export function batchImages(jpegs: Uint8Array[], cache: ImageCache): Float32Array {
  const S = cache.size;
  const out = new Float32Array(jpegs.length * S * S * 3);
  jpegs.forEach((j, b) => {
    const img = cache.get(j);
    const base = b * S * S * 3;
    for (let i = 0; i < img.data.length; i++) out[base + i] = img.data[i] / 255;
  });
  return out;
}

export interface TrajectoryBatch {
  values: Float32Array; // [B, L, 4]
  mask: Float32Array; // [B, L]
}

export function batchTrajectories(samples: Pick<HierarchicalSample, 'trajectory' | 'length'>[], L: number, mode: 'pad' | 'resample'): TrajectoryBatch {
  const values = new Float32Array(samples.length * L * TRAJECTORY_FEATURES);
  const mask = new Float32Array(samples.length * L);
  samples.forEach((s, b) => {
    if (s.trajectory.length !== s.length * TRAJECTORY_FEATURES) {
      throw new DataError('trajectory size does not match its length', { field: 'trajectory', expected: `${s.length * TRAJECTORY_FEATURES}`, found: `${s.trajectory.length}` });
    }
    const f = fitTrajectory(s.trajectory, s.length, L, mode);
    values.set(f.values, b * L * TRAJECTORY_FEATURES);
    mask.set(f.mask, b * L);
  });
  return { values, mask };
}

/** Real-data hierarchy annotations (our interchange form of the `captions` release, one JSON object per line):
 *  {"episode_id": "...", "long_horizon_instruction": "...", "sub_tasks": [{"start": 0, "end": 12, "instruction": "..."}]} */
export function parseAnnotations(text: string, file = '<annotations>'): Map<string, Episode['hierarchy']> {
  const out = new Map<string, Episode['hierarchy']>();
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let o: { episode_id?: string; long_horizon_instruction?: string; sub_tasks?: { start: number; end: number; instruction: string }[] };
    try {
      o = JSON.parse(line);
    } catch (e) {
      throw new DataError(`not valid JSON: ${(e as Error).message}`, { file, record: i });
    }
    if (typeof o.episode_id !== 'string' || typeof o.long_horizon_instruction !== 'string' || !Array.isArray(o.sub_tasks)) {
      throw new DataError('annotation needs episode_id, long_horizon_instruction and sub_tasks', { file, record: i });
    }
    out.set(o.episode_id, { longHorizonInstruction: o.long_horizon_instruction, subTasks: o.sub_tasks });
  });
  return out;
}
