/**
 * Hard negatives for the grounding model: edits of a sub-task description that keep its wording but change what it
 * asks for — another block, another target, no target, or a word that names nothing — so that InfoNCE (and the
 * preference loop's scorer) must read the block and the target rather than the template. Every edit is checked
 * with the sub-task parser: it must not parse to the original's (block, target); an edit that cannot be made (or
 * would mean the same) is left out rather than replaced by a weaker one.
 */
import { BLOCK_SETS, type BlockSpec } from '../sim/constants';
import { LOCATION_SYNONYMS } from '../sim/tasks';
import type { Rng } from '../util/rng';
import { parseSubTask } from './subtask-parser';

export const HARD_NEGATIVE_KINDS = ['swapped-block', 'swapped-target', 'dropped-target', 'garbled'] as const;
export type HardNegativeKind = (typeof HARD_NEGATIVE_KINDS)[number];

/** The (block, target) a description means, as one string ("red_moon|location:center"); null if it names no block. */
export function semanticKey(text: string, onBoard: BlockSpec[] = BLOCK_SETS.BLOCK_4): string | null {
  const p = parseSubTask(text, onBoard);
  return p ? `${p.block}|${p.target}` : null;
}

const COLORS = ['red', 'blue', 'green', 'yellow'];
const SHAPES = ['moon', 'cube', 'star', 'pentagon'];
const MENTION = new RegExp(`\\b(?:(?:${COLORS.join('|')}) (?:${SHAPES.join('|')}|block)|(?:${SHAPES.join('|')}))\\b`, 'g');
/** Words that name no block, location or direction: a description with one of them for its block is malformed. */
const NONSENSE = ['table', 'lamp', 'cloud', 'spoon', 'window', 'apple'];
const locationPhrases = Object.values(LOCATION_SYNONYMS).flat().sort((a, b) => b.length - a.length);

function mentions(text: string): { text: string; index: number }[] {
  return [...text.matchAll(MENTION)].map((m) => ({ text: m[0], index: m.index ?? 0 }));
}

/** The block a mention ("yellow block", "moon") resolves to on this board. */
const blockOf = (mention: string, onBoard: BlockSpec[]) => semanticKey(`push the ${mention}`, onBoard)?.split('|')[0];

const spliceAt = (s: string, index: number, length: number, put: string) => s.slice(0, index) + put + s.slice(index + length);

/** One edit of `kind`, or null when the description has nothing that edit can change. */
export function hardNegative(text: string, kind: HardNegativeKind, rng: Rng, onBoard: BlockSpec[] = BLOCK_SETS.BLOCK_4): string | null {
  const t = text.toLowerCase().trim();
  const ms = mentions(t);
  if (ms.length === 0) return null;
  const key = semanticKey(t, onBoard);
  // Blocks the description does not name: a swap to one of them changes the meaning.
  const named = ms.map((m) => blockOf(m.text, onBoard));
  const free = onBoard.filter((b) => !named.includes(b.name));
  let out: string | null = null;
  switch (kind) {
    case 'swapped-block': {
      // Another block on the board (one not named in the description), said in full.
      if (free.length) {
        const pick = rng.choice(free);
        out = spliceAt(t, ms[0].index, ms[0].text.length, `${pick.color} ${pick.shape}`);
      }
      break;
    }
    case 'swapped-target': {
      if (ms.length >= 2) {
        if (free.length) {
          const pick = rng.choice(free);
          out = spliceAt(t, ms[1].index, ms[1].text.length, `${pick.color} ${pick.shape}`);
        }
      } else {
        const phrase = locationPhrases.find((p) => t.includes(`to the ${p}`) || t.endsWith(` ${p}`));
        if (phrase) {
          const here = semanticKey(t, onBoard);
          const others = Object.values(LOCATION_SYNONYMS).map((ps) => ps[0]).filter((p) => semanticKey(t.replace(phrase, p), onBoard) !== here);
          if (others.length) out = t.replace(phrase, rng.choice(others));
        }
      }
      break;
    }
    case 'dropped-target':
      // Verb and block only ("push the red moon"): it says which block but not where.
      out = t.slice(0, ms[0].index + ms[0].text.length);
      break;
    case 'garbled':
      // The block named by a word that is not a block ("push the lamp to the center"): unparseable.
      out = t.replace(MENTION, () => rng.choice(NONSENSE));
      break;
  }
  if (out === null || out === t) return null;
  return semanticKey(out, onBoard) === key ? null : out;
}

/** One edit of each kind that applies (fewer than four when some cannot be made). */
export function hardNegatives(text: string, rng: Rng, onBoard: BlockSpec[] = BLOCK_SETS.BLOCK_4): { kind: HardNegativeKind; text: string }[] {
  const out: { kind: HardNegativeKind; text: string }[] = [];
  for (const kind of HARD_NEGATIVE_KINDS) {
    const n = hardNegative(text, kind, rng, onBoard);
    if (n !== null) out.push({ kind, text: n });
  }
  return out;
}
