"""Writes the six notebooks' sources (cells without outputs). Run once; `npm run notebooks` fills in the outputs."""
import json, pathlib

KERNEL = {"kernelspec": {"display_name": "TypeScript (gpla, tslab)", "language": "typescript", "name": "gpla-tslab"},
          "language_info": {"name": "typescript", "file_extension": ".ts", "mimetype": "text/typescript"}}

def nb(cells):
    out = []
    for i, (kind, src) in enumerate(cells):
        c = {"cell_type": kind, "id": f"cell-{i:02d}", "metadata": {}, "source": src.strip("\n")}
        if kind == "code":
            c["outputs"] = []
            c["execution_count"] = None
        out.append(c)
    return {"cells": out, "metadata": KERNEL, "nbformat": 4, "nbformat_minor": 5}

PARAMS = """import { params } from './src/notebook';
import { initBackend, describeBackend } from './src/backend';
const P = params(); // GPLA_PRESET, GPLA_SEED, GPLA_RUN_DIR override these
console.log(P);
console.log(describeBackend(await initBackend()));"""

books = {}

books["01-languagetable-data"] = [
("markdown", """# 1 · The LanguageTable data

GPLA is trained and evaluated on **LanguageTable**: a robot arm pushes coloured blocks on a table while people (or a
scripted oracle) follow short language instructions. The released data is RLDS: TFRecord shards of
`tf.train.Example` episodes, each step holding a JPEG frame, the effector position, the 2-D action and the
short-horizon instruction as 512 UTF-8 bytes.

GPLA needs the *hierarchy* — a long-horizon goal split into labelled sub-tasks. This notebook makes a dataset with the
package's built-in simulator, which writes exactly the real layout plus the hierarchy fields, and inspects it with
the same reader that reads Google's shards. To use real data, point `DATA` at a TFDS builder folder."""),
("code", PARAMS),
("code", """import * as path from 'node:path';
import * as fs from 'node:fs';
import { getPreset } from './src/experiments/presets';
import { synthesize, defaultWorkers } from './src/sim/synth';
const S = getPreset(P.preset).schedule;
const DATA = path.join(P.runDir, 'data'); // or a real LanguageTable builder folder
if (!fs.existsSync(path.join(DATA, 'dataset_info.json'))) {
  const r = await synthesize({ out: DATA, episodes: S.data.episodes, seed: P.seed, blocks: S.data.blocks, image: S.data.storedImage,
    camera: 'topdown', episodesPerShard: 50, workers: defaultWorkers(), progress: 'lines' });
  console.log(r);
}"""),
("markdown", "## The builder folder\n`dataset_info.json` lists the shards and their episode counts (as strings, as TFDS writes them); `features.json` is the feature spec the reader checks."),
("code", """import { openBuilder } from './src/data/builder';
const builder = await openBuilder(DATA);
console.log({ name: builder.name, version: builder.version, shards: builder.shardPaths.length, episodes: builder.numEpisodes, image: builder.imageShape, hierarchy: builder.hierarchy });"""),
("markdown", "## One episode: goal, sub-tasks, frames\nEach step carries the current sub-task's instruction; the episode also records the long-horizon goal and where each sub-task starts and ends."),
("code", """import { showPng, showTable } from './src/notebook';
import { episodeFilmStrip } from './src/sim/view';
import { readEpisodes } from './src/data/builder';
const episodes = await readEpisodes(builder);
const ep = episodes[0];
console.log('goal:', ep.hierarchy?.longHorizonInstruction);
showTable(ep.hierarchy!.subTasks.map((s, i) => ({ '#': i, steps: `${s.start}–${s.end}`, 'sub-task instruction': s.instruction })));
showPng(episodeFilmStrip(ep, 8, 96));"""),
("markdown", "## Statistics\nA danfojs DataFrame over all episodes: sub-tasks per goal, steps per sub-task."),
("code", """// danfojs, loaded without its 335 "kernel already registered" warnings (it bundles its own tfjs).
import { loadDanfo } from './src/util/danfo';
const dfd = loadDanfo();
const rows = episodes.flatMap((e) => e.hierarchy!.subTasks.map((s) => ({ goal: e.hierarchy!.longHorizonInstruction, steps: s.end - s.start })));
const df = new dfd.DataFrame(rows);
const byGoal = df.groupby(['goal']).agg({ steps: ['count', 'mean'] });
showTable(dfd.toJSON(byGoal) as Record<string, unknown>[]);
console.log(`${episodes.length} episodes, ${rows.length} sub-tasks, mean ${(rows.reduce((a, r) => a + r.steps, 0) / rows.length).toFixed(1)} steps per sub-task`);"""),
("code", """import { showFigure } from './src/notebook';
await showFigure({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 300, height: 160, config: { font: 'DejaVu Sans' },
  data: { values: rows }, mark: 'bar', encoding: { x: { field: 'steps', bin: { maxbins: 20 }, title: 'steps per sub-task (10 Hz)' }, y: { aggregate: 'count', title: 'sub-tasks' } } });"""),
]

