#!/usr/bin/env node
/**
 * Builds the optional native addon (native/gpla_blas.c → native/build/gpla_blas.node). Runs as the package's
 * `install` hook; it never fails the install: without a C compiler or Node's headers it says so and the package
 * runs on the plain wasm path. The addon needs no BLAS to build (it dlopens OpenBLAS at run time), so it can be
 * built before `apt-get install libopenblas0-pthread`.
 *
 * A plain compiler call rather than node-gyp: one C file, no downloads (node-gyp fetches headers when it cannot
 * find them), and the command is printed for anyone who wants to build it by hand.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const src = path.join(root, 'native', 'gpla_blas.c');
const outDir = path.join(root, 'native', 'build');
const out = path.join(outDir, 'gpla_blas.node');

function nodeIncludeDir() {
  const candidates = [
    process.env.GPLA_NODE_INCLUDE,
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

function main() {
  if (process.env.GPLA_SKIP_NATIVE === '1') return console.log('gpla: native addon skipped (GPLA_SKIP_NATIVE=1)');
  const include = nodeIncludeDir();
  if (!include) return console.log("gpla: native addon not built: Node's headers (node_api.h) not found; the wasm path will be used");
  const cc = process.env.CC || 'cc';
  const args = ['-O3', '-fno-trapping-math', '-fno-math-errno', '-Wall', '-pthread', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=gpla_blas', `-I${include}`, src, '-o', out, '-ldl'];
  if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
  fs.mkdirSync(outDir, { recursive: true });
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : r.stderr.trim().split('\n').slice(0, 5).join('\n');
    console.log(`gpla: native addon not built (${cc} ${args.join(' ')}):\n${why}\nthe wasm path will be used`);
    return;
  }
  console.log(`gpla: built ${path.relative(root, out)} (uses OpenBLAS at run time when installed: apt-get install libopenblas0-pthread)`);
}

try {
  main();
} catch (e) {
  console.log(`gpla: native addon not built: ${e && e.message}`);
}
