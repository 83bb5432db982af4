/**
 * A counting semaphore: at most `limit` holders at once, the others wait in arrival order. Graph's requests per
 * mailbox (Exchange Online answers more than 4 at once with 429) and the intake worker's large messages (one at a
 * time) each go through one.
 */
export class Semaphore {
  readonly limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError('semaphore limit must be a positive integer');
    this.limit = limit;
  }

  get active(): number {
    return this.#active;
  }

  /** Runs `fn` once a slot is free; the slot is released however `fn` ends. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#active < this.limit) {
      this.#active += 1;
      return Promise.resolve();
    }
    // The releasing holder hands its slot straight to the next waiter, so #active never dips and overshoots.
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active -= 1;
  }
}
