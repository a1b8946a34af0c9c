// Worker bootstrap for src/train/data-parallel.ts: TypeScript through tsx, then the replica's step loop, driven by the
// parent through shared memory (Atomics) and a few messages (start, weight and optimiser-state requests).
require('tsx/cjs');
const { parentPort, workerData } = require('node:worker_threads');
const { runDataParallelWorker } = require('./data-parallel.ts');
runDataParallelWorker(parentPort, workerData).catch((e) => {
  parentPort.postMessage({ type: 'error', rank: workerData.rank, step: null, phase: 'starting', message: e && e.message ? e.message : String(e), stack: e && e.stack ? e.stack : String(e) });
});
