// Worker bootstrap: TypeScript through tsx, then serve shard requests ({from, to}) from the parent.
require('tsx/cjs');
const { parentPort, workerData } = require('node:worker_threads');
const { synthRecords } = require('./synth.ts');
parentPort.on('message', ({ from, to }) => {
  try {
    const r = synthRecords(workerData.options, from, to);
    parentPort.postMessage(r, r.records.map((x) => x.buffer));
  } catch (e) {
    parentPort.postMessage({ error: e && e.stack ? e.stack : String(e) });
  }
});
