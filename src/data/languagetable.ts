/**
 * The LanguageTable step spec and the episode codec: one record = one tf.train.Example holding the episode's steps
 * stacked over time under flattened `steps/...` keys (TFDS's ExampleSerializer for a Dataset feature of rank 1:
 * languagetable.md §1.3–1.4). Bools and ints are int64, floats float32, the image JPEG bytes, the instruction 512
 * UTF-8 byte values per step, zero-padded.
 *
 * The hierarchy (this package's addition, written by the simulator) uses four more top-level keys:
 * `long_horizon_instruction` (1 bytes value), `subtasks/instruction` (bytes), `subtasks/start`, `subtasks/end` (int64).
 */
import { DataError } from './errors';
import { decodeExample, encodeExample, type Feature, type Features } from './example';
import { INSTRUCTION_LENGTH, type Episode, type Hierarchy, type Step } from './episode';
import { checkFrameSize, jpegHeader, noteFrameSource } from './image';

/** Per-step features: flat key → (kind, values per step). */
export const STEP_SPEC = {
  'steps/action': { kind: 'float', perStep: 2 },
  'steps/is_first': { kind: 'int64', perStep: 1 },
  'steps/is_last': { kind: 'int64', perStep: 1 },
  'steps/is_terminal': { kind: 'int64', perStep: 1 },
  'steps/observation/effector_target_translation': { kind: 'float', perStep: 2 },
  'steps/observation/effector_translation': { kind: 'float', perStep: 2 },
  'steps/observation/instruction': { kind: 'int64', perStep: INSTRUCTION_LENGTH },
  'steps/observation/rgb': { kind: 'bytes', perStep: 1 },
  'steps/reward': { kind: 'float', perStep: 1 },
} as const;

export const HIERARCHY_KEYS = {
  longHorizon: 'long_horizon_instruction',
  instruction: 'subtasks/instruction',
  start: 'subtasks/start',
  end: 'subtasks/end',
} as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeInstruction(text: string): Float64Array {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > INSTRUCTION_LENGTH) {
    throw new DataError('instruction is too long', { field: 'steps/observation/instruction', expected: `≤ ${INSTRUCTION_LENGTH} UTF-8 bytes`, found: `${bytes.length}` });
  }
  const out = new Float64Array(INSTRUCTION_LENGTH);
  out.set(bytes);
  return out;
}

/** 512 byte values → string: zero padding dropped, bytes decoded as UTF-8 (fatal on invalid sequences). */
export function decodeInstruction(values: ArrayLike<number>, field = 'steps/observation/instruction'): string {
  let n = values.length;
  while (n > 0 && values[n - 1] === 0) n--;
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= 255) || !Number.isInteger(v)) throw new DataError('instruction value is not a byte', { field, expected: 'integers in [0, 255]', found: String(v) });
    bytes[i] = v;
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new DataError('instruction is not valid UTF-8', { field, found: Buffer.from(bytes.subarray(0, 32)).toString('hex') });
  }
}

function need<K extends Feature['kind']>(f: Features, key: string, kind: K): Extract<Feature, { kind: K }> {
  const feat = f.get(key);
  if (!feat) throw new DataError('missing feature', { field: key, expected: `${kind} list` });
  if (feat.kind !== kind) throw new DataError('feature has the wrong type', { field: key, expected: `${kind} list`, found: `${feat.kind} list` });
  return feat as Extract<Feature, { kind: K }>;
}

/**
 * What features.json declares beyond the fixed step spec, checked on every record: the stored image size (each
 * frame's JPEG header is read, not decoded), whether `episode_id` and the hierarchy keys are declared (then a record
 * without them is an error, not an episode with an empty id or without its hierarchy).
 */
export interface EpisodeSpec {
  imageShape?: readonly [number, number] | null;
  episodeId?: boolean;
  hierarchy?: boolean;
}

/** Where a record sits, for errors and for the frames' source notes. */
export interface RecordLocation {
  file?: string;
  record?: number;
  offset?: number;
}

function checkFinite(values: Float32Array, key: string, perStep: number): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new DataError('value is not finite', { field: key, expected: 'finite float32', found: `${values[i]} at step ${Math.floor(i / perStep)}${perStep > 1 ? `, component ${i % perStep}` : ''}` });
    }
  }
}

function checkBool(values: Float64Array, key: string): void {
  for (let t = 0; t < values.length; t++) {
    if (values[t] !== 0 && values[t] !== 1) throw new DataError('boolean value is not 0 or 1', { field: key, expected: '0 or 1', found: `${values[t]} at step ${t}` });
  }
}

