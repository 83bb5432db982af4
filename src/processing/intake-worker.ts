import { StoreError, type CrmStore, type IntakeItem } from '../crm/crm-store.ts';
import { Semaphore } from '../domain/semaphore.ts';
import { outsideLogContext, type Logger } from '../log/logger.ts';
import type { Mailbox } from '../mailbox/mailbox.ts';
import { MailboxError } from '../mailbox/mailbox-error.ts';
import { messageKey, rawKey } from './message-key.ts';
import type { OutboxSender } from './outbox-sender.ts';
import {
  commitFailure,
  parseWith,
  processMessage,
  type MessageSource,
  type ProcessDeps,
} from './process-message.ts';

export interface IntakeWorkerOptions {
  /** Messages processed at the same time. */
  concurrency: number;
  /** Attempts before a message is quarantined. */
  maxAttempts: number;
  /** First retry delay in ms; doubles each attempt, with jitter. */
  retryBaseMs: number;
  /** How long a claim is reserved for this worker. */
  leaseMs: number;
  /** How often to look for due work when nothing wakes the worker, in ms. */
  pollIntervalMs: number;
  workerId: string;
  /** For tests: the jitter source, 0 ≤ x < 1. */
  random?: () => number;
  /**
   * Messages larger than this (bytes) are processed one at a time, so that a burst of large mail holds one large
   * message's working copies at a time, not one per slot. Default 4 MiB (the size above which a message is also
   * parsed on the event loop rather than on a parse thread).
   */
  largeMessageBytes?: number;
  /** Called when an item reaches a final state (done or quarantined), e.g. to show progress. */
  onFinal?: (item: IntakeItem, result: { action: string; code: string; ticketNumber: string | null }) => void;
}

/** The retry delay after `attempts` failed attempts: exponential with ±50 % jitter, never below Retry-After. */
export function retryDelayMs(
  attempts: number,
  baseMs: number,
  random: () => number,
  retryAfterMs: number | null,
): number {
  const exponential = baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 16);
  const jittered = exponential * (0.5 + random());
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}

/**
 * Whether trying the message again later can help: the mailbox or the database said "not now" (throttled, busy,
 * unreachable). A refusal that will be the same next time (a permanent mailbox or database error) and an error
 * nobody translated (a fault in the program, e.g. a TypeError) cannot: waiting would only delay telling a person.
 */
export function worthRetrying(error: unknown): boolean {
  if (error instanceof MailboxError) return error.retryable || error.kind === 'not-found';
  if (error instanceof StoreError) return error.retryable;
  return false;
}

const defaultLargeMessageBytes = 4 * 1_048_576;

/** A final item not moved within this time is moved by the sweep (normally the worker moves it at once). */
const settleGraceMs = 5_000;

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * Takes messages from the durable intake queue and sees each to exactly one outcome: claim (with a lease),
 * fetch, process, send from the outbox, move to its final folder. Transient failures retry with backoff
 * (`worthRetrying`); the last attempt, or any other failure, quarantines the message and tells internal support
 * once. When even that cannot be recorded (the database itself is failing), the lease runs out and the item is
 * claimed again.
 */
export class IntakeWorker {
  readonly #deps: ProcessDeps;
  readonly #mailbox: Mailbox;
  readonly #outbox: OutboxSender;
  readonly #options: IntakeWorkerOptions;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  #stopped = true;
  #ticking: Promise<void> | null = null;
  #tickAgain = false;
  /** Messages over largeMessageBytes are processed one at a time. */
  readonly #largeMessages = new Semaphore(1);
  /** When leftovers were last looked for (performance.now()). */
  #sweptAt = -Infinity;

  constructor(deps: ProcessDeps, mailbox: Mailbox, outbox: OutboxSender, options: IntakeWorkerOptions) {
    this.#deps = deps;
    this.#mailbox = mailbox;
    this.#outbox = outbox;
    this.#options = options;
  }

