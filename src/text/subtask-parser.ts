/**
 * Parses a sub-task written in the simulator's templates back into (verb, block, target), for semantic accuracy:
 * does a generated sub-task name the right block and the right target? The block is the first block mention; the
 * target is the second block mention (block-to-block and relative-to-block templates), else a location or a
 * direction phrase. Text that names no block is unparseable (null).
 */
import { BLOCK_SETS, type DirectionName, type LocationName } from '../sim/constants';
import { BLOCK_RELATIVE_PHRASES, LOCATION_SYNONYMS } from '../sim/tasks';

export interface ParsedSubTask {
  verb: string;
  block: string;
  /** "block:<name>", "location:<name>", "direction:<name>", or "block-relative:<direction>:<name>". */
  target: string | null;
}

const COLORS = ['red', 'blue', 'green', 'yellow'];
const SHAPES = ['moon', 'cube', 'star', 'pentagon'];
const ALL_BLOCKS = BLOCK_SETS.BLOCK_8;

/** Resolves block mentions ("red moon", "red block", "moon") on a board (default BLOCK_4's naming rules). */
function blockMentions(text: string, onBoard = BLOCK_SETS.BLOCK_4): { name: string; index: number }[] {
  const out: { name: string; index: number }[] = [];
  const re = new RegExp(`\\b(?:(${COLORS.join('|')}) (${SHAPES.join('|')}|block)|(${SHAPES.join('|')}))\\b`, 'g');
  for (const m of text.matchAll(re)) {
    let name: string | undefined;
    if (m[1] && m[2] && m[2] !== 'block') name = `${m[1]}_${m[2]}`;
    else if (m[1]) name = onBoard.find((b) => b.color === m[1])?.name;
    else if (m[3]) name = onBoard.find((b) => b.shape === m[3])?.name ?? ALL_BLOCKS.find((b) => b.shape === m[3])?.name;
    if (name) out.push({ name, index: m.index ?? 0 });
  }
  return out;
}

const phraseIndex: [string, string][] = [
  ...(Object.entries(BLOCK_RELATIVE_PHRASES) as [DirectionName, string[]][]).flatMap(([d, ps]) => ps.map((p) => [p, d] as [string, string])),
].sort((a, b) => b[0].length - a[0].length);
const locationIndex: [string, LocationName][] = (Object.entries(LOCATION_SYNONYMS) as [LocationName, string[]][])
  .flatMap(([l, ps]) => ps.map((p) => [p, l] as [string, LocationName]))
  .sort((a, b) => b[0].length - a[0].length);
const DIRS: [RegExp, string][] = [
  [/\bup(wards)?\b.*\b(left)\b|\b(left)\b.*\bup(wards)?\b/, 'up_left'],
  [/\bup(wards)?\b.*\b(right)\b|\b(right)\b.*\bup(wards)?\b/, 'up_right'],
  [/\bdown(wards)?\b.*\b(left)\b|\b(left)\b.*\bdown(wards)?\b/, 'down_left'],
  [/\bdown(wards)?\b.*\b(right)\b|\b(right)\b.*\bdown(wards)?\b/, 'down_right'],
  [/\bup(wards)?\b/, 'up'], [/\bdown(wards)?\b/, 'down'], [/\bleft\b/, 'left'], [/\bright\b/, 'right'],
];

export function parseSubTask(text: string, onBoard = BLOCK_SETS.BLOCK_4): ParsedSubTask | null {
  const t = text.toLowerCase().trim();
  const blocks = blockMentions(t, onBoard);
  if (blocks.length === 0) return null;
  const verb = (t.match(/^(slightly |a bit |a little bit |a little |somewhat )?(push|move|slide|put|bring|point|pull|separate)/)?.[2]) ?? '';
  const block = blocks[0].name;
  if (blocks.length >= 2) {
    const between = t.slice(blocks[0].index, blocks[1].index);
    for (const [p, d] of phraseIndex) if (between.includes(p.replace(/ the$/, ''))) return { verb, block, target: `block-relative:${d}:${blocks[1].name}` };
    return { verb, block, target: `block:${blocks[1].name}` };
  }
  if (/^(point|move (the|your) arm|move (next|close|to))/.test(t) && !/ the (red|blue|green|yellow|moon|cube|star|pentagon)[a-z ]* (to|towards|left|right|up|down)/.test(t)) {
    return { verb: 'point', block, target: null };
  }
  for (const [p, l] of locationIndex) if (t.includes(`to the ${p}`) || t.endsWith(` ${p}`)) return { verb, block, target: `location:${l}` };
  const rest = t.slice(blocks[0].index);
  for (const [re, d] of DIRS) if (re.test(rest)) return { verb, block, target: `direction:${d}` };
  return { verb, block, target: null };
}
