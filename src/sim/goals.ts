/**
 * Long-horizon goals from the reference's long-horizon prompt list (rewards/play.py; languagetable.md §4), each
 * decomposed into low-level sub-tasks that name one block and one target, with a templated instruction per sub-task,
 * and each with its own success test on the final board.
 *
 * Decomposition: every goal is a set of destination slots (points on the board). At the start of an episode each
 * block is assigned a slot (greedy nearest pairs); the sub-tasks then move the blocks one at a time, the block nearest
 * its slot first. A sub-task's label is what a person would say for that move: "push the red moon to the bottom
 * left corner" for region goals, "put the green star to the right of the red moon" (relative to the block placed just
 * before) for lines and shapes, "push the blue moon next to the blue cube" for grouping by colour.
 */
import { LOCATIONS, type BlockSpec, type DirectionName, type LocationName } from './constants';
import type { Task } from './tasks';
import { findBlock, type WorldState } from './world';

export interface PlannedSubTask {
  task: Task;
  /** The block's destination (the oracle pushes it here; a sub-task ends within `SLOT_TOLERANCE`). */
  point: [number, number];
}

export interface GoalDefinition {
  name: string;
  instruction: string;
  /** Whether the goal makes sense for these blocks (grouping by colour needs repeated colours). */
  applicable(blocks: BlockSpec[]): boolean;
  /** Slots for n blocks. */
  slots(n: number): [number, number][];
  kind: 'region' | 'chain' | 'pairs';
  /** For 'region' goals: the named location used in labels and the success radius around it. */
  location?: LocationName;
  radius?: number;
}

/** A sub-task ends when its block is this close to its slot (or after the step cap). */
export const SLOT_TOLERANCE = 0.025;
/** Chain and pair goals succeed when every block is within this distance of its slot. */
export const CHAIN_SUCCESS = 0.05;

const grid = (cx: number, cy: number, dx: number, dy: number) => (n: number) => {
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  return Array.from({ length: n }, (_, i) => {
    const r = Math.floor(i / cols);
    const c = i % cols;
    return [cx + (r - (rows - 1) / 2) * dx, cy + (c - (cols - 1) / 2) * dy] as [number, number];
  });
};
const line = (x0: number, y0: number, x1: number, y1: number) => (n: number) =>
  Array.from({ length: n }, (_, i) => {
    const t = n === 1 ? 0.5 : i / (n - 1);
    return [x0 + (x1 - x0) * t, y0 + (y1 - y0) * t] as [number, number];
  });

export const GOALS: GoalDefinition[] = [
  { name: 'corner_bottom_left', instruction: 'put all the blocks in the bottom left corner', kind: 'region', location: 'bottom_left', radius: 0.115, applicable: () => true, slots: grid(0.525, -0.255, 0.055, 0.055) },
  { name: 'corner_top_right', instruction: 'put all the blocks in the top right corner', kind: 'region', location: 'top_right', radius: 0.115, applicable: () => true, slots: grid(0.18, 0.26, 0.055, 0.055) },
  { name: 'center', instruction: 'put all the blocks in the center', kind: 'region', location: 'center', radius: 0.1, applicable: () => true, slots: grid(0.35, 0, 0.055, 0.055) },
  { name: 'left_side', instruction: 'move all the blocks to the left side', kind: 'region', location: 'center_left', radius: 0.115, applicable: () => true, slots: grid(0.35, -0.25, 0.055, 0.055) },
  { name: 'horizontal_line_bottom', instruction: 'put all the blocks in a horizontal line on the bottom of the board', kind: 'chain', applicable: () => true, slots: line(0.5, -0.18, 0.5, 0.18) },
  { name: 'vertical_line', instruction: 'put all the blocks in a vertical line', kind: 'chain', applicable: () => true, slots: line(0.2, 0, 0.5, 0) },
  { name: 'parallelogram', instruction: 'make a "parallelogram" shape out of all the blocks', kind: 'chain', applicable: (b) => b.length === 4, slots: () => [[0.3, -0.1], [0.3, 0.04], [0.42, -0.04], [0.42, 0.1]] },
  { name: 'four_corners', instruction: 'put blocks in all four corners', kind: 'chain', applicable: (b) => b.length === 4, slots: () => [[0.2, -0.25], [0.2, 0.25], [0.5, -0.25], [0.5, 0.25]] },
  { name: 'group_by_color', instruction: 'group the blocks by color', kind: 'pairs', applicable: (b) => new Set(b.map((x) => x.color)).size < b.length, slots: () => [] },
];

export function goalByName(name: string): GoalDefinition {
  const g = GOALS.find((x) => x.name === name);
  if (!g) throw new Error(`unknown goal "${name}": accepted are ${GOALS.map((x) => x.name).join(', ')}`);
  return g;
}

