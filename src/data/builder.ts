/**
 * TFDS builder folders (`<name>/<version>/`): `dataset_info.json` (splits with `shardLengths` as strings),
 * `features.json` (the FeaturesDict), and shards `<name>-<split>.tfrecord-XXXXX-of-YYYYY`. The reader takes the
 * shard list and counts from dataset_info.json, checks the spec, and iterates episodes (seeded shuffling of shards
 * and of episodes within a window, a split by episode id, a limit). The writer produces the same layout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../util/rng';
import { DataError } from './errors';
import { INSTRUCTION_LENGTH, type Episode } from './episode';
import { decodeEpisode, encodeEpisode, HIERARCHY_KEYS, STEP_SPEC } from './languagetable';
import { readTFRecords, writeTFRecordFile, type ReadStats } from './tfrecord';

export { decodeEpisode, encodeEpisode };

export interface BuilderMeta {
  name: string;
  version?: string;
  split?: string;
  imageShape: [number, number];
  hierarchy: boolean;
  description?: string;
}

export function shardFileName(name: string, split: string, index: number, numShards: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${name}-${split}.tfrecord-${pad(index)}-of-${pad(numShards)}`;
}

/** The FeaturesDict of a LanguageTable episode in TFDS's features.json form (plus the hierarchy keys if present). */
export function featuresJson(meta: BuilderMeta): unknown {
  const [h, w] = meta.imageShape;
  const tensor = (shape: number[], dtype: string, description?: string) => ({
    pythonClassName: 'tensorflow_datasets.core.features.tensor_feature.Tensor',
    tensor: { shape: { dimensions: shape.map(String) }, dtype, encoding: 'none' },
    ...(description ? { description } : {}),
  });
  const scalar = (dtype: string) => tensor([], dtype);
  const observation = {
    pythonClassName: 'tensorflow_datasets.core.features.features_dict.FeaturesDict',
    featuresDict: {
      features: {
        effector_target_translation: tensor([2], 'float32', 'The target location for the end effector as a 2D cartesian setpoint.'),
        effector_translation: tensor([2], 'float32'),
        instruction: tensor([512], 'int32', 'A UTF-8 encoded string as bytes.'),
        rgb: { pythonClassName: 'tensorflow_datasets.core.features.image_feature.Image', image: { shape: { dimensions: [String(h), String(w), '3'] }, dtype: 'uint8', encodingFormat: 'jpeg' } },
      },
    },
  };
  const step = {
    pythonClassName: 'tensorflow_datasets.core.features.features_dict.FeaturesDict',
    featuresDict: {
      features: {
        action: tensor([2], 'float32'),
        is_first: scalar('bool'),
        is_last: scalar('bool'),
        is_terminal: scalar('bool'),
        observation,
        reward: scalar('float32'),
      },
    },
  };
  const features: Record<string, unknown> = {
    episode_id: { pythonClassName: 'tensorflow_datasets.core.features.text_feature.Text', text: {} },
    steps: { pythonClassName: 'tensorflow_datasets.core.features.dataset_feature.Dataset', sequence: { feature: step, length: '-1' } },
  };
  if (meta.hierarchy) {
    features[HIERARCHY_KEYS.longHorizon] = { pythonClassName: 'tensorflow_datasets.core.features.text_feature.Text', text: {} };
    features.subtasks = {
      pythonClassName: 'tensorflow_datasets.core.features.sequence_feature.Sequence',
      sequence: {
        feature: {
          pythonClassName: 'tensorflow_datasets.core.features.features_dict.FeaturesDict',
          featuresDict: { features: { instruction: { pythonClassName: 'tensorflow_datasets.core.features.text_feature.Text', text: {} }, start: scalar('int64'), end: scalar('int64') } },
        },
        length: '-1',
      },
    };
  }
  return { pythonClassName: 'tensorflow_datasets.core.features.features_dict.FeaturesDict', featuresDict: { features } };
}

export async function writeShard(file: string, records: Uint8Array[]): Promise<number> {
  return writeTFRecordFile(file, records);
}

