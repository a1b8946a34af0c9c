/**
 * Task families with their success tests and thresholds, and instruction templates with the reference's verbs and
 * synonyms (languagetable.md §2.4–2.5). A block is named by colour alone or shape alone only when that is unique on
 * the board (synonyms.py); "<color> <shape>" is always allowed.
 */
import { Rng } from '../util/rng';
import {
  BOUNDS_BUFFER, DIRECTIONS, LOCATIONS, X_MAX, X_MIN, Y_MAX, Y_MIN,
  type BlockSpec, type DirectionName, type LocationName,
} from './constants';
import { findBlock, type WorldState } from './world';

export const FAMILIES = ['block2block', 'block2absolutelocation', 'block2relativelocation', 'block2blockrelativelocation', 'separate', 'point2block'] as const;
export type Family = (typeof FAMILIES)[number];

export type Task =
  | { family: 'block2block'; block: string; target: string }
  | { family: 'block2absolutelocation'; block: string; location: LocationName; point?: [number, number] }
  | { family: 'block2relativelocation'; block: string; direction: DirectionName; magnitude: 'near' | 'far'; start: [number, number] }
  | { family: 'block2blockrelativelocation'; block: string; target: string; direction: DirectionName; targetStart: [number, number] }
  | { family: 'separate'; block: string; avoid: string[] }
  | { family: 'point2block'; block: string };

// ------------------------------------------------------------------ thresholds (rewards/*.py)
export const THRESHOLDS = {
  block2block: 0.05, // TARGET_BLOCK_DISTANCE
  absolute: 0.115,
  absoluteCenter: 0.1,
  relative: 0.1,
  blockRelative: 0.04,
  blockRelativeTargetDrag: 0.05,
  separate: 0.025,
  point2block: 0.05,
  relativeNear: 0.15,
  relativeFar: 0.25,
} as const;

const dist = (a: [number, number], b: [number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1]);
const pos = (s: WorldState, name: string): [number, number] => {
  const b = findBlock(s, name);
  return [b.x, b.y];
};

/** Block-relative offsets: 0.08 cardinal, (0.04, 0.04) diagonal (block2block_relative_location.py). */
export function blockRelativeOffset(d: DirectionName): [number, number] {
  const [dx, dy] = DIRECTIONS[d];
  return Math.abs(dx) > 0 && Math.abs(dy) > 0 ? [Math.sign(dx) * 0.04, Math.sign(dy) * 0.04] : [dx * 0.08, dy * 0.08];
}

/** Where the task wants its block (or, for point2block, the effector). Live: follows moving target blocks. */
export function goalPoint(task: Task, s: WorldState): [number, number] {
  switch (task.family) {
    case 'block2block':
      return pos(s, task.target);
    case 'block2absolutelocation':
      return task.point ?? [...LOCATIONS[task.location]];
    case 'block2relativelocation': {
      const [dx, dy] = DIRECTIONS[task.direction];
      const m = task.magnitude === 'near' ? THRESHOLDS.relativeNear : THRESHOLDS.relativeFar;
      return [task.start[0] + dx * m, task.start[1] + dy * m];
    }
    case 'block2blockrelativelocation': {
      const t = pos(s, task.target);
      const o = blockRelativeOffset(task.direction);
      return [t[0] + o[0], t[1] + o[1]];
    }
    case 'separate': {
      const others = task.avoid.map((n) => pos(s, n));
      const c: [number, number] = [others.reduce((a, p) => a + p[0], 0) / others.length, others.reduce((a, p) => a + p[1], 0) / others.length];
      const b = pos(s, task.block);
      const d = Math.hypot(b[0] - c[0], b[1] - c[1]) || 1;
      return [c[0] + (0.1 * (b[0] - c[0])) / d, c[1] + (0.1 * (b[1] - c[1])) / d];
    }
    case 'point2block':
      return pos(s, task.block);
  }
}

/** The family's success test on a board. */
export function isSuccess(task: Task, s: WorldState): boolean {
  switch (task.family) {
    case 'block2block':
      return dist(pos(s, task.block), pos(s, task.target)) < THRESHOLDS.block2block;
    case 'block2absolutelocation':
      return dist(pos(s, task.block), goalPoint(task, s)) < (task.location === 'center' ? THRESHOLDS.absoluteCenter : THRESHOLDS.absolute);
    case 'block2relativelocation':
      return dist(pos(s, task.block), goalPoint(task, s)) < THRESHOLDS.relative;
    case 'block2blockrelativelocation': {
      // Within 0.04 of any of 10 points from 0.5× to 1.1× of the offset, and the target not dragged > 0.05.
      const t = pos(s, task.target);
      if (dist(t, task.targetStart) > THRESHOLDS.blockRelativeTargetDrag) return false;
      const o = blockRelativeOffset(task.direction);
      const b = pos(s, task.block);
      for (let i = 0; i < 10; i++) {
        const f = 0.5 + (0.6 * i) / 9;
        if (dist(b, [t[0] + o[0] * f, t[1] + o[1] * f]) < THRESHOLDS.blockRelative) return true;
      }
      return false;
    }
    case 'separate':
      return dist(pos(s, task.block), goalPoint(task, s)) < THRESHOLDS.separate;
    case 'point2block':
      return dist(s.target, pos(s, task.block)) < THRESHOLDS.point2block;
  }
}