function utf8Text(b: Uint8Array, field: string): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new DataError('not valid UTF-8', { field, found: Buffer.from(b.subarray(0, 32)).toString('hex') });
  }
}

/** A text feature stored as exactly one bytes value (TFDS Text). */
function oneText(f: Features, key: string): string {
  const v = need(f, key, 'bytes').value;
  if (v.length !== 1) throw new DataError('text feature must hold exactly one value', { field: key, expected: '1 bytes value', found: `${v.length}` });
  return utf8Text(v[0], key);
}

/**
 * Decodes one record (a serialized Example) into a typed Episode, validating every field against the spec: kinds,
 * lengths per step, finite floats, 0/1 booleans, byte-valued UTF-8 instructions, frame headers of the declared size,
 * and the fields features.json declares.
 */
export function decodeEpisodeFeatures(f: Features, spec: EpisodeSpec = {}): Episode {
  const isFirst = need(f, 'steps/is_first', 'int64').value;
  const T = isFirst.length;
  if (T === 0) throw new DataError('episode has no steps', { field: 'steps/is_first', expected: '≥ 1 step', found: '0' });
  for (const [key, spec] of Object.entries(STEP_SPEC)) {
    const feat = need(f, key, spec.kind);
    const n = feat.value.length;
    if (n !== T * spec.perStep) {
      throw new DataError('feature length does not match the number of steps', { field: key, expected: `${T} steps × ${spec.perStep} = ${T * spec.perStep} values`, found: `${n}` });
    }
    if (feat.kind === 'float') checkFinite(feat.value, key, spec.perStep);
  }
  const action = need(f, 'steps/action', 'float').value;
  const eff = need(f, 'steps/observation/effector_translation', 'float').value;
  const effT = need(f, 'steps/observation/effector_target_translation', 'float').value;
  const instr = need(f, 'steps/observation/instruction', 'int64').value;
  const rgb = need(f, 'steps/observation/rgb', 'bytes').value;
  const reward = need(f, 'steps/reward', 'float').value;
  const isLast = need(f, 'steps/is_last', 'int64').value;
  const isTerminal = need(f, 'steps/is_terminal', 'int64').value;
  checkBool(isFirst, 'steps/is_first');
  checkBool(isLast, 'steps/is_last');
  checkBool(isTerminal, 'steps/is_terminal');
  for (let t = 0; t < T; t++) {
    const field = `steps/observation/rgb (step ${t})`;
    checkFrameSize(jpegHeader(rgb[t], field), spec.imageShape ?? undefined, { field });
  }
  let episodeId = '';
  if (f.has('episode_id') || spec.episodeId) {
    episodeId = oneText(f, 'episode_id');
    if (!episodeId) throw new DataError('episode_id is empty', { field: 'episode_id', expected: 'a non-empty id' });
  }
  const steps: Step[] = [];
  let lastInstrStart = -1;
  let lastInstr = '';
  for (let t = 0; t < T; t++) {
    const slice = instr.subarray(t * INSTRUCTION_LENGTH, (t + 1) * INSTRUCTION_LENGTH);
    // Consecutive steps usually share the instruction: decode once per run of identical values.
    let same = lastInstrStart >= 0;
    if (same) {
      const prev = instr.subarray(lastInstrStart * INSTRUCTION_LENGTH, (lastInstrStart + 1) * INSTRUCTION_LENGTH);
      for (let i = 0; i < INSTRUCTION_LENGTH; i++) if (prev[i] !== slice[i]) { same = false; break; }
    }
    if (!same) {
      lastInstr = decodeInstruction(slice);
      lastInstrStart = t;
    }
    steps.push({
      rgbJpeg: rgb[t],
      effectorTranslation: [eff[2 * t], eff[2 * t + 1]],
      effectorTargetTranslation: [effT[2 * t], effT[2 * t + 1]],
      instruction: lastInstr,
      action: [action[2 * t], action[2 * t + 1]],
      reward: reward[t],
      isFirst: isFirst[t] !== 0,
      isLast: isLast[t] !== 0,
      isTerminal: isTerminal[t] !== 0,
    });
  }
  const episode: Episode = { episodeId, steps };
  if (spec.hierarchy && !f.has(HIERARCHY_KEYS.longHorizon)) {
    throw new DataError('missing feature that features.json declares', { field: HIERARCHY_KEYS.longHorizon, expected: 'the long-horizon instruction (bytes list)' });
  }
  if (f.has(HIERARCHY_KEYS.longHorizon)) {
    const longHorizon = oneText(f, HIERARCHY_KEYS.longHorizon);
    const subI = need(f, HIERARCHY_KEYS.instruction, 'bytes').value;
    const subS = need(f, HIERARCHY_KEYS.start, 'int64').value;
    const subE = need(f, HIERARCHY_KEYS.end, 'int64').value;
    if (subS.length !== subI.length || subE.length !== subI.length) {
      throw new DataError('sub-task lists have different lengths', { field: 'subtasks/*', expected: `${subI.length} starts and ends`, found: `${subS.length} starts, ${subE.length} ends` });
    }
    const hierarchy: Hierarchy = {
      longHorizonInstruction: longHorizon,
      subTasks: subI.map((b, i) => ({ instruction: utf8Text(b, HIERARCHY_KEYS.instruction), start: subS[i], end: subE[i] })),
    };
    for (const [i, s] of hierarchy.subTasks.entries()) {
      if (!(Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.end > s.start && s.end <= T)) {
        throw new DataError(`sub-task ${i} has an invalid step range`, { field: 'subtasks/start,end', expected: `0 ≤ start < end ≤ ${T}`, found: `[${s.start}, ${s.end})` });
      }
    }
    episode.hierarchy = hierarchy;
  }
  return episode;
}

