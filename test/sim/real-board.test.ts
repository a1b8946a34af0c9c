import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openBuilder, readEpisodes } from '../../src/data/builder';
import { blockSet, blockSetKey, COLOR_RGB, shapePolygon, SHAPE_SIZE, type Shape } from '../../src/sim/constants';
import { render } from '../../src/sim/render';
import { synthesize } from '../../src/sim/synth';
import { blockSynonyms, instructionFor, type Task } from '../../src/sim/tasks';
import { resetWorld, type WorldState } from '../../src/sim/world';
import { parseSubTask } from '../../src/text/subtask-parser';
import { Rng } from '../../src/util/rng';

const REAL = blockSet('real');

/** One block at the board centre, yaw 0, rendered top-down at ~1 mm per pixel: its pixel mask. */
function mask(shape: Shape): { m: Uint8Array; H: number; W: number } {
  const s: WorldState = { blocks: [{ name: `red_${shape}`, color: 'red', shape, x: 0.35, y: 0, yaw: 0, radius: 0.02 }], effector: [0.15, -0.3], target: [0.15, -0.3] };
  const H = 457, W = 610;
  const img = render(s, { height: H, width: W, camera: 'topdown', supersample: 1 });
  const m = new Uint8Array(H * W);
  for (let i = 0; i < H * W; i++) m[i] = +(img[3 * i] === COLOR_RGB.red[0] && img[3 * i + 1] === COLOR_RGB.red[1]);
  return { m, H, W };
}

function polygonArea(pts: [number, number][]): number {
  let a = 0;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) a += pts[j][0] * pts[i][1] - pts[i][0] * pts[j][1];
  return Math.abs(a) / 2;
}

