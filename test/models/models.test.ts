import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../../src/backend';
import { getPreset } from '../../src/experiments/presets';
import { GroundingModel, type GroundingConfig } from '../../src/models/grounding';
import { Planner, type PlannerConfig, sampleToken } from '../../src/models/planner';
import { POINTER_DIRECTIONS, POINTER_LOCATIONS, Policy, pointerGeometry, pointerLabels, pointerTargets, type PolicyConfig } from '../../src/models/policy';
import { maskedCrossEntropy, pointerLabelsOf } from '../../src/experiments/tasks';
import { BLOCK_SETS, LOCATIONS } from '../../src/sim/constants';
import { imagePoint } from '../../src/sim/render';
import { blockRelativeOffset } from '../../src/sim/tasks';
import { flowMatchingLoss, symmetricInfoNCE } from '../../src/train/losses';
import { Rng } from '../../src/util/rng';

const T = getPreset('tiny').models;
// With the keypoint stem (the small preset's grounding has it), so the gradient checks below cover it too.
const G: GroundingConfig = { ...T.grounding, image: 16, vision: { ...T.grounding.vision, layers: 1 }, vocab: 20, maxText: 6, trajectoryLength: 5, keypoints: { keypoints: 4, cell: 4, hidden: 8 } };
const P: PlannerConfig = { ...T.planner, image: 16, vocab: 20, maxPrompt: 5, maxCompletion: 6, layers: 2, window: 4 };
const PO: PolicyConfig = { ...T.policy, image: 16, vocab: 20, maxText: 5, chunk: 3, steps: 3 };
const B = 3;

function groundingInputs(seed: number) {
  const r = new Rng(seed);
  return {
    b: {
      images: tf.tensor4d(Float32Array.from({ length: B * 16 * 16 * 3 }, () => r.random()), [B, 16, 16, 3]),
      trajectories: tf.tensor3d(r.normals(B * 5 * 4, 0.05), [B, 5, 4]),
      trajectoryMask: tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]]),
    },
    ids: tf.tensor2d([[5, 6, 7, 0, 0, 0], [8, 9, 0, 0, 0, 0], [10, 11, 12, 13, 0, 0]], [3, 6], 'int32'),
    mask: tf.tensor2d([[1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]]),
  };
}
function plannerInputs(seed: number, withImage = true) {
  const r = new Rng(seed);
  return {
    inp: {
      images: withImage ? tf.tensor4d(Float32Array.from({ length: B * 16 * 16 * 3 }, () => r.random()), [B, 16, 16, 3]) : null,
      promptIds: tf.tensor2d([[0, 1, 5, 6, 4], [1, 7, 8, 9, 4], [0, 0, 1, 5, 4]], [3, 5], 'int32'),
      promptMask: tf.tensor2d([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]),
    },
    comp: tf.tensor2d([[10, 11, 2, 0, 0, 0], [12, 2, 0, 0, 0, 0], [13, 14, 15, 2, 0, 0]], [3, 6], 'int32'),
    compMask: tf.tensor2d([[1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]]),
  };
}
function policyInputs(seed: number) {
  const r = new Rng(seed);
  return {
    inp: {
      images: tf.tensor4d(Float32Array.from({ length: B * 16 * 16 * 3 }, () => r.random()), [B, 16, 16, 3]),
      textIds: tf.tensor2d([[5, 6, 7, 0, 0], [8, 9, 0, 0, 0], [10, 11, 12, 13, 0]], [3, 5], 'int32'),
      textMask: tf.tensor2d([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]]),
      state: tf.tensor2d([0.3, 0.1, 0.4, -0.1, 0.5, 0], [3, 2]),
    },
    actions: tf.tensor3d(r.normals(B * 3 * 2, 0.02), [B, 3, 2]),
    noise: tf.tensor3d(r.normals(B * 3 * 2), [B, 3, 2]),
    t: tf.tensor1d([0.3, 0.7, 0.95]),
    mask: tf.tensor2d([[1, 1, 1], [1, 1, 0], [1, 0, 0]]),
  };
}

