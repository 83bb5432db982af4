/** What the caller should do about a mailbox failure. */
export type MailboxErrorKind = 'not-found' | 'throttled' | 'transient' | 'forbidden' | 'permanent';

/** A failure talking to the mailbox, translated at the adapter boundary; the original is kept as `cause`. */
export class MailboxError extends Error {
  override name = 'MailboxError';
  readonly kind: MailboxErrorKind;
  /** How long the mailbox asked us to wait (Retry-After on a 429 or 503), in ms; null when it did not say. */
  readonly retryAfterMs: number | null;

  constructor(
    kind: MailboxErrorKind,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }

  /** Worth trying again later. */
  get retryable(): boolean {
    return this.kind === 'throttled' || this.kind === 'transient';
  }
}
