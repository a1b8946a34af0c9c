import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { drawIndices, runSimpoIterations, SIMPO_EXTRAS, type CandidateScorer, type PreferencePolicy, type SimpoConfig } from '../../src/train/simpo-iterations';
import { Rng } from '../../src/util/rng';

// A toy planner: for each context (sample) a categorical distribution over a fixed set of sentences, whose logits
// are the parameters. The grounding "model" is a fixed score table. SimPO iterations must move probability mass to
// the best-scored sentence of each context, raising the mean score of sampled candidates.
const SENTENCES = ['push the red moon left', 'push the blue cube up', 'point at the star', 'slide the pentagon down', 'move the moon right'];
const CONTEXTS = 6;
const SCORES = Array.from({ length: CONTEXTS }, (_, c) => SENTENCES.map((_, s) => Math.cos(1.7 * c + 2.3 * s)));

function toyPolicy(): PreferencePolicy<number> {
  const logits = tf.variable(tf.zeros([CONTEXTS, SENTENCES.length]));
  return {
    params: new Map([['logits', logits]]),
    sample(samples, k, { temperature }, rng) {
      const probs = tf.tidy(() => tf.softmax(logits.div(temperature)).arraySync() as number[][]);
      return samples.map((c) =>
        Array.from({ length: k }, () => {
          let u = rng.random();
          for (let s = 0; s < SENTENCES.length; s++) {
            u -= probs[c][s];
            if (u <= 0) return SENTENCES[s];
          }
          return SENTENCES[SENTENCES.length - 1];
        }),
      );
    },
    meanLogProb(samples, completions) {
      const rows = tf.gather(tf.logSoftmax(logits), tf.tensor1d(samples, 'int32'));
      const idx = completions.map((t) => SENTENCES.indexOf(t));
      return tf.sum(tf.mul(rows, tf.oneHot(tf.tensor1d(idx, 'int32'), SENTENCES.length)), 1) as tf.Tensor1D;
    },
  };
}

const scorer: CandidateScorer<number> = {
  score: (samples, texts) => samples.map((c, i) => texts[i].map((t) => SCORES[c][SENTENCES.indexOf(t)])),
};

const CFG: SimpoConfig = {
  iterations: 4, candidates: 4, temperature: 1, topP: 1, beta: 2, gammaBetaRatio: 0.5, pairing: { minMargin: 0 },
  stepsPerIteration: 30, batchSize: 8, peakLr: 0.1, warmupSteps: 2, clipNorm: 10, weightDecay: 0, ...SIMPO_EXTRAS,
};