/** The three models' losses on fixed inputs, as functions of their parameters. */
function lossFns(seed: number) {
  const g = new GroundingModel(G, seed);
  const gi = groundingInputs(1);
  const pl = new Planner(P, seed);
  const pi = plannerInputs(2);
  const po = new Policy(PO, seed);
  const poi = policyInputs(3);
  return {
    grounding: { params: g.params, loss: () => symmetricInfoNCE(g.encodeVisionAction(gi.b), g.encodeText(gi.ids, gi.mask), g.scale()) },
    planner: { params: pl.params, loss: () => pl.logProb(pi.inp, pi.comp, pi.compMask).perToken.sum().neg().div(pi.compMask.sum()) as tf.Scalar },
    policy: {
      params: po.params,
      loss: () => {
        const { pred, target } = po.flowMatching(poi.inp, poi.actions, poi.noise, poi.t);
        return flowMatchingLoss(pred, target, poi.mask);
      },
    },
  };
}

async function gradients(fn: { params: Map<string, tf.Variable>; loss: () => tf.Scalar }) {
  const names = [...fn.params.keys()];
  const { value, grads } = tf.variableGrads(fn.loss, names.map((n) => fn.params.get(n)!));
  const out: Record<string, Float32Array> = {};
  names.forEach((n) => (out[n] = grads[fn.params.get(n)!.name].dataSync() as Float32Array));
  return { loss: value.dataSync()[0], grads: out };
}

