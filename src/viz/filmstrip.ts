/**
 * A closed-loop rollout as a film strip for a paper: one frame per planned sub-task (the board the planner saw), the
 * final board last, each captioned with the sub-task the planner wrote and whether it succeeded. A vega-lite spec
 * with image marks (JPEG data URLs) and wrapped text, so captions use the same fonts and sizes as the other figures
 * and render through the same SVG → PNG path.
 */
import type { Spec } from './specs';
import { fitTitle } from './specs';
import { FONT_SIZE, vlBase } from './theme';

export interface FilmFrame {
  /** JPEG bytes of the frame. */
  imageJpeg: Uint8Array;
  caption: string;
}

export function closedLoopFilmStrip(frames: FilmFrame[], opts: { title?: string; frameSize?: number; captionLines?: number } = {}): Spec {
  if (frames.length === 0) throw new Error('closedLoopFilmStrip: no frames');
  frames.forEach((f, i) => {
    if (!(f.imageJpeg.length > 2 && f.imageJpeg[0] === 0xff && f.imageJpeg[1] === 0xd8)) throw new Error(`closedLoopFilmStrip: frame ${i} is not a JPEG (no FF D8 start marker)`);
  });
  const size = opts.frameSize ?? 96;
  const gap = 8;
  const lines = opts.captionLines ?? 4;
  const lineHeight = FONT_SIZE.label + 3;
  const values = frames.map((f, i) => {
    const wrapped = fitTitle(f.caption, size + gap - 2, FONT_SIZE.label);
    const arr = Array.isArray(wrapped) ? wrapped : [wrapped];
    // Keep the strip's height fixed: long captions are cut with an ellipsis on their last line.
    const shown = arr.length > lines ? [...arr.slice(0, lines - 1), `${arr[lines - 1]}…`] : arr;
    return { i, x: i * (size + gap) + size / 2, url: `data:image/jpeg;base64,${Buffer.from(f.imageJpeg).toString('base64')}`, caption: shown };
  });
  const width = frames.length * (size + gap) - gap;
  const scale = { domain: [0, width], range: [0, width] };
  return {
    ...vlBase(),
    ...(opts.title ? { title: { text: opts.title, anchor: 'start' } } : {}),
    width,
    height: size + 4 + lines * lineHeight,
    data: { values },
    layer: [
      {
        mark: { type: 'image', width: size, height: size, aspect: true, baseline: 'top' },
        encoding: { x: { field: 'x', type: 'quantitative', axis: null, scale }, y: { value: 0 }, url: { field: 'url', type: 'nominal' } },
      },
      {
        mark: { type: 'text', baseline: 'top', align: 'center', lineHeight, fontSize: FONT_SIZE.label },
        encoding: { x: { field: 'x', type: 'quantitative', axis: null, scale }, y: { value: size + 4 }, text: { field: 'caption' } },
      },
    ],
    config: { ...(vlBase().config as object), view: { stroke: null } },
  };
}
