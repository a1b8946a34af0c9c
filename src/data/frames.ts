/**
 * From a stored camera frame to the models' square input.
 *
 * Frames of the reference camera's 16:9 shape — the real datasets' 360×640 and the live simulator's 180×320 — take
 * the reference pipeline's evaluation view (google-research/language-table `eval/wrappers.py`, `crop_test_image` +
 * `resize_images`): the centre crop that is the mean of training's random crops (`random_crop_factor = 0.95` in
 * `train/configs/*.py`; offsets ⌊(H − 0.95·H)/2⌋ and ⌊(W − 0.95·W)/2⌋, size ⌊0.95·H⌋ × ⌊0.95·W⌋, i.e. rows 9…350 and
 * columns 16…623 of a 360×640 frame), then the resize to the reference models' 180×320 input. Our models take a
 * square S×S image, so that 180×320 view is then resized to S×S without a second crop (a square crop would cut off
 * the board's left and right thirds, where blocks stand). The reference resizes bilinearly (`tf.image.resize`); here
 * shrinking averages areas (resizeRgb), which differs from bilinear by sub-pixel smoothing only and does not alias.
 *
 * Other frames (the simulator's top-down squares) are resized straight to S×S, as they always were. The view is
 * chosen per frame from its own shape, so one run can mix dataset frames and closed-loop renders of another size.
 */
import { decodeJpeg, resizeRgb, type RgbImage } from './image';

/** `random_crop_factor` of the reference training configs; evaluation takes the centred crop of that size. */
export const REFERENCE_CROP_FACTOR = 0.95;
/** The reference models' input (data_target_height × data_target_width). */
export const REFERENCE_INPUT = { height: 180, width: 320 } as const;

/** 'reference': crop 0.95 + 180×320 + S×S; 'resize': straight to S×S. */
export type FrameView = 'reference' | 'resize';

/** The view for frames of a stored shape: the reference view for the reference camera's 16:9, else a plain resize. */
export function frameViewFor(shape: readonly [number, number] | null | undefined): FrameView {
  return shape && shape[0] * 16 === shape[1] * 9 ? 'reference' : 'resize';
}

/** crop_test_image: the centred crop of `factor` of each side (offsets floored, sizes truncated as tf.cast to int). */
export function centreCrop(img: RgbImage, factor: number): RgbImage {
  if (!(factor > 0 && factor <= 1)) throw new Error(`centreCrop: factor must be in (0, 1], got ${factor}`);
  const h = Math.trunc(img.height * factor);
  const w = Math.trunc(img.width * factor);
  const y0 = Math.floor((img.height - img.height * factor) / 2);
  const x0 = Math.floor((img.width - img.width * factor) / 2);
  if (h === img.height && w === img.width) return img;
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + w) * 3), y * w * 3);
  return { height: h, width: w, data: out };
}

/** A decoded frame as the models see it (size × size); the view follows the frame's own shape unless given. */
export function modelView(img: RgbImage, size: number, view: FrameView = frameViewFor([img.height, img.width])): RgbImage {
  if (view === 'resize') return resizeRgb(img, size, size);
  const ref = resizeRgb(centreCrop(img, REFERENCE_CROP_FACTOR), REFERENCE_INPUT.height, REFERENCE_INPUT.width);
  return resizeRgb(ref, size, size);
}

/** JPEG bytes → the models' view. */
export function decodeModelView(jpeg: Uint8Array, size: number, view?: FrameView): RgbImage {
  return modelView(decodeJpeg(jpeg), size, view);
}