books["02-hierarchical-model"] = [
("markdown", """# 2 · The hierarchical VLA, and training everything

The hierarchy: a **planner** (Gemma-3-style vision-language decoder) reads the image and the long-horizon goal and
writes the next sub-task; a **policy** (SmolVLA-style: a vision-language backbone plus an action expert trained by
flow matching) turns image + sub-task into an action chunk. This notebook shows their structure and sizes, then runs
the paper's pipeline for the chosen preset — grounding models, policy, base planner, Supervised, and the three GPLA
runs — as resumable stages of the run folder (`gpla reproduce` does the same from the command line)."""),
("code", PARAMS),
("code", """import { modelSizes } from './src/commands/models';
import { showTable } from './src/notebook';
showTable(modelSizes(P.preset).map((r) => ({ model: r.model, parameters: r.params, 'forward FLOPs / example': r.forwardFlops })));"""),
("code", """import { reproduce } from './src/experiments/reproduce';
import * as path from 'node:path';
const result = await reproduce({ preset: P.preset, out: P.runDir, data: path.join(P.runDir, 'data'), seed: P.seed, progress: 'lines' });
console.log(`pipeline finished (or resumed) in ${result.seconds.toFixed(0)} s`);"""),
("markdown", "## The planner's sub-tasks\nGreedy sub-tasks of the supervised planner for held-out samples, next to the ground truth."),
("code", """import { RunFolder } from './src/experiments/run';
import { generateGreedy } from './src/eval/conditions';
const run = new RunFolder(P.runDir);
const samples = await run.samples();
const sft = run.planner('planner-sft');
const gen = generateGreedy(sft, run.tokenizer, run.cache, samples.hierarchical.test.slice(0, 6));
showTable(gen.map((g) => ({ goal: g.sample.highLevel, 'ground truth': g.sample.lowLevel, 'Supervised planner': g.text })));"""),
("markdown", "## The policy in the simulator\nThe policy executes one sub-task from a fresh board; the film strip shows every fourth step."),
("code", """import { rolloutPolicy } from './src/eval/rollout';
import { showPng } from './src/notebook';
const policy = run.policy();
const roll = rolloutPolicy(policy, run.tokenizer, run.cache, { seed: 3, steps: 40, family: 'point2block' });
console.log(`instruction: "${roll.instruction}" · success: ${roll.success} after ${roll.steps} steps`);
showPng(roll.filmStrip);"""),
]

