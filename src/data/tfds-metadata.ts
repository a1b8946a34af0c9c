/**
 * The metadata files of a TFDS builder folder, written field for field as TFDS writes them for `language_table`
 * (compared with TFDS's own test metadata in test/fixtures/tfds-language_table/): `dataset_info.json` (fileFormat,
 * name, splits[{filepathTemplate, name, numBytes, shardLengths}], version; counts as strings) and `features.json`
 * (the FeaturesDict: steps as a Dataset of action, is_first/is_last/is_terminal, observation{...}, reward as a Scalar;
 * episode_id a string Tensor; scalar shapes `{}`; TFDS's field descriptions).
 *
 * The simulator's hierarchy (long_horizon_instruction, subtasks/*) is this package's addition: its records carry the
 * extra keys, which a TFDS reader never parses because features.json does not list them, and its description lives
 * in a file of its own, HIERARCHY_FILE, that a TFDS reader never opens.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_FILEPATH_TEMPLATE } from './shard-names';

export interface BuilderMeta {
  name: string;
  version?: string;
  split?: string;
  imageShape: [number, number];
  hierarchy: boolean;
  /** Shard file template written to dataset_info.json (default: TFDS's `{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}`). */
  filepathTemplate?: string;
  /** What produced the folder: kept in HIERARCHY_FILE beside the hierarchy features (dataset_info.json has no room). */
  description?: string;
}

/** This package's addition to a builder folder: the hierarchy features' spec (a TFDS reader never opens it). */
export const HIERARCHY_FILE = 'gpla_hierarchy.json';

const CLASS = {
  dict: 'tensorflow_datasets.core.features.features_dict.FeaturesDict',
  dataset: 'tensorflow_datasets.core.features.dataset_feature.Dataset',
  sequence: 'tensorflow_datasets.core.features.sequence_feature.Sequence',
  tensor: 'tensorflow_datasets.core.features.tensor_feature.Tensor',
  scalar: 'tensorflow_datasets.core.features.scalar.Scalar',
  image: 'tensorflow_datasets.core.features.image_feature.Image',
} as const;

/** TFDS writes a rank-0 shape as `{}` and others as `{"dimensions": ["2"]}`. */
const shape = (dims: number[]) => (dims.length ? { dimensions: dims.map(String) } : {});
const tensor = (dims: number[], dtype: string, description?: string, cls: string = CLASS.tensor) => ({
  pythonClassName: cls,
  tensor: { shape: shape(dims), dtype, encoding: 'none' },
  ...(description ? { description } : {}),
});
const dict = (features: Record<string, unknown>) => ({ pythonClassName: CLASS.dict, featuresDict: { features } });

/** The FeaturesDict of a LanguageTable episode as TFDS's features.json holds it (key order as in the real file). */
export function featuresJson(meta: Pick<BuilderMeta, 'imageShape'>): unknown {
  const [h, w] = meta.imageShape;
  const observation = dict({
    effector_translation: tensor([2], 'float32', 'The current end effector translation as a 2D cartesian coordinate.'),
    rgb: {
      pythonClassName: CLASS.image,
      image: { shape: shape([h, w, 3]), dtype: 'uint8', encodingFormat: 'jpeg' },
      description: 'An RGB image of the scene.',
    },
    instruction: tensor([512], 'int32', 'A UTF-8 encoded string as bytes.'),
    effector_target_translation: tensor([2], 'float32', 'The target location for the end effector as a 2D cartesian setpoint.'),
  });
  const step = dict({
    action: tensor([2], 'float32', 'An action representing a 2D delta cartesian setpoint for the robot.'),
    is_terminal: tensor([], 'bool'),
    is_last: tensor([], 'bool'),
    observation,
    is_first: tensor([], 'bool'),
    reward: tensor([], 'float32', undefined, CLASS.scalar),
  });
  return dict({
    steps: { pythonClassName: CLASS.dataset, sequence: { feature: step, length: '-1' } },
    episode_id: tensor([], 'string'),
  });
}

/** HIERARCHY_FILE's content: the hierarchy features in features.json's notation, and where they come from. */
export function hierarchyJson(meta: Pick<BuilderMeta, 'description'>): unknown {
  return {
    about: 'gpla addition, not part of TFDS: each record also holds these features (a TFDS reader ignores them, since features.json does not list them)',
    ...(meta.description ? { producer: meta.description } : {}),
    features: dict({
      long_horizon_instruction: tensor([], 'string'),
      subtasks: {
        pythonClassName: CLASS.sequence,
        sequence: {
          feature: dict({ instruction: tensor([], 'string'), start: tensor([], 'int64'), end: tensor([], 'int64') }),
          length: '-1',
        },
      },
    }),
  };
}

export function datasetInfoJson(meta: BuilderMeta, shardLengths: number[], shardBytes: number[] = []): unknown {
  return {
    fileFormat: 'tfrecord',
    name: meta.name,
    splits: [
      {
        filepathTemplate: meta.filepathTemplate ?? DEFAULT_FILEPATH_TEMPLATE,
        name: meta.split ?? 'train',
        numBytes: String(shardBytes.reduce((a, b) => a + b, 0)),
        shardLengths: shardLengths.map(String),
      },
    ],
    version: meta.version ?? '0.0.1',
  };
}

const writeAtomic = (file: string, value: unknown) => {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 4));
  fs.renameSync(tmp, file);
};

export async function writeBuilderMetadata(dir: string, meta: BuilderMeta, shardLengths: number[], shardBytes?: number[]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  writeAtomic(path.join(dir, 'dataset_info.json'), datasetInfoJson(meta, shardLengths, shardBytes));
  writeAtomic(path.join(dir, 'features.json'), featuresJson(meta));
  const extra = path.join(dir, HIERARCHY_FILE);
  if (meta.hierarchy) writeAtomic(extra, hierarchyJson(meta));
  else if (fs.existsSync(extra)) fs.rmSync(extra);
}
