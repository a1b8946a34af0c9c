/**
 * A parameter store: named weights (Hugging Face names where the structure matches), their initialisation from the
 * package's seeded Rng (the same seed gives the same weights on every backend), counts, and safetensors save/load.
 * A store in `dry` mode records shapes only, so the `paper` preset's parameter counts come from the real model code
 * without allocating billions of floats.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { loadWeights, saveWeights } from './weights';

export type Init = { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' } | { kind: 'const'; value: number };

let storeCounter = 0;

export class ParamStore {
  readonly params = new Map<string, tf.Variable>();
  readonly shapes = new Map<string, number[]>();
  private readonly uid = ++storeCounter;

  constructor(private readonly rng: Rng, readonly dry = false) {}

  /** Creates (or, in dry mode, records) a parameter. Names must be unique within the store. */
  create(name: string, shape: number[], init: Init): tf.Variable {
    if (this.shapes.has(name)) throw new Error(`ParamStore: parameter "${name}" is defined twice`);
    this.shapes.set(name, shape);
    if (this.dry) return null as unknown as tf.Variable;
    const n = shape.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (init.kind === 'normal') values = this.rng.normals(n, init.std);
    else values = new Float32Array(n).fill(init.kind === 'ones' ? 1 : init.kind === 'const' ? init.value : 0);
    // tf variable names are global to the engine: prefix with the store's id so two models can coexist.
    const v = tf.variable(tf.tensor(values, shape), true, `s${this.uid}/${name}`);
    this.params.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`ParamStore: no parameter "${name}"`);
    return v;
  }

  count(prefix = ''): number {
    let n = 0;
    for (const [name, shape] of this.shapes) if (name.startsWith(prefix)) n += shape.reduce((a, b) => a * b, 1);
    return n;
  }

  save(file: string, metadata: Record<string, string> = {}): void {
    saveWeights(file, this.params, metadata);
  }

  /** Loads weights by name, checking that every parameter is present with its shape, dtype and finite values. */
  load(file: string): void {
    loadWeights(file, this.params);
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
