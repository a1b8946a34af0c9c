/**
 * Scene descriptions: generic visual–language data the simulator can make on its own, for the base planner's
 * pre-training (the analog of a pretrained VLM that already sees and names objects). A random board is rendered as
 * the dataset renders its frames, and a question about it is answered from the board state:
 *
 *   where        "where is the red moon"                              → "the red moon is at the top left corner"
 *   relation     "where is the red moon relative to the blue cube"    → "the red moon is above and left of the blue cube"
 *   nearest      "which block is nearest to the top left corner"      → "the red moon"
 *
 * No sub-task, no goal and no demonstration is involved: the answers describe where blocks are, not what to do.
 * Locations are the nine board regions of block2absolutelocation (the nearest of LOCATIONS, i.e. a 3×3 grid);
 * relations are the 8-way direction from one block to the other, in the board's words (up = −x, left = −y).
 */
import { encodeJpeg } from '../data/image';
import { Rng } from '../util/rng';
import { LOCATIONS, blockRadius, type BlockSpec, type LocationName } from './constants';
import { render, type CameraName } from './render';
import { FAMILIES, instructionFor, sampleTask } from './tasks';
import type { WorldState } from './world';

export type SceneQuestion =
  | { kind: 'where'; block: string }
  | { kind: 'relation'; block: string; other: string }
  | { kind: 'nearest'; location: LocationName };
export const SCENE_KINDS = ['where', 'relation', 'nearest'] as const;
export type SceneKind = (typeof SCENE_KINDS)[number];

/** How a location is said in answers and questions. */
export const LOCATION_WORDS: Record<LocationName, string> = {
  top_left: 'top left corner', top: 'top side', top_right: 'top right corner',
  center_left: 'left side', center: 'center', center_right: 'right side',
  bottom_left: 'bottom left corner', bottom: 'bottom side', bottom_right: 'bottom right corner',
};
const RELATION_WORDS = ['above', 'above and right of', 'right of', 'below and right of', 'below', 'below and left of', 'left of', 'above and left of'];

const blockWords = (name: string) => name.replace('_', ' ');
const dist = (a: readonly [number, number] | number[], b: readonly [number, number] | number[]) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** The board region a point is in: the nearest named location. */
export function regionOf(p: [number, number]): LocationName {
  let best: LocationName = 'center';
  for (const name of Object.keys(LOCATIONS) as LocationName[]) if (dist(p, LOCATIONS[name]) < dist(p, LOCATIONS[best])) best = name;
  return best;
}

/** 8-way direction of `p` as seen from `ref` (0 = above, clockwise), in words. */
export function relationWords(p: [number, number], ref: [number, number]): string {
  const ang = Math.atan2(p[1] - ref[1], -(p[0] - ref[0])); // 0 = up (−x), +π/2 = right (+y)
  const sector = ((Math.round(ang / (Math.PI / 4)) % 8) + 8) % 8;
  return RELATION_WORDS[sector];
}

const at = (s: WorldState, name: string): [number, number] => {
  const b = s.blocks.find((x) => x.name === name);
  if (!b) throw new Error(`scene question: no block "${name}" on the board (blocks: ${s.blocks.map((x) => x.name).join(', ')})`);
  return [b.x, b.y];
};

/** The question's prompt and its answer on a board. */
export function sceneQA(q: SceneQuestion, s: WorldState): { prompt: string; answer: string } {
  switch (q.kind) {
    case 'where':
      return { prompt: `where is the ${blockWords(q.block)}`, answer: `the ${blockWords(q.block)} is at the ${LOCATION_WORDS[regionOf(at(s, q.block))]}` };
    case 'relation':
      return {
        prompt: `where is the ${blockWords(q.block)} relative to the ${blockWords(q.other)}`,
        answer: `the ${blockWords(q.block)} is ${relationWords(at(s, q.block), at(s, q.other))} the ${blockWords(q.other)}`,
      };
    case 'nearest': {
      const p = LOCATIONS[q.location];
      const best = [...s.blocks].sort((a, b) => dist([a.x, a.y], p) - dist([b.x, b.y], p) || a.name.localeCompare(b.name))[0];
      return { prompt: `which block is nearest to the ${LOCATION_WORDS[q.location]}`, answer: `the ${blockWords(best.name)}` };
    }
  }
}

