/**
 * Our planner's two training steps against the same steps in PyTorch (bench/peer/planner.py) on this CPU, at the
 * small preset's sizes: the SFT step (token cross-entropy of the sub-task given image + instruction, batch
 * schedule.plannerSft.batchSize) and the SimPO step (chosen vs rejected mean log-probabilities, no reference model,
 * batch schedule.simpo.batchSize, β and γ/β from schedule.simpo). The method is bench/peer.ts's for the grounding model:
 *
 * 1. Export: the planner's initial weights (vocabulary 64, about the simulator's) and one fixed seeded batch per step
 *    as safetensors, plus the config, the SimPO constants and the optimiser settings.
 * 2. Parity: 5 AdamW steps of each loss here and in PyTorch (constant lr, no clipping); the losses must agree to 1e-4,
 *    or the comparison is void and this throws.
 * 3. Speed: per round, ours, then PyTorch with 2 threads, then with 1 thread (single-threaded OpenBLAS under torch's
 *    threads, the fair settings of bench/peer.ts), for SFT and then for SimPO; medians over the rounds.
 *
 * Our losses are the pipeline's own code: the SFT loss is `plannerSftTask(...).loss` (src/experiments/tasks.ts), and
 * the SimPO loss is what runSimpoIterations computes (src/train/simpo-iterations.ts): `simpoLoss` of the two
 * `Planner.logProb(...).mean` that plannerPolicy.meanLogProb returns, without the text → tensor conversion (the batch
 * is fixed and already in memory on both sides, so only the step is timed). Learning rates are the stages' peak
 * rates; weight decay is plannerSft.weightDecay for SFT and 0 for SimPO, as src/experiments/reproduce.ts sets them.
 *
 * Try it alone: `npx tsx bench/peer/planner.ts [--rounds R] [--steps N]` (prints the tables and the JSON result).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../../src/backend';
import { ImageCache } from '../../src/data/samples';
import { getPreset } from '../../src/experiments/presets';
import { plannerSftTask } from '../../src/experiments/tasks';
import { Planner, type PlannerConfig, type PlannerInputs } from '../../src/models/planner';
import { writeSafetensorsFile, type NamedArray } from '../../src/nn/safetensors';
import { BOS, EOS, SEP, SPECIALS, Tokenizer } from '../../src/text/tokenizer';
import { simpoLoss } from '../../src/train/losses';
import { AdamW, DEFAULT_ADAMW, type AdamWConfig } from '../../src/train/optim';
import { Rng } from '../../src/util/rng';
import { intArg, median, printTable } from '../util';
import { currentPeerSettings, defaultTorchRun, haveTorch, PYTHON, TORCH_PEERS, torchVersion, type OursVariant, type TorchRun } from './torch';

const SCRIPT = path.join(__dirname, 'planner.py');
const VOCAB = 64;
const PARITY_STEPS = 5;
const PARITY_TOLERANCE = 1e-4;

type Which = 'sft' | 'simpo';

interface Completion {
  ids: tf.Tensor2D;
  mask: tf.Tensor2D;
}

interface Setup {
  cfg: PlannerConfig;
  tok: Tokenizer;
  sft: { inp: PlannerInputs; comp: Completion };
  simpo: { inp: PlannerInputs; chosen: Completion; rejected: Completion };
  simpoConsts: { beta: number; gammaBetaRatio: number };
  optimizer: Record<Which, AdamWConfig & { lr: number }>;
  sizes: Record<Which, number>;
}

/** A word-level tokenizer of VOCAB entries (the specials and filler words): the size the pipeline gives the planner. */
function syntheticTokenizer(): Tokenizer {
  return new Tokenizer([...SPECIALS, ...Array.from({ length: VOCAB - SPECIALS.length }, (_, i) => `w${i}`)]);
}

/**
 * Seeded batches in the pipeline's layout (src/models/inputs.ts): images in [0, 1]; prompts <bos> words <sep>
 * left-padded to maxPrompt; completions words <eos> right-padded to maxCompletion. Lengths spread like the templated
 * LanguageTable instructions (4–15 prompt words, 3–12 sub-task words).
 */