const inBounds = (p: [number, number]) =>
  p[0] >= X_MIN + BOUNDS_BUFFER && p[0] <= X_MAX - BOUNDS_BUFFER && p[1] >= Y_MIN + BOUNDS_BUFFER && p[1] <= Y_MAX - BOUNDS_BUFFER;

/** Samples a task of a family on a board (null if none is feasible here, as the reference's rejection loops). */
export function sampleTask(family: Family, s: WorldState, rng: Rng): Task | null {
  if (!FAMILIES.includes(family)) throw new Error(`unknown task family "${family}": accepted are ${FAMILIES.join(', ')}`);
  const names = s.blocks.map((b) => b.name);
  for (let tries = 0; tries < 100; tries++) {
    const block = rng.choice(names);
    const p = pos(s, block);
    let task: Task;
    switch (family) {
      case 'block2block': {
        const target = rng.choice(names.filter((n) => n !== block));
        if (dist(p, pos(s, target)) < THRESHOLDS.block2block + 0.01) continue;
        task = { family, block, target };
        break;
      }
      case 'block2absolutelocation':
        task = { family, block, location: rng.choice(Object.keys(LOCATIONS) as LocationName[]) };
        break;
      case 'block2relativelocation': {
        task = { family, block, direction: rng.choice(Object.keys(DIRECTIONS) as DirectionName[]), magnitude: rng.random() < 0.5 ? 'near' : 'far', start: p };
        if (!inBounds(goalPoint(task, s))) continue;
        break;
      }
      case 'block2blockrelativelocation': {
        const target = rng.choice(names.filter((n) => n !== block));
        task = { family, block, target, direction: rng.choice(Object.keys(DIRECTIONS) as DirectionName[]), targetStart: pos(s, target) };
        if (!inBounds(goalPoint(task, s))) continue;
        break;
      }
      case 'separate': {
        // 1 to 4 nearest blocks, so every avoid phrasing of separate_blocks.py occurs (one, two, three, a group).
        const others = names.filter((n) => n !== block).sort((a, b) => dist(p, pos(s, a)) - dist(p, pos(s, b)));
        task = { family, block, avoid: others.slice(0, 1 + rng.int(Math.min(4, others.length))) };
        if (!inBounds(goalPoint(task, s))) continue;
        break;
      }
      case 'point2block':
        if (dist(s.target, p) < 0.06) continue;
        task = { family, block };
        break;
    }
    if (isSuccess(task, s)) continue; // already satisfied: resample, as the reference does
    return task;
  }
  return null;
}

// ------------------------------------------------------------------ instructions (synonyms.py and the reward files)
export const PUSH_VERBS = ['push the', 'move the', 'slide the', 'put the'];
export const PREPOSITIONS = ['to the', 'towards the', 'close to the', 'next to the'];
export const POINT_PREPOSITIONS = [
  'point next to the', 'point close to the', 'point to the', 'point at the', 'move the arm next to the', 'move the arm close to the',
  'move the arm to the', 'move your arm next to the', 'move your arm close to the', 'move your arm to the', 'move next to the',
  'move close to the', 'move to the',
];
export const LOCATION_SYNONYMS: Record<LocationName, string[]> = {
  top: ['top side', 'top', 'towards your base'],
  top_left: ['top left of the board', 'top left', 'upper left corner', 'top left corner'],
  top_right: ['top right of the board', 'top right', 'upper right corner', 'top right corner'],
  center: ['middle of the board', 'center of the board', 'center', 'middle'],
  center_left: ['left side of the board', 'center left', 'left side'],
  center_right: ['right side of the board', 'center right', 'right side'],
  bottom: ['bottom side', 'bottom'],
  bottom_left: ['bottom left of the board', 'bottom left', 'lower left corner', 'bottom left corner'],
  bottom_right: ['bottom right of the board', 'bottom right', 'lower right corner', 'bottom right corner'],
};
const DIRECTION_WORDS: Record<'up' | 'down' | 'left' | 'right', string[]> = {
  up: ['up', 'upwards'], down: ['down', 'downwards'], left: ['to the left', 'left'], right: ['to the right', 'right'],
};
const SLIGHTLY = ['slightly', 'a bit', 'a little', 'a little bit', 'somewhat'];
export const BLOCK_RELATIVE_PHRASES: Record<DirectionName, string[]> = {
  up: ['above the', 'to the top side of the', 'to the top of the'],
  down: ['below the', 'to the bottom side of the', 'to the bottom of the'],
  left: ['just left of the', 'to the left of the', 'left of the', 'to the left side of the'],
  right: ['just right of the', 'to the right of the', 'right of the', 'to the right side of the'],
  up_left: ['to the top left side of the', 'to the top left of the', 'diagonally up and to the left of the'],
  up_right: ['to the top right side of the', 'to the top right of the', 'diagonally up and to the right of the'],
  down_left: ['to the bottom left side of the', 'to the bottom left of the', 'diagonally down and to the left of the'],
  down_right: ['to the bottom right side of the', 'to the bottom right of the', 'diagonally down and to the right of the'],
};
export const SEPARATE_TEMPLATES = ['pull the %s apart from the %s', 'move the %s away from the %s', 'separate the %s from the %s'];
/** What separate_blocks.py calls four or more blocks (and, half the time, three). */
export const GROUP_SYNONYMS = ['group', 'clump', 'group of blocks'];

