/**
 * `--set path=value`: changes one field of a preset by name, checked against the field's type, so an experiment (a
 * learning rate, a SimPO β, a number of steps) needs no code edit. Paths name the schedule's fields directly
 * (`simpo.beta`, `policy.steps`, `data.episodes`) and the models' under `models.` (`models.planner.layers`).
 *
 * The value is read as the field's type in the preset: a number (an integer where the field counts something), a
 * boolean (`true`/`false`), a string, a block set (4, 8, real), or a list of numbers of the same length (`0.2,0.2,0.2`).
 * Fields that a run derives from others (vocabulary size, image side, trajectory length of the models) are refused
 * with the field that sets them.
 */
import { blockSetKey } from '../sim/constants';
import type { Preset } from './presets';

/** Real-valued fields whose preset value may happen to be a whole number (β = 2, ropeTheta = 10000). */
const REAL_FIELDS = new Set([
  'peakLr', 'finalLr', 'weightDecay', 'clipNorm', 'valFraction', 'testFraction', 'sceneShare', 'temperature', 'topP', 'beta',
  'gammaBetaRatio', 'minMargin', 'sftWeight', 'logitScaleInit', 'logitScaleMax', 'actionScale', 'ropeTheta', 'pixelMean', 'pixelStd',
]);

/** Fields the run computes from others: the field to set instead. */
const DERIVED: Record<string, string> = {
  vocab: 'the tokenizer (trained on the data)',
  image: 'data.imageSize',
  trajectoryLength: 'data.trajectoryLength',
};

/** Whether a numeric field counts something (its values must be integers), from its key and preset value. */
export function isIntegerField(key: string, presetValue: unknown): boolean {
  return typeof presetValue === 'number' && Number.isInteger(presetValue) && !REAL_FIELDS.has(key);
}

export interface SetOverride {
  path: string;
  raw: string;
}

/** Splits `a.b.c=value` (the value may itself contain "="). */
export function parseSet(arg: string): SetOverride {
  const i = arg.indexOf('=');
  if (i <= 0) throw new Error(`--set ${arg}: expected path=value (e.g. simpo.beta=2.5 or models.planner.layers=6)`);
  const path = arg.slice(0, i).trim();
  const raw = arg.slice(i + 1).trim();
  if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/.test(path)) throw new Error(`--set ${arg}: "${path}" is not a dotted field path`);
  if (raw === '') throw new Error(`--set ${arg}: no value after "="`);
  return { path, raw };
}

function coerce(arg: string, key: string, current: unknown, raw: string): unknown {
  const bad = (expected: string): never => {
    throw new Error(`--set ${arg}: expected ${expected}, got "${raw}"`);
  };
  if (key === 'blocks') {
    try {
      return blockSetKey(raw);
    } catch {
      return bad('a block set (4, 8 or real)');
    }
  }
  if (typeof current === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n)) return bad('a finite number');
    if (isIntegerField(key, current) && !Number.isInteger(n)) return bad('an integer');
    return n;
  }
  if (typeof current === 'boolean') {
    if (raw !== 'true' && raw !== 'false') return bad('true or false');
    return raw === 'true';
  }
  if (typeof current === 'string') return raw;
  if (Array.isArray(current)) {
    const xs = raw.split(',').map((s) => Number(s.trim()));
    if (xs.length !== current.length || xs.some((x) => !Number.isFinite(x))) return bad(`${current.length} comma-separated numbers`);
    return xs;
  }
  return bad('a field that holds a value (this one is a group of fields)');
}

/** Applies each `path=value` to the preset in order (mutating it); throws, naming the option, on any bad one. */
export function applySets(preset: Preset, sets: string[]): void {
  for (const arg of sets) {
    const { path, raw } = parseSet(arg);
    const parts = path.split('.');
    const inModels = parts[0] === 'models';
    let node: Record<string, unknown> = (inModels ? preset.models : preset.schedule) as unknown as Record<string, unknown>;
    const walk = inModels ? parts.slice(1) : parts;
    if (walk.length === 0) throw new Error(`--set ${arg}: name a field inside models (one of ${Object.keys(preset.models).join(', ')})`);
    for (let i = 0; i < walk.length - 1; i++) {
      const next = node[walk[i]];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        throw new Error(`--set ${arg}: no group "${walk.slice(0, i + 1).join('.')}"${inModels ? ' in models' : ''}; accepted here: ${Object.keys(node).join(', ')}${inModels || i > 0 ? '' : ', models'}`);
      }
      node = next as Record<string, unknown>;
    }
    const key = walk[walk.length - 1];
    if (!(key in node)) throw new Error(`--set ${arg}: no field "${key}" in ${inModels ? 'models.' : ''}${walk.slice(0, -1).join('.') || '(schedule)'}; accepted: ${Object.keys(node).join(', ')}`);
    if (inModels && key in DERIVED) throw new Error(`--set ${arg}: models' ${key} is derived from ${DERIVED[key]}; set that instead`);
    node[key] = coerce(arg, key, node[key], raw);
  }
}
