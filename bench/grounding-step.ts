/**
 * The timed grounding step that the peer, parallel, native and profile benches share: the small preset's grounding
 * model and one seeded batch exported as safetensors for the PyTorch side, one AdamW step of ours on it, and the
 * OpenBLAS kernel choice matched to the peer's. (It lived in peer.ts, which made peer.ts and parallel.ts import
 * each other.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getPreset } from '../src/experiments/presets';
import { writeSafetensorsFile } from '../src/nn/safetensors';
import { symmetricInfoNCE } from '../src/train/losses';
import { Rng } from '../src/util/rng';
import { GroundingModel, TRAJECTORY_NORMALISATION } from '../src/models/grounding';
import { AdamW, DEFAULT_ADAMW } from '../src/train/optim';
import type { PeerSettings } from './peer/torch';

/** Constant learning rate of the timed steps (no schedule, no clipping). */
export const LR = 1e-3;

interface Setup {
  model: GroundingModel;
  batch: { images: tf.Tensor4D; trajectories: tf.Tensor3D; trajectoryMask: tf.Tensor2D; ids: tf.Tensor2D; textMask: tf.Tensor2D };
  dir: string;
}

/**
 * The small preset's grounding model (vocabulary 64, about the simulator's) and one seeded batch, exported. Without
 * its keypoint stem: the PyTorch peer (bench/peer/grounding.py) has none, and the comparison is like for like.
 */
export function exportSetup(dir: string): Setup {
  const preset = getPreset('small');
  const cfg = { ...preset.models.grounding, vocab: 64, keypoints: undefined };
  const B = preset.schedule.grounding.batchSize;
  const S = cfg.image;
  const T = cfg.trajectoryLength;
  const L = cfg.maxText;
  const model = new GroundingModel(cfg, 0);
  const rng = new Rng(1);
  const images = Float32Array.from({ length: B * S * S * 3 }, () => rng.random());
  const trajectories = new Float32Array(B * T * 4);
  const trajectoryMask = new Float32Array(B * T);
  const ids = new Int32Array(B * L);
  const textMask = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    const len = 8 + rng.int(T - 7);
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * 4;
      trajectories.set([rng.normal(0, 0.01), rng.normal(0, 0.01), 0.15 + 0.45 * rng.random(), -0.3 + 0.6 * rng.random()], o);
      trajectoryMask[b * T + t] = t < len ? 1 : 0;
    }
    const n = 5 + rng.int(L - 4);
    for (let i = 0; i < L; i++) {
      ids[b * L + i] = i < n ? 4 + rng.int(cfg.vocab - 4) : 0;
      textMask[b * L + i] = i < n ? 1 : 0;
    }
  }
  model.ps.save(path.join(dir, 'init.safetensors'));
  writeSafetensorsFile(path.join(dir, 'batch.safetensors'), {
    images: { dtype: 'F32', shape: [B, S, S, 3], data: images },
    trajectories: { dtype: 'F32', shape: [B, T, 4], data: trajectories },
    trajectoryMask: { dtype: 'F32', shape: [B, T], data: trajectoryMask },
    ids: { dtype: 'I32', shape: [B, L], data: ids },
    textMask: { dtype: 'F32', shape: [B, L], data: textMask },
  });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, normalisation: TRAJECTORY_NORMALISATION, optimizer: { ...DEFAULT_ADAMW, lr: LR } }, null, 2));
  return {
    model, dir,
    batch: {
      images: tf.tensor4d(images, [B, S, S, 3]), trajectories: tf.tensor3d(trajectories, [B, T, 4]), trajectoryMask: tf.tensor2d(trajectoryMask, [B, T]),
      ids: tf.tensor2d(ids, [B, L], 'int32'), textMask: tf.tensor2d(textMask, [B, L]),
    },
  };
}

/** Our training step exactly as the loop takes it (no clipping, constant lr): loss, gradients, AdamW. */
export function makeStep(s: Setup): { step: () => number; dispose: () => void } {
  const { model, batch } = s;
  const names = [...model.params.keys()];
  const vars = [...model.params.values()];
  const opt = new AdamW();
  const step = () => {
    const { value, grads } = tf.variableGrads(() => symmetricInfoNCE(model.encodeVisionAction(batch), model.encodeText(batch.ids as tf.Tensor2D, batch.textMask), model.scale()), vars);
    const loss = value.dataSync()[0];
    value.dispose();
    const named: Record<string, tf.Tensor> = {};
    vars.forEach((v, i) => {
      if (grads[v.name]) named[names[i]] = grads[v.name];
    });
    opt.step(model.params, named, LR);
    tf.dispose(Object.values(grads));
    return loss;
  };
  return { step, dispose: () => opt.dispose() };
}


/**
 * Our OpenBLAS gets the kernels PyTorch's gets (OPENBLAS_CORETYPE, read once when the library loads, so before the
 * addon loads it). Without a value for the peer, ours keeps what the addon picks by itself. An inherited value that
 * differs is replaced, and said.
 */
export function matchOpenBlasKernels(peer: PeerSettings): void {
  const want = peer.env.OPENBLAS_CORETYPE;
  if (!want) return;
  const had = process.env.OPENBLAS_CORETYPE;
  if (had && had !== want) console.log(`note: OPENBLAS_CORETYPE=${had} from the environment replaced by ${want} for both sides (the peer's kernels)`);
  process.env.OPENBLAS_CORETYPE = want;
}