books["03-grounding-model"] = [
("markdown", """# 3 · The action-conditioned grounding model

A SigLIP-2-style dual encoder: a ViT image tower and a text tower, each pooled and projected to a shared space. In
the **action-conditioned** model a small transformer encodes the trajectory (per step: action Δx, Δy and effector
x, y) into per-layer FiLM parameters that modulate the image tower, so the visual side embeds *this scene and these
actions*. Training is symmetric InfoNCE with a learnable temperature. The **vision-only** model (no FiLM) is the
ablation. Both were trained in notebook 2; here we look at them."""),
("code", PARAMS),
("code", """import { RunFolder } from './src/experiments/run';
import { showFigure, showTable } from './src/notebook';
import { trainingCurves } from './src/viz/specs';
const run = new RunFolder(P.runDir);
const m = run.metrics();
const rows = ['grounding-action', 'grounding-none'].flatMap((t) => m.filter((x) => x.task === t && x.kind === 'train').map((x) => ({ series: t, step: x.step as number, value: x.loss as number })));
await showFigure(trainingCurves(rows, 'InfoNCE loss'));
showTable(['grounding-action', 'grounding-none'].map((t) => ({ model: t, ...(run.stage(t) as any).validation })));"""),
("markdown", "## Scores between trajectories and descriptions\nRows: held-out (image, trajectory) pairs; columns: the same samples' sub-task descriptions. A grounded model lights up the diagonal."),
("code", """import { groundingSimilarity } from './src/experiments/tasks';
import { retrievalRecall } from './src/eval/retrieval';
import { scoreHeatmap } from './src/viz/specs';
const samples = await run.samples();
const test = samples.hierarchical.test.slice(0, 40);
const recall = [];
for (const cond of ['action', 'none'] as const) {
  const g = run.grounding(cond);
  const sim = groundingSimilarity(g, test, run.tokenizer, run.cache);
  const r = retrievalRecall(sim, [1, 5, 10]);
  recall.push({ model: cond, 'traj→text R@1': r.rowToCol[1], 'R@5': r.rowToCol[5], 'text→traj R@1': r.colToRow[1], 'R@5 ': r.colToRow[5] });
  if (cond === 'action') await showFigure(scoreHeatmap(sim, 'image + trajectory', 'description'));
}
showTable(recall);"""),
]

books["04-simpo-iterations"] = [
("markdown", """# 4 · Preference pairs without labels, and SimPO

For each training sample the planner samples K candidate sub-tasks; the frozen grounding model scores each against
the sample's image and *recorded* trajectory; best and worst become a (chosen, rejected) pair — no human label. The
planner is then updated with SimPO, L = −log σ(β(r̄(chosen) − r̄(rejected)) − γ), r̄ the mean token log-probability,
and the loop repeats with the updated planner. The iterations ran in notebook 2; here are their logs."""),
("code", PARAMS),
("code", """import { RunFolder } from './src/experiments/run';
import { showTable } from './src/notebook';
const run = new RunFolder(P.runDir);
for (const name of ['planner-gpla-action', 'planner-sft-gpla-action', 'planner-gpla-vision']) {
  const s = run.stage<any>(name);
  console.log(name);
  showTable(s.iterations.map((it: any) => ({ iteration: it.iteration, pairs: it.pairs, 'chosen score': it.chosenScore, 'candidate score': it.candidateScore, margin: it.margin, 'tie share': it.tieShare, 'distinct share': it.distinctShare, 'SimPO loss': it.finalLoss })));
}"""),
("markdown", "## Example candidates with their grounding scores (last iteration, GPLA action-conditioned)"),
("code", """const ex = run.stage<any>('planner-gpla-action').examples;
const samples = await run.samples();
for (const e of ex.slice(0, 3)) {
  const s = samples.hierarchical.train[e.sample];
  console.log(`goal: ${s.highLevel}\\nground truth: ${s.lowLevel}`);
  showTable([...e.candidates].sort((a: any, b: any) => b.score - a.score).map((c: any) => ({ candidate: c.text, score: c.score })));
}"""),
("code", """import { showFigure } from './src/notebook';
import { simpoCurves } from './src/viz/specs';
const rows = run.metrics().filter((m) => m.kind === 'simpo').flatMap((m) => [
  { run: String(m.task), iteration: m.iteration as number, metric: 'chosen score', value: m.chosenScore as number },
  { run: String(m.task), iteration: m.iteration as number, metric: 'margin', value: m.margin as number }]);
await showFigure(simpoCurves(rows));"""),
]

