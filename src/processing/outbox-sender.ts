import type { CrmStore } from '../crm/crm-store.ts';
import type { Logger } from '../log/logger.ts';
import type { Mailbox } from '../mailbox/mailbox.ts';
import { MailboxError } from '../mailbox/mailbox-error.ts';
import { withOriginal } from './original-placeholder.ts';

/** Attempts before a mail is given up (kept in the outbox with state `failed`, visible to operators). */
const maxSendAttempts = 20;

/**
 * Sends what the outbox holds, in order, one flush at a time per process. A mail is marked sent right
 * after the mailbox accepts it; a crash between the two sends that one mail again on restart (at most
 * one duplicate per crash). A mail the mailbox refuses is tried again on the next flush.
 */
export class OutboxSender {
  readonly #store: CrmStore;
  readonly #mailbox: Mailbox;
  readonly #logger: Logger;
  #running: Promise<number> | null = null;
  #again = false;

  constructor(store: CrmStore, mailbox: Mailbox, logger: Logger) {
    this.#store = store;
    this.#mailbox = mailbox;
    this.#logger = logger;
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
      const batch = await this.#store.listPendingMail(20);
      if (batch.length === 0) return sent;
      for (const mail of batch) {
        try {
          const mime = mail.original
            ? withOriginal(mail.mime, mail.original.documentId, mail.original.raw)
            : mail.mime;
          await this.#mailbox.send(mime, { outboxId: mail.id });
          await this.#store.markMailSent(mail.id, new Date());
          sent += 1;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const final =
            (error instanceof MailboxError && !error.retryable) || mail.attempts + 1 >= maxSendAttempts;
          await this.#store.markMailFailed(mail.id, message, final);
          this.#logger[final ? 'error' : 'warn'](
            {
              outboxId: mail.id,
              kind: mail.kind,
              attempts: mail.attempts + 1,
              err: { name: (error as Error).name, message },
            },
            final
              ? 'sending failed for good; the mail stays in the outbox as failed'
              : 'sending failed; will retry',
          );
          if (final) continue;
          return sent; // the mailbox is unavailable: stop this pass, keep order
        }
      }
    }
  }
}
