import type { Account, AccountMatch, Contact, Employee, FiledDocument, Ticket } from '../domain/crm.ts';
import type { OutcomeAction } from '../domain/decision.ts';
import type { EmailAttachment } from '../domain/email.ts';
import type { CrmImport } from './crm-import.ts';
import type { ValidatedXmlTransaction, XmlTransactionResult } from '../domain/xml-api/xml-transaction.ts';

/** The database cannot be opened or prepared; the message names the path, the problem and the fix. */
export class StoreOpenError extends Error {
  override name = 'StoreOpenError';
}

/** A new ticket to open, with its number already reserved (see `reserveTicketNumber`); the store stamps the times. */
export type NewTicket = Omit<Ticket, 'createdAt' | 'updatedAt'> & {
  /** The closed ticket this one follows up (a reply to it opened this one). */
  followsTicketId?: string | null;
};

/** A line of a ticket's history: what happened to the ticket (stored as a history note linked to it). */
export interface TicketHistoryNote {
  ticketId: string;
  accountId: string;
  description: string;
}

/** A message to file under a ticket: everything needed so that nothing is lost. */
export interface NewDocument {
  id: string;
  ticketId: string;
  accountId: string;
  sender: string;
  recipients: string[];
  date: string;
  subject: string;
  textBody: string;
  htmlBody: string | null;
  messageId: string | null;
  attachments: EmailAttachment[];
  raw: Buffer;
}

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

export interface OutcomeRecord {
  key: string;
  source: string;
  messageId: string | null;
  from: string | null;
  subject: string;
  action: OutcomeAction;
  code: string;
  reason: string;
  ticketNumber: string | null;
  accountId: string | null;
  flags: string[];
  forwardedTo: string[];
  sent: { to: string[]; subject: string; kind: NewOutgoingMail['kind'] }[];
  details: Record<string, unknown> | null;
  createdAt: string;
}

/** Everything one processed message writes, committed in one transaction. */
export interface ProcessingCommit {
  outcome: Omit<OutcomeRecord, 'createdAt'>;
  ticket: NewTicket | null;
  documents: NewDocument[];
  outgoing: NewOutgoingMail[];
  /** A status change of an existing ticket (a reply reopening it). */
  ticketUpdate?: { id: string; status: string } | null;
  /** What happened to tickets, for their history. */
  history?: TicketHistoryNote[];
  /** The intake item this finishes, when it came from the queue. */
  intakeId: string | null;
}

export interface PendingMail {
  id: string;
  kind: NewOutgoingMail['kind'];
  to: string[];
  subject: string;
  mime: Buffer;
  /** The document whose original goes in place of the placeholder in `mime`, and that original. */
  original: { documentId: string; raw: Buffer } | null;
  attempts: number;
}

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

export interface ClaimOptions {
  workerId: string;
  leaseMs: number;
  now: Date;
  limit: number;
}

export interface StoreCounts {
  accounts: number;
  contacts: number;
  employees: number;
  tickets: number;
  documents: number;
  outcomes: number;
}

export interface OutcomeFilter {
  action?: OutcomeAction;
  limit?: number;
}

/**
 * The CRM database as the connector needs it. Every method is asynchronous (SQL Server drivers are),
 * and every method that writes several rows does so in one transaction.
 * `crm/crm-store.contract.ts` is the behaviour every adapter must show.
 */
export interface CrmStore {
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;

