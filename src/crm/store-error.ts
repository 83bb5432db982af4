/** What the caller should do about a database failure. */
export type StoreErrorKind = 'transient' | 'permanent';

/**
 * A database failure, translated at the adapter boundary with the driver's error as `cause`. `transient`
 * (a deadlock, a lock or busy timeout, a lost connection) is worth trying again; `permanent` (a constraint the
 * data breaks, a statement the server refuses) will fail the same way again.
 */
export class StoreError extends Error {
  override name = 'StoreError';
  readonly kind: StoreErrorKind;

  constructor(kind: StoreErrorKind, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.kind = kind;
  }

  get retryable(): boolean {
    return this.kind === 'transient';
  }
}