/** A random question about a board: the three kinds equally often. */
export function randomQuestion(s: WorldState, rng: Rng): SceneQuestion {
  const names = s.blocks.map((b) => b.name);
  const kind = rng.choice(SCENE_KINDS);
  if (kind === 'where') return { kind, block: rng.choice(names) };
  if (kind === 'relation') {
    const block = rng.choice(names);
    return { kind, block, other: rng.choice(names.filter((n) => n !== block)) };
  }
  return { kind, location: rng.choice(Object.keys(LOCATIONS) as LocationName[]) };
}

/** Every prompt and answer the templates can produce for these blocks (for the tokenizer's vocabulary). */
export function sceneTexts(specs: BlockSpec[]): string[] {
  const out: string[] = [];
  for (const a of specs) {
    out.push(`where is the ${blockWords(a.name)}`, `the ${blockWords(a.name)}`);
    for (const w of Object.values(LOCATION_WORDS)) out.push(`the ${blockWords(a.name)} is at the ${w}`, `which block is nearest to the ${w}`);
    for (const b of specs) if (b !== a) for (const r of RELATION_WORDS) out.push(`where is the ${blockWords(a.name)} relative to the ${blockWords(b.name)}`, `the ${blockWords(a.name)} is ${r} the ${blockWords(b.name)}`);
  }
  return out;
}

/**
 * Texts of the simulator's instruction templates: a random task of every family on random boards, `n` of them (enough
 * to cover every template word, for the tokenizer of a run whose base planner is pre-trained on them).
 */
export function templateTexts(specs: BlockSpec[], n = 4000, seed = 1): string[] {
  const rng = new Rng(seed);
  const out: string[] = [];
  while (out.length < n) {
    const s = randomBoard(specs, rng);
    for (const f of FAMILIES) {
      const task = sampleTask(f, s, rng);
      if (task) out.push(instructionFor(task, s, rng));
    }
  }
  return out;
}

/**
 * A random board: blocks anywhere on the board (not only in the reset region: episodes push blocks to corners and
 * lines), without contact, random yaw; the effector somewhere free.
 */
export function randomBoard(specs: BlockSpec[], rng: Rng): WorldState {
  const X: [number, number] = [0.15, 0.55];
  const Y: [number, number] = [-0.27, 0.27];
  for (let attempt = 0; attempt < 100; attempt++) {
    const blocks: WorldState['blocks'] = [];
    for (const spec of specs) {
      const r = blockRadius(spec.shape);
      for (let tries = 0; tries < 50; tries++) {
        const x = rng.uniform(...X);
        const y = rng.uniform(...Y);
        if (blocks.every((b) => Math.hypot(b.x - x, b.y - y) > b.radius + r + 0.005)) {
          blocks.push({ ...spec, x, y, yaw: rng.uniform(0, 2 * Math.PI), radius: r });
          break;
        }
      }
    }
    if (blocks.length < specs.length) continue;
    for (let tries = 0; tries < 50; tries++) {
      const e: [number, number] = [rng.uniform(...X), rng.uniform(...Y)];
      if (blocks.every((b) => Math.hypot(b.x - e[0], b.y - e[1]) > b.radius + 0.02)) return { blocks, effector: e, target: [...e] };
    }
  }
  throw new Error(`randomBoard: could not place ${specs.length} blocks without contact after 100 attempts`);
}

export interface SceneBoard {
  state: WorldState;
  /** The board rendered and JPEG-encoded as the dataset's frames are. */
  imageJpeg: Uint8Array;
}

/** n random boards from a seed (same seed and options → same boards). */
export function sceneBoards(n: number, seed: number, opts: { specs: BlockSpec[]; image: [number, number]; camera: CameraName; jpegQuality: number }): SceneBoard[] {
  const rng = new Rng(seed);
  const [height, width] = opts.image;
  return Array.from({ length: n }, () => {
    const state = randomBoard(opts.specs, rng);
    return { state, imageJpeg: encodeJpeg({ height, width, data: render(state, { height, width, camera: opts.camera }) }, opts.jpegQuality) };
  });
}