books["05-representations"] = [
("markdown", """# 5 · What the grounding representations encode

The paper's "insights into multimodal grounding representations": how far apart the text and vision(-action)
embeddings sit (modality gap), how aligned positive pairs are and how uniformly embeddings spread (Wang & Isola), PCA
and UMAP views, how much the model relies on the actions (retrieval with trajectories shuffled across samples or
reversed in time), and how strongly FiLM modulates each layer."""),
("code", PARAMS),
("code", """import { RunFolder } from './src/experiments/run';
import { groundingBatch } from './src/models/inputs';
import { embedPairs } from './src/eval/grounding-retrieval';
import { alignment, modalityGap, pca2, uniformity } from './src/eval/representations';
import { showFigure, showTable } from './src/notebook';
const run = new RunFolder(P.runDir);
const test = (await run.samples()).hierarchical.test.slice(0, 60);
const models = { action: run.grounding('action'), none: run.grounding('none') };
// Unit embeddings as rows: vision(-action) side and text side of each held-out pair.
function embed(cond: 'action' | 'none') {
  const e = embedPairs(models[cond], run.tokenizer, run.cache, test);
  const rows = (a: Float32Array) => Array.from({ length: test.length }, (_, i) => Array.from(a.subarray(i * e.dim, (i + 1) * e.dim)));
  return { v: rows(e.vision), x: rows(e.text) };
}
const stats = [];
for (const cond of ['action', 'none'] as const) {
  const { v, x } = embed(cond);
  stats.push({ model: cond, 'modality gap': modalityGap(x, v), alignment: alignment(x, v), 'uniformity (text)': uniformity(x), 'uniformity (vision-action)': uniformity(v) });
}
showTable(stats);"""),
("code", """import { embeddingScatter } from './src/viz/specs';
import { parseSubTask } from './src/text/subtask-parser';
const { v, x } = embed('action');
const proj = pca2([...x, ...v]);
const block = test.map((s) => parseSubTask(s.lowLevel)?.block ?? 'unparsed');
const points = (p: number[][]) => p.map(([px, py], i) => ({ x: px, y: py, modality: i < x.length ? 'text' : 'vision-action', group: block[i % x.length] }));
await showFigure(embeddingScatter(points(proj), { title: 'PCA of the action-conditioned embeddings', colorTitle: 'block named' }));"""),
("markdown", "UMAP (umap-js, seeded) of the same embeddings: neighbourhoods rather than global directions."),
("code", """import { umap2d } from './src/eval/projection';
await showFigure(embeddingScatter(points(umap2d([...x, ...v], { seed: P.seed })), { title: 'UMAP of the action-conditioned embeddings', colorTitle: 'block named', xTitle: 'UMAP 1', yTitle: 'UMAP 2' }));"""),
("markdown", "Coloured by the target the sub-task names instead of its block, then nearest neighbours: for a few held-out descriptions, the sub-tasks whose image + trajectory the action-conditioned model ranks first."),
("code", """const target = test.map((s) => (parseSubTask(s.lowLevel)?.target ?? 'none').replace(/^[a-z-]+:/, '').replace(/:.*/, ''));
await showFigure(embeddingScatter(proj.map(([px, py], i) => ({ x: px, y: py, modality: i < x.length ? 'text' : 'vision-action', group: target[i % x.length] })), { title: 'PCA, coloured by the target named', colorTitle: 'target' }));
const dot = (a: number[], b: number[]) => a.reduce((s, ai, k) => s + ai * b[k], 0);
showTable(test.slice(0, 6).map((s, i) => {
  const order = v.map((vj, j) => [dot(x[i], vj), j]).sort((a, b) => b[0] - a[0]).map(([, j]) => j);
  return { description: s.lowLevel, 'sub-task of the nearest trajectory': test[order[0]].lowLevel, 'second nearest': test[order[1]].lowLevel, 'rank of its own': order.indexOf(i) + 1 };
}));"""),
("markdown", "## Does the model use the actions?\\nRetrieval on held-out samples with the true trajectories, with each sample given another sample's trajectory (a derangement), and with trajectories played backwards (steps reversed, actions negated). `gpla reproduce` writes the same measurement on the whole evaluation split to `tables/retrieval.csv`."),
("code", """import { PERTURBATIONS, groundingRetrieval } from './src/eval/grounding-retrieval';
const rows = [];
for (const cond of ['action', 'none'] as const) {
  for (const p of PERTURBATIONS) {
    const r = groundingRetrieval(cond, models[cond], run.tokenizer, run.cache, test, p, P.seed);
    rows.push({ model: cond, trajectories: p, 'traj→text R@1': r.trajToText[1], 'R@5': r.trajToText[5], 'text→traj R@5': r.textToTraj[5], 'median rank': r.medianRankTrajToText });
  }
}
showTable(rows);"""),
("code", """const b = groundingBatch(run.cache, test, run.config.models.grounding.trajectoryLength);
showTable(models.action.filmMagnitudes(b.trajectories, b.trajectoryMask).map((m) => ({ 'vision layer': m.layer, 'mean |γ|': m.gamma, 'mean |β|': m.beta })));"""),
]

