/**
 * Renders the board to RGB uint8 images, by casting each pixel (2×2 supersampled for anti-aliasing) onto the table
 * plane and colouring what it hits: the effector disc, a block's outline polygon in its colour, the dark-grey board
 * (0.457 × 0.610 m at (0.35, 0), as workspace_real.urdf), or the floor around it.
 * - 'perspective' approximates the reference camera (constants.py: at (0.75, 0, 0.5) beyond the far edge, looking back
 *   toward the robot, vertical field of view 38.6°, fx = 0.803·width); image rows run along x, columns along y.
 * - 'topdown' maps the board rectangle onto the image (top = small x, left = −y).
 */
import { COLOR_RGB, EFFECTOR_RADIUS, shapePolygon } from './constants';
import type { WorldState } from './world';

export type CameraName = 'perspective' | 'topdown';
export const CAMERAS: CameraName[] = ['perspective', 'topdown'];

export interface RenderOptions {
  height: number;
  width: number;
  camera: CameraName;
  /** Supersampling factor per axis (2 → 4 samples per pixel). */
  supersample?: number;
}

const BOARD = { x0: 0.35 - 0.2286, x1: 0.35 + 0.2286, y0: -0.3048, y1: 0.3048 };
const BOARD_RGB: [number, number, number] = [51, 51, 51];
const FLOOR_RGB: [number, number, number] = [150, 140, 128];
const EFFECTOR_RGB: [number, number, number] = [220, 220, 225];
const EFFECTOR_RIM: [number, number, number] = [90, 90, 100];

interface Camera {
  /** Pixel (u, v) in [0,W)×[0,H) → table point (x, y), or null if the ray misses the plane. */
  toTable(u: number, v: number): [number, number] | null;
}

interface PinholeFrame {
  C: number[];
  fwd: number[];
  right: number[];
  up: number[];
  fx: number;
  fy: number;
}

function perspectiveCamera(H: number, W: number): Camera & { frame: PinholeFrame } {
  const C = [0.75, 0, 0.5];
  const look = [0.3, 0, 0];
  const f = [look[0] - C[0], look[1] - C[1], look[2] - C[2]];
  const fn = Math.hypot(f[0], f[1], f[2]);
  const fwd = f.map((v) => v / fn);
  const right = [0, 1, 0]; // looking toward −x: +y is to the right of the image
  const up = [right[1] * fwd[2] - right[2] * fwd[1], right[2] * fwd[0] - right[0] * fwd[2], right[0] * fwd[1] - right[1] * fwd[0]];
  const sgn = up[2] < 0 ? -1 : 1;
  const upv = up.map((v) => v * sgn);
  // Intrinsics of the 180×320 reference image, scaled to the requested size.
  const fx = 0.803 * W;
  const fy = 0.803 * W * (H / W) * (320 / 180);
  const cx = W / 2;
  const cy = H / 2;
  return {
    frame: { C, fwd, right, up: upv, fx, fy },
    toTable(u, v) {
      const xc = (u - cx) / fx;
      const yc = -(v - cy) / fy;
      const d = [fwd[0] + xc * right[0] + yc * upv[0], fwd[1] + xc * right[1] + yc * upv[1], fwd[2] + xc * right[2] + yc * upv[2]];
      if (d[2] >= -1e-6) return null;
      const t = -C[2] / d[2];
      return [C[0] + t * d[0], C[1] + t * d[1]];
    },
  };
}

function topdownCamera(H: number, W: number): Camera {
  return {
    toTable: (u, v) => [BOARD.x0 + (v / H) * (BOARD.x1 - BOARD.x0), BOARD.y0 + (u / W) * (BOARD.y1 - BOARD.y0)],
  };
}

/**
 * Where a table point (x, y) appears in an image from `camera`: (row, column) scaled to [−1, 1] over the frame, the
 * coordinates of the keypoint stems' cell grid (nn/keypoints.ts). Independent of the image size (both cameras scale
 * with it). Used to supervise a keypoint with the simulator's block and effector positions.
 */
