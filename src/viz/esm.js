// vega and vega-lite 6 are ES modules with top-level await: they can only be loaded with import(), and TypeScript
// compiling to CommonJS (tsc, and tslab's TypeScript 5.0 inside the notebook kernel) rewrites import() to require().
// A plain .js file keeps the real dynamic import.
exports.loadVega = () => import('vega');
exports.loadVegaLite = () => import('vega-lite');
