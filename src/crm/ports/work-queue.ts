export type IntakeState = 'pending' | 'claimed' | 'done' | 'quarantined';

export interface IntakeItem {
  id: string;
  /** The mailbox's own id for the message (file name, Graph immutable id). */
  mailboxId: string;
  source: string;
  state: IntakeState;
  attempts: number;
  lastError: string | null;
  outcomeKey: string | null;
  enqueuedAt: string;
  nextAttemptAt: string;
  /** Set once the message has been moved to its final folder. */
  settledAt: string | null;
}

/** What `enqueueMany` did with one message. */
export interface EnqueuedItem {
  /** The intake item's id (the new one, or the existing item's when the message was already queued). */
  id: string;
  created: boolean;
}

export interface ClaimOptions {
  workerId: string;
  leaseMs: number;
  now: Date;
  limit: number;
}

/**
 * The durable intake queue, plus small shared state and leases between instances. An item becomes `done` with
 * its outcome (`UnitOfWork.commitProcessing`).
 */
export interface WorkQueue {
  /** Adds a mailbox message; returns the existing item when the mailbox id is already known. */
  enqueue(item: {
    mailboxId: string;
    source: string;
    now: Date;
  }): Promise<{ item: IntakeItem; created: boolean }>;
  /**
   * Adds several mailbox messages in one transaction (one commit for a burst of notifications): for each, in
   * order, its intake id and whether it was new. Durable when the promise resolves.
   */
  enqueueMany(items: readonly { mailboxId: string; source: string }[], now: Date): Promise<EnqueuedItem[]>;
  /** Claims due items with a lease; an expired lease makes an item claimable again. */
  claimIntake(options: ClaimOptions): Promise<IntakeItem[]>;
  /** Releases a claim after a transient failure, to be tried again at `retryAt`. */
  retryIntake(id: string, workerId: string, error: string, retryAt: Date): Promise<void>;
  quarantineIntake(id: string, workerId: string, error: string, outcomeKey: string | null): Promise<void>;
  markIntakeSettled(id: string, at: Date): Promise<void>;
  /**
   * Items with a final state whose message was not moved to its folder yet (the move failed, or the process
   * died in between), last changed before `before`, with the folder each belongs in.
   */
  listUnsettledIntake(
    before: Date,
    limit: number,
  ): Promise<{ item: IntakeItem; folder: 'processed' | 'failed' }[]>;
  findIntake(idOrMailboxId: string): Promise<IntakeItem | null>;
  listIntake(state: IntakeState, limit: number): Promise<IntakeItem[]>;
  /** Makes quarantined items pending again (attempts reset); returns how many. */
  requeueQuarantined(ids: readonly string[] | 'all', now: Date): Promise<number>;

  // Small durable state for adapters (e.g. a Graph subscription id, delta links) and leases between instances.
  getState(key: string): Promise<string | null>;
  setState(key: string, value: string | null): Promise<void>;
  /**
   * Takes or extends a named lease for `owner` until `now + ttlMs`; false while another owner holds it.
   * With several instances on one database, only the holder does the work the lease guards.
   */
  acquireLease(name: string, owner: string, ttlMs: number, now: Date): Promise<boolean>;
  releaseLease(name: string, owner: string): Promise<void>;
}
