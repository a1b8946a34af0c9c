/**
 * One typed error for everything that can be wrong with data on disk: it names the file, the record index and the
 * byte offset where that record starts in the file, the byte position inside the record where decoding stopped,
 * the field, what was expected and what was found, so a user can go straight to the bad bytes.
 */
export interface DataErrorContext {
  file?: string;
  record?: number;
  /** Byte offset of the record's header in the file (where `dd bs=1 skip=OFFSET` lands on the record). */
  offset?: number;
  /** Byte position inside the record's data (the serialized Example) where the decoder found the fault. */
  position?: number;
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
      ctx.position !== undefined ? `byte ${ctx.position} of the record` : undefined,
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
  get position() { return this.context.position; }
  get field() { return this.context.field; }

  /** The same error with missing context filled in (inner code knows the field, outer code the file and record). */
  withContext(ctx: DataErrorContext): DataError {
    return new DataError(this.problem, { ...ctx, ...Object.fromEntries(Object.entries(this.context).filter(([, v]) => v !== undefined)) });
  }
}
