/** Child process for the kill-and-resume test: trains, and SIGKILLs itself right after a given checkpoint. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { switchBackend } from '../../src/backend';
import { train } from '../../src/train/loop';
import { makeRegressionTask } from './regression-task';

const [dir, killAt] = process.argv.slice(2);
(async () => {
  await switchBackend('cpu');
  const task = makeRegressionTask(1);
  const origLoss = task.loss;
  let calls = 0;
  task.loss = (b) => {
    calls++;
    // Some steps after the checkpoint at `killAt`, die without warning.
    const state = path.join(dir, 'checkpoints', 'regression', 'state.json');
    if (calls > Number(killAt) + 3 && fs.existsSync(state) && JSON.parse(fs.readFileSync(state, 'utf8')).step === Number(killAt)) {
      process.kill(process.pid, 'SIGKILL');
    }
    return origLoss(b);
  };
  await train(task, { steps: 60, peakLr: 0.3, warmupSteps: 5, finalLr: 0.01, optimizer: { weightDecay: 0.01 }, clipNorm: 5, seed: 3, runDir: dir, checkpointEvery: 10, validateEvery: 10, resume: false, progress: 'silent' });
})();