describe('models: grounding, planner, policy', () => {
  before(async () => {
    await switchBackend('cpu');
  });

  it('config validation names the field and the accepted range', () => {
    assert.throws(() => new GroundingModel({ ...G, vision: { ...G.vision, width: 33 } }, 0), /GroundingConfig.vision.width must be a positive multiple of heads \(got 33 with 2 heads\)/);
    assert.throws(() => new GroundingModel({ ...G, conditioning: 'audio' as never }, 0), /GroundingConfig.conditioning must be "action" or "none"/);
    assert.throws(() => new Planner({ ...P, heads: 3, kvHeads: 2 }, 0), /PlannerConfig.heads must be a multiple of kvHeads/);
    assert.throws(() => new Planner({ ...P, imageTokens: 3 }, 0), /PlannerConfig.imageTokens must be a square/);
    assert.throws(() => new Policy({ ...PO, chunk: 0 }, 0), /PolicyConfig.chunk must be a positive integer \(got 0\)/);
  });

  it('shapes: unit-norm embeddings, per-token log-probs, action chunks', () => {
    const g = new GroundingModel(G, 1);
    const gi = groundingInputs(1);
    const e = g.encodeVisionAction(gi.b);
    assert.deepEqual(e.shape, [3, G.embed]);
    assert.ok(Math.abs(e.norm('euclidean', 1).dataSync()[1] - 1) < 1e-5);
    assert.deepEqual(g.score(gi.b, gi.ids, gi.mask).shape, [3]);
    const pl = new Planner(P, 1);
    const pi = plannerInputs(2);
    const lp = pl.logProb(pi.inp, pi.comp, pi.compMask);
    assert.deepEqual(lp.perToken.shape, [3, 6]);
    assert.equal(Math.abs(lp.perToken.dataSync()[5]), 0, 'masked completion tokens contribute 0');
    const po = new Policy(PO, 1);
    assert.deepEqual(po.sampleActions(policyInputs(3).inp, new Rng(0)).shape, [3, 3, 2]);
  });

  it('FiLM starts as the identity: action conditioning does not change the initial vision embedding', () => {
    const withA = new GroundingModel(G, 5);
    const gi = groundingInputs(1);
    const other = { ...gi.b, trajectories: tf.tensor3d(new Rng(9).normals(3 * 5 * 4), [3, 5, 4]) };
    assert.deepEqual(Array.from(withA.encodeVisionAction(gi.b).dataSync()), Array.from(withA.encodeVisionAction(other).dataSync()));
  });

  it('planner logProb of a sequence equals the sum of the step-by-step generation log-probs (with the cache)', () => {
    const pl = new Planner(P, 3);
    const pi = plannerInputs(4);
    const gen = pl.generateWithLogProbs(pi.inp, { maxNew: 5, temperature: 1, rng: new Rng(11) });
    // Re-score what was generated (with <eos> when it stopped) by teacher forcing.
    const rows = gen.ids.map((ids, b) => (gen.logProbs[b].length > ids.length ? [...ids, 2] : ids));
    const C = 6;
    const comp = tf.tensor2d(rows.flatMap((r) => [...r, ...Array(C - r.length).fill(0)]), [3, C], 'int32');
    const mask = tf.tensor2d(rows.flatMap((r) => [...r.map(() => 1), ...Array(C - r.length).fill(0)]), [3, C]);
    const lp = pl.logProb(pi.inp, comp, mask).sum.dataSync();
    gen.logProbs.forEach((steps, b) => {
      const total = steps.reduce((a, x) => a + x, 0);
      assert.ok(Math.abs(total - lp[b]) < 1e-3, `row ${b}: generation ${total} vs teacher forcing ${lp[b]}`);
    });
    // And the cache changes nothing: greedy decoding with and without it agrees.
    assert.deepEqual(pl.generate(pi.inp, { maxNew: 5, temperature: 0 }), pl.generate(pi.inp, { maxNew: 5, temperature: 0, useCache: false }));
  });

  it('sampling: greedy picks the argmax; top-k 1 is greedy; top-p keeps the nucleus', () => {
    const logits = [0.1, 2.0, 1.9, -1];
    assert.equal(sampleToken(logits, { temperature: 0 }, new Rng(0)), 1);
    assert.equal(sampleToken(logits, { temperature: 1, topK: 1 }, new Rng(0)), 1);
    const seen = new Set<number>();
    const rng = new Rng(1);
    for (let i = 0; i < 200; i++) seen.add(sampleToken(logits, { temperature: 1, topP: 0.8 }, rng));
    assert.deepEqual([...seen].sort(), [1, 2]);
  });

  for (const name of ['grounding', 'planner', 'policy'] as const) {
    it(`${name}: gradients match central finite differences (cpu) and wasm's match cpu's`, async () => {
      await switchBackend('cpu');
      const fn = lossFns(21)[name];
      const { grads } = await gradients(fn);
      const rng = new Rng(5);
      const eps = 1e-2;
      let checked = 0;
      for (const [pname, v] of fn.params) {
        const g = grads[pname];
        const idx = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]))[rng.int(Math.min(3, g.length))];
        if (Math.abs(g[idx]) < 1e-4) continue;
        const vals = v.dataSync().slice() as Float32Array;
        const at = (delta: number) => {
          const copy = vals.slice();
          copy[idx] += delta;
          v.assign(tf.tensor(copy, v.shape));
          return tf.tidy(() => fn.loss().dataSync()[0]);
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        v.assign(tf.tensor(vals, v.shape));
        assert.ok(Math.abs(fd - g[idx]) <= 5e-2 * Math.max(Math.abs(fd), Math.abs(g[idx])) + 5e-4, `${pname}[${idx}]: finite difference ${fd} vs analytic ${g[idx]}`);
        checked++;
      }
      assert.ok(checked >= 5, `only ${checked} parameters checked`);
      const cpu = await gradients(lossFns(22)[name]);
      await switchBackend('wasm');
      const wasm = await gradients(lossFns(22)[name]);
      assert.ok(Math.abs(wasm.loss - cpu.loss) <= 1e-4 * Math.abs(cpu.loss));
      for (const p of Object.keys(cpu.grads)) {
        let num = 0;
        let den = 0;
        cpu.grads[p].forEach((c, i) => {
          num += (wasm.grads[p][i] - c) ** 2;
          den += c * c;
        });
        assert.ok(Math.sqrt(num / Math.max(den, 1e-20)) <= 1e-3 || den < 1e-14, `${p}: wasm vs cpu relative difference ${Math.sqrt(num / den)}`);
      }
      await switchBackend('cpu');
    });

    it(`${name}: overfits a fixed small batch (loss falls by ≥ 90%)`, async function () {
      this.timeout(120000);
      await switchBackend('wasm');
      const fn = lossFns(31)[name];
      const opt = tf.train.adam(name === 'policy' ? 3e-3 : 1e-2);
      const vars = [...fn.params.values()];
      const first = tf.tidy(() => fn.loss().dataSync()[0]);
      let last = first;
      for (let i = 0; i < 250 && last > 0.1 * first; i++) {
        last = (opt.minimize(fn.loss, true, vars) as tf.Scalar).dataSync()[0];
      }
      assert.ok(last <= 0.1 * first, `loss ${first} → ${last}`);
      await switchBackend('cpu');
    });
  }
});