/** Names allowed for a block on this board (synonyms.py get_block_synonyms). */
export function blockSynonyms(block: BlockSpec, onBoard: BlockSpec[]): string[] {
  const names = [`${block.color} ${block.shape}`];
  if (onBoard.filter((b) => b.color === block.color).length === 1) names.push(`${block.color} block`);
  if (onBoard.filter((b) => b.shape === block.shape).length === 1) names.push(block.shape);
  return names;
}

function directionText(d: DirectionName, rng: Rng): string {
  const parts = d.split('_') as ('up' | 'down' | 'left' | 'right')[];
  if (parts.length === 1) return rng.choice(DIRECTION_WORDS[parts[0]]);
  const [a, b] = parts.map((p) => rng.choice(DIRECTION_WORDS[p]));
  return rng.choice([`${a} and ${b}`, `${a} and then ${b}`, `diagonally ${a} and ${b}`, `${a} and ${b} diagonally`]);
}

/** A templated instruction for a task; `canonical` picks the first synonym of everything (for labels of plans). */
export function instructionFor(task: Task, s: WorldState, rng: Rng, canonical = false): string {
  const pick = <T>(xs: readonly T[]) => (canonical ? xs[0] : rng.choice(xs));
  const specs = s.blocks as BlockSpec[];
  const name = (n: string) => pick(blockSynonyms(findBlock(s, n), specs));
  switch (task.family) {
    case 'block2block':
      return `${pick(PUSH_VERBS)} ${name(task.block)} ${pick(PREPOSITIONS)} ${name(task.target)}`;
    case 'block2absolutelocation':
      return `${pick(PUSH_VERBS)} ${name(task.block)} to the ${pick(LOCATION_SYNONYMS[task.location])}`;
    case 'block2relativelocation': {
      const verb = pick(['move the', 'push the', 'slide the']);
      const dir = canonical ? task.direction.split('_').map((p) => DIRECTION_WORDS[p as 'up'][0]).join(' and ') : directionText(task.direction, rng);
      if (task.magnitude === 'far') return `${verb} ${name(task.block)} ${dir}`;
      // create_slightly_instruction: "slightly" alone leads the sentence; every synonym may sit before or after the direction.
      const place = canonical ? 0 : rng.int(3);
      if (place === 0) return `slightly ${verb} ${name(task.block)} ${dir}`;
      const sl = pick(SLIGHTLY);
      if (place === 1) return `${verb} ${name(task.block)} ${sl} ${dir}`;
      return `${verb} ${name(task.block)} ${dir} ${sl}`;
    }
    case 'block2blockrelativelocation':
      return `${pick(PUSH_VERBS)} ${name(task.block)} ${pick(BLOCK_RELATIVE_PHRASES[task.direction])} ${name(task.target)}`;
    case 'separate': {
      // separate_blocks.py: "A", "A and B", "A, B, and C" or a group word, ≥ 4 blocks a group word.
      const avoid = task.avoid.map(name);
      const listed = avoid.length === 1 ? avoid[0] : avoid.length === 2 ? `${avoid[0]} and ${avoid[1]}` : `${avoid[0]}, ${avoid[1]}, and ${avoid[2]}`;
      const group = avoid.length <= 2 ? listed : avoid.length === 3 ? (canonical || rng.random() < 0.5 ? listed : pick(GROUP_SYNONYMS)) : pick(GROUP_SYNONYMS);
      return pick(SEPARATE_TEMPLATES).replace('%s', name(task.block)).replace('%s', group);
    }
    case 'point2block':
      return `${pick(POINT_PREPOSITIONS)} ${name(task.block)}`;
  }
}