export function decodeEpisode(bytes: Uint8Array, where: RecordLocation = {}, spec: EpisodeSpec = {}): Episode {
  let ep: Episode;
  try {
    ep = decodeEpisodeFeatures(decodeExample(bytes), spec);
  } catch (e) {
    if (e instanceof DataError) throw e.withContext(where);
    throw new DataError(`cannot decode record: ${(e as Error).message}`, where);
  }
  // A frame whose header is sound may still fail when training decodes it: let that error name this record.
  ep.steps.forEach((s, t) => noteFrameSource(s.rgbJpeg, { ...where, field: `steps/observation/rgb (step ${t})` }));
  return ep;
}

/** Encodes an Episode into Example bytes with exactly the layout of the published shards. */
export function encodeEpisode(ep: Episode): Uint8Array {
  const T = ep.steps.length;
  const f: Features = new Map();
  const floats = (per: number, get: (s: Step) => number[]) => {
    const out = new Float32Array(T * per);
    ep.steps.forEach((s, t) => out.set(get(s), t * per));
    return out;
  };
  const ints = (get: (s: Step) => number) => Float64Array.from(ep.steps.map(get));
  f.set('episode_id', { kind: 'bytes', value: [Buffer.from(ep.episodeId, 'utf8')] });
  f.set('steps/action', { kind: 'float', value: floats(2, (s) => s.action) });
  f.set('steps/is_first', { kind: 'int64', value: ints((s) => +s.isFirst) });
  f.set('steps/is_last', { kind: 'int64', value: ints((s) => +s.isLast) });
  f.set('steps/is_terminal', { kind: 'int64', value: ints((s) => +s.isTerminal) });
  f.set('steps/observation/effector_target_translation', { kind: 'float', value: floats(2, (s) => s.effectorTargetTranslation) });
  f.set('steps/observation/effector_translation', { kind: 'float', value: floats(2, (s) => s.effectorTranslation) });
  const instr = new Float64Array(T * INSTRUCTION_LENGTH);
  ep.steps.forEach((s, t) => instr.set(encodeInstruction(s.instruction), t * INSTRUCTION_LENGTH));
  f.set('steps/observation/instruction', { kind: 'int64', value: instr });
  f.set('steps/observation/rgb', { kind: 'bytes', value: ep.steps.map((s) => s.rgbJpeg) });
  f.set('steps/reward', { kind: 'float', value: Float32Array.from(ep.steps.map((s) => s.reward)) });
  if (ep.hierarchy) {
    const h = ep.hierarchy;
    f.set(HIERARCHY_KEYS.longHorizon, { kind: 'bytes', value: [Buffer.from(h.longHorizonInstruction, 'utf8')] });
    f.set(HIERARCHY_KEYS.instruction, { kind: 'bytes', value: h.subTasks.map((s) => Buffer.from(s.instruction, 'utf8')) });
    f.set(HIERARCHY_KEYS.start, { kind: 'int64', value: Float64Array.from(h.subTasks.map((s) => s.start)) });
    f.set(HIERARCHY_KEYS.end, { kind: 'int64', value: Float64Array.from(h.subTasks.map((s) => s.end)) });
  }
  return encodeExample(f);
}

/** Steps fed as actions: a trailing is_terminal step only carries the final observation (RLDS convention). */
export function actionSteps(ep: Episode): Step[] {
  const n = ep.steps.length;
  return n > 0 && ep.steps[n - 1].isTerminal ? ep.steps.slice(0, n - 1) : ep.steps;
}