describe('models: policy options (keypoint tokens, standardised pixels, x-prediction, executed steps)', () => {
  before(async () => {
    await switchBackend('cpu');
  });
  const KP: PolicyConfig = { ...PO, pixelMean: [0.2, 0.2, 0.2], pixelStd: [0.06, 0.06, 0.06], keypoints: { keypoints: 4, cell: 4, hidden: 8, relative: true } };

  it('rejects bad options with the field and what is accepted', () => {
    assert.throws(() => new Policy({ ...PO, executeSteps: 4 }, 0), /PolicyConfig.executeSteps must be an integer in 1..chunk \(3\) \(got 4\)/);
    assert.throws(() => new Policy({ ...PO, prediction: 'noise' as never }, 0), /PolicyConfig.prediction must be "velocity" or "action" \(got "noise"\)/);
    assert.throws(() => new Policy({ ...PO, pixelMean: [0.2, 0.2, 0.2] }, 0), /pixelMean and pixelStd go together/);
    assert.throws(() => new Policy({ ...PO, pixelMean: [0, 0, 0], pixelStd: [1, 0, 1] }, 0), /PolicyConfig.pixelStd must be 3 finite numbers > 0/);
    assert.throws(() => new Policy({ ...PO, keypoints: { keypoints: 4, cell: 5, hidden: 8 } }, 0), /PolicyConfig.image must be a multiple of keypoints.cell \(got 16 with cell 5\)/);
    assert.throws(() => new Policy({ ...PO, keypoints: { keypoints: 4, cell: 4, hidden: 8, relative: 'yes' as unknown as boolean } }, 0), /PolicyConfig.keypoints.relative must be true or false \(got "yes"\)/);
    assert.throws(() => new Policy(PO, 0).locate(tf.zeros([1, 16, 16, 3]) as tf.Tensor4D), /Policy.locate: this policy has no keypoint tokens/);
  });

  it('keypoint tokens join the prefix after the patches, and the mask covers them', () => {
    const po = new Policy(KP, 1);
    const { inp } = policyInputs(2);
    const pre = po.prefix(inp);
    const patches = (16 / PO.patch) ** 2;
    assert.deepEqual(pre.hidden[0].shape, [B, patches + 4 + 5 + 1, PO.backbone.width]);
    assert.deepEqual(Array.from(pre.mask.arraySync()[1]).slice(0, patches + 4 + 3), [...Array(patches + 4 + 2).fill(1), 0]);
    po.dispose();
  });

  it('x-prediction: an expert that outputs â at every t integrates exactly to â (Euler from t = 1 to 0)', () => {
    const po = new Policy({ ...KP, prediction: 'action' }, 3);
    const { inp } = policyInputs(4);
    const target = tf.tensor3d(new Rng(5).normals(B * PO.chunk * 2), [B, PO.chunk, 2]);
    po.velocity = () => target.clone();
    const got = po.sampleActions(inp, new Rng(6), 5).div(PO.actionScale).arraySync() as number[][][];
    const want = target.arraySync() as number[][][];
    got.flat(2).forEach((v, i) => assert.ok(Math.abs(v - want.flat(2)[i]) < 1e-5, `element ${i}: ${v} vs ${want.flat(2)[i]}`));
    po.dispose();
  });

  it('x-prediction with keypoints: the loss target is the clean chunk, and the model overfits a fixed batch', async function () {
    this.timeout(120000);
    await switchBackend('wasm');
    const po = new Policy({ ...KP, prediction: 'action' }, 7);
    const b = policyInputs(8);
    const { target } = po.flowMatching(b.inp, b.actions, b.noise, b.t);
    const scaled = b.actions.div(PO.actionScale).arraySync() as number[][][];
    (target.arraySync() as number[][][]).flat(2).forEach((v, i) => assert.ok(Math.abs(v - scaled.flat(2)[i]) < 1e-6));
    const loss = () => {
      const { pred, target: y } = po.flowMatching(b.inp, b.actions, b.noise, b.t);
      return flowMatchingLoss(pred, y, b.mask);
    };
    const opt = tf.train.adam(3e-3);
    const first = tf.tidy(() => loss().dataSync()[0]);
    let last = first;
    for (let i = 0; i < 250 && last > 0.1 * first; i++) last = (opt.minimize(loss, true, [...po.params.values()]) as tf.Scalar).dataSync()[0];
    assert.ok(last <= 0.1 * first, `loss ${first} → ${last}`);
    po.dispose();
    await switchBackend('cpu');
  });
});

