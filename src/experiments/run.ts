/**
 * Re-opening a finished (or partly finished) run folder: its resolved config, tokenizer, samples and model weights,
 * so notebooks and `gpla evaluate`-style analyses work from files rather than from a live process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageCache } from '../data/samples';
import { GroundingModel, type GroundingConfig } from '../models/grounding';
import { Planner, type PlannerConfig } from '../models/planner';
import { Policy, type PolicyConfig } from '../models/policy';
import { Tokenizer } from '../text/tokenizer';
import { readMetrics } from '../train/loop';
import { loadSamples, type Samples } from './dataset';
import type { ExperimentSchedule } from './schedule';

export interface RunConfig {
  preset: string;
  seed: number;
  data: string;
  backend: string;
  git: string;
  models: { grounding: GroundingConfig; planner: PlannerConfig; policy: PolicyConfig };
  schedule: ExperimentSchedule;
}

export class RunFolder {
  readonly config: RunConfig;
  readonly tokenizer: Tokenizer;
  readonly cache: ImageCache;
  private samplesPromise: Promise<Samples> | null = null;

  constructor(readonly dir: string) {
    const cfg = path.join(dir, 'config.json');
    if (!fs.existsSync(cfg)) throw new Error(`${dir}: not a gpla run folder (no config.json); run \`gpla reproduce --out ${dir}\` first`);
    this.config = JSON.parse(fs.readFileSync(cfg, 'utf8'));
    this.tokenizer = Tokenizer.load(path.join(dir, 'tokenizer.json'));
    this.cache = new ImageCache(this.config.schedule.data.imageSize);
  }

  samples(): Promise<Samples> {
    const d = this.config.schedule.data;
    this.samplesPromise ??= loadSamples(this.config.data, { valFraction: d.valFraction, testFraction: d.testFraction, chunk: this.config.models.policy.chunk, policyStride: 2 });
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
