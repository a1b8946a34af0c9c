#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so no build step stands between a clone and `npx gpla`.
require('tsx/cjs');
require('../src/cli.ts').main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
