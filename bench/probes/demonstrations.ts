/**
 * Probe (issue 15): are the demonstrations a function of the board, and how learnable are they from the true state?
 * 1. A fresh noise-free oracle on each recorded board against the recorded first action (per family): what the board
 *    does not determine (a remembered phase, a region's slot the text does not name).
 * 2. A 3×256 ReLU MLP from the true state (effector, setpoint, every block, the moved block, the goal point; REL=1:
 *    block − effector and goal − block only) to the 8-action chunk: train / val MSE against the actions' variance,
 *    per family and per chunk position.
 * 3. That MLP in closed loop on CLOSED held-out boards' ground-truth sub-tasks (EXEC actions of each chunk), beside
 *    the oracle: whether demonstrations this well fitted are enough to push blocks, with perfect perception.
 *   EFF=1: block − effector instead of block − setpoint; BS the batch (256).
 *   NOISE (metres) perturbs the block and goal positions the MLP sees (keypoints a pixel off).
 *   N=300 STEPS=1500 npx tsx bench/probes/demonstrations.ts   (ONLY_ORACLE=1: part 1 only; CLOSED=0: no part 3)
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { simulateEpisode, DEFAULT_EPISODE } from '../../src/sim/episode';
import { blockSet } from '../../src/sim/constants';
import { goalPoint, isSuccess, type Task } from '../../src/sim/tasks';
import { stepWorld, type WorldState } from '../../src/sim/world';
import { groundTruthPlanner, hierarchyMetrics, oracleExecutor, runHierarchy, type ExecutorFn } from '../../src/eval/hierarchy';
import { parseSubTask } from '../../src/text/subtask-parser';
import { taskFromParsed } from '../../src/eval/hierarchy';
import { Rng } from '../../src/util/rng';
import { PushOracle } from '../../src/sim/oracle';

const specs = blockSet(4);

/** The true state the MLP sees (REL=1: block − setpoint, goal − block and a point2block flag, zero-padded to the same width). */
const NOISE = +(process.env.NOISE ?? 0);
const noiseRng = new Rng(99);
function features(w: WorldState, task: Task): number[] {
  const g0 = task.family === 'point2block' ? [0, 0] : goalPoint(task, w);
  const tb0 = w.blocks.find((b) => b.name === task.block)!;
  // NOISE (metres): Gaussian error on the block's and the goal's positions, fresh at every call — what keypoints ~1 px off would give.
  const tb = NOISE ? { ...tb0, x: tb0.x + NOISE * noiseRng.normal(), y: tb0.y + NOISE * noiseRng.normal() } : tb0;
  const g = NOISE ? [g0[0] + NOISE * noiseRng.normal(), g0[1] + NOISE * noiseRng.normal()] : g0;
  // EFF=1: relative to the effector (what the policy's state is) instead of the commanded setpoint (what the oracle acts on).
  const e = process.env.EFF ? w.effector : w.target;
  if (process.env.REL) return [(tb.x - e[0]) * 5, (tb.y - e[1]) * 5, (g[0] - tb.x) * 5, (g[1] - tb.y) * 5, task.family === 'point2block' ? 1 : 0, ...Array(13).fill(0)];
  const f = [...w.effector, ...w.target, ...w.blocks.flatMap((b) => [b.x, b.y]), ...specs.map((b) => (b.name === task.block ? 1 : 0)), ...g];
  return f.map((v, i) => (i < 12 || i >= 16 ? (v - (i % 2 === 0 ? 0.375 : 0)) * 5 : v));
}