export async function writeBuilderMetadata(dir: string, meta: BuilderMeta, shardLengths: number[], shardBytes?: number[]): Promise<void> {
  const split = meta.split ?? 'train';
  const info = {
    name: meta.name,
    version: meta.version ?? '0.0.1',
    description: meta.description ?? '',
    fileFormat: 'tfrecord',
    moduleName: 'gpla.sim',
    splits: [
      {
        name: split,
        numBytes: String((shardBytes ?? []).reduce((a, b) => a + b, 0)),
        shardLengths: shardLengths.map(String),
        filepathTemplate: '{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}',
      },
    ],
  };
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, value] of [['dataset_info.json', info], ['features.json', featuresJson(meta)]] as const) {
    const tmp = path.join(dir, `${file}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2));
    fs.renameSync(tmp, path.join(dir, file));
  }
}

/** Writes a whole builder folder from episodes (in memory): shards of `perShard` episodes. */
export async function writeBuilder(dir: string, meta: BuilderMeta, episodes: Episode[], perShard = 64): Promise<void> {
  const split = meta.split ?? 'train';
  const numShards = Math.max(1, Math.ceil(episodes.length / perShard));
  const lengths: number[] = [];
  const bytes: number[] = [];
  fs.mkdirSync(dir, { recursive: true });
  for (let s = 0; s < numShards; s++) {
    const part = episodes.slice(s * perShard, (s + 1) * perShard);
    bytes.push(await writeShard(path.join(dir, shardFileName(meta.name, split, s, numShards)), part.map(encodeEpisode)));
    lengths.push(part.length);
  }
  await writeBuilderMetadata(dir, meta, lengths, bytes);
}

export type SplitName = 'train' | 'val' | 'test';

/** Deterministic split of an episode id by FNV-1a hash: stable across runs, machines and shard orders. */
export function splitOf(episodeId: string, valFraction: number, testFraction: number): SplitName {
  let h = 0x811c9dc5;
  for (let i = 0; i < episodeId.length; i++) {
    h ^= episodeId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Murmur3's finaliser: FNV alone barely changes the high bits for ids that differ only in their last digits.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  const u = (h >>> 0) / 2 ** 32;
  if (u < testFraction) return 'test';
  if (u < testFraction + valFraction) return 'val';
  return 'train';
}

export interface EpisodeIterOptions {
  /** Seeded shuffling of shard order and of episodes within a window (default off). */
  shuffleSeed?: number;
  shuffleWindow?: number;
  /** Keep only this split (by episode id hash). */
  split?: { name: SplitName; valFraction: number; testFraction: number };
  limit?: number;
  onCorrupt?: 'throw' | 'skip';
  stats?: ReadStats;
}

export interface Builder {
  dir: string;
  name: string;
  version: string;
  split: string;
  shardPaths: string[];
  shardLengths: number[];
  numEpisodes: number;
  hierarchy: boolean;
  imageShape: [number, number] | null;
  features: unknown;
  episodes(opts?: EpisodeIterOptions): AsyncGenerator<Episode>;
}

interface SplitInfo { name: string; shardLengths: string[]; filepathTemplate?: string }

function readJson(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new DataError('missing file', { file, expected: 'a TFDS builder folder with dataset_info.json and features.json' });
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(`not valid JSON: ${(e as Error).message}`, { file });
  }
}

/** What features.json must declare for each step feature: shape (per step) and the dtypes read as that kind. */
const DECLARED: Record<keyof typeof STEP_SPEC, { shape: number[]; dtypes: string[] }> = {
  'steps/action': { shape: [2], dtypes: ['float32'] },
  'steps/is_first': { shape: [], dtypes: ['bool'] },
  'steps/is_last': { shape: [], dtypes: ['bool'] },
  'steps/is_terminal': { shape: [], dtypes: ['bool'] },
  'steps/observation/effector_target_translation': { shape: [2], dtypes: ['float32'] },
  'steps/observation/effector_translation': { shape: [2], dtypes: ['float32'] },
  'steps/observation/instruction': { shape: [INSTRUCTION_LENGTH], dtypes: ['int32', 'int64'] },
  'steps/observation/rgb': { shape: [-1, -1, 3], dtypes: ['uint8'] },
  'steps/reward': { shape: [], dtypes: ['float32'] },
};

/**
 * Checks features.json against the LanguageTable step spec (every step feature present with the shape and dtype
 * this reader decodes; the image JPEG-encoded with positive height and width) and returns what records are then
 * checked against: the image size, whether episode_id and the hierarchy are declared.
 */
function validateFeatures(file: string, features: Record<string, unknown>): { hierarchy: boolean; imageShape: [number, number] | null; episodeId: boolean } {
  const top = (features as { featuresDict?: { features?: Record<string, unknown> } }).featuresDict?.features;
  if (!top) throw new DataError('not a FeaturesDict', { file, field: 'featuresDict.features' });
  const steps = top.steps as { sequence?: { feature?: { featuresDict?: { features?: Record<string, unknown> } } } } | undefined;
  const stepFeatures = steps?.sequence?.feature?.featuresDict?.features;
  if (!stepFeatures) throw new DataError('missing the steps Dataset feature', { file, field: 'steps' });
  const obs = (stepFeatures.observation as { featuresDict?: { features?: Record<string, unknown> } } | undefined)?.featuresDict?.features;
  let imageShape: [number, number] | null = null;
  for (const [key, want] of Object.entries(DECLARED) as [keyof typeof STEP_SPEC, (typeof DECLARED)[keyof typeof STEP_SPEC]][]) {
    const parts = key.split('/').slice(1);
    const holder = parts[0] === 'observation' ? obs : stepFeatures;
    const leaf = parts[parts.length - 1];
    if (!holder || !(leaf in holder)) throw new DataError('feature missing from features.json', { file, field: key, expected: 'the LanguageTable step spec' });
    const decl = holder[leaf] as { tensor?: { shape?: { dimensions?: unknown[] }; dtype?: unknown }; image?: { shape?: { dimensions?: unknown[] }; dtype?: unknown; encodingFormat?: unknown } };
    const t = key === 'steps/observation/rgb' ? decl.image : decl.tensor;
    if (!t) throw new DataError(`features.json does not declare it as ${key === 'steps/observation/rgb' ? 'an Image' : 'a Tensor'}`, { file, field: key });
    const dims = (t.shape?.dimensions ?? []).map(Number);
    const shapeOk = dims.length === want.shape.length && dims.every((d, i) => (want.shape[i] === -1 ? Number.isInteger(d) && d > 0 : d === want.shape[i]));
    if (!shapeOk || !want.dtypes.includes(String(t.dtype))) {
      const shape = (d: number[]) => `[${d.map((x) => (x === -1 ? '>0' : x)).join(', ')}]`;
      throw new DataError('features.json declares a shape or dtype this reader does not decode', { file, field: key, expected: `${want.dtypes.join(' or ')} ${shape(want.shape)}`, found: `${String(t.dtype)} [${(t.shape?.dimensions ?? []).join(', ')}]` });
    }
    if (key === 'steps/observation/rgb') {
      const enc = (t as { encodingFormat?: unknown }).encodingFormat;
      if (enc !== undefined && enc !== 'jpeg') throw new DataError('image encoding is not JPEG', { file, field: key, expected: 'jpeg', found: String(enc) });
      imageShape = [dims[0], dims[1]];
    }
  }
  return { hierarchy: HIERARCHY_KEYS.longHorizon in top, imageShape, episodeId: 'episode_id' in top };
}

export async function openBuilder(dir: string): Promise<Builder> {
  const infoFile = path.join(dir, 'dataset_info.json');
  const info = readJson(infoFile);
  const featFile = path.join(dir, 'features.json');
  const features = readJson(featFile);
  const spec = validateFeatures(featFile, features);
  const { hierarchy, imageShape } = spec;
  const name = String(info.name ?? path.basename(path.dirname(dir)));
  const splits = info.splits as SplitInfo[] | undefined;
  if (!Array.isArray(splits) || splits.length === 0) throw new DataError('no splits', { file: infoFile, field: 'splits' });
  const split = splits.find((s) => s.name === 'train') ?? splits[0];
  if (!Array.isArray(split.shardLengths)) throw new DataError('missing shardLengths', { file: infoFile, field: `splits[${split.name}].shardLengths` });
  const shardLengths = split.shardLengths.map((s, i) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new DataError('shard length is not a count', { file: infoFile, field: `splits[${split.name}].shardLengths[${i}]`, found: JSON.stringify(s) });
    return n;
  });
  const shardPaths = shardLengths.map((_, i) => path.join(dir, shardFileName(name, split.name, i, shardLengths.length)));
  for (const p of shardPaths) {
    if (!fs.existsSync(p)) throw new DataError('shard listed in dataset_info.json is missing', { file: p, expected: `${shardLengths.length} shards` });
  }
  const builder: Builder = {
    dir, name, version: String(info.version ?? ''), split: split.name, shardPaths, shardLengths,
    numEpisodes: shardLengths.reduce((a, b) => a + b, 0), hierarchy, imageShape, features,
    async *episodes(opts: EpisodeIterOptions = {}) {
      const rng = opts.shuffleSeed !== undefined ? new Rng(opts.shuffleSeed) : null;
      const order = [...shardPaths.keys()];
      if (rng) rng.shuffle(order);
      const window: Episode[] = [];
      const windowSize = rng ? Math.max(1, opts.shuffleWindow ?? 256) : 1;
      let yielded = 0;
      const limit = opts.limit ?? Infinity;
      const skip = opts.onCorrupt === 'skip';
      // Where each episode id was first seen: a second record with the same id is an error (or, skipping, lost).
      const seenIds = new Map<string, string>();
      for (const s of order) {
        const file = shardPaths[s];
        const stats: ReadStats = opts.stats ?? { records: 0, skipped: 0, errors: [] };
        const before = { skipped: stats.skipped };
        let read = 0;
        let rejected = 0;
        for await (const rec of readTFRecords(file, { onCorrupt: opts.onCorrupt, stats })) {
          let ep: Episode;
          try {
            ep = decodeEpisode(rec.data, { file, record: rec.index, offset: rec.offset }, spec);
            const first = seenIds.get(ep.episodeId);
            if (first !== undefined && ep.episodeId !== '') {
              throw new DataError('duplicate episode', { file, record: rec.index, offset: rec.offset, field: 'episode_id', expected: 'ids unique across the split', found: `"${ep.episodeId}", first seen at ${first}` });
            }
            seenIds.set(ep.episodeId, `${path.basename(file)} record ${rec.index}`);
          } catch (e) {
            if (skip && e instanceof DataError) {
              stats.skipped++;
              stats.errors.push(e);
              rejected++;
              continue;
            }
            throw e;
          }
          read++;
          if (opts.split && splitOf(ep.episodeId, opts.split.valFraction, opts.split.testFraction) !== opts.split.name) continue;
          if (!rng) {
            yield ep;
            if (++yielded >= limit) return;
            continue;
          }
          window.push(ep);
          if (window.length >= windowSize) {
            const i = rng.int(window.length);
            const out = window[i];
            window[i] = window[window.length - 1];
            window.pop();
            yield out;
            if (++yielded >= limit) return;
          }
        }
        // The shardLengths check, in both modes. Skipping, what the reader counted after damage is a guess (a wrong
        // length can make one record look like a checksum failure and a damaged region); the listing is the truth:
        // every listed record not delivered is counted, and only records with intact checksums beyond the listing
        // (the shard really holds more) are an error.
        const expected = shardLengths[s];
        const framed = stats.skipped - before.skipped - rejected; // checksum failures and damaged regions
        if (read + rejected > expected || (!skip && read !== expected)) {
          throw new DataError('dataset_info.json disagrees with the shard', {
            file, field: 'shardLengths', expected: `${expected} episodes`, found: `${read + rejected}${framed ? ` records and ${framed} damaged` : ''}`,
          });
        }
        if (skip) {
          const notDelivered = expected - read;
          const damaged = Math.min(framed, notDelivered - rejected);
          const lost = notDelivered - rejected - damaged;
          if (lost > 0) {
            stats.errors.push(new DataError('records missing from the shard', { file, field: 'shardLengths', expected: `${expected} episodes (dataset_info.json)`, found: `${read + rejected} records${framed ? ` and ${framed} damaged` : ''}` }));
          }
          stats.skipped = before.skipped + notDelivered;
          (stats.shards ??= []).push({ file, expected, read, rejected: rejected + damaged, lost });
        }
      }
      while (window.length && rng) {
        const i = rng.int(window.length);
        const out = window.splice(i, 1)[0];
        yield out;
        if (++yielded >= limit) return;
      }
    },
  };
  return builder;
}

/** All episodes of a builder (with the iteration options) as an array. */
export async function readEpisodes(builder: Builder, opts: EpisodeIterOptions = {}): Promise<Episode[]> {
  const out: Episode[] = [];
  for await (const ep of builder.episodes(opts)) out.push(ep);
  return out;
}
