export function loadVega(): Promise<any>;
export function loadVegaLite(): Promise<any>;
