/**
 * Reads a sub-task sentence into (verb, block, target), for semantic accuracy (does a generated sub-task name the
 * right block and the right target?) and for closed-loop execution (which task does it name?). It reads the
 * simulator's templates, the reference's (google-research/language-table environments/rewards/*.py) on every block
 * set, and free-form human sub-tasks of the real data ("keep the yellow heart at the bottom right side of the green
 * star", "push the yellow hexagon into your hand").
 *
 * Blocks: "<colour> <shape>" always names that block; a colour alone ("the red block") or a shape alone ("the
 * hexagon") names the board's only block of that colour or shape, else — when the board has none — the only one
 * among every known block. A name that fits several blocks is never guessed: a block named elsewhere in the sentence
 * is ruled out ("push the star next to the green star" → the other star), and what still fits several is returned as
 * all of them (`ambiguous`, and `block` = their names joined by "|"), so it never matches one block by accident.
 * The moved block is the first mention; the text names no block → null.
 */
import { BLOCK_SETS, type BlockSpec, type DirectionName, type LocationName } from '../sim/constants';
import { BLOCK_RELATIVE_PHRASES, LOCATION_SYNONYMS } from '../sim/tasks';

export interface ParsedSubTask {
  verb: string;
  block: string;
  /**
   * "block:<name>", "location:<name>", "direction:<name>", "block-relative:<direction>:<name>" (the simulator's
   * families), or, from free-form text, "relation:<diagonal|front|behind>:<name>", "between:<name>:<name>",
   * "effector" (into the robot's hand) and "group" (away from the rest of the blocks).
   */
  target: string | null;
  /** Set when the moved block's name fits several blocks on the board: all of them. */
  ambiguous?: string[];
}

// Purple names the reference's purple_pole (BLOCK_4_WPOLE / BLOCK_8_WPOLE), the one block of another colour.
const COLORS = ['red', 'blue', 'green', 'yellow', 'purple'] as const;
/** Surface forms of each shape (plural and common synonyms). "square" names the cube unless it is "a square". */
const SHAPE_WORDS: Record<string, string[]> = {
  moon: ['moon', 'moons', 'crescent', 'crescents'],
  cube: ['cube', 'cubes', 'square', 'squares'],
  star: ['star', 'stars'],
  pentagon: ['pentagon', 'pentagons'],
  circle: ['circle', 'circles', 'disc', 'discs', 'disk', 'disks'],
  triangle: ['triangle', 'triangles'],
  heart: ['heart', 'hearts'],
  hexagon: ['hexagon', 'hexagons', 'hex'],
  pole: ['pole', 'poles'],
};
const SHAPE_OF = new Map(Object.entries(SHAPE_WORDS).flatMap(([shape, words]) => words.map((w) => [w, shape] as [string, string])));
const GENERIC = ['block', 'blocks', 'one', 'ones', 'piece', 'pieces', 'object', 'objects', 'shape', 'shapes'];
/** Every block of every set: where a colour or shape alone is looked up when the board has none. */
const KNOWN: BlockSpec[] = [...new Map([...BLOCK_SETS.BLOCK_8, ...BLOCK_SETS.REAL].map((b) => [b.name, b])).values()];

interface Mention {
  index: number;
  end: number;
  /** Blocks the words fit (one: resolved). */
  candidates: string[];
  /** Colour and shape both named: the name is the block, whatever the board. */
  exact: boolean;
}

const SHAPE_RE = [...SHAPE_OF.keys()].sort((a, b) => b.length - a.length).join('|');
const MENTION_RE = new RegExp(`\\b(?:(${COLORS.join('|')}) (?:(${SHAPE_RE})|(?:${GENERIC.join('|')}))|(${SHAPE_RE})(?: (?:block|piece|one))?)\\b`, 'g');

function blockMentions(t: string, onBoard: BlockSpec[]): Mention[] {
  const out: Mention[] = [];
  const among = (pred: (b: BlockSpec) => boolean) => {
    const here = onBoard.filter(pred);
    return (here.length ? here : KNOWN.filter(pred)).map((b) => b.name);
  };
  for (const m of t.matchAll(MENTION_RE)) {
    const index = m.index ?? 0;
    const [, color, colorShape, shapeAlone] = m;
    if (shapeAlone && /^squares?$/.test(shapeAlone) && /\ba $/.test(t.slice(0, index))) continue; // "make a square"
    let candidates: string[];
    let exact = false;
    if (color && colorShape) {
      candidates = [`${color}_${SHAPE_OF.get(colorShape)}`];
      exact = true;
    } else if (color) candidates = among((b) => b.color === color);
    else candidates = among((b) => b.shape === SHAPE_OF.get(shapeAlone));
    if (candidates.length) out.push({ index, end: index + m[0].length, candidates, exact });
  }
  // A name that fits several blocks does not mean a block the sentence names exactly elsewhere.
  const named = new Set(out.filter((m) => m.exact).map((m) => m.candidates[0]));
  for (const m of out) {
    if (m.candidates.length > 1) {
      const rest = m.candidates.filter((c) => !named.has(c));
      if (rest.length >= 1) m.candidates = rest;
    }
  }
  return out;
}

const nameOf = (m: Mention) => m.candidates.join('|');

/** Block-relative phrases of block2block_relative_location.py, longest first (so "to the top left of" beats "left of"). */
const RELATIVE_PHRASES: [string, DirectionName][] = (Object.entries(BLOCK_RELATIVE_PHRASES) as [DirectionName, string[]][])
  .flatMap(([d, ps]) => ps.map((p) => [p.replace(/ the$/, ''), d] as [string, DirectionName]))
  .sort((a, b) => b[0].length - a[0].length);
