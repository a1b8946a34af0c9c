/**
 * Board state and quasi-static pushing physics.
 *
 * Model (plausible and stable rather than exact): the effector is a disc of radius 1.27 cm that moves toward its
 * commanded target at up to 0.5 m/s (the xArm tracking the setpoint), in 10 sub-steps per 0.1 s control step. Blocks
 * are discs of their footprint's size for contact (their drawn outline is the real shape). Pushing is quasi-static:
 * a block touched by the effector is displaced just enough to remove the overlap (no momentum: when the effector
 * stops, every block stops — friction dominates at these speeds, as on the real table); blocks push blocks the same
 * way, resolved by a few relaxation passes per sub-step. An off-centre push also turns the block: the yaw changes in
 * proportion to the lateral offset of the contact (a torque about the block's centre). The effector target is
 * clipped to the workspace; blocks are kept on the board by the same bounds plus a small margin.
 */
import {
  ARM_DISTANCE_THRESHOLD, BLOCK_DISTANCE_THRESHOLD, EFFECTOR_RADIUS, MAX_ACTION, RESET_X, RESET_Y, X_MAX, X_MIN, Y_MAX, Y_MIN,
  blockRadius, type BlockSpec,
} from './constants';
import { Rng } from '../util/rng';

export interface Block extends BlockSpec {
  x: number;
  y: number;
  yaw: number;
  radius: number;
}

export interface WorldState {
  blocks: Block[];
  effector: [number, number];
  target: [number, number];
}

const SUBSTEPS = 10;
const EFFECTOR_SPEED = 0.5; // m/s
const RELAX_PASSES = 4;
const TURN_GAIN = 6; // rad per metre of pushed distance per metre of offset / radius
const BOARD_MARGIN = 0.03; // blocks may sit slightly beyond the effector bounds, never off the table

export const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export function cloneState(s: WorldState): WorldState {
  return { blocks: s.blocks.map((b) => ({ ...b })), effector: [...s.effector], target: [...s.target] };
}

/** Puts a board back to a saved state in place (callers hold references to `s`). */
export function restoreState(s: WorldState, saved: WorldState): void {
  const c = cloneState(saved);
  s.blocks = c.blocks;
  s.effector = c.effector;
  s.target = c.target;
}

/** Random reset with the reference placement rules; throws if the blocks cannot be placed. */
export function resetWorld(specs: BlockSpec[], rng: Rng): WorldState {
  for (let attempt = 0; attempt < 100; attempt++) {
    const effector: [number, number] = [rng.uniform(...RESET_X), rng.uniform(...RESET_Y)];
    const blocks: Block[] = [];
    let ok = true;
    for (const spec of specs) {
      let placed = false;
      for (let tries = 0; tries < 50 && !placed; tries++) {
        const x = rng.uniform(...RESET_X);
        const y = rng.uniform(...RESET_Y);
        const r = blockRadius(spec.shape);
        // The reference's 1.75 cm centre separation lets footprints overlap; we also forbid contact so the first
        // step does not start with a pushed-apart board.
        const free = blocks.every((b) => Math.hypot(b.x - x, b.y - y) > Math.max(BLOCK_DISTANCE_THRESHOLD, b.radius + r + 0.01)) &&
          Math.hypot(effector[0] - x, effector[1] - y) > Math.max(ARM_DISTANCE_THRESHOLD, r + EFFECTOR_RADIUS + 0.01);
        if (free) {
          blocks.push({ ...spec, x, y, yaw: rng.uniform(0, 2 * Math.PI), radius: r });
          placed = true;
        }
      }
      if (!placed) {
        ok = false;
        break;
      }
    }
    if (ok) return { blocks, effector, target: [...effector] };
  }
  throw new Error(`resetWorld: could not place ${specs.length} blocks without contact after 100 attempts`);
}

/** Pushes block b out of a disc (cx, cy, cr); returns the displacement applied. */
function separate(b: Block, cx: number, cy: number, cr: number): number {
  const dx = b.x - cx;
  const dy = b.y - cy;
  const d = Math.hypot(dx, dy);
  const overlap = b.radius + cr - d;
  if (overlap <= 0) return 0;
  const ux = d > 1e-9 ? dx / d : 1;
  const uy = d > 1e-9 ? dy / d : 0;
  b.x += ux * overlap;
  b.y += uy * overlap;
  return overlap;
}