describe('train/simpo-iterations: sample, score, pair, SimPO, repeat', () => {
  before(async () => {
    await switchBackend('cpu');
  });

  it('raises the grounding score of the candidates across iterations and logs each iteration', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-simpo-'));
    const policy = toyPolicy();
    const samples = Array.from({ length: 24 }, (_, i) => i % CONTEXTS);
    const logs = await runSimpoIterations('toy', policy, scorer, samples, CFG, { runDir, seed: 1, resume: false, progress: 'silent' });
    assert.equal(logs.length, 4);
    assert.ok(logs.every((l) => l.pairs > 0));
    assert.ok(logs[3].candidateScore > logs[0].candidateScore + 0.2, `candidate score ${logs.map((l) => l.candidateScore.toFixed(3))}`);
    assert.ok(logs[3].chosenScore >= logs[0].chosenScore, `chosen score ${logs.map((l) => l.chosenScore.toFixed(3))}`);
    // The argmax of each context's distribution is now its best sentence.
    const best = SCORES.map((row) => row.indexOf(Math.max(...row)));
    const argmax = (await policy.params.get('logits')!.argMax(1).data()) as Int32Array;
    assert.deepEqual(Array.from(argmax), best);
    const lines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.filter((l) => l.kind === 'simpo').length, 4);
  });

  it('logs correctness diagnostics from a judge it never uses for pairs: AUROC, chosen right, right available', async () => {
    const samples = Array.from({ length: 24 }, (_, i) => i % CONTEXTS);
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-simpo-'));
    // "Correct" = a sentence with a positive score: the score separates the classes perfectly, so AUROC is exactly 1.
    const judge = (c: number, text: string) => SCORES[c][SENTENCES.indexOf(text)] > 0;
    const logs = await runSimpoIterations('toy', toyPolicy(), scorer, samples, CFG, { runDir, seed: 1, resume: false, progress: 'silent', judge });
    const plain = await runSimpoIterations('toy', toyPolicy(), scorer, samples, CFG, { runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-simpo-')), seed: 1, resume: false, progress: 'silent' });
    assert.deepEqual(logs.map((l) => l.candidateScore), plain.map((l) => l.candidateScore), 'the judge changes nothing the loop does');
    for (const l of logs) {
      assert.equal(l.diagnostics!.auroc, 1);
      assert.equal(l.diagnostics!.rejectedCorrectShare <= l.diagnostics!.chosenCorrectShare, true);
      assert.ok(Math.abs(l.diagnostics!.chosenCorrectShare + l.diagnostics!.chosenWrongShare - 1) < 1e-12);
    }
    assert.ok(logs[3].diagnostics!.correctShare > logs[0].diagnostics!.correctShare, `correct share ${logs.map((l) => l.diagnostics!.correctShare.toFixed(2))}`);
    assert.ok(logs.every((l) => l.rejectedScore < l.chosenScore));
  });

  it('rejectInvalid: a candidate the validity check refuses is never chosen; without a check it is an error', async () => {
    const samples = Array.from({ length: 24 }, (_, i) => i % CONTEXTS);
    const validCandidate = (t: string) => t !== 'point at the star';
    const cfg = { ...CFG, iterations: 2, rejectInvalid: true };
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-simpo-'));
    const logs = await runSimpoIterations('toy', toyPolicy(), scorer, samples, cfg, { runDir, seed: 3, resume: false, progress: 'silent', validCandidate });
    const saved = JSON.parse(fs.readFileSync(path.join(runDir, 'simpo', 'toy', 'iter-1.json'), 'utf8')) as { pairs: { chosen: { text: string } }[] };
    assert.ok(saved.pairs.length > 0 && saved.pairs.every((p) => p.chosen.text !== 'point at the star'));
    assert.ok(logs[0].invalidShare > 0 && logs[0].invalidShare < 1);
    await assert.rejects(runSimpoIterations('toy', toyPolicy(), scorer, samples, cfg, { runDir, seed: 3, resume: false, progress: 'silent' }), /rejectInvalid needs a validCandidate/);
  });

  it('sftWeight adds an NLL term on the chosen text and still finds each context\'s best sentence', async () => {
    const samples = Array.from({ length: 24 }, (_, i) => i % CONTEXTS);
    const a = toyPolicy();
    const b = toyPolicy();
    await runSimpoIterations('toy', a, scorer, samples, CFG, { runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-simpo-')), seed: 1, resume: false, progress: 'silent' });
    await runSimpoIterations('toy', b, scorer, samples, { ...CFG, sftWeight: 0.5 }, { runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-simpo-')), seed: 1, resume: false, progress: 'silent' });
    const la = Array.from(await a.params.get('logits')!.data());
    const lb = Array.from(await b.params.get('logits')!.data());
    assert.ok(la.some((v, i) => Math.abs(v - lb[i]) > 1e-3), 'the term changes the update');
    const best = SCORES.map((row) => row.indexOf(Math.max(...row)));
    assert.deepEqual(Array.from((await b.params.get('logits')!.argMax(1).data()) as Int32Array), best);
  });

  it('resumes an interrupted run to the same parameters', async () => {
    const full = toyPolicy();
    const samples = Array.from({ length: 12 }, (_, i) => i % CONTEXTS);
    const cfg = { ...CFG, iterations: 3 };
    await runSimpoIterations('toy', full, scorer, samples, cfg, { runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-simpo-')), seed: 2, resume: false, progress: 'silent' });
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-simpo-'));
    // "Interrupted" after two iterations: run only two, then a fresh policy resumes the three.
    await runSimpoIterations('toy', toyPolicy(), scorer, samples, { ...cfg, iterations: 2 }, { runDir, seed: 2, resume: false, progress: 'silent' });
    const resumed = toyPolicy();
    await runSimpoIterations('toy', resumed, scorer, samples, cfg, { runDir, seed: 2, resume: true, progress: 'silent' });
    assert.deepEqual(Array.from(await resumed.params.get('logits')!.data()), Array.from(await full.params.get('logits')!.data()));
  });

  it('uses its own random stream: sampling does not depend on the global state', () => {
    const p = toyPolicy();
    const a = p.sample([0, 1], 3, { temperature: 1, topP: 1 }, new Rng(5));
    const b = p.sample([0, 1], 3, { temperature: 1, topP: 1 }, new Rng(5));
    assert.deepEqual(a, b);
  });

  it('samplesPerIteration: each iteration draws its own distinct samples (saved for resuming); candidates and pairs are those samples', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-simpo-'));
    // Sample i is context i: which sample an iteration used is readable from its candidates' scores.
    const samples = Array.from({ length: CONTEXTS }, (_, i) => i);
    const judge = (ctx: number, text: string) => SCORES[ctx].indexOf(Math.max(...SCORES[ctx])) === SENTENCES.indexOf(text);
    const cfg = { ...CFG, iterations: 3, samplesPerIteration: 2 };
    const logs = await runSimpoIterations('toy', toyPolicy(), scorer, samples, cfg, { runDir, seed: 5, resume: false, progress: 'silent', judge });
    const drawn: number[][] = [];
    for (let r = 1; r <= 3; r++) {
      const data = JSON.parse(fs.readFileSync(path.join(runDir, 'simpo', 'toy', `iter-${r}.json`), 'utf8'));
      assert.equal(data.sampleIndices.length, 2);
      assert.equal(new Set(data.sampleIndices).size, 2);
      assert.equal(data.candidates.length, 2);
      // Each candidate's score is the drawn context's score of that sentence.
      data.candidates.forEach((list: { text: string; score: number }[], k: number) => {
        for (const c of list) assert.equal(c.score, SCORES[data.sampleIndices[k]][SENTENCES.indexOf(c.text)]);
      });
      for (const p of data.pairs) assert.ok(p.sample < 2);
      drawn.push(data.sampleIndices);
      assert.equal(logs[r - 1].examples[0].sample, data.sampleIndices[0], 'examples name the sample in the caller\'s list');
    }
    assert.ok(new Set(drawn.map((d) => d.join(','))).size > 1, `the iterations drew different samples: ${JSON.stringify(drawn)}`);
    // Resuming reads the same draws and gives the same logs.
    const again = await runSimpoIterations('toy', toyPolicy(), scorer, samples, cfg, { runDir, seed: 5, resume: true, progress: 'silent', judge });
    assert.deepEqual(again.map((l) => l.chosenScore), logs.map((l) => l.chosenScore));
  });

  it('drawIndices: n distinct indices, all of them as undefined, bad counts refused', () => {
    const rng = new Rng(1);
    const d = drawIndices(10, 4, rng)!;
    assert.equal(d.length, 4);
    assert.equal(new Set(d).size, 4);
    assert.ok(d.every((i) => i >= 0 && i < 10));
    assert.equal(drawIndices(3, 5, rng), undefined);
    assert.equal(drawIndices(3, undefined, rng), undefined);
    assert.throws(() => drawIndices(10, 0, rng), /samplesPerIteration must be a positive integer/);
  });
});
