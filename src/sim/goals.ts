/**
 * Long-horizon goals from the reference's long-horizon prompt list (rewards/play.py; languagetable.md §4), each
 * decomposed into low-level sub-tasks that name one block and one target, with a templated instruction per sub-task,
 * and each with its own success test on the final board.
 *
 * Two properties make the labels learnable (issue 15):
 * 1. **The next sub-task is a function of the current board and the goal only.** Nothing hidden decides it (no slot
 *    assignment made at the episode's start, no memory of which block was placed before): a planner that sees the
 *    current image and the instruction has all it needs.
 *    - Region goals ("put all the blocks in the bottom left corner"): the next block is the one outside the region
 *      nearest to it; the label names the region's location.
 *    - Chain goals (lines and shapes): an ordered list of slots, the first named by a board location, every later
 *      one by a direction from an earlier slot (its anchor). Slot k is filled when some block passes slot k's own
 *      label test (relative to the block filling its anchor). The next sub-task is the first unfilled slot, for the
 *      unused block nearest to it: "push the red moon to the center", then "put the green star above the red moon".
 *    - Pairs (grouping by colour): the next block is the first of its colour not yet touching the colour's first block.
 * 2. **Every label is the sub-task's own success test.** Chain slots are spaced exactly by the block-relative offsets
 *    of tasks.ts (0.08 cardinal, 0.04·(1, 1) diagonal), so "above the red moon" means the slot; a first slot lies
 *    within its location's threshold. The goal succeeds when no sub-task is left (next() is null), so the goal's test
 *    and its sub-tasks' tests agree. The demonstration (episode.ts) ends a sub-task on its slot and keeps it only if
 *    its label's test passes.
 */
import { LOCATIONS, type BlockSpec, type DirectionName, type LocationName } from './constants';
import { blockRelativeOffset, isSuccess, type Task } from './tasks';
import { findBlock, type WorldState } from './world';

export interface PlannedSubTask {
  /** The task the label names (its success test is the label's: no demonstration point inside it). */
  task: Task;
  /** Where the demonstration pushes the block (a free slot of the region, the chain slot, the pair's first block). */
  point: [number, number];
}

/** A chain slot: the first names a board location (and lies within its threshold); later ones a direction from an anchor. */
export type ChainSlot = { location: LocationName; point: [number, number] } | { anchor: number; direction: DirectionName };

export interface GoalDefinition {
  name: string;
  instruction: string;
  /** Whether the goal makes sense for these blocks (grouping by colour needs repeated colours). */
  applicable(blocks: BlockSpec[]): boolean;
  kind: 'region' | 'chain' | 'pairs';
  /** Region goals: the named location used in labels, the success radius around it, and slots for n blocks inside it. */
  location?: LocationName;
  radius?: number;
  regionSlots?(n: number): [number, number][];
  /** Chain goals: slots for n blocks. */
  chain?(n: number): ChainSlot[];
}

/** A demonstration ends when its block is this close to its slot (or after the step cap). */
export const SLOT_TOLERANCE = 0.025;

const grid = (cx: number, cy: number, dx: number, dy: number) => (n: number) => {
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  return Array.from({ length: n }, (_, i) => {
    const r = Math.floor(i / cols);
    const c = i % cols;
    return [cx + (r - (rows - 1) / 2) * dx, cy + (c - (cols - 1) / 2) * dy] as [number, number];
  });
};

/** A line grown from a centre slot, alternately to either side (`a` then `b`), each slot relative to its neighbour. */
const lineFrom = (location: LocationName, point: [number, number], a: DirectionName, b: DirectionName) => (n: number): ChainSlot[] => {
  const slots: ChainSlot[] = [{ location, point }];
  let lastA = 0;
  let lastB = 0;
  for (let i = 1; i < n; i++) {
    if (i % 2 === 1) {
      slots.push({ anchor: lastA, direction: a });
      lastA = i;
    } else {
      slots.push({ anchor: lastB, direction: b });
      lastB = i;
    }
  }
  return slots;
};