const dist = (a: [number, number], b: [number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** Greedy nearest-pair assignment of blocks to slots: deterministic given the board. */
export function assignSlots(s: WorldState, slots: [number, number][]): Map<string, [number, number]> {
  const pairs: { block: string; slot: number; d: number }[] = [];
  for (const b of s.blocks) slots.forEach((p, i) => pairs.push({ block: b.name, slot: i, d: dist([b.x, b.y], p) }));
  pairs.sort((a, b) => a.d - b.d || a.block.localeCompare(b.block) || a.slot - b.slot);
  const out = new Map<string, [number, number]>();
  const used = new Set<number>();
  for (const p of pairs) {
    if (out.has(p.block) || used.has(p.slot)) continue;
    out.set(p.block, slots[p.slot]);
    used.add(p.slot);
  }
  return out;
}

/** The name of the location nearest to a point (for labels of moves into a region). */
function nearestLocation(p: [number, number]): LocationName {
  let best: LocationName = 'center';
  let bd = Infinity;
  for (const [name, q] of Object.entries(LOCATIONS) as [LocationName, readonly [number, number]][]) {
    const d = dist(p, [q[0], q[1]]);
    if (d < bd) {
      bd = d;
      best = name;
    }
  }
  return best;
}

/** Direction (8-way) from a reference point to a point, in the board's words (up = −x, left = −y). */
function directionFrom(ref: [number, number], p: [number, number]): DirectionName {
  const dx = p[0] - ref[0];
  const dy = p[1] - ref[1];
  const ang = Math.atan2(dy, -dx); // 0 = up, +π/2 = right
  const sector = Math.round(ang / (Math.PI / 4));
  const names: Record<number, DirectionName> = { 0: 'up', 1: 'up_right', 2: 'right', 3: 'down_right', 4: 'down', [-4]: 'down', [-3]: 'down_left', [-2]: 'left', [-1]: 'up_left' };
  return names[sector];
}

/** A goal in progress on one board: fixed slot assignment, the order of moves, and labels. */
export class GoalPlan {
  readonly assignment: Map<string, [number, number]>;
  private placed: string[] = [];

  constructor(readonly goal: GoalDefinition, start: WorldState) {
    if (goal.kind === 'pairs') {
      this.assignment = new Map();
    } else {
      this.assignment = assignSlots(start, goal.slots(start.blocks.length));
    }
  }

  /** The next sub-task on this board, or null when every block is at its destination. */
  next(s: WorldState): PlannedSubTask | null {
    if (this.goal.kind === 'pairs') return this.nextPair(s);
    const pending = s.blocks
      .filter((b) => dist([b.x, b.y], this.assignment.get(b.name)!) > SLOT_TOLERANCE * 1.5 && !this.placed.includes(b.name))
      .sort((a, b) => dist([a.x, a.y], this.assignment.get(a.name)!) - dist([b.x, b.y], this.assignment.get(b.name)!) || a.name.localeCompare(b.name));
    if (pending.length === 0) return null;
    const b = pending[0];
    const point = this.assignment.get(b.name)!;
    let task: Task;
    if (this.goal.kind === 'region') {
      task = { family: 'block2absolutelocation', block: b.name, location: this.goal.location!, point };
    } else {
      const anchorName = this.placed[this.placed.length - 1];
      if (!anchorName) {
        task = { family: 'block2absolutelocation', block: b.name, location: nearestLocation(point), point };
      } else {
        const anchor = findBlock(s, anchorName);
        task = { family: 'block2blockrelativelocation', block: b.name, target: anchorName, direction: directionFrom(this.assignment.get(anchorName)!, point), targetStart: [anchor.x, anchor.y] };
      }
    }
    return { task, point };
  }

  private nextPair(s: WorldState): PlannedSubTask | null {
    const byColor = new Map<string, string[]>();
    for (const b of s.blocks) byColor.set(b.color, [...(byColor.get(b.color) ?? []), b.name]);
    for (const names of [...byColor.values()].sort((a, b) => a[0].localeCompare(b[0]))) {
      if (names.length < 2) continue;
      const [a, ...rest] = names;
      for (const other of rest) {
        const pa = findBlock(s, a);
        const po = findBlock(s, other);
        if (dist([pa.x, pa.y], [po.x, po.y]) > 0.06 && !this.placed.includes(other)) {
          return { task: { family: 'block2block', block: other, target: a }, point: [pa.x, pa.y] };
        }
      }
    }
    return null;
  }

  /** Records that a sub-task's block reached its destination (chains refer to the last placed block). */
  markPlaced(block: string): void {
    if (!this.placed.includes(block)) this.placed.push(block);
  }

  /** The goal's own success test. */
  isSuccess(s: WorldState): boolean {
    if (this.goal.kind === 'pairs') {
      const byColor = new Map<string, [number, number][]>();
      for (const b of s.blocks) byColor.set(b.color, [...(byColor.get(b.color) ?? []), [b.x, b.y]]);
      return [...byColor.values()].every((ps) => ps.every((p) => dist(p, ps[0]) < 0.08));
    }
    if (this.goal.kind === 'region') {
      const loc = LOCATIONS[this.goal.location!];
      return s.blocks.every((b) => dist([b.x, b.y], [loc[0], loc[1]]) < this.goal.radius!);
    }
    return s.blocks.every((b) => dist([b.x, b.y], this.assignment.get(b.name)!) < CHAIN_SUCCESS);
  }
}
