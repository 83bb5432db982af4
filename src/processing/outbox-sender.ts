import type { Outbox, PendingMail, StoredOriginal } from '../crm/crm-store.ts';
import type { Logger } from '../log/logger.ts';
import type { MailPieces, Mailbox } from '../mailbox/mailbox.ts';
import { MailboxError } from '../mailbox/mailbox-error.ts';
import { placeholderOf, withOriginal } from './original-placeholder.ts';

/** Mails read from the outbox at a time. */
const batchSize = 20;

/** Attempts before a mail is given up (kept in the outbox with state `failed`, visible to operators). */
const maxSendAttempts = 20;

export interface OutboxSenderOptions {
  /** The clock; default the system clock. */
  now?: () => Date;
  /** Wait after a mail's first refused attempt, doubled after each further one; default 2 s. */
  retryBaseMs?: number;
  /** Ceiling of that doubling; default 10 minutes. A longer Retry-After from the mailbox still wins. */
  maxRetryDelayMs?: number;
}

/**
 * Sends what the outbox holds, in order, one flush at a time per process. A mail is marked sent right
 * after the mailbox accepts it; a crash between the two sends that one mail again on restart (at most
 * one duplicate per crash). A mail the mailbox refuses is tried again no sooner than the mailbox asked
 * (Retry-After) nor than its exponential backoff; the time is stored with the mail.
 */
export class OutboxSender {
  readonly #store: Outbox;
  readonly #mailbox: Mailbox;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #retryBaseMs: number;
  readonly #maxRetryDelayMs: number;
  #running: Promise<number> | null = null;
  #again = false;
  /** After a refused mail nothing is sent before its retry time, so later mails do not overtake it. */
  #pausedUntil = 0;

  constructor(store: Outbox, mailbox: Mailbox, logger: Logger, options: OutboxSenderOptions = {}) {
    this.#store = store;
    this.#mailbox = mailbox;
    this.#logger = logger;
    this.#now = options.now ?? (() => new Date());
    this.#retryBaseMs = options.retryBaseMs ?? 2_000;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 10 * 60_000;
  }

  /** Sends pending mail; concurrent calls share one flush (and ask for another pass after it). */
  flush(): Promise<number> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      let sent = 0;
      try {
        do {
          this.#again = false;
          sent += await this.#flushOnce();
        } while (this.#again);
      } finally {
        this.#running = null;
      }
      return sent;
    })();
    return this.#running;
  }

  async #flushOnce(): Promise<number> {
    let sent = 0;
    for (;;) {
      const now = this.#now();
      if (now.getTime() < this.#pausedUntil) return sent;
      const batch = await this.#store.listPendingMail(batchSize, now);
      if (batch.length === 0) return sent;
      for (const mail of batch) {
        // Looked up only now, one mail at a time; its bytes are read as the mailbox sends them. A store failure here
        // ends the pass as a failed listing would: no attempt was made.
        const original = mail.original ? await this.#store.openMailOriginal(mail.id) : null;
        try {
          await this.#mailbox.send(piecesOf(mail, original), { outboxId: mail.id });
          await this.#store.markMailSent(mail.id, this.#now());
          sent += 1;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const final =
            (error instanceof MailboxError && !error.retryable) ||
            error instanceof UnsendableMailError ||
            mail.attempts + 1 >= maxSendAttempts;
          const retryAt = final
            ? null
            : new Date(this.#now().getTime() + this.#retryDelayMs(mail.attempts + 1, error));
          await this.#store.markMailFailed(mail.id, message, { final, retryAt });
          this.#logger[final ? 'error' : 'warn'](
            {
              outboxId: mail.id,
              kind: mail.kind,
              attempts: mail.attempts + 1,
              ...(retryAt ? { retryAt: retryAt.toISOString() } : {}),
              err: { name: (error as Error).name, message },
            },
            final
              ? 'sending failed for good; the mail stays in the outbox as failed'
              : 'sending failed; will retry',
          );
          if (!retryAt) continue;
          this.#pausedUntil = retryAt.getTime();
          return sent; // the mailbox is unavailable: stop this pass, keep order
        }
      }
      // A short batch was everything due; mail committed since then asked for another pass (flush).
      if (batch.length < batchSize) return sent;
    }
  }

  /** Exponential in the failed attempts so far, capped, and never shorter than the mailbox's Retry-After. */
  #retryDelayMs(failures: number, error: unknown): number {
    const backoff = Math.min(this.#retryBaseMs * 2 ** Math.min(failures - 1, 30), this.#maxRetryDelayMs);
    const retryAfterMs = error instanceof MailboxError ? (error.retryAfterMs ?? 0) : 0;
    return Math.max(backoff, retryAfterMs);
  }
}

/** A mail that no attempt can send as it is stored: it fails for good at once. */
class UnsendableMailError extends Error {
  override name = 'UnsendableMailError';
}

/** The mail as the mailbox sends it: a mail that refers to an original, as the pieces around that original. */
function piecesOf(mail: PendingMail, original: StoredOriginal | null): MailPieces {
  if (!mail.original) return mail.mime;
  if (!original)
    throw new UnsendableMailError(`the original that outbox mail ${mail.id} refers to is missing`);
  const pieces = withOriginal(mail.mime, placeholderOf(mail, mail.original), original);
  if (!pieces) throw new UnsendableMailError(`outbox mail ${mail.id} has no placeholder for its original`);
  return pieces;
}