/** Lines of 0.08-spaced slots fit the board for at most five blocks (eight would span 0.56 m of a 0.45 × 0.61 m board). */
const fitsLine = (b: BlockSpec[]) => b.length <= 5;

const corners = (): ChainSlot[] => [
  { location: 'top_left', point: [0.2, -0.25] },
  { location: 'top_right', point: [0.2, 0.25] },
  { location: 'bottom_left', point: [0.5, -0.25] },
  { location: 'bottom_right', point: [0.5, 0.25] },
];

export const GOALS: GoalDefinition[] = [
  { name: 'corner_bottom_left', instruction: 'put all the blocks in the bottom left corner', kind: 'region', location: 'bottom_left', radius: 0.115, applicable: () => true, regionSlots: grid(0.525, -0.255, 0.055, 0.055) },
  { name: 'corner_top_right', instruction: 'put all the blocks in the top right corner', kind: 'region', location: 'top_right', radius: 0.115, applicable: () => true, regionSlots: grid(0.18, 0.26, 0.055, 0.055) },
  { name: 'center', instruction: 'put all the blocks in the center', kind: 'region', location: 'center', radius: 0.1, applicable: () => true, regionSlots: grid(0.35, 0, 0.055, 0.055) },
  { name: 'left_side', instruction: 'move all the blocks to the left side', kind: 'region', location: 'center_left', radius: 0.115, applicable: () => true, regionSlots: grid(0.35, -0.25, 0.055, 0.055) },
  { name: 'horizontal_line_bottom', instruction: 'put all the blocks in a horizontal line on the bottom of the board', kind: 'chain', applicable: fitsLine, chain: lineFrom('bottom', [0.5, 0], 'right', 'left') },
  { name: 'vertical_line', instruction: 'put all the blocks in a vertical line', kind: 'chain', applicable: fitsLine, chain: lineFrom('center', [0.35, 0], 'up', 'down') },
  {
    // P0 → P1 right, P1 → P2 and P0 → P3 down-right: two sides of 0.08 along y, two of 0.057 diagonal.
    name: 'parallelogram', instruction: 'make a "parallelogram" shape out of all the blocks', kind: 'chain', applicable: (b) => b.length === 4,
    chain: () => [{ location: 'center', point: [0.33, -0.04] }, { anchor: 0, direction: 'right' }, { anchor: 1, direction: 'down_right' }, { anchor: 0, direction: 'down_right' }],
  },
  { name: 'four_corners', instruction: 'put blocks in all four corners', kind: 'chain', applicable: (b) => b.length === 4, chain: corners },
  { name: 'group_by_color', instruction: 'group the blocks by color', kind: 'pairs', applicable: (b) => new Set(b.map((x) => x.color)).size < b.length },
];

export function goalByName(name: string): GoalDefinition {
  const g = GOALS.find((x) => x.name === name);
  if (!g) throw new Error(`unknown goal "${name}": accepted are ${GOALS.map((x) => x.name).join(', ')}`);
  return g;
}

const dist = (a: [number, number], b: [number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1]);
const pos = (s: WorldState, name: string): [number, number] => {
  const b = findBlock(s, name);
  return [b.x, b.y];
};
/** Nearest block to a point among candidates (ties by name, so the choice is a function of the board). */
const nearest = (s: WorldState, names: string[], p: [number, number]) =>
  [...names].sort((a, b) => dist(pos(s, a), p) - dist(pos(s, b), p) || a.localeCompare(b))[0];

/** A chain's state on a board: which block fills each slot of the filled prefix, and the first unfilled slot. */
export interface ChainState {
  holders: string[];
  next: number;
}

/** A goal on a board. Stateless: every answer is a function of the board it is given. */
export class GoalPlan {
  constructor(readonly goal: GoalDefinition) {
    if (goal.kind === 'region' && !(goal.location && goal.radius && goal.regionSlots)) throw new Error(`goal ${goal.name}: a region goal needs location, radius and regionSlots`);
    if (goal.kind === 'chain' && !goal.chain) throw new Error(`goal ${goal.name}: a chain goal needs chain slots`);
  }

