/** A mail to send after the commit (transactional outbox). */
export interface NewOutgoingMail {
  id: string;
  kind: 'forward' | 'acknowledgment' | 'api-response' | 'notice';
  to: string[];
  subject: string;
  /** The Message-ID we gave it, without brackets; replies to it thread to `ticketId`. */
  messageId: string;
  /** The hidden reference token in its body, if any; mail quoting it threads to `ticketId`. */
  referenceToken: string | null;
  ticketId: string | null;
  mime: Buffer;
  /**
   * Set when `mime` carries a filed document's original only as a placeholder: the store keeps one copy of the
   * original (the document's), and the sender puts it in place (see processing/original-placeholder.ts).
   */
  originalDocumentId?: string | null;
  /**
   * An original the outbox keeps with this mail, once and as given (the forward of a message that is not filed):
   * `mime` carries it only as a placeholder, and the sender puts it in place (processing/original-placeholder.ts).
   */
  heldOriginal?: Buffer | null;
  /** Forwards and notices: the sender of the mail they are about (the per-sender flood limit counts them). */
  aboutSender?: string | null;
}

/** Which outbox mails to count (rate limits); every given condition must hold. */
export interface OutgoingCountFilter {
  kinds: readonly NewOutgoingMail['kind'][];
  /** The first recipient, any case. */
  recipient?: string | null;
  aboutSender?: string | null;
  since: Date;
}

/** A failed send: `final` gives up on the mail; otherwise it is not tried again before `retryAt` (null = soon). */
export interface MailFailure {
  final: boolean;
  retryAt?: Date | null;
}

/**
 * Where the original of a pending mail is kept, that its MIME carries only as a placeholder: the raw MIME of a filed
 * document, or the outbox's own copy (`NewOutgoingMail.heldOriginal`).
 */
export type PendingOriginal = { kind: 'document'; documentId: string } | { kind: 'held' };

/** An original in the store, read only as it is sent. */
export interface StoredOriginal {
  readonly length: number;
  /**
   * Its bytes in order, read a part at a time (SQLite's 1 MiB parts; SQL Server's value whole) and afresh on each
   * call: a request that is tried again reads them again. A failing read throws a StoreError.
   */
  read(): AsyncIterable<Buffer>;
}

export interface PendingMail {
  id: string;
  kind: NewOutgoingMail['kind'];
  to: string[];
  subject: string;
  mime: Buffer;
  /**
   * Where the original that goes in place of the placeholder in `mime` is kept; it is read (`openMailOriginal`)
   * only while this mail is sent. Null: `mime` is the whole mail.
   */
  original: PendingOriginal | null;
  attempts: number;
}

/** Mail waiting to be sent. Mail about a message enters with its outcome (`UnitOfWork.commitProcessing`). */
export interface Outbox {
  /** Pending mails due at `now` (a mail that failed is not due before its retry time), oldest first. */
  listPendingMail(limit: number, now: Date): Promise<PendingMail[]>;
  /**
   * The original a mail refers to (see `PendingMail.original`): the filed document's raw MIME or the outbox's own
   * copy, as its length and a reader of its bytes, so that sending reads it as it goes instead of holding it whole.
   * Null when the mail has none, or when it is gone.
   */
  openMailOriginal(mailId: string): Promise<StoredOriginal | null>;
  markMailSent(id: string, sentAt: Date): Promise<void>;
  /** Records a failed send; a final failure gives up on the mail (it stays in the outbox, state `failed`). */
  markMailFailed(id: string, error: string, failure: MailFailure): Promise<void>;
  /** When the earliest pending mail is due, or null when nothing is pending. */
  nextMailAttemptAt(): Promise<Date | null>;
  /** Outbox mails queued since a time, by kind and recipient or sender (for rate limits). */
  countOutgoingSince(filter: OutgoingCountFilter): Promise<number>;
  /**
   * Queues a mail about the service itself (a notice to internal support), not about a message. With `state`,
   * only while the state entry `key` holds `expected` (null: no entry), and sets it to `value` in the same
   * transaction, so that of several instances recording one change exactly one queues its notice.
   * Returns whether the mail was queued.
   */
  queueNotice(
    mail: NewOutgoingMail,
    state?: { key: string; expected: string | null; value: string },
  ): Promise<boolean>;
}
