#!/usr/bin/env node
// Registers the repository's tslab kernelspec (notebooks/kernel/gpla-tslab) with Jupyter. The kernel starts tslab
// from the project root (the repository's top level), so notebooks can `import ... from './src/...'`.
// Checks first for each Jupyter command the notebooks need (`jupyter`, its `kernelspec` and `nbconvert` parts) and
// names the Debian package that provides a missing one: one list, the same as the README's and environment.md's.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const spec = path.join(__dirname, '..', 'notebooks', 'kernel', 'gpla-tslab');
const PACKAGES = 'jupyter-notebook jupyter-client jupyter-nbconvert python3-ipykernel';
const parts = [
  { args: ['--version'], what: 'Jupyter (`jupyter`)', pkg: 'jupyter-notebook' },
  { args: ['kernelspec', '--version'], what: '`jupyter kernelspec`', pkg: 'jupyter-client' },
  { args: ['nbconvert', '--version'], what: '`jupyter nbconvert`', pkg: 'jupyter-nbconvert' },
];
const fails = (p) => {
  const r = spawnSync('jupyter', p.args, { encoding: 'utf8' });
  return Boolean(r.error) || r.status !== 0;
};
// Without `jupyter` itself its subcommands fail too: name only the first package then.
const missing = fails(parts[0]) ? [parts[0]] : parts.slice(1).filter(fails);
if (missing.length) {
  console.error(
    `Not found: ${missing.map((p) => `${p.what} (Debian package ${p.pkg})`).join(', ')}. Install, then run \`npm run jupyter:install\` again:\n` +
      `  Debian/Ubuntu: sudo apt-get install ${PACKAGES}\n` +
      '  or with pip:   python3 -m pip install notebook nbconvert ipykernel\n' +
      'The notebooks also run without Jupyter: `npm run notebooks -- --preset tiny`.',
  );
  process.exit(1);
}
const r = spawnSync('jupyter', ['kernelspec', 'install', '--user', '--name', 'gpla-tslab', spec], { stdio: 'inherit' });
if (r.status === 0) console.log('Installed the "TypeScript (gpla, tslab)" kernel. Start Jupyter in the repository and open notebooks/.');
process.exit(r.status ?? 1);