  /** The next sub-task on this board, or null when the goal is achieved. */
  next(s: WorldState): PlannedSubTask | null {
    if (this.goal.kind === 'region') return this.nextRegion(s);
    if (this.goal.kind === 'chain') return this.nextChain(s);
    return this.nextPair(s);
  }

  /** The goal's own success test: no sub-task left. */
  isSuccess(s: WorldState): boolean {
    return this.next(s) === null;
  }

  private regionTask(block: string): Task {
    return { family: 'block2absolutelocation', block, location: this.goal.location! };
  }

  private nextRegion(s: WorldState): PlannedSubTask | null {
    const loc: [number, number] = [...LOCATIONS[this.goal.location!]];
    const outside = s.blocks.map((b) => b.name).filter((n) => !isSuccess(this.regionTask(n), s));
    if (outside.length === 0) return null;
    const block = nearest(s, outside, loc);
    // Push it to the free slot (one no other block covers) nearest the location: the region fills from the inside
    // out, so a block stopped near its slot is well within the region's radius.
    const others = s.blocks.filter((b) => b.name !== block);
    const all = this.goal.regionSlots!(s.blocks.length);
    const free = all.filter((p) => others.every((b) => dist([b.x, b.y], p) > 0.035));
    const point = (free.length ? free : all).sort((a, b) => dist(a, loc) - dist(b, loc))[0];
    return { task: this.regionTask(block), point };
  }

  /** The task of chain slot k for `block`, given the holders of the filled prefix. */
  private slotTask(slot: ChainSlot, block: string, holders: string[], s: WorldState): Task {
    if ('location' in slot) return { family: 'block2absolutelocation', block, location: slot.location };
    const target = holders[slot.anchor];
    return { family: 'block2blockrelativelocation', block, target, direction: slot.direction, targetStart: pos(s, target) };
  }

  /** Where slot k is on this board: a fixed point, or its anchor's block plus the direction's offset. */
  private slotPoint(slot: ChainSlot, holders: string[], s: WorldState): [number, number] {
    if ('location' in slot) return slot.point;
    const a = pos(s, holders[slot.anchor]);
    const o = blockRelativeOffset(slot.direction);
    return [a[0] + o[0], a[1] + o[1]];
  }

  chainState(s: WorldState): ChainState {
    const slots = this.goal.chain!(s.blocks.length);
    const holders: string[] = [];
    for (let k = 0; k < slots.length; k++) {
      const free = s.blocks.map((b) => b.name).filter((n) => !holders.includes(n));
      const passing = free.filter((n) => isSuccess(this.slotTask(slots[k], n, holders, s), s));
      if (passing.length === 0) return { holders, next: k };
      holders.push(nearest(s, passing, this.slotPoint(slots[k], holders, s)));
    }
    return { holders, next: slots.length };
  }

  private nextChain(s: WorldState): PlannedSubTask | null {
    const slots = this.goal.chain!(s.blocks.length);
    const { holders, next } = this.chainState(s);
    if (next >= slots.length) return null;
    const point = this.slotPoint(slots[next], holders, s);
    const block = nearest(s, s.blocks.map((b) => b.name).filter((n) => !holders.includes(n)), point);
    return { task: this.slotTask(slots[next], block, holders, s), point };
  }

  private nextPair(s: WorldState): PlannedSubTask | null {
    const byColor = new Map<string, string[]>();
    for (const b of [...s.blocks].sort((a, b) => a.name.localeCompare(b.name))) byColor.set(b.color, [...(byColor.get(b.color) ?? []), b.name]);
    for (const color of [...byColor.keys()].sort()) {
      const [first, ...rest] = byColor.get(color)!;
      for (const other of rest) {
        const task: Task = { family: 'block2block', block: other, target: first };
        if (!isSuccess(task, s)) return { task, point: pos(s, first) };
      }
    }
    return null;
  }
}
