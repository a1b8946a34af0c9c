/**
 * Re-opening a finished (or partly finished) run folder: its resolved config, tokenizer, samples and model weights,
 * so notebooks and `gpla evaluate`-style analyses work from files rather than from a live process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageCache } from '../data/samples';
import { GroundingModel, validateGroundingConfig, type GroundingConfig } from '../models/grounding';
import { Planner, validatePlannerConfig, type PlannerConfig } from '../models/planner';
import { Policy, validatePolicyConfig, type PolicyConfig } from '../models/policy';
import { Tokenizer } from '../text/tokenizer';
import { readMetrics } from '../train/loop';
import { loadSamples, type Samples } from './dataset';
import { isIntegerField } from './overrides';
import { getPreset } from './presets';
import type { ExperimentSchedule } from './schedule';

export interface RunConfig {
  preset: string;
  seed: number;
  data: string;
  backend: string;
  git: string;
  /** The `--set path=value` changes the run was made with (overrides.ts). */
  sets?: string[];
  /** 'skip' when the run read its --data with --skip-corrupt (re-reading it must skip the same records). */
  onCorrupt?: 'skip';
  models: { grounding: GroundingConfig; planner: PlannerConfig; policy: PolicyConfig };
  schedule: ExperimentSchedule;
}

/**
 * Checks a run's config.json where it is read: the top-level fields by type, and `models` and `schedule` field by
 * field against the preset the run names (same keys, same JSON types, finite numbers; a field the preset has and the
 * file lacks is an error too), then the models' own validate functions. Every error names the file and the field.
 */
export function validateRunConfig(raw: unknown, file: string): RunConfig {
  const fail = (field: string, expected: string, found: unknown): never => {
    throw new Error(`${file}: field "${field}": expected ${expected}, found ${JSON.stringify(found)}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('(top level)', 'an object', raw);
  const c = raw as Record<string, unknown>;
  for (const k of ['preset', 'data', 'backend'] as const) if (typeof c[k] !== 'string') fail(k, 'a string', c[k]);
  if (c.onCorrupt !== undefined && c.onCorrupt !== 'skip') fail('onCorrupt', '"skip" or absent', c.onCorrupt);
  if (c.sets !== undefined && !(Array.isArray(c.sets) && c.sets.every((x) => typeof x === 'string'))) fail('sets', 'a list of "path=value" strings or absent', c.sets);
  if (!(typeof c.seed === 'number' && Number.isSafeInteger(c.seed) && c.seed >= 0)) fail('seed', 'a non-negative integer', c.seed);
  let preset: ReturnType<typeof getPreset>;
  try {
    preset = getPreset(c.preset as string);
  } catch (e) {
    return fail('preset', 'a preset name', c.preset);
  }
  const kind = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
  const same = (want: unknown, got: unknown, field: string, key = ''): void => {
    if (kind(want) !== kind(got)) fail(field, `${kind(want)} (as in preset ${preset.name})`, got);
    if (typeof got === 'number' && !Number.isFinite(got)) fail(field, 'a finite number', got);
    if (isIntegerField(key, want) && typeof got === 'number' && !Number.isInteger(got)) fail(field, `an integer (as in preset ${preset.name})`, got);
    if (Array.isArray(want) && Array.isArray(got)) {
      if (want.length && got.length) got.forEach((g, i) => same(want[Math.min(i, want.length - 1)], g, `${field}[${i}]`, key));
    } else if (kind(want) === 'object') {
      const w = want as Record<string, unknown>;
      const g = got as Record<string, unknown>;
      for (const k of Object.keys(w)) {
        if (!(k in g)) fail(`${field}.${k}`, `a value (preset ${preset.name} has ${JSON.stringify(w[k])})`, undefined);
        same(w[k], g[k], `${field}.${k}`, k);
      }
    }
  };
  same(preset.schedule, c.schedule, 'schedule');
  same(preset.models, c.models, 'models');
  const m = c.models as RunConfig['models'];
  for (const [name, check] of [['grounding', () => validateGroundingConfig(m.grounding)], ['planner', () => validatePlannerConfig(m.planner)], ['policy', () => validatePolicyConfig(m.policy)]] as const) {
    try {
      check();
    } catch (e) {
      throw new Error(`${file}: field "models.${name}": ${(e as Error).message}`);
    }
  }
  return c as unknown as RunConfig;
}

/** Reads and checks `<dir>/config.json` (a missing or unreadable file says which). */
export function readRunConfig(dir: string): RunConfig {
  const cfg = path.join(dir, 'config.json');
  if (!fs.existsSync(cfg)) throw new Error(`${dir}: not a gpla run folder (no config.json); run \`gpla reproduce --out ${dir}\` first`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(cfg, 'utf8'));
  } catch (e) {
    throw new Error(`${cfg}: not valid JSON (${(e as Error).message})`);
  }
  return validateRunConfig(raw, cfg);
}

export class RunFolder {
  readonly config: RunConfig;
  readonly tokenizer: Tokenizer;
  readonly cache: ImageCache;
  private samplesPromise: Promise<Samples> | null = null;

  constructor(readonly dir: string) {
    this.config = readRunConfig(dir);
    this.tokenizer = Tokenizer.load(path.join(dir, 'tokenizer.json'));
    this.cache = new ImageCache(this.config.schedule.data.imageSize);
  }

  samples(): Promise<Samples> {
    const d = this.config.schedule.data;
    this.samplesPromise ??= loadSamples(this.config.data, { valFraction: d.valFraction, testFraction: d.testFraction, chunk: this.config.models.policy.chunk, policyStride: 2, onCorrupt: this.config.onCorrupt });
    return this.samplesPromise;
  }

  weights(name: string): string {
    const f = path.join(this.dir, 'models', `${name}.safetensors`);
    if (!fs.existsSync(f)) throw new Error(`${f}: missing (the stage that writes it has not finished)`);
    return f;
  }

  grounding(conditioning: 'action' | 'none'): GroundingModel {
    const m = new GroundingModel({ ...this.config.models.grounding, conditioning }, 0);
    m.ps.load(this.weights(`grounding-${conditioning}`));
    return m;
  }

  planner(name: string): Planner {
    const m = new Planner(this.config.models.planner, 0);
    m.ps.load(this.weights(name));
    return m;
  }

  policy(): Policy {
    const m = new Policy(this.config.models.policy, 0);
    m.ps.load(this.weights('policy'));
    return m;
  }

  metrics(): Record<string, unknown>[] {
    return readMetrics(this.dir);
  }

  stage<T = Record<string, unknown>>(name: string): T {
    return JSON.parse(fs.readFileSync(path.join(this.dir, 'stages', `${name}.json`), 'utf8'));
  }
}