function keepOnBoard(b: Block) {
  b.x = clip(b.x, X_MIN - BOARD_MARGIN, X_MAX + BOARD_MARGIN);
  b.y = clip(b.y, Y_MIN - BOARD_MARGIN, Y_MAX + BOARD_MARGIN);
}

/** One 0.1 s control step: target += clip(action), effector tracks it, blocks are pushed. Mutates and returns s. */
export function stepWorld(s: WorldState, action: [number, number]): WorldState {
  const ax = clip(Number.isFinite(action[0]) ? action[0] : 0, -MAX_ACTION, MAX_ACTION);
  const ay = clip(Number.isFinite(action[1]) ? action[1] : 0, -MAX_ACTION, MAX_ACTION);
  s.target = [clip(s.target[0] + ax, X_MIN, X_MAX), clip(s.target[1] + ay, Y_MIN, Y_MAX)];
  const maxMove = EFFECTOR_SPEED / 10 / SUBSTEPS;
  for (let k = 0; k < SUBSTEPS; k++) {
    const dx = s.target[0] - s.effector[0];
    const dy = s.target[1] - s.effector[1];
    const d = Math.hypot(dx, dy);
    if (d < 1e-9) break;
    const m = Math.min(d, maxMove);
    const mx = (dx / d) * m;
    const my = (dy / d) * m;
    s.effector = [s.effector[0] + mx, s.effector[1] + my];
    for (const b of s.blocks) {
      const before = [b.x, b.y];
      const pushed = separate(b, s.effector[0], s.effector[1], EFFECTOR_RADIUS);
      if (pushed > 0) {
        // Lateral offset of the contact relative to the motion direction → yaw change (sign by side).
        const ox = s.effector[0] - before[0];
        const oy = s.effector[1] - before[1];
        const cross = (mx * oy - my * ox) / (m + 1e-12);
        b.yaw += (TURN_GAIN * pushed * cross) / b.radius;
      }
    }
    for (let pass = 0; pass < RELAX_PASSES; pass++) {
      let moved = false;
      for (let i = 0; i < s.blocks.length; i++) {
        for (let j = i + 1; j < s.blocks.length; j++) {
          const a = s.blocks[i];
          const b = s.blocks[j];
          const dx2 = b.x - a.x;
          const dy2 = b.y - a.y;
          const dd = Math.hypot(dx2, dy2);
          const overlap = a.radius + b.radius - dd;
          if (overlap > 0) {
            const ux = dd > 1e-9 ? dx2 / dd : 1;
            const uy = dd > 1e-9 ? dy2 / dd : 0;
            a.x -= (ux * overlap) / 2;
            a.y -= (uy * overlap) / 2;
            b.x += (ux * overlap) / 2;
            b.y += (uy * overlap) / 2;
            moved = true;
          }
        }
      }
      for (const b of s.blocks) {
        keepOnBoard(b);
        // The effector wins against blocks (it is position-controlled): re-separate from it.
        separate(b, s.effector[0], s.effector[1], EFFECTOR_RADIUS);
      }
      if (!moved) break;
    }
  }
  return s;
}

export function findBlock(s: WorldState, name: string): Block {
  const b = s.blocks.find((x) => x.name === name);
  if (!b) throw new Error(`no block "${name}" on the board (blocks: ${s.blocks.map((x) => x.name).join(', ')})`);
  return b;
}

/** Largest overlap between any two blocks or a block and the effector (0 when none). */
export function maxOverlap(s: WorldState): number {
  let worst = 0;
  for (let i = 0; i < s.blocks.length; i++) {
    const a = s.blocks[i];
    worst = Math.max(worst, a.radius + EFFECTOR_RADIUS - Math.hypot(a.x - s.effector[0], a.y - s.effector[1]));
    for (let j = i + 1; j < s.blocks.length; j++) {
      const b = s.blocks[j];
      worst = Math.max(worst, a.radius + b.radius - Math.hypot(a.x - b.x, a.y - b.y));
    }
  }
  return Math.max(0, worst);
}
