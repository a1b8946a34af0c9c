/**
 * Shard file names of a TFDS builder folder, from the split's `filepathTemplate` in dataset_info.json, and globs of
 * shard files. TFDS fills the template's placeholders as its `ShardedFileTemplate` does (tensorflow_datasets
 * core/naming.py): {DATASET}, {SPLIT}, {FILEFORMAT}, {SHARD_INDEX} and {NUM_SHARDS} zero-padded to
 * max(5, digits of the shard count), {SHARD_X_OF_Y} = "<index>-of-<count>". The default template gives
 * `language_table-train.tfrecord-00000-of-01024`; TFDS's own language_table metadata uses
 * `{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_INDEX}` (`language_table-train.tfrecord-00000`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from './errors';

export const DEFAULT_FILEPATH_TEMPLATE = '{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}';
const PLACEHOLDERS = ['DATASET', 'SPLIT', 'FILEFORMAT', 'SHARD_INDEX', 'NUM_SHARDS', 'SHARD_X_OF_Y'] as const;

export interface ShardNaming {
  dataset: string;
  split: string;
  fileFormat?: string;
  /** Default: DEFAULT_FILEPATH_TEMPLATE (what TFDS writes when a split names none). */
  template?: string;
}

/** The file name (relative to the builder folder) of shard `index` of `numShards`. */
export function shardPath(n: ShardNaming, index: number, numShards: number, where: { file?: string; field?: string } = {}): string {
  const template = n.template || DEFAULT_FILEPATH_TEMPLATE;
  const digits = Math.max(5, String(numShards).length);
  const pad = (v: number) => String(v).padStart(digits, '0');
  const values: Record<(typeof PLACEHOLDERS)[number], string> = {
    DATASET: n.dataset, SPLIT: n.split, FILEFORMAT: n.fileFormat ?? 'tfrecord',
    SHARD_INDEX: pad(index), NUM_SHARDS: pad(numShards), SHARD_X_OF_Y: `${pad(index)}-of-${pad(numShards)}`,
  };
  return template.replace(/\{([^{}]*)\}/g, (_, key: string) => {
    if (!(key in values)) {
      throw new DataError(`unknown placeholder {${key}} in the shard file template`, { ...where, expected: PLACEHOLDERS.map((p) => `{${p}}`).join(', '), found: JSON.stringify(template) });
    }
    return values[key as keyof typeof values];
  });
}

const GLOB_CHARS = /[*?[]/;
export const isGlob = (p: string): boolean => GLOB_CHARS.test(p);

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      const body = pattern.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\');
      re += `[${body}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * The files a glob names, sorted by name. Wildcards are read in the last path component only (shards of one
 * folder), as `DIR/language_table-train.tfrecord-*`.
 */
export function expandGlob(pattern: string): string[] {
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  if (isGlob(dir)) throw new DataError('wildcards are read in the file name only', { file: pattern, expected: 'FOLDER/PATTERN, e.g. data/language_table/0.0.1/language_table-train.tfrecord-*' });
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new DataError('the folder of the glob does not exist', { file: dir });
  const re = globToRegExp(base);
  const files = fs.readdirSync(dir).filter((f) => re.test(f) && fs.statSync(path.join(dir, f)).isFile()).sort();
  if (files.length === 0) throw new DataError('no file matches the glob', { file: pattern, found: `${fs.readdirSync(dir).length} entries in ${dir}` });
  return files.map((f) => path.join(dir, f));
}
