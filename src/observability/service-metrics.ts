import type { OutcomeAction } from '../domain/decision.ts';

/**
 * What this process has done since it started, counted where it happens (the instrumented store and mailbox).
 * Prometheus counters are per process by definition: the scraper adds up the instances.
 */
export class ServiceMetrics {
  readonly #outcomes = new Map<OutcomeAction, number>();
  #quarantined = 0;
  #mailSent = 0;
  #sendFailures = 0;

  recordOutcome(action: OutcomeAction): void {
    this.#outcomes.set(action, (this.#outcomes.get(action) ?? 0) + 1);
  }

  recordQuarantine(): void {
    this.#quarantined += 1;
  }

  recordSend(ok: boolean): void {
    if (ok) this.#mailSent += 1;
    else this.#sendFailures += 1;
  }

  /** Outcomes recorded by this process, by action (duplicates that wrote nothing are not counted). */
  get outcomes(): ReadonlyMap<OutcomeAction, number> {
    return this.#outcomes;
  }

  get quarantined(): number {
    return this.#quarantined;
  }

  get mailSent(): number {
    return this.#mailSent;
  }

  /** Sends the mailbox refused or that failed on the way, each attempt counted. */
  get sendFailures(): number {
    return this.#sendFailures;
  }
}
