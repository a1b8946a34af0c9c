/**
 * TFDS builder folders (`<name>/<version>/`): `dataset_info.json` (splits with `shardLengths` as strings and the
 * shard `filepathTemplate`), `features.json` (the FeaturesDict), and the shards the template names
 * (shard-names.ts). The reader opens a builder folder, one shard file or a glob of shards: shards inside a builder
 * folder take their counts from its dataset_info.json; shards with no metadata beside them are counted by reading
 * them, and every record is checked against the step spec either way. It iterates episodes (seeded shuffling of
 * shards and of episodes within a window, a split by episode id, a limit). The writer produces the same layout
 * (tfds-metadata.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../util/rng';
import { DataError } from './errors';
import { INSTRUCTION_LENGTH, type Episode } from './episode';
import { decodeEpisode, encodeEpisode, HIERARCHY_KEYS, STEP_SPEC, type EpisodeSpec } from './languagetable';
import { decodeJpeg } from './image';
import { DEFAULT_FILEPATH_TEMPLATE, expandGlob, isGlob, shardPath } from './shard-names';
import { featuresJson, HIERARCHY_FILE, writeBuilderMetadata, type BuilderMeta } from './tfds-metadata';
import { readTFRecords, writeTFRecordFile, type ReadStats } from './tfrecord';

export { decodeEpisode, encodeEpisode };

export type { BuilderMeta };
export { featuresJson, writeBuilderMetadata };

/** A shard's file name under TFDS's default template (`<name>-<split>.tfrecord-XXXXX-of-YYYYY`). */
export function shardFileName(name: string, split: string, index: number, numShards: number, template = DEFAULT_FILEPATH_TEMPLATE): string {
  return shardPath({ dataset: name, split, template }, index, numShards);
}

export async function writeShard(file: string, records: Uint8Array[]): Promise<number> {
  return writeTFRecordFile(file, records);
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
    bytes.push(await writeShard(path.join(dir, shardFileName(meta.name, split, s, numShards, meta.filepathTemplate)), part.map(encodeEpisode)));
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
  /** features.json's content (null for shards read without metadata). */
  features: unknown;
  /** Whether counts and spec came from dataset_info.json and features.json (false: shards read bare). */
  metadata: boolean;
  episodes(opts?: EpisodeIterOptions): AsyncGenerator<Episode>;
}

interface SplitInfo { name: string; shardLengths: string[]; filepathTemplate?: string }

const NEEDS_METADATA = 'a TFDS builder folder with dataset_info.json and features.json (shards without them: pass a shard file or a glob, e.g. "DIR/*.tfrecord*")';

function readJson(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new DataError('missing file', { file, expected: NEEDS_METADATA });
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
  // Folders written before the hierarchy moved to its own file list it in features.json.
  const hierarchy = HIERARCHY_KEYS.longHorizon in top || fs.existsSync(path.join(path.dirname(file), HIERARCHY_FILE));
  return { hierarchy, imageShape, episodeId: 'episode_id' in top };
}

interface Resolved {
  dir: string;
  name: string;
  version: string;
  split: string;
  shardPaths: string[];
  shardLengths: number[];
  hierarchy: boolean;
  imageShape: [number, number] | null;
  features: unknown;
  metadata: boolean;
  /** What features.json declares for records (none for bare shards: records are checked against the step spec only). */
  spec: EpisodeSpec;
}

