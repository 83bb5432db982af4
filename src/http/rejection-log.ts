import type { Logger } from '../log/logger.ts';

/** Why the Graph webhook refused an item or a request. */
export type RejectionReason =
  'client-state-mismatch' | 'unknown-subscription' | 'malformed' | 'no-message-id' | 'bad-request';

export interface RejectionLogOptions {
  /** Length of one counting window; default one minute. */
  windowMs?: number;
}

/**
 * Logs what the Graph webhook refuses without letting a forger fill the log: the first rejection after a quiet
 * window is one line; while rejections keep coming, one line per window carries their counts by reason.
 * Forgers choose every field they send, so only the reason and a truncated subscription id are ever written.
 */
export class RejectionLog {
  readonly #log: Logger;

  readonly #windowMs: number;

  readonly #counts = new Map<RejectionReason, number>();

  #timer: NodeJS.Timeout | null = null;

  constructor(logger: Logger, options: RejectionLogOptions = {}) {
    this.#log = logger;
    this.#windowMs = options.windowMs ?? 60_000;
  }

  record(reason: RejectionReason, fields: { subscriptionId?: string | null; path?: string } = {}): void {
    if (this.#timer !== null) {
      this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
      return;
    }
    this.#log.warn(
      {
        reason,
        subscriptionId: fields.subscriptionId?.slice(0, 64) ?? null,
        path: fields.path?.slice(0, 64),
        countingForSeconds: this.#windowMs / 1000,
      },
      'rejected a Graph notification; further rejections are counted and logged as one line per window',
    );
    this.#startWindow();
  }

  /** Writes the counts not yet logged and stops the timer (on shutdown). */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#flush();
  }

  #startWindow(): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      // Still under way: keep counting for another window instead of logging the next one as a first.
      if (this.#flush()) this.#startWindow();
    }, this.#windowMs);
    // A quiet service must be able to exit while a window is open.
    this.#timer.unref();
  }

  #flush(): boolean {
    if (this.#counts.size === 0) return false;
    const rejected = Object.fromEntries(this.#counts);
    const total = [...this.#counts.values()].reduce((sum, count) => sum + count, 0);
    this.#counts.clear();
    this.#log.warn(
      { rejected, total, windowSeconds: this.#windowMs / 1000 },
      'rejected Graph notifications since the last line',
    );
    return true;
  }
}
