import type { CrmStore } from '../../crm/crm-store.ts';
import type { Logger } from '../../log/logger.ts';
import type { LocalMailbox } from './local-mailbox.ts';

/**
 * Polls the local inbox folder and enqueues every file it finds (the queue ignores known ones). It only
 * enqueues: the worker processes, and the file is moved when its outcome is final. The first scan at
 * start picks up whatever was dropped while the service was down.
 */
export class InboxWatcher {
  readonly #mailbox: LocalMailbox;
  readonly #store: CrmStore;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #onEnqueued: () => void;
  #timer: NodeJS.Timeout | null = null;
  #scanning: Promise<number> | null = null;

  constructor(options: {
    mailbox: LocalMailbox;
    store: CrmStore;
    logger: Logger;
    intervalMs: number;
    onEnqueued: () => void;
  }) {
    this.#mailbox = options.mailbox;
    this.#store = options.store;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs;
    this.#onEnqueued = options.onEnqueued;
  }

  async start(): Promise<void> {
    await this.#mailbox.ensureFolders();
    await this.scan();
    this.#timer = setInterval(() => void this.scan(), this.#intervalMs);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#scanning;
  }

  /** One pass over the inbox; returns how many new messages were enqueued. */
  scan(): Promise<number> {
    this.#scanning ??= this.#scan().finally(() => {
      this.#scanning = null;
    });
    return this.#scanning;
  }

  async #scan(): Promise<number> {
    let created = 0;
    try {
      for (const mailboxId of await this.#mailbox.listInbox()) {
        // A file whose outcome is final but which was not moved yet is moved by the worker's sweep.
        const result = await this.#store.enqueue({ mailboxId, source: 'local', now: new Date() });
        if (result.created) created += 1;
      }
    } catch (error) {
      this.#logger.warn({ err: { message: (error as Error).message } }, 'inbox scan failed; will try again');
    }
    if (created > 0) {
      this.#logger.debug({ created }, 'new mail in the inbox folder');
      this.#onEnqueued();
    }
    return created;
  }
}