const LOCATION_PHRASES: [string, LocationName, RegExp][] = (Object.entries(LOCATION_SYNONYMS) as [LocationName, string[]][])
  .flatMap(([l, ps]) => ps.map((p) => [p, l, new RegExp(`\\b(?:towards?|into|in|at|on|onto) the ${p}\\b`)] as [string, LocationName, RegExp]))
  .sort((a, b) => b[0].length - a[0].length);
const DIRS: [RegExp, DirectionName][] = [
  [/\bup(wards?)?\b.*\b(left)\b|\b(left)\b.*\bup(wards?)?\b/, 'up_left'],
  [/\bup(wards?)?\b.*\b(right)\b|\b(right)\b.*\bup(wards?)?\b/, 'up_right'],
  [/\bdown(wards?)?\b.*\b(left)\b|\b(left)\b.*\bdown(wards?)?\b/, 'down_left'],
  [/\bdown(wards?)?\b.*\b(right)\b|\b(right)\b.*\bdown(wards?)?\b/, 'down_right'],
  [/\bup(wards?)?\b/, 'up'], [/\bdown(wards?)?\b/, 'down'], [/\bleft\b/, 'left'], [/\bright\b/, 'right'],
];

const VERBS = new Set([
  'push', 'move', 'slide', 'put', 'bring', 'point', 'pull', 'separate', 'nudge', 'touch', 'keep', 'place', 'drag', 'shift',
  'set', 'get', 'take', 'tap', 'poke', 'guide', 'roll', 'reach', 'return', 'go',
]);
const LEADING = /^(?:(?:please|now|then|and|just|gently|carefully|slightly|somewhat|a little bit|a little|a bit)\s+)*/;
/** The arm, not a block, is what moves: "point at the X", "move your arm to the X", "touch the X". */
const POINTING = /^(?:point|touch|tap|reach|hover)\b|^(?:move|put|place|bring|get|go|take)(?: the| your)? (?:arm|hand|gripper|effector|robot)\b|^move (?:next|close|to|towards)\b|^go (?:to|towards|near)\b/;
const EFFECTOR = /\b(?:in|into|to|towards|toward)(?: the| your)? (?:hand|gripper|arm|effector)\b/;
const GROUP = /\b(?:from|of) the (?:group of blocks|group|clump|rest of the blocks|rest|others|other blocks)\b/;

/** Reads "at/on/in the upper left side of" as the reference's "to the top left side of". */
function normaliseRelation(s: string): string {
  return s
    .replace(/\b(?:at|on|onto|in|into|towards|toward) the (?=(?:top|bottom|upper|lower|left|right)\b)/g, 'to the ')
    .replace(/\bupper\b/g, 'top')
    .replace(/\blower\b/g, 'bottom');
}

/** The relation a phrase between two block names states, with the second block as its anchor. */
function relationTo(between: string, anchor: string): string {
  const b = normaliseRelation(between);
  if (/\bdiagonal(?:ly)?\b/.test(b) && !/\b(?:left|right)\b/.test(b)) return `relation:diagonal:${anchor}`;
  for (const [p, d] of RELATIVE_PHRASES) if (b.includes(p)) return `block-relative:${d}:${anchor}`;
  if (/\b(?:under|underneath|beneath)\b/.test(b)) return `block-relative:down:${anchor}`;
  if (/\bin front of\b/.test(b)) return `relation:front:${anchor}`;
  if (/\bbehind\b/.test(b)) return `relation:behind:${anchor}`;
  return `block:${anchor}`;
}

export function parseSubTask(text: string, onBoard: BlockSpec[] = BLOCK_SETS.BLOCK_4): ParsedSubTask | null {
  const t = text.toLowerCase().replace(/[.,;:!?"()]/g, ' ').replace(/-/g, ' ').replace(/\bcentre\b/g, 'center').replace(/\s+/g, ' ').trim();
  const mentions = blockMentions(t, onBoard);
  if (mentions.length === 0) return null;
  const first = mentions[0];
  const head = t.replace(LEADING, '');
  const word = head.match(/^[a-z]+/)?.[0] ?? '';
  let verb = VERBS.has(word) ? word : '';
  const result = (target: string | null): ParsedSubTask => ({
    verb, block: nameOf(first), target, ...(first.candidates.length > 1 ? { ambiguous: [...first.candidates] } : {}),
  });
  if (POINTING.test(head) && !/ the (?:red|blue|green|yellow|moon|cube|star|pentagon)[a-z ]* (?:to|towards|left|right|up|down)/.test(t)) {
    verb = 'point';
    return result(null);
  }
  if (mentions.length >= 2) {
    const second = mentions[1];
    const between = t.slice(first.end, second.index);
    if (/\bbetween\b/.test(between) && mentions.length >= 3) return result(`between:${nameOf(second)}:${nameOf(mentions[2])}`);
    return result(relationTo(t.slice(first.index, second.index), nameOf(second)));
  }
  const rest = t.slice(first.end);
  if (EFFECTOR.test(rest)) return result('effector');
  if (GROUP.test(rest)) return result('group');
  for (const [p, l, re] of LOCATION_PHRASES) if (t.includes(`to the ${p}`) || t.endsWith(` ${p}`) || re.test(rest)) return result(`location:${l}`);
  for (const [re, d] of DIRS) if (re.test(t.slice(first.index))) return result(`direction:${d}`);
  return result(null);
}