function makeBatches(cfg: PlannerConfig, sftSize: number, simpoSize: number, rng: Rng) {
  const P = cfg.maxPrompt;
  const C = cfg.maxCompletion;
  const S = cfg.image;
  const word = () => SPECIALS.length + rng.int(cfg.vocab - SPECIALS.length);
  const words = (lo: number, hi: number) => Array.from({ length: lo + rng.int(hi - lo + 1) }, word);
  const rows = (B: number, len: number, make: () => number[], align: 'left' | 'right') => {
    const ids = new Int32Array(B * len);
    const mask = new Float32Array(B * len);
    for (let b = 0; b < B; b++) {
      const r = make().slice(0, len);
      const off = align === 'left' ? len - r.length : 0;
      r.forEach((id, i) => {
        ids[b * len + off + i] = id;
        mask[b * len + off + i] = 1;
      });
    }
    return { ids, mask, shape: [B, len] };
  };
  const inputs = (B: number) => ({
    images: { data: Float32Array.from({ length: B * S * S * 3 }, () => rng.random()), shape: [B, S, S, 3] },
    prompt: rows(B, P, () => [BOS, ...words(4, Math.min(15, P - 2)), SEP], 'left'),
  });
  const completion = (B: number) => rows(B, C, () => [...words(3, Math.min(12, C - 1)), EOS], 'right');
  const sft = { ...inputs(sftSize), comp: completion(sftSize) };
  const simpo = { ...inputs(simpoSize), chosen: completion(simpoSize), rejected: completion(simpoSize) };
  return { sft, simpo };
}

/** The small preset's planner (vocabulary 64) and one seeded batch per step, exported to dir. Returns the model. */
export function exportSetup(dir: string): { model: Planner; setup: Setup } {
  const preset = getPreset('small');
  const tok = syntheticTokenizer();
  const S = preset.schedule;
  const cfg: PlannerConfig = { ...preset.models.planner, vocab: tok.size, image: S.data.imageSize };
  const sizes = { sft: S.plannerSft.batchSize, simpo: S.simpo.batchSize };
  const simpoConsts = { beta: S.simpo.beta, gammaBetaRatio: S.simpo.gammaBetaRatio };
  const optimizer = {
    sft: { ...DEFAULT_ADAMW, weightDecay: S.plannerSft.weightDecay, lr: S.plannerSft.peakLr },
    // reproduce.ts runs the SimPO iterations with weightDecay 0 (SimpoSchedule has no decay field).
    simpo: { ...DEFAULT_ADAMW, weightDecay: 0, lr: S.simpo.peakLr },
  };
  const model = new Planner(cfg, 0);
  const raw = makeBatches(cfg, sizes.sft, sizes.simpo, new Rng(1));
  model.ps.save(path.join(dir, 'init.safetensors'));
  const f32 = (x: { data: Float32Array; shape: number[] }): NamedArray => ({ dtype: 'F32', shape: x.shape, data: x.data });
  const ids = (x: { ids: Int32Array; shape: number[] }): NamedArray => ({ dtype: 'I32', shape: x.shape, data: x.ids });
  const mask = (x: { mask: Float32Array; shape: number[] }): NamedArray => ({ dtype: 'F32', shape: x.shape, data: x.mask });
  writeSafetensorsFile(path.join(dir, 'batch.safetensors'), {
    sft_images: f32(raw.sft.images), sft_promptIds: ids(raw.sft.prompt), sft_promptMask: mask(raw.sft.prompt),
    sft_ids: ids(raw.sft.comp), sft_mask: mask(raw.sft.comp),
    simpo_images: f32(raw.simpo.images), simpo_promptIds: ids(raw.simpo.prompt), simpo_promptMask: mask(raw.simpo.prompt),
    chosen_ids: ids(raw.simpo.chosen), chosen_mask: mask(raw.simpo.chosen),
    rejected_ids: ids(raw.simpo.rejected), rejected_mask: mask(raw.simpo.rejected),
  });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, simpo: simpoConsts, optimizer }, null, 2));
  const inputs = (x: typeof raw.sft): PlannerInputs => ({
    images: tf.tensor4d(x.images.data, x.images.shape as [number, number, number, number]),
    promptIds: tf.tensor2d(x.prompt.ids, x.prompt.shape as [number, number], 'int32'),
    promptMask: tf.tensor2d(x.prompt.mask, x.prompt.shape as [number, number]),
  });
  const comp = (x: { ids: Int32Array; mask: Float32Array; shape: number[] }): Completion => ({
    ids: tf.tensor2d(x.ids, x.shape as [number, number], 'int32'),
    mask: tf.tensor2d(x.mask, x.shape as [number, number]),
  });
  return {
    model,
    setup: {
      cfg, tok, simpoConsts, optimizer, sizes,
      sft: { inp: inputs(raw.sft), comp: comp(raw.sft.comp) },
      simpo: { inp: inputs({ ...raw.simpo, comp: raw.simpo.chosen }), chosen: comp(raw.simpo.chosen), rejected: comp(raw.simpo.rejected) },
    },
  };
}

