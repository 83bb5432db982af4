/**
 * Runs an async job at most once at a time; asking while it runs schedules exactly one more run afterwards.
 * Keeps a burst of `missed` events or timer ticks from starting overlapping delta queries.
 */
export class CoalescingTask {
  readonly #job: () => Promise<void>;
  #running: Promise<void> | null = null;
  #again = false;

  constructor(job: () => Promise<void>) {
    this.#job = job;
  }

  /** Resolves when the run that covers this request has finished; never rejects (the job handles its errors). */
  trigger(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#job();
      } while (this.#again);
    })().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  get running(): boolean {
    return this.#running !== null;
  }

  /** The run in progress, if any. */
  get idle(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }
}