/** A builder folder through its dataset_info.json; `only` keeps the listed shards among its files. */
function resolveFolder(dir: string, only?: string[]): Resolved {
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
  const allLengths = split.shardLengths.map((s, i) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new DataError('shard length is not a count', { file: infoFile, field: `splits[${split.name}].shardLengths[${i}]`, found: JSON.stringify(s) });
    return n;
  });
  const naming = { dataset: name, split: split.name, fileFormat: typeof info.fileFormat === 'string' ? info.fileFormat : undefined, template: split.filepathTemplate };
  const field = `splits[${split.name}].filepathTemplate`;
  const allPaths = allLengths.map((_, i) => path.join(dir, shardPath(naming, i, allLengths.length, { file: infoFile, field })));
  let keep = [...allPaths.keys()];
  if (only) {
    const index = new Map(allPaths.map((p, i) => [path.resolve(p), i]));
    keep = only.map((f) => {
      const i = index.get(path.resolve(f));
      if (i === undefined) {
        throw new DataError('shard file is not listed in the dataset_info.json beside it', {
          file: f, field, expected: `one of its ${allPaths.length} shards (${path.basename(allPaths[0])}${allPaths.length > 1 ? ` … ${path.basename(allPaths[allPaths.length - 1])}` : ''})`,
        });
      }
      return i;
    });
  }
  const shardPaths = keep.map((i) => allPaths[i]);
  for (const p of shardPaths) {
    if (!fs.existsSync(p)) throw new DataError('shard listed in dataset_info.json is missing', { file: p, field, expected: `${allLengths.length} shards named by ${JSON.stringify(split.filepathTemplate ?? DEFAULT_FILEPATH_TEMPLATE)}` });
  }
  return {
    dir, name, version: String(info.version ?? ''), split: split.name, shardPaths, shardLengths: keep.map((i) => allLengths[i]),
    hierarchy, imageShape, features, metadata: true, spec,
  };
}

/** Shard files with no metadata beside them: counted by reading them; name, split and image shape from the data. */
async function resolveBareShards(files: string[]): Promise<Resolved> {
  const shardLengths: number[] = [];
  let first: Episode | null = null;
  for (const file of files) {
    let n = 0;
    for await (const rec of readTFRecords(file)) {
      if (!first) first = decodeEpisode(rec.data, { file, record: rec.index, offset: rec.offset });
      n++;
    }
    shardLengths.push(n);
  }
  const m = /^(.+)-([A-Za-z0-9_]+)\.[a-z0-9]+-\d{5,}/.exec(path.basename(files[0]));
  let imageShape: [number, number] | null = null;
  if (first?.steps.length) {
    const img = decodeJpeg(first.steps[0].rgbJpeg);
    imageShape = [img.height, img.width];
  }
  return {
    dir: path.dirname(files[0]), name: m?.[1] ?? path.basename(files[0]), version: '', split: m?.[2] ?? 'train', shardPaths: files, shardLengths,
    hierarchy: !!first?.hierarchy, imageShape, features: null, metadata: false, spec: {},
  };
}

async function resolveSource(source: string): Promise<Resolved> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new DataError('remote paths are not read directly', { file: source, expected: 'a local copy (gsutil -m cp -r gs://… DIR, or a Hugging Face download)' });
  }
  const files = isGlob(source) && !fs.existsSync(source) ? expandGlob(source) : null;
  if (!files && !fs.existsSync(source)) throw new DataError('no such file or folder', { file: source, expected: 'a TFDS builder folder, a shard file or a glob of shard files' });
  if (!files && fs.statSync(source).isDirectory()) return resolveFolder(source);
  const shards = files ?? [source];
  const dir = path.dirname(shards[0]);
  return fs.existsSync(path.join(dir, 'dataset_info.json')) ? resolveFolder(dir, shards) : resolveBareShards(shards);
}

/**
 * Opens a builder folder, a shard file or a glob of shard files (wildcards in the file name). Shards inside a builder
 * folder are read through its metadata; remote paths (gs://, https://) must be copied to disk first.
 */
export async function openBuilder(source: string): Promise<Builder> {
  const { dir, name, version, split, shardPaths, shardLengths, hierarchy, imageShape, features, metadata, spec } = await resolveSource(source);
  const builder: Builder = {
    dir, name, version, split, shardPaths, shardLengths,
    numEpisodes: shardLengths.reduce((a, b) => a + b, 0), hierarchy, imageShape, features, metadata,
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