export function imagePoint(camera: CameraName, p: [number, number]): [number, number] {
  if (camera === 'topdown') return [(2 * (p[0] - BOARD.x0)) / (BOARD.x1 - BOARD.x0) - 1, (2 * (p[1] - BOARD.y0)) / (BOARD.y1 - BOARD.y0) - 1];
  // Perspective: invert toTable's ray cast (a pinhole projection of the point on the plane z = 0).
  const H = 180, W = 320;
  const cam = perspectiveCamera(H, W);
  const { C, fwd, right, up, fx, fy } = cam.frame;
  const d = [p[0] - C[0], p[1] - C[1], -C[2]];
  const dot = (a: number[]) => a[0] * d[0] + a[1] * d[1] + a[2] * d[2];
  const z = dot(fwd);
  const u = W / 2 + (dot(right) / z) * fx;
  const v = H / 2 - (dot(up) / z) * fy;
  return [(2 * v) / H - 1, (2 * u) / W - 1];
}

interface DrawBlock {
  cx: number;
  cy: number;
  r2: number;
  poly: Float64Array; // world coordinates, x0 y0 x1 y1 …
  rgb: [number, number, number];
}

function insidePolygon(poly: Float64Array, x: number, y: number): boolean {
  let inside = false;
  const n = poly.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = poly[2 * i], yi = poly[2 * i + 1], xj = poly[2 * j], yj = poly[2 * j + 1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

const polygonCache = new Map<string, [number, number][]>();

export function render(s: WorldState, opts: RenderOptions): Uint8Array {
  const { height: H, width: W } = opts;
  if (!(Number.isInteger(H) && H > 0 && Number.isInteger(W) && W > 0)) {
    throw new Error(`render: image size must be positive integers, got ${H}×${W}`);
  }
  if (!CAMERAS.includes(opts.camera)) throw new Error(`render: unknown camera "${opts.camera}": accepted are ${CAMERAS.join(', ')}`);
  const cam = opts.camera === 'perspective' ? perspectiveCamera(H, W) : topdownCamera(H, W);
  const ss = opts.supersample ?? 2;
  const blocks: DrawBlock[] = s.blocks.map((b) => {
    let local = polygonCache.get(b.shape);
    if (!local) polygonCache.set(b.shape, (local = shapePolygon(b.shape)));
    const c = Math.cos(b.yaw);
    const sn = Math.sin(b.yaw);
    const poly = new Float64Array(local.length * 2);
    let r2 = 0;
    local.forEach(([px, py], i) => {
      poly[2 * i] = b.x + c * px - sn * py;
      poly[2 * i + 1] = b.y + sn * px + c * py;
      r2 = Math.max(r2, px * px + py * py);
    });
    return { cx: b.x, cy: b.y, r2, poly, rgb: COLOR_RGB[b.color] };
  });
  const [ex, ey] = s.effector;
  const er2 = EFFECTOR_RADIUS * EFFECTOR_RADIUS;
  const rim2 = (EFFECTOR_RADIUS * 0.75) ** 2;
  const out = new Uint8Array(H * W * 3);
  const inv = 1 / (ss * ss);
  for (let v = 0; v < H; v++) {
    for (let u = 0; u < W; u++) {
      let r = 0, g = 0, bl = 0;
      for (let sv = 0; sv < ss; sv++) {
        for (let su = 0; su < ss; su++) {
          const p = cam.toTable(u + (su + 0.5) / ss, v + (sv + 0.5) / ss);
          let rgb: [number, number, number] = FLOOR_RGB;
          if (p) {
            const [x, y] = p;
            const de = (x - ex) ** 2 + (y - ey) ** 2;
            if (de < er2) rgb = de < rim2 ? EFFECTOR_RGB : EFFECTOR_RIM;
            else {
              let hit: DrawBlock | null = null;
              for (const b of blocks) {
                if ((x - b.cx) ** 2 + (y - b.cy) ** 2 <= b.r2 && insidePolygon(b.poly, x, y)) {
                  hit = b;
                  break;
                }
              }
              if (hit) rgb = hit.rgb;
              else if (x >= BOARD.x0 && x <= BOARD.x1 && y >= BOARD.y0 && y <= BOARD.y1) rgb = BOARD_RGB;
            }
          }
          r += rgb[0];
          g += rgb[1];
          bl += rgb[2];
        }
      }
      const o = (v * W + u) * 3;
      out[o] = Math.round(r * inv);
      out[o + 1] = Math.round(g * inv);
      out[o + 2] = Math.round(bl * inv);
    }
  }
  return out;
}
