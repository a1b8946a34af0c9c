/**
 * One typed error for everything that can be wrong with data on disk: it names the file, the record index and
 * byte offset, the field, what was expected and what was found, so a user can go straight to the bad bytes.
 */
export interface DataErrorContext {
  file?: string;
  record?: number;
  offset?: number;
  field?: string;
  expected?: string;
  found?: string;
}

export class DataError extends Error {
  readonly problem: string;
  readonly context: DataErrorContext;

  constructor(problem: string, ctx: DataErrorContext = {}) {
    const where = [
      ctx.file,
      ctx.record !== undefined ? `record ${ctx.record}` : undefined,
      ctx.offset !== undefined ? `byte offset ${ctx.offset}` : undefined,
      ctx.field ? `field "${ctx.field}"` : undefined,
    ].filter(Boolean);
    const detail = [ctx.expected !== undefined ? `expected ${ctx.expected}` : '', ctx.found !== undefined ? `found ${ctx.found}` : '']
      .filter(Boolean)
      .join(', ');
    super(`${where.length ? where.join(', ') + ': ' : ''}${problem}${detail ? ` (${detail})` : ''}`);
    this.name = 'DataError';
    this.problem = problem;
    this.context = ctx;
  }

  get file() { return this.context.file; }
  get record() { return this.context.record; }
  get offset() { return this.context.offset; }
  get field() { return this.context.field; }

  /** The same error with missing context filled in (inner code knows the field, outer code the file and record). */
  withContext(ctx: DataErrorContext): DataError {
    return new DataError(this.problem, { ...ctx, ...Object.fromEntries(Object.entries(this.context).filter(([, v]) => v !== undefined)) });
  }
}