  // Look-ups used by the decision. Address and domain look-ups are index seeks.
  findAccountsByAddress(address: string): Promise<AccountMatch[]>;
  findAccountsByDomain(domain: string): Promise<Account[]>;
  findAccountById(id: string): Promise<Account | null>;
  findAccountsByIds(ids: readonly string[]): Promise<Account[]>;
  findAccountsByName(name: string): Promise<Account[]>;
  /** Accounts whose "file as" or company name appears in the text as whole words. */
  findAccountsNamedIn(text: string): Promise<Account[]>;
  /** Accounts whose foreign id (or the named custom field) equals one of the values. */
  findAccountsByForeignId(values: readonly string[], field: string | null): Promise<Account[]>;
  findContact(id: string): Promise<Contact | null>;
  findEmployeeByAddress(address: string): Promise<Employee | null>;
  findTicketByNumber(number: string): Promise<Ticket | null>;
  findTicketById(id: string): Promise<Ticket | null>;
  /** The ticket a reply belongs to, by Message-IDs the connector filed or sent, then by reference tokens. */
  findTicketByThread(
    messageIds: readonly string[],
    tokens: readonly string[],
  ): Promise<{ ticket: Ticket; via: 'message-id' | 'reference-token' } | null>;
  listDocuments(ticketId: string): Promise<FiledDocument[]>;
  /** A ticket's history notes, oldest first. */
  listTicketHistory(ticketId: string): Promise<{ date: string; description: string }[]>;
  /** The original MIME of a filed document. */
  readDocumentRaw(documentId: string): Promise<Buffer | null>;
  /** Outbox mails queued since a time, by kind and recipient or sender (for rate limits). */
  countOutgoingSince(filter: OutgoingCountFilter): Promise<number>;

  // CRM data.
  /** Loads accounts, contacts, employees and tickets: all or nothing, idempotent on ids. */
  importCrm(data: CrmImport): Promise<StoreCounts>;
  counts(): Promise<StoreCounts>;
  /** Takes the next ticket number. Numbers are never reused; a crash before commit leaves a gap. */
  reserveTicketNumber(digits: number): Promise<string>;

  // Processing results.
  /**
   * Records one message's outcome with its ticket, documents and outbox mails, in one transaction.
   * When an outcome with the same key exists, writes nothing and returns the existing one.
   */
  commitProcessing(commit: ProcessingCommit): Promise<{ outcome: OutcomeRecord; duplicate: boolean }>;
  findOutcome(key: string): Promise<OutcomeRecord | null>;
  /** Outcomes of messages that carried this Message-ID, oldest first. */
  findOutcomesByMessageId(messageId: string, limit: number): Promise<OutcomeRecord[]>;
  listOutcomes(filter?: OutcomeFilter): Promise<OutcomeRecord[]>;

  // Transactional outbox.
  /** Pending mails due at `now` (a mail that failed is not due before its retry time), oldest first. */
  listPendingMail(limit: number, now: Date): Promise<PendingMail[]>;
  markMailSent(id: string, sentAt: Date): Promise<void>;
  /** Records a failed send; a final failure gives up on the mail (it stays in the outbox, state `failed`). */
  markMailFailed(id: string, error: string, failure: MailFailure): Promise<void>;
  /** When the earliest pending mail is due, or null when nothing is pending. */
  nextMailAttemptAt(): Promise<Date | null>;
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

  // Durable intake queue.
  /** Adds a mailbox message; returns the existing item when the mailbox id is already known. */
  enqueue(item: {
    mailboxId: string;
    source: string;
    now: Date;
  }): Promise<{ item: IntakeItem; created: boolean }>;
  /** Claims due items with a lease; an expired lease makes an item claimable again. */
  claimIntake(options: ClaimOptions): Promise<IntakeItem[]>;
  /** Releases a claim after a transient failure, to be tried again at `retryAt`. */
  retryIntake(id: string, workerId: string, error: string, retryAt: Date): Promise<void>;
  quarantineIntake(id: string, workerId: string, error: string, outcomeKey: string | null): Promise<void>;
  /** Marks a claimed item done without a new outcome (e.g. its message had been processed before). */
  finishIntake(id: string, workerId: string, outcomeKey: string): Promise<void>;
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

  // XML API (docs/xml-api.md).
  /**
   * Applies one validated XML transaction in one database transaction (all or nothing): insert when it
   * names no record id, else update (RECORD_NOT_FOUND when there is no such record, nothing written).
   * A new ticket gets the next ticket number; `author` is recorded as the creator or updater.
   * The result is stored under `key` (message key + transaction index): called again with the same key,
   * it returns the stored result and writes nothing.
   */
  applyXmlTransaction(
    key: string,
    transaction: ValidatedXmlTransaction,
    author: string,
  ): Promise<XmlTransactionResult>;
}
