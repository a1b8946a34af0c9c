/**
 * The typed LanguageTable episode: the one in-memory form that the reader produces and the writer consumes, whether
 * the episode came from Google's shards or from the built-in simulator. Field names follow the RLDS step spec
 * (../../../shared/reference/languagetable.md §1.4); the hierarchy fields are this package's additions.
 */

/** One RLDS step of `language_table`. */
export interface Step {
  /** JPEG bytes of the camera image (decoded lazily by the reader's helpers). */
  rgbJpeg: Uint8Array;
  /** Actual effector xy, metres. */
  effectorTranslation: [number, number];
  /** Commanded effector xy setpoint, metres. */
  effectorTargetTranslation: [number, number];
  /** The (short-horizon) instruction, decoded from its 512 UTF-8 byte slots with the zero padding dropped. */
  instruction: string;
  /** Δ of the effector target setpoint, metres (x, y). */
  action: [number, number];
  reward: number;
  isFirst: boolean;
  isLast: boolean;
  isTerminal: boolean;
}

/** A labelled sub-task: steps [start, end) of the episode, with its low-level instruction. */
export interface SubTask {
  start: number;
  end: number;
  instruction: string;
}

/**
 * Long-horizon annotation. The simulator writes it as extra per-episode features; for real data it comes from the
 * separate `captions` release (long_horizon_instruction, captions, start_times, end_times; §4 of the reference).
 */
export interface Hierarchy {
  longHorizonInstruction: string;
  subTasks: SubTask[];
}

export interface Episode {
  episodeId: string;
  steps: Step[];
  /** Present for simulator episodes and for real episodes joined with a captions annotation. */
  hierarchy?: Hierarchy;
}

/** Stored image size of the real datasets (rgb uint8 (360, 640, 3)). */
export const LANGUAGE_TABLE_IMAGE = { height: 360, width: 640 } as const;
/** constants.INSTRUCTION_LENGTH in language_table. */
export const INSTRUCTION_LENGTH = 512;
