/** Small synthetic episodes for data tests (not a test file). */
import type { Episode } from '../../src/data/episode';
import { encodeJpeg } from '../../src/data/image';
import { Rng } from '../../src/util/rng';

export function fakeEpisode(id: string, T: number, seed: number, opts: { hierarchy?: boolean; size?: number; terminal?: boolean } = {}): Episode {
  const rng = new Rng(seed);
  const size = opts.size ?? 8;
  const jpeg = (t: number) => {
    const data = new Uint8Array(size * size * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + t * 31 + seed) % 256;
    return encodeJpeg({ height: size, width: size, data });
  };
  const half = Math.max(1, Math.floor(T / 2));
  const instr = (t: number) => (opts.hierarchy && t >= half ? 'move the blue cube to the top left corner' : 'push the red moon towards the green star');
  const steps = Array.from({ length: T }, (_, t) => ({
    rgbJpeg: jpeg(t),
    effectorTranslation: [Math.fround(0.3 + 0.01 * t), Math.fround(rng.uniform(-0.2, 0.2))] as [number, number],
    effectorTargetTranslation: [Math.fround(0.31 + 0.01 * t), Math.fround(rng.uniform(-0.2, 0.2))] as [number, number],
    instruction: instr(t),
    action: [Math.fround(rng.uniform(-0.03, 0.03)), Math.fround(rng.uniform(-0.03, 0.03))] as [number, number],
    reward: t === T - 1 ? 1 : 0,
    isFirst: t === 0,
    isLast: t === T - 1,
    isTerminal: !!opts.terminal && t === T - 1,
  }));
  const ep: Episode = { episodeId: id, steps };
  if (opts.hierarchy) {
    ep.hierarchy = {
      longHorizonInstruction: 'put all the blocks in the top left corner',
      subTasks: [
        { start: 0, end: half, instruction: instr(0) },
        { start: half, end: T, instruction: instr(T - 1) },
      ],
    };
  }
  return ep;
}