describe('models: the policy pointer (object-centric goal geometry)', () => {
  before(async () => {
    await switchBackend('cpu');
  });
  const KP: PolicyConfig = { ...PO, keypoints: { keypoints: 5, cell: 4, hidden: 8, relative: true }, pointer: { blocks: 4 } };
  const names = BLOCK_SETS.BLOCK_4.map((b) => b.name);

  it('needs keypoints for its blocks', () => {
    assert.throws(() => new Policy({ ...PO, pointer: { blocks: 4 } }, 0), /PolicyConfig.pointer needs keypoints with at least pointer.blocks \(4\)/);
    assert.throws(() => new Policy({ ...KP, pointer: { blocks: 0 } }, 0), /PolicyConfig.pointer.blocks must be a positive integer \(got 0\)/);
    assert.throws(() => new Policy({ ...KP, pointer: { blocks: 4, head: 2.5 } }, 0), /PolicyConfig.pointer.head must be a positive integer \(got 2.5\)/);
  });

  it('labels: the moved block and the target class of a parsed instruction, −1 where there is none', () => {
    const nl = POINTER_LOCATIONS.length;
    const l = Array.from(pointerLabelsOf([
      'push the blue cube to the bottom left corner', 'put the green star above the red moon', 'move the red moon next to the yellow pentagon', 'push the red moon up a little', 'hello',
    ], BLOCK_SETS.BLOCK_4));
    const up = POINTER_DIRECTIONS.indexOf('up');
    assert.deepEqual(l, [1, POINTER_LOCATIONS.indexOf('bottom_left'), 2, nl + 4 + up * 4 + 0, 0, nl + 3, 0, -1, -1, -1]);
    assert.deepEqual(pointerLabels(null, names), [-1, -1]);
    assert.equal(pointerTargets(4), nl + 4 + 8 * 4);
  });

  it('geometry: one-hot choices give block − effector, goal − block and goal − effector in the top-down frame', () => {
    const coords = tf.tensor3d([[[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6], [0.0, 0.7]]]);
    const state = tf.tensor2d([[0.35, 0]]); // the board's centre: frame (0, 0)
    const hot = (n: number, i: number) => tf.tensor2d([Array.from({ length: n }, (_, j) => (j === i ? 50 : 0))]);
    const nl = POINTER_LOCATIONS.length;
    const unit = imagePoint('topdown', [1, 1]).map((v, i) => v - imagePoint('topdown', [0, 0])[i]);
    const cases: [number, [number, number]][] = [
      [POINTER_LOCATIONS.indexOf('top_left'), imagePoint('topdown', [...LOCATIONS.top_left] as [number, number])],
      [nl + 2, [0.5, -0.6]],
      [nl + 4 + POINTER_DIRECTIONS.indexOf('down_left') * 4 + 3, [0.0 + blockRelativeOffset('down_left')[0] * unit[0], 0.7 + blockRelativeOffset('down_left')[1] * unit[1]]],
    ];
    for (const [target, goal] of cases) {
      const g = pointerGeometry(hot(4, 1), hot(pointerTargets(4), target), coords, state).geometry.arraySync()[0];
      const want = [-0.3, 0.4, goal[0] + 0.3, goal[1] - 0.4, goal[0], goal[1]].map((v) => 2 * v);
      g.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4, `target ${target}, element ${i}: ${v} vs ${want[i]}`));
    }
  });

  it('masked cross-entropy: ln C on uniform logits, left-out labels ignored, 0 when all are left out', () => {
    assert.ok(Math.abs(maskedCrossEntropy(tf.zeros([3, 4]) as tf.Tensor2D, Int32Array.from([1, -1, 3])).dataSync()[0] - Math.log(4)) < 1e-6);
    const l = tf.tensor2d([[2, 0, 0], [9, -9, 0]]);
    const want = -(2 - Math.log(Math.exp(2) + 2));
    assert.ok(Math.abs(maskedCrossEntropy(l, Int32Array.from([0, -1])).dataSync()[0] - want) < 1e-5);
    assert.equal(maskedCrossEntropy(l, Int32Array.from([-1, -1])).dataSync()[0], 0);
  });

  it('the action expert reads the pointer: the flow loss has a gradient on its target head and geometry MLP', () => {
    const po = new Policy(KP, 3);
    const b = policyInputs(4);
    const params = [...po.params.entries()].filter(([k]) => k.startsWith('pointer.'));
    assert.deepEqual(params.map(([k]) => k).sort(), ['pointer.block.bias', 'pointer.block.weight', 'pointer.geometry_mlp_in.bias', 'pointer.geometry_mlp_in.weight', 'pointer.geometry_mlp_out.bias', 'pointer.geometry_mlp_out.weight', 'pointer.target.bias', 'pointer.target.weight']);
    const { grads } = tf.variableGrads(() => {
      const { pred, target } = po.flowMatching(b.inp, b.actions, b.noise, b.t);
      return flowMatchingLoss(pred, target, b.mask);
    }, params.map(([, v]) => v));
    for (const [k] of params) assert.ok(tf.norm(grads[po.params.get(k)!.name]).dataSync()[0] > 1e-8, `${k} has no gradient`);
    po.dispose();
  });

  it('the geometry head adds an MLP of (geometry, x_t, t) to the expert output, and the flow loss trains it', () => {
    const po = new Policy({ ...KP, pointer: { blocks: 4, head: 16 } }, 3);
    const b = policyInputs(4);
    const head = [...po.params.entries()].filter(([k]) => k.startsWith('pointer.head.'));
    assert.deepEqual(head.map(([k, v]) => `${k}:${v.shape}`).sort(), [
      `pointer.head.0.bias:16`, `pointer.head.0.weight:${6 + PO.chunk * 2 + 1},16`, 'pointer.head.1.bias:16', 'pointer.head.1.weight:16,16', `pointer.head.2.bias:${PO.chunk * 2}`, `pointer.head.2.weight:16,${PO.chunk * 2}`,
    ]);
    const pre = po.prefix(b.inp);
    const xt = b.noise;
    const withHead = po.velocity(pre, xt, b.t).arraySync() as number[][][];
    // Zero the head's last layer: what is left is the expert's output alone.
    head.filter(([k]) => k.startsWith('pointer.head.2')).forEach(([, v]) => v.assign(tf.zerosLike(v)));
    const without = po.velocity(pre, xt, b.t).arraySync() as number[][][];
    assert.ok(withHead.flat(2).some((v, i) => Math.abs(v - without.flat(2)[i]) > 1e-4), 'the head changes the output');
    const { grads } = tf.variableGrads(() => {
      const { pred, target } = po.flowMatching(b.inp, b.actions, b.noise, b.t);
      return flowMatchingLoss(pred, target, b.mask);
    }, head.map(([, v]) => v));
    assert.ok(tf.norm(grads[po.params.get('pointer.head.2.weight')!.name]).dataSync()[0] > 1e-6);
    po.dispose();
  });
});