books["06-results"] = [
("markdown", """# 6 · Results: the paper's conditions

Each planner condition is evaluated three ways (src/experiments/evaluate.ts):

* **text** — greedy sub-tasks on held-out samples against the ground truth (BLEU-4, ROUGE-L, CIDEr-D, exact match,
  semantic accuracy — right block, right target — parsed from the templates' grammar) and against what the robot
  actually did (the action-conditioned grounding score of the generated text with the recorded trajectory);
* **execution** — the planner drives held-out long-horizon episodes closed-loop in the simulator, its sub-tasks
  carried out by the learned policy or by the scripted oracle (which separates planner errors from policy errors); a
  planner that says the ground-truth sub-task is the upper bound of each executor;
* **retrieval** — the grounding models with true, shuffled and time-reversed trajectories.

Then a qualitative table like the paper's Table 2, a few closed-loop episodes, and the figures."""),
("code", PARAMS),
("code", """import * as fs from 'node:fs';
import * as path from 'node:path';
import { showTable, showPng } from './src/notebook';
const csv = (f: string) => { const [h, ...rs] = fs.readFileSync(path.join(P.runDir, 'tables', f), 'utf8').trim().split('\\n');
  const split = (l: string) => l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.slice(0, -1).map((c) => c.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"'));
  const cols = split(h); return rs.map((r) => Object.fromEntries(split(r).map((v, i) => [cols[i], isNaN(+v) || v === '' ? v : +v]))); };
const results = csv('results.csv');
const pick = (keys: string[]) => results.map((r) => Object.fromEntries([['condition', r.condition], ...keys.map((k) => [k, r[k]])]));
showTable(pick(['bleu4', 'rougeL', 'ciderD', 'exactMatch', 'blockAccuracy', 'targetAccuracy', 'semanticAccuracy', 'unparseable', 'groundingScore', 'textSimilarity']).slice(0, -1));"""),
("markdown", "Closed-loop execution (shares; the last row says the ground-truth sub-tasks):"),
("code", """showTable(pick(['policySubTaskSuccess', 'policySubTaskMatch', 'policyLongHorizonSuccess', 'oracleSubTaskSuccess', 'oracleSubTaskMatch', 'oracleLongHorizonSuccess', 'oracleSubTasksPerEpisode']));"""),
("code", "showTable(csv('retrieval.csv'));"),
("code", "showTable(csv('qualitative.csv'));"),
("markdown", "The first closed-loop episode of each condition with the oracle executing: what the planner said, what the plan wanted, whether the named sub-task succeeded."),
("code", """const episodes = fs.readFileSync(path.join(P.runDir, 'tables', 'execution-episodes.jsonl'), 'utf8').trim().split('\\n').map((l) => JSON.parse(l));
const shown = new Set<string>();
const lines = [];
for (const e of episodes) {
  if (e.executor !== 'oracle' || shown.has(e.condition)) continue;
  shown.add(e.condition);
  for (const s of e.subTasks.slice(0, 3)) lines.push({ condition: e.condition, goal: e.highLevel, planner: s.planned, 'ground truth': s.groundTruth, success: s.success ? 'yes' : 'no' });
}
showTable(lines);"""),
("code", """import { writeRunFigures } from './src/viz/run-figures';
const names = await writeRunFigures(P.runDir, P.preset === 'small' ? ['figures'] : []);
// Every figure is in RUN/figures; shown here: the summaries and two closed-loop strips (the rest are one per condition).
const strips = ['closed-loop-ground-truth-sub-tasks-oracle', 'closed-loop-supervised-gpla-action-conditioned-oracle'];
for (const n of names.filter((x) => !x.startsWith('closed-loop-') || strips.includes(x))) showPng(fs.readFileSync(path.join(P.runDir, 'figures', `${n}.png`)));"""),
]

for name, cells in books.items():
    pathlib.Path(f"notebooks/{name}.ipynb").write_text(json.dumps(nb(cells), indent=1) + "\n")
print("wrote", len(books))
