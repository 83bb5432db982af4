import type { OutcomeAction } from '../../domain/decision.ts';
import type { NewOutgoingMail } from './outbox.ts';

/** What became of one message (docs/outcomes.md); one per message key. */
export interface OutcomeRecord {
  key: string;
  source: string;
  /**
   * The support mailbox the message came to: its address (or SUPPORT_MAILBOX as configured), `local` for the local
   * folder; null for a file given to `process`, and for outcomes recorded before mailboxes were recorded.
   */
  mailbox: string | null;
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

export interface OutcomeFilter {
  action?: OutcomeAction;
  limit?: number;
}

/** The recorded outcomes, read back. They are written only by `UnitOfWork.commitProcessing`. */
export interface OutcomeLog {
  findOutcome(key: string): Promise<OutcomeRecord | null>;
  /** Outcomes of messages that carried this Message-ID, oldest first. */
  findOutcomesByMessageId(messageId: string, limit: number): Promise<OutcomeRecord[]>;
  /** Newest first; 100 unless `limit` says otherwise. */
  listOutcomes(filter?: OutcomeFilter): Promise<OutcomeRecord[]>;
}
