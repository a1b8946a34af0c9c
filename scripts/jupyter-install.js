#!/usr/bin/env node
// Registers the repository's tslab kernelspec (notebooks/kernel/gpla-tslab) with Jupyter. The kernel starts tslab
// from the project root (the repository's top level), so notebooks can `import ... from './src/...'`.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const spec = path.join(__dirname, '..', 'notebooks', 'kernel', 'gpla-tslab');
const which = spawnSync('jupyter', ['--version'], { encoding: 'utf8' });
if (which.error || which.status !== 0) {
  console.error(
    'Jupyter was not found. Install it, then run `npm run jupyter:install` again:\n' +
      '  Debian/Ubuntu: sudo apt-get install jupyter-notebook jupyter-nbconvert python3-ipykernel\n' +
      '  or with pip:   python3 -m pip install notebook\n' +
      'The notebooks also run without Jupyter: `npm run notebooks -- --preset tiny`.',
  );
  process.exit(1);
}
const r = spawnSync('jupyter', ['kernelspec', 'install', '--user', '--name', 'gpla-tslab', spec], { stdio: 'inherit' });
if (r.status === 0) console.log('Installed the "TypeScript (gpla, tslab)" kernel. Start Jupyter in the repository and open notebooks/.');
process.exit(r.status ?? 1);
