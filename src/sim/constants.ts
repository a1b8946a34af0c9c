/**
 * The LanguageTable board as a 2-D world (languagetable.md §2): metres, x ∈ [0.15, 0.6] grows away from the robot
 * and "top" is small x; y ∈ [−0.3048, 0.3048] and "left" is −y. Block colours, shapes and footprints of the
 * simulator's sets are the reference's (blocks.py, the URDF/OBJ assets). The `real` set is the real robot's board
 * (red star, red circle, green star, green circle, blue cube, blue triangle, yellow heart, yellow hexagon: the blocks
 * the real data's instructions and the paper's Table 2 name), drawn in the same four colours at about the same
 * 4 cm size; the real blocks' exact sizes and hues were not found in any source, so those are approximations.
 */
export const X_MIN = 0.15;
export const X_MAX = 0.6;
export const Y_MIN = -0.3048;
export const Y_MAX = 0.3048;
export const CENTER_X = (X_MIN + X_MAX) / 2;
export const CENTER_Y = 0;
/** WORKSPACE_BOUNDS_BUFFER in constants.py: targets must lie this far inside the bounds. */
export const BOUNDS_BUFFER = 0.08;
export const EFFECTOR_RADIUS = 0.0127;
/** Reset region for the effector and the blocks (_reset_poses_randomly). */
export const RESET_X: [number, number] = [0.23, 0.52];
export const RESET_Y: [number, number] = [-0.2248, 0.2248];
export const BLOCK_DISTANCE_THRESHOLD = 0.0175;
export const ARM_DISTANCE_THRESHOLD = 0.06;
export const CONTROL_HZ = 10;
export const MAX_ACTION = 0.1;

export type Color = 'red' | 'blue' | 'green' | 'yellow';
export type Shape = 'moon' | 'cube' | 'star' | 'pentagon' | 'circle' | 'triangle' | 'heart' | 'hexagon';

/** RGBA colours of the URDFs, as 0–255 RGB. */
export const COLOR_RGB: Record<Color, [number, number, number]> = {
  red: [255, 102, 102],
  blue: [102, 102, 255],
  green: [102, 255, 102],
  yellow: [255, 255, 102],
};

/** Footprint bounding boxes (x extent, y extent) in metres from the OBJ vertices. */
export const SHAPE_SIZE: Record<Shape, [number, number]> = {
  cube: [0.0397, 0.0397],
  moon: [0.0525, 0.0257],
  star: [0.0444, 0.0408],
  pentagon: [0.0444, 0.0413],
  // The real board's other shapes (sizes not published: about the simulator's 4 cm).
  circle: [0.042, 0.042],
  triangle: [0.044 * (Math.sqrt(3) / 2), 0.044], // equilateral, 4.4 cm sides: height × side
  heart: [0.044, 0.044],
  hexagon: [0.044, 0.044 * (Math.sqrt(3) / 2)], // regular, 2.2 cm circumradius: corner to corner × flat to flat
};

export interface BlockSpec {
  name: string;
  color: Color;
  shape: Shape;
}

const spec = (name: string): BlockSpec => {
  const [color, shape] = name.split('_') as [Color, Shape];
  return { name, color, shape };
};

export const BLOCK_SETS: Record<'BLOCK_4' | 'BLOCK_8' | 'REAL', BlockSpec[]> = {
  BLOCK_4: ['red_moon', 'blue_cube', 'green_star', 'yellow_pentagon'].map(spec),
  BLOCK_8: ['red_moon', 'red_pentagon', 'blue_moon', 'blue_cube', 'green_cube', 'green_star', 'yellow_star', 'yellow_pentagon'].map(spec),
  REAL: ['red_star', 'red_circle', 'green_star', 'green_circle', 'blue_cube', 'blue_triangle', 'yellow_heart', 'yellow_hexagon'].map(spec),
};

export type BlockSetName = keyof typeof BLOCK_SETS;
/** How options name a block set: 4 (BLOCK_4), 8 (BLOCK_8) or 'real' (the real robot's board). */
export type BlockSetKey = 4 | 8 | 'real';
export const BLOCK_SET_KEYS: BlockSetKey[] = [4, 8, 'real'];

/** Reads a block-set option as given on a command line or in a config: "4", "8", "real" (or a BLOCK_SETS name). */
export function blockSetKey(v: string | number): BlockSetKey {
  const s = String(v).toLowerCase();
  if (s === '4' || s === 'block_4') return 4;
  if (s === '8' || s === 'block_8') return 8;
  if (s === 'real') return 'real';
  throw new Error(`unknown block set "${v}": accepted are 4, 8, real`);
}

export function blockSet(name: string | number): BlockSpec[] {
  const key = name === 4 || name === '4' ? 'BLOCK_4' : name === 8 || name === '8' ? 'BLOCK_8' : String(name).toLowerCase() === 'real' ? 'REAL' : name;
  const set = BLOCK_SETS[key as BlockSetName];
  if (!set) throw new Error(`unknown block set "${name}": accepted are 4, 8, real, BLOCK_4, BLOCK_8, REAL`);
  return set;
}