describe('sim: the real board (red star, red circle, green star, green circle, blue cube, blue triangle, yellow heart, yellow hexagon)', () => {
  it('is a block set by name, with synonyms.py\'s naming rules', () => {
    assert.deepEqual(REAL.map((b) => b.name), ['red_star', 'red_circle', 'green_star', 'green_circle', 'blue_cube', 'blue_triangle', 'yellow_heart', 'yellow_hexagon']);
    assert.equal(blockSetKey('real'), 'real');
    assert.equal(blockSetKey('8'), 8);
    assert.throws(() => blockSetKey('6'), /unknown block set "6": accepted are 4, 8, real/);
    // Every colour twice: never "red block"; shapes that occur once may be named alone.
    const alone = REAL.filter((b) => blockSynonyms(b, REAL).length > 1).map((b) => blockSynonyms(b, REAL));
    assert.deepEqual(alone, [['blue cube', 'cube'], ['blue triangle', 'triangle'], ['yellow heart', 'heart'], ['yellow hexagon', 'hexagon']]);
  });

  it('draws each shape as its outline: the rendered area is the polygon\'s, and the shapes differ from each other', () => {
    const px = (0.457 / 457) * (0.6096 / 610);
    const masks = new Map<Shape, Uint8Array>();
    // Filled share of the bounding box: circle π/4, triangle 1/2, hexagon 3/4, cube 1, star and heart less.
    const fill: Partial<Record<Shape, [number, number]>> = { circle: [0.76, 0.8], triangle: [0.47, 0.53], hexagon: [0.72, 0.78], cube: [0.97, 1.0], star: [0.3, 0.5], heart: [0.55, 0.75] };
    for (const shape of ['star', 'circle', 'cube', 'triangle', 'heart', 'hexagon'] as Shape[]) {
      const { m } = mask(shape);
      const area = m.reduce((a, v) => a + v, 0) * px;
      const want = polygonArea(shapePolygon(shape));
      assert.ok(Math.abs(area - want) / want < 0.06, `${shape}: rendered ${area.toExponential(3)} m², polygon ${want.toExponential(3)} m²`);
      const pts = shapePolygon(shape);
      const [xs, ys] = [pts.map((p) => p[0]), pts.map((p) => p[1])];
      const box = (Math.max(...xs) - Math.min(...xs)) * (Math.max(...ys) - Math.min(...ys));
      const [lo, hi] = fill[shape]!;
      assert.ok(want / box >= lo && want / box <= hi, `${shape}: fills ${(want / box).toFixed(3)} of its box, expected [${lo}, ${hi}]`);
      assert.ok(Math.max(...xs) - Math.min(...xs) <= SHAPE_SIZE[shape][0] + 1e-9 && Math.max(...ys) - Math.min(...ys) <= SHAPE_SIZE[shape][1] + 1e-9, `${shape} fits its footprint`);
      masks.set(shape, m);
    }
    const shapes = [...masks.keys()];
    for (let i = 0; i < shapes.length; i++) {
      for (let j = i + 1; j < shapes.length; j++) {
        const a = masks.get(shapes[i])!, b = masks.get(shapes[j])!;
        let inter = 0, union = 0;
        for (let k = 0; k < a.length; k++) {
          inter += a[k] & b[k];
          union += a[k] | b[k];
        }
        assert.ok(inter / union < 0.9, `${shapes[i]} and ${shapes[j]} overlap with IoU ${(inter / union).toFixed(2)}`);
      }
    }
  });

  it('a real board at 360×640 from the reference camera shows all four colours', () => {
    const s = resetWorld(REAL, new Rng(4));
    const img = render(s, { height: 360, width: 640, camera: 'perspective' });
    for (const [color, rgb] of Object.entries(COLOR_RGB)) {
      let n = 0;
      for (let i = 0; i < img.length; i += 3) if (img[i] === rgb[0] && img[i + 1] === rgb[1] && img[i + 2] === rgb[2]) n++;
      assert.ok(n > 200, `${color}: ${n} pixels`);
    }
  });

  it('gpla synth --blocks real writes episodes whose instructions name real blocks the parser reads back', async function () {
    this.timeout(60000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gpla-real-synth-'));
    await synthesize({ out, episodes: 2, seed: 3, blocks: 'real', image: [24, 32], camera: 'topdown', episodesPerShard: 2, workers: 1, progress: 'silent' });
    const eps = await readEpisodes(await openBuilder(out));
    const names = new Set(REAL.map((b) => b.name));
    for (const ep of eps) {
      for (const s of ep.hierarchy!.subTasks) {
        const p = parseSubTask(s.instruction, REAL);
        assert.ok(p && names.has(p.block), s.instruction);
      }
    }
    assert.match(fs.readFileSync(path.join(out, 'gpla_hierarchy.json'), 'utf8'), /REAL/);
  });
});

describe('sim/tasks: templates follow the reference (rewards/*.py)', () => {
  const s = resetWorld(REAL, new Rng(1));
  const texts = (task: Task, n = 400) => {
    const rng = new Rng(2);
    return Array.from({ length: n }, () => instructionFor(task, s, rng));
  };

  it('a near relative move leads with "slightly" only; other synonyms sit before or after the direction', () => {
    const out = texts({ family: 'block2relativelocation', block: 'red_star', direction: 'up_left', magnitude: 'near', start: [0.4, 0] });
    for (const t of out) assert.doesNotMatch(t, /^(a bit|a little|somewhat)/, t);
    assert.ok(out.some((t) => t.startsWith('slightly ')));
    assert.ok(out.some((t) => / the red star (a bit|a little|a little bit|somewhat|slightly) /.test(t)));
    assert.ok(out.some((t) => / (a bit|a little|a little bit|somewhat|slightly)$/.test(t)));
  });

  it('separate names one block, "A and B", "A, B, and C" or a group, as separate_blocks.py', () => {
    const two = texts({ family: 'separate', block: 'red_star', avoid: ['blue_cube', 'green_circle'] }, 60);
    for (const t of two) assert.match(t, /(from|apart from|away from) the (blue cube|cube) and (green circle)$/, t);
    const three = texts({ family: 'separate', block: 'red_star', avoid: ['blue_cube', 'green_circle', 'yellow_heart'] }, 200);
    assert.ok(three.some((t) => /the (blue cube|cube), green circle, and (yellow heart|heart)$/.test(t)));
    assert.ok(three.some((t) => /the (group|clump|group of blocks)$/.test(t)));
    const four = texts({ family: 'separate', block: 'red_star', avoid: ['blue_cube', 'green_circle', 'yellow_heart', 'green_star'] }, 60);
    for (const t of four) assert.match(t, /the (group|clump|group of blocks)$/, t);
  });
});
