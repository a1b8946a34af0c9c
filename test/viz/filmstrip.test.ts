import { strict as assert } from 'node:assert';
import { PNG } from 'pngjs';
import { encodeJpeg } from '../../src/data/image';
import { blockSet } from '../../src/sim/constants';
import { render } from '../../src/sim/render';
import { resetWorld } from '../../src/sim/world';
import { Rng } from '../../src/util/rng';
import { closedLoopFilmStrip } from '../../src/viz/filmstrip';
import { renderVegaLite } from '../../src/viz/render';

describe('viz/filmstrip: a closed-loop rollout with the planner\'s sub-tasks as captions', () => {
  const frame = (seed: number) => encodeJpeg({ height: 32, width: 32, data: render(resetWorld(blockSet(4), new Rng(seed)), { height: 32, width: 32, camera: 'topdown' }) });

  it('renders one image per frame with wrapped captions, to a non-blank PNG of the expected width', async () => {
    const frames = [1, 2, 3].map((s, i) => ({ imageJpeg: frame(s), caption: `${i + 1}. push the red moon to the bottom left corner of the board ✓` }));
    const spec = closedLoopFilmStrip(frames, { title: 'test', frameSize: 80 });
    const { svg, png } = await renderVegaLite(spec, 1);
    assert.equal(svg.match(/<image/g)?.length, 3);
    assert.ok(svg.includes('push the red moon'), 'caption text in the SVG');
    const img = PNG.sync.read(Buffer.from(png));
    assert.ok(img.width >= 3 * 80 + 2 * 8, `width ${img.width}`);
    // The board's dark background fills most of each frame: many dark pixels, not a blank white image.
    let dark = 0;
    for (let i = 0; i < img.data.length; i += 4) if (img.data[i] < 80 && img.data[i + 1] < 80 && img.data[i + 2] < 80) dark++;
    assert.ok(dark > 3 * 60 * 60, `${dark} dark pixels`);
    // A long caption is cut to the line budget with an ellipsis.
    const long = closedLoopFilmStrip([{ imageJpeg: frame(1), caption: 'word '.repeat(60) }], { captionLines: 2 }) as { data: { values: { caption: string[] }[] } };
    assert.equal(long.data.values[0].caption.length, 2);
    assert.ok(long.data.values[0].caption[1].endsWith('…'));
  });

  it('rejects an empty strip and frames that are not JPEG', () => {
    assert.throws(() => closedLoopFilmStrip([]), /no frames/);
    assert.throws(() => closedLoopFilmStrip([{ imageJpeg: new Uint8Array([137, 80, 78, 71]), caption: '' }]), /frame 0 is not a JPEG/);
  });
});
