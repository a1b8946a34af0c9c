/**
 * AdamW (Loshchilov & Hutter: decoupled weight decay), linear warm-up + cosine schedule, global-norm gradient
 * clipping. Written here rather than using tf.train.adam because training needs decoupled decay, a per-step
 * learning rate, and an optimiser state that a checkpoint can store and restore exactly (moments by parameter name).
 */
import * as tf from '@tensorflow/tfjs';
import { fusedAdamW, hasFusedAdamW } from '../backend/optimizer-kernels';

export interface AdamWConfig {
  /** Adam betas; SmolVLA uses (0.9, 0.95). */
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay, applied to matrices only (rank ≥ 2), not to norms, biases or scalars. */
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 };

export interface ScheduleConfig {
  peakLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Learning rate reached at the end of the cosine; SmolVLA decays 1e-4 → 2.5e-6. */
  finalLr: number;
}

/** Linear warm-up from peak/warmup to peak, then cosine decay to finalLr at totalSteps (step is 0-based). */
export function learningRate(s: ScheduleConfig, step: number): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.peakLr * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  return s.finalLr + 0.5 * (s.peakLr - s.finalLr) * (1 + Math.cos(Math.PI * progress));
}

/**
 * The global L2 norm of a set of gradients, accumulated in float64 from each tensor's values (one read per tensor
 * rather than square + sum kernels per tensor).
 */
export function globalNorm(grads: Record<string, tf.Tensor>): number {
  let sq = 0;
  for (const g of Object.values(grads)) {
    const x = g.dataSync();
    for (let i = 0; i < x.length; i++) sq += x[i] * x[i];
  }
  return Math.sqrt(sq);
}

/** The factor that brings a gradient of global norm `norm` down to at most `maxNorm` (1 when no clipping applies). */
export function clipScale(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0) || !Number.isFinite(norm) || norm <= maxNorm) return 1;
  return maxNorm / (norm + 1e-6);
}

/** Scales gradients so that their global L2 norm is at most maxNorm; returns the clipped grads and the norm before. */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: number } {
  const norm = globalNorm(grads);
  const scale = clipScale(norm, maxNorm);
  if (scale === 1) return { grads, norm };
  const out: Record<string, tf.Tensor> = {};
  for (const [n, g] of Object.entries(grads)) out[n] = tf.tidy(() => g.mul(scale));
  return { grads: out, norm };
}

export class AdamW {
  readonly config: AdamWConfig;
  /** Number of updates applied. */
  t = 0;
  private m = new Map<string, tf.Variable>();
  private v = new Map<string, tf.Variable>();

  constructor(config: Partial<AdamWConfig> = {}) {
    this.config = { ...DEFAULT_ADAMW, ...config };
  }

  /**
   * Applies one update to `params` from `grads` (same names) at learning rate `lr`; each gradient is multiplied by
   * `gradScale` first (the clipping factor). On wasm and cpu the update is one fused kernel per parameter
   * (backend/optimizer-kernels.ts); `fused: false` forces the op-by-op path (tests compare the two).
   */
  step(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number, gradScale = 1, fused = hasFusedAdamW()): void {
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.config;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    for (const [name, p] of params) {
      const g = grads[name];
      if (!g) continue; // frozen or unused in this loss
      const { m, v } = this.moments(name, p);
      const decay = weightDecay > 0 && p.rank >= 2 ? lr * weightDecay : 0;
      if (fused) {
        const [p1, m1, v1] = fusedAdamW(p, m, v, g, { lr, beta1, beta2, eps, bc1, bc2, decay, gradScale });
        p.assign(p1);
        m.assign(m1);
        v.assign(v1);
        tf.dispose([p1, m1, v1]);
        continue;
      }
      tf.tidy(() => {
        const gs = gradScale === 1 ? g : g.mul(gradScale);
        const m1 = m.mul(beta1).add(gs.mul(1 - beta1));
        const v1 = v.mul(beta2).add(gs.square().mul(1 - beta2));
        m.assign(m1);
        v.assign(v1);
        const update = m1.div(bc1).div(v1.div(bc2).sqrt().add(eps));
        let next = p.sub(update.mul(lr));
        if (decay > 0) next = next.sub(p.mul(decay));
        p.assign(next);
      });
    }
  }

  /** The moment buffers of a parameter, created as zeros on its first update. */
  private moments(name: string, p: tf.Variable): { m: tf.Variable; v: tf.Variable } {
    if (!this.m.has(name)) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false, `${name}.exp_avg`));
      this.v.set(name, tf.variable(tf.zerosLike(p), false, `${name}.exp_avg_sq`));
    }
    return { m: this.m.get(name)!, v: this.v.get(name)! };
  }

  /** Moments by parameter name (PyTorch's names: exp_avg, exp_avg_sq), for checkpoints. */
  stateTensors(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [n, t] of this.m) out[`${n}.exp_avg`] = t;
    for (const [n, t] of this.v) out[`${n}.exp_avg_sq`] = t;
    return out;
  }

  /** Restores moments saved by stateTensors (the tensors are copied). */
  loadState(t: number, tensors: Record<string, tf.Tensor>): void {
    this.dispose();
    this.t = t;
    for (const [key, value] of Object.entries(tensors)) {
      const match = /^(.*)\.(exp_avg|exp_avg_sq)$/.exec(key);
      if (!match) throw new Error(`optimizer state: unexpected tensor "${key}" (expected <param>.exp_avg or <param>.exp_avg_sq)`);
      (match[2] === 'exp_avg' ? this.m : this.v).set(match[1], tf.variable(value.clone(), false, key));
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
