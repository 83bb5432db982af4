import type { Ticket } from '../../domain/crm.ts';
import type { EmailAttachment } from '../../domain/email.ts';
import type { OutcomeRecord } from './outcome-log.ts';
import type { NewOutgoingMail } from './outbox.ts';

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

/** Everything one processed message writes, committed in one transaction. */
export interface ProcessingCommit {
  /** `mailbox` may be left out: null. */
  outcome: Omit<OutcomeRecord, 'createdAt' | 'mailbox'> & { mailbox?: string | null };
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

/** The one write of a processed message. */
export interface UnitOfWork {
  /**
   * Records one message's outcome with its ticket, ticket update, history, documents (and their thread
   * references), outbox mails and intake item, in one transaction. Whether an outcome already recorded under the
   * same key (or under the intake item's provisional key) gives way is `outcomeSupersedes`
   * (domain/outcomes.ts); when it does not, writes nothing but finishing the intake item and returns it.
   */
  commitProcessing(commit: ProcessingCommit): Promise<{ outcome: OutcomeRecord; duplicate: boolean }>;
}
