/** A tiny seeded least-squares task for testing the training loop (not a test file itself). */
import * as tf from '@tensorflow/tfjs';
import type { TrainTask } from '../../src/train/loop';
import { Rng } from '../../src/util/rng';

export function makeRegressionTask(initSeed: number, nanAtStep = -1): TrainTask<{ x: tf.Tensor2D; y: tf.Tensor2D; step: number }> {
  const init = new Rng(initSeed);
  const params = new Map<string, tf.Variable>([
    ['w', tf.variable(tf.tensor2d(init.normals(8), [4, 2]))],
    ['b', tf.variable(tf.zeros([2]))],
  ]);
  const trueW = tf.tensor2d([1, -1, 2, 0.5, -0.5, 1, 0, 3], [4, 2]);
  return {
    name: 'regression',
    params,
    nextBatch(rng, step) {
      const x = tf.tensor2d(rng.normals(16 * 4), [16, 4]);
      const noise = tf.tensor2d(rng.normals(16 * 2, 0.01), [16, 2]);
      const y = tf.tidy(() => x.matMul(trueW).add(noise)) as tf.Tensor2D;
      noise.dispose();
      return { x, y, step };
    },
    loss: ({ x, y, step }) => {
      const l = x.matMul(params.get('w')! as tf.Tensor2D).add(params.get('b')!).sub(y).square().mean() as tf.Scalar;
      return step === nanAtStep ? (l.mul(NaN) as tf.Scalar) : l;
    },
    disposeBatch: ({ x, y }) => tf.dispose([x, y]),
    validate: () => ({ wError: tf.tidy(() => params.get('w')!.sub(trueW).abs().max().dataSync()[0]) }),
  };
}
