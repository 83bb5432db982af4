import type { EnqueuedItem, WorkQueue } from '../crm/crm-store.ts';

interface Waiting {
  item: { mailboxId: string; source: string };
  resolve: (result: EnqueuedItem) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for the intake queue: the enqueues asked for while one commit runs, or within the same turn of the
 * event loop, go to the database together in the next single transaction. Each caller's promise resolves only when
 * the transaction holding its item has committed, so an answer that follows it still means "durably queued".
 * Under a burst of notifications this turns one commit per request into one commit per burst.
 */
export class EnqueueBatcher {
  readonly #queue: Pick<WorkQueue, 'enqueueMany'>;
  readonly #now: () => Date;
  readonly #maxBatch: number;
  #waiting: Waiting[] = [];
  #scheduled = false;
  #committing = false;

  constructor(queue: Pick<WorkQueue, 'enqueueMany'>, options: { now?: () => Date; maxBatch?: number } = {}) {
    this.#queue = queue;
    this.#now = options.now ?? (() => new Date());
    this.#maxBatch = options.maxBatch ?? 500;
  }

  enqueue(item: { mailboxId: string; source: string }): Promise<EnqueuedItem> {
    return new Promise<EnqueuedItem>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#committing) return;
    this.#scheduled = true;
    // After the I/O callbacks of this turn: requests read in the same turn share the commit.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#commit();
    });
  }

  async #commit(): Promise<void> {
    const batch = this.#waiting.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
    this.#committing = true;
    try {
      const results = await this.#queue.enqueueMany(
        batch.map((waiting) => waiting.item),
        this.#now(),
      );
      batch.forEach((waiting, index) => {
        const result = results[index];
        if (result) waiting.resolve(result);
        else waiting.reject(new Error(`the queue gave no result for ${waiting.item.mailboxId}`));
      });
    } catch (error) {
      // Nothing of the batch was committed: every caller hears of it (and answers so that Graph sends again).
      for (const waiting of batch) waiting.reject(error);
    } finally {
      this.#committing = false;
      if (this.#waiting.length > 0) this.#schedule();
    }
  }
}