function disposeSetup(s: Setup): void {
  const all = [s.sft.inp, s.simpo.inp].flatMap((i) => [i.images ?? [], i.promptIds, i.promptMask].flat());
  tf.dispose([...all, s.sft.comp.ids, s.sft.comp.mask, s.simpo.chosen.ids, s.simpo.chosen.mask, s.simpo.rejected.ids, s.simpo.rejected.mask]);
}

/** The pipeline's loss for `which` on the fixed batch (see the file comment). */
function lossFn(model: Planner, s: Setup, which: Which): () => tf.Scalar {
  if (which === 'sft') {
    // plannerSftTask's loss only reads the planner and the batch; the samples, tokenizer and image cache feed nextBatch.
    const task = plannerSftTask(model, [], s.tok, new ImageCache(s.cfg.image), s.sizes.sft);
    return () => task.loss(s.sft);
  }
  // As simpo-iterations.ts: chosen and rejected in one pass of twice the batch.
  const { inp, chosen, rejected } = s.simpo;
  const n = chosen.ids.shape[0];
  const two = (t: tf.Tensor | null) => (t ? tf.concat([t, t], 0) : null);
  return () => {
    // Built inside the step (variableGrads disposes them), as the pipeline builds its inputs per batch.
    const both = { images: two(inp.images) as tf.Tensor4D | null, promptIds: two(inp.promptIds) as tf.Tensor2D, promptMask: two(inp.promptMask) as tf.Tensor2D };
    const mean = model.logProb(both, tf.concat([chosen.ids, rejected.ids], 0) as tf.Tensor2D, tf.concat([chosen.mask, rejected.mask], 0) as tf.Tensor2D).mean;
    return simpoLoss(mean.slice(0, n), mean.slice(n, n), s.simpoConsts.beta, s.simpoConsts.gammaBetaRatio);
  };
}

/** Our training step as the loop takes it, minus clipping and the schedule (constant lr): loss, gradients, AdamW. */
export function makeStep(model: Planner, s: Setup, which: Which): { step: () => number; dispose: () => void } {
  // AdamW names its moment variables after the parameters and tf variable names are global: prefix the names so the
  // SFT and SimPO optimisers can coexist over the same kind of model.
  const names = [...model.params.keys()].map((n) => `${which}/${n}`);
  const vars = [...model.params.values()];
  const params = new Map(names.map((n, i) => [n, vars[i]]));
  const { lr, ...adam } = s.optimizer[which];
  const opt = new AdamW(adam);
  const loss = lossFn(model, s, which);
  const step = () => {
    const { value, grads } = tf.variableGrads(loss, vars);
    const l = value.dataSync()[0];
    value.dispose();
    const named: Record<string, tf.Tensor> = {};
    vars.forEach((v, i) => {
      if (grads[v.name]) named[names[i]] = grads[v.name];
    });
    opt.step(params, named, lr);
    tf.dispose(Object.values(grads));
    return l;
  };
  return { step, dispose: () => opt.dispose() };
}

export interface ParityResult {
  /** Losses of the parity steps. */
  ours: number[];
  pytorch: number[];
  /** Largest |ours − PyTorch| over the losses (and, for SimPO, over the rewards). */
  maxAbsDiff: number;
  /** SimPO only: batch means of r(chosen) and r(rejected), the mean per-token log-probs, at each step's weights. */
  rewards?: { chosen: { ours: number[]; pytorch: number[] }; rejected: { ours: number[]; pytorch: number[] } };
}

export interface SpeedResult {
  /** Per-round steps/s by implementation label (our variants, "PyTorch, 2 threads", "PyTorch, 1 thread"). */
  stepsPerSecond: Record<string, number[]>;
  median: Record<string, number>;
  /** The fastest of our variants over PyTorch's medians. */
  ratioTo2Threads: number;
  ratioTo1Thread: number;
}

export interface PlannerPeerResult {
  backend: string;
  backendVersion: string;
  torch: string;
  peerEnvironment: Record<string, string>;
  rounds: number;
  steps: number;
  config: { planner: PlannerConfig; batchSize: Record<Which, number>; simpo: { beta: number; gammaBetaRatio: number }; optimizer: Record<Which, AdamWConfig & { lr: number }> };
  parity: { steps: number; tolerance: number; sft: ParityResult; simpo: ParityResult };
  sft: SpeedResult;
  simpo: SpeedResult;
  peers: { label: string; torch: number; blas: number }[];
}


