/** The vega module (loaded with a real dynamic import(); see esm.js). */
export function loadVega(): Promise<any>;
/** The vega-lite module (loaded with a real dynamic import(); see esm.js). */
export function loadVegaLite(): Promise<any>;
