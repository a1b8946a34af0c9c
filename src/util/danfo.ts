/**
 * danfojs, loaded once and quietly. It bundles its own tfjs and re-registers every kernel when it loads, printing one
 * "kernel already registered" warning per kernel (335 lines in a notebook); this loads it lazily (its start-up cost is
 * paid only where a DataFrame is built) with console.warn silenced for the duration of the require.
 */
let cached: typeof import('danfojs') | null = null;

export function loadDanfo(): typeof import('danfojs') {
  if (cached) return cached;
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require('danfojs') as typeof import('danfojs');
  } finally {
    console.warn = warn;
  }
  return cached;
}
