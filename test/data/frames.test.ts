import { strict as assert } from 'node:assert';
import { centreCrop, frameViewFor, modelView, REFERENCE_INPUT } from '../../src/data/frames';
import { encodeJpeg, type RgbImage } from '../../src/data/image';
import { ImageCache } from '../../src/data/samples';

/** A frame whose pixel (y, x) holds (y mod 256, x mod 256, x div 256). */
function coordinates(h: number, w: number): RgbImage {
  const data = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([y % 256, x % 256, Math.floor(x / 256)], (y * w + x) * 3);
  return { height: h, width: w, data };
}

/** A 360×640 frame: green inside the reference's crop window (rows 9…350, columns 16…623), red outside it. */
function framed(): RgbImage {
  const img = { height: 360, width: 640, data: new Uint8Array(360 * 640 * 3) };
  for (let y = 0; y < 360; y++) {
    for (let x = 0; x < 640; x++) img.data.set(y >= 9 && y < 351 && x >= 16 && x < 624 ? [0, 200, 0] : [200, 0, 0], (y * 640 + x) * 3);
  }
  return img;
}

describe('data/frames: 360×640 camera frames → the models\' input (the reference crop and resize)', () => {
  it('the centre crop of factor 0.95 keeps rows 9…350 and columns 16…623 of a 360×640 frame, as crop_test_image', () => {
    const c = centreCrop(coordinates(360, 640), 0.95);
    assert.deepEqual([c.height, c.width], [342, 608]);
    const at = (y: number, x: number) => Array.from(c.data.subarray((y * c.width + x) * 3, (y * c.width + x) * 3 + 3));
    assert.deepEqual(at(0, 0), [9, 16, 0]);
    assert.deepEqual(at(341, 607), [350 % 256, 623 % 256, 2]);
    // 180×320 (the live simulator's frames): rows 4…174, columns 8…311.
    const s = centreCrop(coordinates(180, 320), 0.95);
    assert.deepEqual([s.height, s.width, s.data[0], s.data[1]], [171, 304, 4, 8]);
    assert.throws(() => centreCrop(coordinates(4, 4), 0), /factor must be in \(0, 1\]/);
  });

  it('16:9 frames take the reference view, others a plain resize', () => {
    assert.equal(frameViewFor([360, 640]), 'reference');
    assert.equal(frameViewFor([180, 320]), 'reference');
    assert.equal(frameViewFor([64, 64]), 'resize');
    assert.equal(frameViewFor(null), 'resize');
    assert.deepEqual(REFERENCE_INPUT, { height: 180, width: 320 });
  });

  it('the model view of a 360×640 frame holds only what lies inside the crop; a plain resize would keep the border', () => {
    const img = framed();
    const ref = modelView(img, 32);
    assert.deepEqual([ref.height, ref.width], [32, 32]);
    for (let i = 0; i < ref.data.length; i += 3) assert.deepEqual([ref.data[i], ref.data[i + 1]], [0, 200], `pixel ${i / 3}`);
    const plain = modelView(img, 32, 'resize');
    assert.ok(plain.data[0] > 50, 'the plain resize keeps red at the corner');
    // Through JPEG and the sample cache, as training reads it (JPEG blurs the edge by a few levels only).
    const cached = new ImageCache(32).get(encodeJpeg(img, 95));
    let maxRed = 0;
    for (let i = 0; i < cached.data.length; i += 3) maxRed = Math.max(maxRed, cached.data[i]);
    assert.ok(maxRed < 40, `red ${maxRed} left after the crop`);
  });
});