describe('models: planner and grounding vision options (keypoint tokens, detection slots)', () => {
  before(async () => {
    await switchBackend('cpu');
  });
  const PK: PlannerConfig = { ...P, keypoints: { keypoints: 3, cell: 4, hidden: 8 }, slots: 2 };

  it('rejects bad options with the field', () => {
    assert.throws(() => new Planner({ ...P, keypoints: { keypoints: 3, cell: 5, hidden: 8 } }, 0), /PlannerConfig.image must be a multiple of keypoints.cell \(got 16 with cell 5\)/);
    assert.throws(() => new Planner({ ...P, slots: 1.5 }, 0), /PlannerConfig.slots must be a positive integer \(got 1.5\)/);
    assert.throws(() => new Planner(P, 0).detect(plannerInputs(1).inp.images!), /Planner.detect: this planner has no detection slots/);
    assert.throws(() => new GroundingModel({ ...G, keypoints: { keypoints: 2, cell: 3, hidden: 4 } }, 0), /GroundingConfig.image must be a multiple of keypoints.cell \(got 16 with cell 3\)/);
  });

  it('planner: keypoint and slot tokens follow the pooled patches, every completion token sees all of them', () => {
    const pl = new Planner(PK, 1);
    assert.equal(pl.prefixTokens, P.imageTokens + 3 + 2);
    for (let i = 0; i < PK.layers; i++) assert.equal(pl.layerAttention(i).prefix, pl.prefixTokens);
    const pi = plannerInputs(2);
    // The image reaches the completion's log-probs through the new tokens: changing only the images changes them.
    const a = pl.logProb(pi.inp, pi.comp, pi.compMask).sum.arraySync();
    const other = { ...pi.inp, images: tf.reverse(pi.inp.images!, 0) as tf.Tensor4D };
    const b = pl.logProb(other, pi.comp, pi.compMask).sum.arraySync();
    assert.ok(a.some((v, i) => Math.abs(v - b[i]) > 1e-4));
    assert.deepEqual(pl.detect(pi.inp.images!).shape, [B, 2, 2]);
    pl.dispose();
  });

  it('planner: detection gradients match central finite differences', async () => {
    const pl = new Planner(PK, 3);
    const imgs = plannerInputs(4).inp.images!;
    const target = tf.tensor3d(new Rng(5).normals(B * 2 * 2), [B, 2, 2]);
    const loss = () => tf.losses.meanSquaredError(target, pl.detect(imgs)) as tf.Scalar;
    // Only the vision tower reaches the detection head.
    const vision = new Map([...pl.params].filter(([n]) => n.startsWith('vision_tower.')));
    const { grads } = await gradients({ params: vision, loss });
    for (const pname of ['vision_tower.vision_model.slot_queries', 'vision_tower.vision_model.keypoints.keypoint_logits.weight', 'vision_tower.detection_head.weight']) {
      const v = pl.params.get(pname)!;
      const idx = 1;
      const base = v.dataSync().slice();
      const at = (d: number) => { const x = base.slice(); x[idx] += d; v.assign(tf.tensor(x, v.shape)); return tf.tidy(() => loss().dataSync()[0]); };
      const h = 1e-2;
      const fd = (at(h) - at(-h)) / (2 * h);
      v.assign(tf.tensor(base, v.shape));
      const g = grads[pname][idx];
      assert.ok(Math.abs(fd - g) <= 5e-2 * Math.max(Math.abs(fd), Math.abs(g)) + 5e-4, `${pname}[${idx}]: finite difference ${fd} vs analytic ${g}`);
    }
    pl.dispose();
  });

  it('planner: the detection head overfits the block positions of a fixed batch', async function () {
    this.timeout(120000);
    await switchBackend('wasm');
    const pl = new Planner(PK, 7);
    const imgs = plannerInputs(8).inp.images!;
    const target = tf.tensor3d(new Rng(9).normals(B * 2 * 2, 0.5), [B, 2, 2]);
    const loss = () => tf.losses.meanSquaredError(target, pl.detect(imgs)) as tf.Scalar;
    const opt = tf.train.adam(3e-3);
    const first = tf.tidy(() => loss().dataSync()[0]);
    let last = first;
    for (let i = 0; i < 300 && last > 0.05 * first; i++) last = (opt.minimize(loss, true, [...pl.params.values()]) as tf.Scalar).dataSync()[0];
    assert.ok(last <= 0.05 * first, `loss ${first} → ${last}`);
    pl.dispose();
    await switchBackend('cpu');
  });

  it('grounding: keypoint tokens join the vision tower and the embedding stays unit-norm; FiLM still starts as the identity', () => {
    const g = new GroundingModel({ ...G, keypoints: { keypoints: 2, cell: 4, hidden: 4 } }, 2);
    const gi = groundingInputs(1);
    const e = g.encodeVisionAction(gi.b);
    assert.deepEqual(e.shape, [B, G.embed]);
    assert.ok(Math.abs(e.norm('euclidean', 1).dataSync()[0] - 1) < 1e-5);
    const other = { ...gi.b, trajectories: tf.tensor3d(new Rng(9).normals(3 * 5 * 4), [3, 5, 4]) };
    assert.deepEqual(Array.from(e.dataSync()), Array.from(g.encodeVisionAction(other).dataSync()));
    g.dispose();
  });
});