(async () => {
  await initBackend();
  const FAM: string[] = []; const ORA: number[] = []; const ORA2: number[] = []; const ORAF: string[] = []; const X: number[][] = [], Y: number[][] = [], M: number[][] = [], ep: number[] = [];
  const N = +(process.env.N ?? 300);
  for (let e = 0; e < N; e++) {
    const r = simulateEpisode(`e${e}`, 1000 + e, { ...DEFAULT_EPISODE, camera: 'topdown', image: [8, 8] }, true);
    const steps = r.episode.steps;
    for (const s of r.episode.hierarchy!.subTasks) {
      for (let t = s.start; t < s.end; t += 2) {
        const w = r.states![t];
        const p = parseSubTask(s.instruction, specs);
        const task = taskFromParsed(p, s.instruction, r.states![s.start]);
        if (!task) continue;
        const y: number[] = [], m: number[] = [];
        for (let c = 0; c < 8; c++) { const a = t + c < s.end ? steps[t + c].action : [0, 0]; y.push(a[0] / 0.03, a[1] / 0.03); m.push(t + c < s.end ? 1 : 0, t + c < s.end ? 1 : 0); }
        { const errs = [0, 1].map((ph) => { const o = new PushOracle(task, { noise: 0, pushSpeed: 0.35, moveSpeed: 0.3 }); const a = o.act(w); const d = [a[0] / 0.03 - steps[t].action[0] / 0.03, a[1] / 0.03 - steps[t].action[1] / 0.03]; return (d[0] ** 2 + d[1] ** 2) / 2; }); ORA.push(errs[0]); ORA2.push(Math.min(...errs)); ORAF.push(task.family); }
        FAM.push(task.family); X.push(features(w, task)); Y.push(y); M.push(m); ep.push(e);
      }
    }
  }
  const isVal = ep.map((e) => e % 10 === 0);
  const tr = X.map((_, i) => i).filter((i) => !isVal[i]), va = X.map((_, i) => i).filter((i) => isVal[i]);
  console.log(`fresh oracle (goal = goalPoint, phase approach) vs recorded first action: MSE ${(ORA.reduce((a, b) => a + b, 0) / ORA.length).toFixed(3)}; share > 0.1: ${(ORA.filter((v) => v > 0.1).length / ORA.length).toFixed(3)}`);
  for (const fam of [...new Set(ORAF)]) { const k = ORAF.map((f, i) => (f === fam ? i : -1)).filter((i) => i >= 0); const m = (a: number[]) => (k.reduce((x, i) => x + a[i], 0) / k.length).toFixed(3); console.log(`${fam}: ${k.length} steps, fresh-oracle MSE ${m(ORA)}, min over phase ${m(ORA2)}`); }
  if (process.env.ONLY_ORACLE) return;
  console.log(`samples train ${tr.length} val ${va.length}, features ${X[0].length}`);
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [X[0].length], units: 256, activation: 'relu' }), tf.layers.dense({ units: 256, activation: 'relu' }), tf.layers.dense({ units: 256, activation: 'relu' }), tf.layers.dense({ units: 16 })] });
  const opt = tf.train.adam(1e-3);
  const rng = new Rng(1);
  const take = (ids: number[]) => ({ x: tf.tensor2d(ids.map((i) => X[i])), y: tf.tensor2d(ids.map((i) => Y[i])), m: tf.tensor2d(ids.map((i) => M[i])) });
  const mse = (ids: number[]) => tf.tidy(() => { const b = take(ids); const p = model.predict(b.x) as tf.Tensor; return p.sub(b.y).square().mul(b.m).sum().div(b.m.sum()).dataSync()[0]; });
  const varOf = (ids: number[]) => { let s = 0, n = 0; const mu = [0, 0]; ids.forEach((i) => Y[i].forEach((v, k) => { if (M[i][k]) { mu[k % 2] += v; n++; } })); mu[0] /= n / 2; mu[1] /= n / 2; ids.forEach((i) => Y[i].forEach((v, k) => { if (M[i][k]) s += (v - mu[k % 2]) ** 2; })); return s / n; };
  console.log(`action variance: train ${varOf(tr).toFixed(3)} val ${varOf(va).toFixed(3)}`);
  for (let step = 1; step <= +(process.env.STEPS ?? 2000); step++) {
    const ids = Array.from({ length: +(process.env.BS ?? 256) }, () => tr[rng.int(tr.length)]);
    opt.minimize(() => tf.tidy(() => { const b = take(ids); const p = model.predict(b.x) as tf.Tensor; return p.sub(b.y).square().mul(b.m).sum().div(b.m.sum()) as tf.Scalar; }));
    if (step % 500 === 0) console.log(`step ${step}: train MSE ${mse(tr.slice(0, 2000)).toFixed(3)} val MSE ${mse(va).toFixed(3)}`);
  }
  for (const fam of [...new Set(FAM)]) { const ids = va.filter((i) => FAM[i] === fam); console.log(`${fam}: ${ids.length} val samples, MSE ${mse(ids).toFixed(3)}, var ${varOf(ids).toFixed(3)}`); }
  const P = tf.tidy(() => (model.predict(tf.tensor2d(va.map((i) => X[i]))) as tf.Tensor).arraySync() as number[][]);
  const pos = Array.from({ length: 8 }, (_, c) => { let s = 0, n = 0; va.forEach((i, k) => { if (M[i][2 * c]) { s += (P[k][2 * c] - Y[i][2 * c]) ** 2 + (P[k][2 * c + 1] - Y[i][2 * c + 1]) ** 2; n += 2; } }); return (s / n).toFixed(3); });
  console.log(`val MSE by chunk position: ${pos.join(' ')}`);
  // 3. Closed loop: the MLP drives the simulator on the ground-truth sub-tasks of fresh boards (the task it is given is
  //    the true one: privileged), executing EXEC actions of each predicted chunk — what a perfect perception would allow.
  const CLOSED = +(process.env.CLOSED ?? 20);
  if (!CLOSED) return;
  const EXEC = +(process.env.EXEC ?? 2);
  const mlpExecutor: ExecutorFn = (world, _text, task, steps) => {
    if (!task) return 0;
    let t = 0;
    while (t < steps && !isSuccess(task, world)) {
      const chunk = tf.tidy(() => (model.predict(tf.tensor2d([features(world, task)])) as tf.Tensor).dataSync());
      for (let c = 0; c < EXEC && t < steps && !isSuccess(task, world); c++, t++) stepWorld(world, [chunk[2 * c] * 0.03, chunk[2 * c + 1] * 0.03]);
    }
    return t;
  };
  for (const [name, ex] of [['oracle', oracleExecutor], ['state MLP', mlpExecutor]] as const) {
    const m = hierarchyMetrics(runHierarchy(groundTruthPlanner, ex, { episodes: CLOSED, seed: 1000003, blocks: 4, stepsPerSubtask: 40, storedImage: [8, 8] }));
    console.log(`closed loop, ${name}, ${CLOSED} held-out boards: sub-task success ${m.subTaskSuccess.toFixed(3)} (${m.subTasks} sub-tasks), long-horizon ${m.longHorizonSuccess.toFixed(3)}`);
  }
})();