/** The set's name as written in descriptions (BLOCK_4, BLOCK_8, REAL). */
export const blockSetLabel = (key: BlockSetKey): string => (key === 'real' ? 'REAL' : `BLOCK_${key}`);

/** Collision radius of a block: the disc of equal area to its bounding box's inscribed ellipse, slightly padded. */
export function blockRadius(shape: Shape): number {
  const [a, b] = SHAPE_SIZE[shape];
  return 0.5 * Math.sqrt(a * b);
}

/**
 * Outline of a shape as a polygon in the block frame (metres), scaled to the reference footprint. The crescent and
 * star are drawn with enough vertices to read as such at 64×64; the circle as a 32-gon, the heart as the classic
 * parametric curve (two lobes and a point), the triangle and hexagon as regular polygons.
 */
export function shapePolygon(shape: Shape): [number, number][] {
  const [sx, sy] = SHAPE_SIZE[shape];
  const pts: [number, number][] = [];
  if (shape === 'circle') {
    for (let i = 0; i < 32; i++) pts.push([(sx / 2) * Math.cos((2 * Math.PI * i) / 32), (sy / 2) * Math.sin((2 * Math.PI * i) / 32)]);
    return pts;
  }
  if (shape === 'triangle') {
    // Circumradius R = side/√3, centred on the centroid; the apex points to −x.
    const R = sy / Math.sqrt(3);
    for (let i = 0; i < 3; i++) {
      const a = Math.PI + (2 * Math.PI * i) / 3;
      pts.push([R * Math.cos(a), R * Math.sin(a)]);
    }
    return pts;
  }
  if (shape === 'hexagon') {
    for (let i = 0; i < 6; i++) pts.push([(sx / 2) * Math.cos((Math.PI * i) / 3), (sx / 2) * Math.sin((Math.PI * i) / 3)]);
    return pts;
  }
  if (shape === 'heart') {
    // x(t) = 16 sin³t, y(t) = 13 cos t − 5 cos 2t − 2 cos 3t − cos 4t spans 32 × ~29 units; the lobes face −x.
    const n = 48;
    const raw: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      const t = (2 * Math.PI * i) / n;
      raw.push([13 * Math.cos(t) - 5 * Math.cos(2 * t) - 2 * Math.cos(3 * t) - Math.cos(4 * t), 16 * Math.sin(t) ** 3]);
    }
    const xs = raw.map((p) => p[0]);
    const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
    return raw.map(([u, v]) => [-((u - (lo + hi) / 2) / (hi - lo)) * sx, (v / 32) * sy]);
  }
  if (shape === 'cube') {
    return [[-sx / 2, -sy / 2], [sx / 2, -sy / 2], [sx / 2, sy / 2], [-sx / 2, sy / 2]];
  }
  if (shape === 'pentagon') {
    for (let i = 0; i < 5; i++) {
      const a = -Math.PI / 2 + (2 * Math.PI * i) / 5;
      pts.push([(sx / 2) * Math.cos(a), (sy / 2) * Math.sin(a)]);
    }
    return pts;
  }
  if (shape === 'star') {
    for (let i = 0; i < 10; i++) {
      const a = -Math.PI / 2 + (Math.PI * i) / 5;
      const r = i % 2 === 0 ? 1 : 0.45;
      pts.push([(sx / 2) * r * Math.cos(a), (sy / 2) * r * Math.sin(a)]);
    }
    return pts;
  }
  // moon: outer arc of a circle minus an offset inner circle, spanning x (long axis) and y.
  const n = 12;
  for (let i = 0; i <= n; i++) {
    const a = Math.PI * (i / n);
    pts.push([(sx / 2) * Math.cos(a), (-sy / 2) + sy * Math.sin(a)]);
  }
  for (let i = n; i >= 0; i--) {
    const a = Math.PI * (i / n);
    pts.push([(sx / 2) * 0.75 * Math.cos(a), (-sy / 2) + sy * 0.45 * Math.sin(a)]);
  }
  return pts;
}

/** Absolute locations (block2absolutelocation.py, shifted frame X ∈ [0.125, 0.575]). */
export const LOCATIONS = {
  top: [0.125, 0],
  top_left: [0.125, -0.3048],
  top_right: [0.125, 0.3048],
  center: [0.35, 0],
  center_left: [0.35, -0.3048],
  center_right: [0.35, 0.3048],
  bottom: [0.575, 0],
  bottom_left: [0.575, -0.3048],
  bottom_right: [0.575, 0.3048],
} as const satisfies Record<string, readonly [number, number]>;

export type LocationName = keyof typeof LOCATIONS;

/** Directions as (Δx, Δy): up = −x, left = −y (block2relativelocation.py). */
export const DIRECTIONS = {
  up: [-1, 0],
  down: [1, 0],
  left: [0, -1],
  right: [0, 1],
  up_left: [-Math.SQRT1_2, -Math.SQRT1_2],
  up_right: [-Math.SQRT1_2, Math.SQRT1_2],
  down_left: [Math.SQRT1_2, -Math.SQRT1_2],
  down_right: [Math.SQRT1_2, Math.SQRT1_2],
} as const satisfies Record<string, readonly [number, number]>;

export type DirectionName = keyof typeof DIRECTIONS;