/**
 * Exports the setup, checks parity of both steps (throws beyond 1e-4), then times ours against PyTorch alternately,
 * `rounds` rounds of `steps` timed steps each (after 3 warm-up steps), for SFT and SimPO. Progress goes to stderr.
 */
export async function runPlannerPeer(opts: { rounds: number; steps: number; torchRun?: TorchRun; ours?: OursVariant[] }): Promise<PlannerPeerResult> {
  const { rounds, steps } = opts;
  const variants = opts.ours ?? [{ label: 'ours', use: () => {} }];
  const torchRun = opts.torchRun ?? defaultTorchRun;
  if (!haveTorch()) throw new Error(`PyTorch is missing for ${PYTHON}: install it with\n  sudo apt-get install -y python3-torch libopenblas0-pthread python3-numpy`);
  const backend = await initBackend();
  console.error(describeBackend(backend));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-peer-planner-'));
  const init = path.join(dir, 'init.safetensors');
  const { model, setup } = exportSetup(dir);
  try {
    // ---- parity: 5 steps of each loss from the exported weights, fresh optimiser each. SimPO's loss saturates within
    // a few steps on a fixed batch (≈1e-4 by step 3, where an absolute tolerance says nothing), so its parity also
    // compares the batch means of r(chosen) and r(rejected) at each step's weights, which stay O(1).
    const ours: Record<Which, number[]> = { sft: [], simpo: [] };
    const oursRewards: { chosen: number[]; rejected: number[] } = { chosen: [], rejected: [] };
    const { inp, chosen, rejected } = setup.simpo;
    for (const which of ['sft', 'simpo'] as const) {
      model.ps.load(init);
      const s = makeStep(model, setup, which);
      for (let i = 0; i < PARITY_STEPS; i++) {
        if (which === 'simpo') {
          const [c, r] = tf.tidy(() => [model.logProb(inp, chosen.ids, chosen.mask).mean.mean(), model.logProb(inp, rejected.ids, rejected.mask).mean.mean()].map((t) => t.dataSync()[0]));
          oursRewards.chosen.push(c);
          oursRewards.rejected.push(r);
        }
        ours[which].push(s.step());
      }
      s.dispose();
    }
    torchRun(SCRIPT, dir, ['parity', String(PARITY_STEPS)], 1);
    const theirs = JSON.parse(fs.readFileSync(path.join(dir, 'torch-planner-losses.json'), 'utf8')) as Record<Which | 'simpoChosen' | 'simpoRejected', number[]>;
    const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
    const parity: Record<Which, ParityResult> = {
      sft: { ours: ours.sft, pytorch: theirs.sft, maxAbsDiff: maxDiff(ours.sft, theirs.sft) },
      simpo: {
        ours: ours.simpo, pytorch: theirs.simpo,
        maxAbsDiff: Math.max(maxDiff(ours.simpo, theirs.simpo), maxDiff(oursRewards.chosen, theirs.simpoChosen), maxDiff(oursRewards.rejected, theirs.simpoRejected)),
        rewards: { chosen: { ours: oursRewards.chosen, pytorch: theirs.simpoChosen }, rejected: { ours: oursRewards.rejected, pytorch: theirs.simpoRejected } },
      },
    };
    for (const w of ['sft', 'simpo'] as const) {
      const p = parity[w];
      // NaN fails too (!(NaN <= tol)).
      if (!(p.maxAbsDiff <= PARITY_TOLERANCE)) {
        const series = [['loss', p.ours, p.pytorch], ...Object.entries(p.rewards ?? {}).map(([k, v]) => [`r(${k})`, v.ours, v.pytorch])] as [string, number[], number[]][];
        throw new Error(`planner ${w} parity failed: values differ by up to ${p.maxAbsDiff} (> ${PARITY_TOLERANCE}); the speed comparison would compare different computations\n${series.map(([k, a, b]) => `  ${k}: ours [${a.map((x) => x.toFixed(6))}] vs PyTorch [${b.map((x) => x.toFixed(6))}]`).join('\n')}`);
      }
      console.error(`planner ${w} parity: ${PARITY_STEPS} steps agree within ${p.maxAbsDiff.toExponential(2)} (tolerance ${PARITY_TOLERANCE})`);
    }

    // ---- speed, alternating; each loss from the exported weights with a fresh optimiser on both sides
    const peers = TORCH_PEERS;
    const speed = {} as Record<Which, SpeedResult>;
    const rate: Record<Which, Record<string, number[]>> = { sft: {}, simpo: {} };
    const stepper = {} as Record<Which, ReturnType<typeof makeStep>>;
    const models: Record<Which, Planner> = { sft: model, simpo: new Planner(setup.cfg, 0) };
    for (const w of ['sft', 'simpo'] as const) {
      models[w].ps.load(init);
      stepper[w] = makeStep(models[w], setup, w);
      for (let i = 0; i < 3; i++) stepper[w].step();
      rate[w] = Object.fromEntries([...variants.map((v) => v.label), ...peers.map((p) => p.label)].map((k) => [k, [] as number[]]));
    }
    try {
      for (let r = 0; r < rounds; r++) {
        for (const w of ['sft', 'simpo'] as const) {
          for (const v of variants) {
            v.use();
            stepper[w].step(); // one untimed step after a switch
            const t0 = process.hrtime.bigint();
            for (let i = 0; i < steps; i++) stepper[w].step();
            rate[w][v.label].push(steps / (Number(process.hrtime.bigint() - t0) / 1e9));
          }
          for (const p of peers) {
            const out = JSON.parse(torchRun(SCRIPT, dir, ['time', w, String(steps), String(p.torch)], p.torch, p.blas)) as { stepsPerSecond: number };
            rate[w][p.label].push(out.stepsPerSecond);
          }
          console.error(`round ${r + 1}/${rounds} ${w}: ${Object.entries(rate[w]).map(([k, v]) => `${k} ${v[r].toFixed(2)}`).join(', ')} steps/s`);
        }
      }
    } finally {
      for (const w of ['sft', 'simpo'] as const) stepper[w].dispose();
      models.simpo.dispose();
    }
    for (const w of ['sft', 'simpo'] as const) {
      const med = Object.fromEntries(Object.entries(rate[w]).map(([k, v]) => [k, median(v)]));
      const best = Math.max(...variants.map((v) => med[v.label]));
      speed[w] = { stepsPerSecond: rate[w], median: med, ratioTo2Threads: best / med['PyTorch, 2 threads'], ratioTo1Thread: best / med['PyTorch, 1 thread'] };
    }
    return {
      backend: backend.name, backendVersion: backend.version, torch: torchVersion(), peerEnvironment: currentPeerSettings().env, rounds, steps,
      config: { planner: setup.cfg, batchSize: setup.sizes, simpo: setup.simpoConsts, optimizer: setup.optimizer },
      parity: { steps: PARITY_STEPS, tolerance: PARITY_TOLERANCE, ...parity },
      sft: speed.sft, simpo: speed.simpo, peers,
    };
  } finally {
    model.dispose();
    disposeSetup(setup);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The parity and speed tables of a result, as bench/peer.ts prints its own. */
export function printPlannerPeer(r: PlannerPeerResult): void {
  for (const w of ['sft', 'simpo'] as const) {
    const p = r.parity[w];
    console.log(`\nplanner ${w} parity (${r.parity.steps} AdamW steps, lr ${r.config.optimizer[w].lr}, tolerance ${r.parity.tolerance})`);
    printTable(p.ours.map((l, i) => {
      const row: Record<string, string | number> = { step: i + 1, 'loss (ours)': l.toFixed(6), 'loss (PyTorch)': p.pytorch[i].toFixed(6), '|Δ|': Math.abs(l - p.pytorch[i]).toExponential(2) };
      for (const [k, v] of Object.entries(p.rewards ?? {})) {
        row[`r(${k}) ours`] = v.ours[i].toFixed(6);
        row[`r(${k}) PyTorch`] = v.pytorch[i].toFixed(6);
        row[`r(${k}) |Δ|`] = Math.abs(v.ours[i] - v.pytorch[i]).toExponential(2);
      }
      return row;
    }));
  }
  for (const w of ['sft', 'simpo'] as const) {
    const s = r[w];
    console.log(`\nplanner ${w} training step, small preset (batch ${r.config.batchSize[w]}), ${r.rounds} rounds × ${r.steps} steps`);
    const torch2 = s.median['PyTorch, 2 threads'];
    printTable(Object.entries(s.median).map(([who, v]) => ({ implementation: who, 'steps/s (median)': v, '÷ PyTorch 2 threads': v / torch2 })));
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name: string, def: number) => intArg(args, name, def);
  runPlannerPeer({ rounds: opt('--rounds', 3), steps: opt('--steps', 10) })
    .then((r) => {
      printPlannerPeer(r);
      console.log(JSON.stringify(r, null, 1));
    })
    .catch((e) => {
      console.error(e instanceof Error ? e.stack : e);
      process.exit(1);
    });
}