  get #store(): CrmStore {
    return this.#deps.store;
  }

  get #logger(): Logger {
    return this.#deps.logger;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops claiming, waits for the messages in flight, and gives their mails one chance to be sent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#ticking;
    await Promise.allSettled([...this.#inFlight]);
    await this.#outbox.flush().catch(() => 0);
  }

  /** Looks for work now (e.g. after an enqueue). */
  wake(): void {
    if (!this.#stopped) this.#schedule(0);
  }

  /** Processes everything due now, then returns (for the CLI and tests). */
  async runUntilIdle(): Promise<void> {
    for (;;) {
      const claimed = await this.#claimAndRun(true);
      await Promise.allSettled([...this.#inFlight]);
      if (claimed === 0 && this.#inFlight.size === 0) break;
    }
    await this.#outbox.flush();
    await this.settleLeftovers();
  }

  #schedule(delayMs: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    // Woken by a webhook request: the pass it starts is not part of that request.
    this.#timer = outsideLogContext(() => setTimeout(() => this.#tick(), delayMs));
    this.#timer.unref?.();
  }

  /**
   * One pass: claim what is due (again while woken meanwhile), start sending, and, when nothing more could be
   * claimed or a poll interval has passed since the last time, move leftovers; then wait for the timer. Sending
   * is not awaited: a slot freed while the outbox sends a long forward is filled at once, not after it.
   */
  #tick(): void {
    if (this.#ticking) {
      this.#tickAgain = true;
      return;
    }
    this.#ticking = (async () => {
      try {
        let claimed = 0;
        do {
          this.#tickAgain = false;
          claimed = await this.#claimAndRun(false);
        } while (this.#tickAgain && !this.#stopped);
        this.#sendSoon();
        const now = performance.now();
        if (claimed === 0 || now - this.#sweptAt >= this.#options.pollIntervalMs) {
          this.#sweptAt = now;
          await this.settleLeftovers();
        }
      } catch (error) {
        this.#logger.error(
          { err: { message: describe(error) } },
          'intake worker tick failed; will try again',
        );
      } finally {
        this.#ticking = null;
        // A message that finished while this pass was sending or moving asked for another pass: run it now,
        // not after the poll interval (which would leave the free slots idle for up to a second).
        if (!this.#stopped) this.#schedule(this.#tickAgain ? 0 : this.#options.pollIntervalMs);
      }
    })();
  }

  /** Claims as many due items as there are free slots and starts them; nothing after `stop` unless forced. */
  async #claimAndRun(force: boolean): Promise<number> {
    const free = this.#options.concurrency - this.#inFlight.size;
    if (free <= 0 || (this.#stopped && !force)) return 0;
    const items = await this.#store.claimIntake({
      workerId: this.#options.workerId,
      leaseMs: this.#options.leaseMs,
      now: this.#deps.now(),
      limit: free,
    });
    for (const item of items) {
      const running = this.#handle(item).finally(() => {
        this.#inFlight.delete(running);
        if (!this.#stopped) this.#schedule(0);
      });
      this.#inFlight.add(running);
    }
    return items.length;
  }

  async #handle(item: IntakeItem): Promise<void> {
    const source = this.#sourceOf(item, item.id);
    let raw: Buffer | null = null;
    try {
      const fetched = await this.#mailbox.fetchRaw(item.mailboxId);
      raw = fetched;
      const process = () => processMessage(fetched, source, this.#deps);
      const result =
        fetched.length > (this.#options.largeMessageBytes ?? defaultLargeMessageBytes)
          ? await this.#largeMessages.run(process)
          : await process();
      this.#logger.info(
        {
          intakeId: item.id,
          key: result.outcome.key,
          action: result.outcome.action,
          code: result.outcome.code,
          ticketNumber: result.outcome.ticketNumber,
          duplicate: result.duplicate,
        },
        'message processed',
      );
      this.#sendSoon();
      await this.#settle(item, result.outcome.action === 'failed' ? 'failed' : 'processed');
      this.#options.onFinal?.(item, result.outcome);
    } catch (error) {
      await this.#failed(item, raw, error).catch((inner: unknown) => {
        // The database itself is failing: the lease expires and the item is claimed again.
        this.#logger.error(
          { intakeId: item.id, err: { message: describe(inner) } },
          'could not record a failure',
        );
      });
    }
  }

  /**
   * Moves messages whose outcome is final but which are still in the inbox: a move that failed, or a process
   * that died between commit and move. Moving is idempotent, so racing with a worker's own move is harmless.
   */
  async settleLeftovers(): Promise<number> {
    const before = new Date(this.#deps.now().getTime() - settleGraceMs);
    const leftovers = await this.#store.listUnsettledIntake(before, 50);
    for (const { item, folder } of leftovers) await this.#settle(item, folder);
    return leftovers.length;
  }

  /**
   * Sends what the commit put in the outbox, without waiting: the outcome is durable, sending and moving the
   * message do not depend on each other, and flushes requested meanwhile are served by one pass.
   */
  #sendSoon(): void {
    this.#outbox.flush().catch((error: unknown) => {
      this.#logger.warn({ err: { message: describe(error) } }, 'outbox flush failed; the next one retries');
    });
  }

  async #settle(item: IntakeItem, folder: 'processed' | 'failed'): Promise<void> {
    try {
      await this.#mailbox.settle(item.mailboxId, folder);
      await this.#store.markIntakeSettled(item.id, this.#deps.now());
    } catch (error) {
      // The outcome is recorded; the message is moved on the next scan or restart.
      this.#logger.warn(
        { intakeId: item.id, err: { message: describe(error) } },
        'could not move the message',
      );
    }
  }

  /** The message's label in outcomes, and the mailbox it came to (which answers it). */
  #sourceOf(item: IntakeItem, intakeId: string | null): MessageSource {
    const origin = this.#mailbox.origin?.(item.mailboxId) ?? {
      mailbox: this.#mailbox.name,
      supportAddress: null,
    };
    return { label: `${this.#mailbox.name}:${item.mailboxId}`, intakeId, ...origin };
  }

  async #failed(item: IntakeItem, raw: Buffer | null, error: unknown): Promise<void> {
    const { workerId, maxAttempts, retryBaseMs } = this.#options;
    const reason = describe(error);
    if (error instanceof MailboxError && error.kind === 'not-found' && raw === null) {
      const key = `intake:${item.id}`;
      await this.#store.commitProcessing({
        outcome: {
          key,
          source: `${this.#mailbox.name}:${item.mailboxId}`,
          mailbox: this.#sourceOf(item, null).mailbox ?? null,
          messageId: null,
          from: null,
          subject: '',
          action: 'ignored',
          code: 'message-gone',
          reason: 'the message was no longer in the mailbox when it was fetched (deleted or moved elsewhere)',
          ticketNumber: null,
          accountId: null,
          flags: [],
          forwardedTo: [],
          sent: [],
          details: null,
        },
        ticket: null,
        documents: [],
        outgoing: [],
        intakeId: item.id,
      });
      this.#logger.warn({ intakeId: item.id }, 'message gone before it was fetched');
      this.#options.onFinal?.(item, { action: 'ignored', code: 'message-gone', ticketNumber: null });
      return;
    }
    if (worthRetrying(error) && item.attempts < maxAttempts) {
      const retryAfter = error instanceof MailboxError ? error.retryAfterMs : null;
      const delay = retryDelayMs(item.attempts, retryBaseMs, this.#options.random ?? Math.random, retryAfter);
      await this.#store.retryIntake(item.id, workerId, reason, new Date(this.#deps.now().getTime() + delay));
      this.#logger.warn(
        { intakeId: item.id, attempts: item.attempts, retryInMs: delay, err: { message: reason } },
        'processing failed; will retry',
      );
      return;
    }
    let key = `intake:${item.id}`;
    let email = null;
    if (raw) {
      key = rawKey(raw);
      email = await parseWith(this.#deps, raw).catch(() => null);
      if (email) key = messageKey(email);
    }
    await commitFailure(raw, email, this.#sourceOf(item, null), this.#deps, {
      code: 'quarantined',
      reason: `quarantined after ${item.attempts} attempt(s): ${reason}`,
      attachOriginal: raw !== null,
      key,
    });
    await this.#store.quarantineIntake(item.id, workerId, reason, key);
    this.#logger.error(
      { intakeId: item.id, attempts: item.attempts, err: { message: reason } },
      'message quarantined',
    );
    this.#sendSoon();
    await this.#settle(item, 'failed');
    this.#options.onFinal?.(item, { action: 'quarantined', code: 'quarantined', ticketNumber: null });
  }
}
