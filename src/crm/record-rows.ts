import type { Account, Employee, Ticket } from '../domain/crm.ts';
import type { IntakeItem, IntakeState, OutcomeRecord, PendingOriginal } from './crm-store.ts';

/** One row as a driver returns it, columns by name. */
export type Row = Record<string, unknown>;

/**
 * A database row → the port's record, for every adapter: SQLite hands back text and integers, SQL Server also
 * datetime2 as Date, bit as boolean and bigint as text; both end up as the same record.
 */

export const str = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

export const strOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

/** A time column as the ISO text the port speaks (SQL Server's datetime2 arrives as a Date; SQLite keeps the text). */
export const isoOrNull = (value: unknown): string | null =>
  value instanceof Date ? value.toISOString() : strOrNull(value);

export const iso = (value: unknown): string => isoOrNull(value) ?? '';

export function toAccount(row: Row): Account {
  return {
    id: str(row.id),
    company: str(row.company),
    fileAs: str(row.file_as),
    email1: strOrNull(row.email1),
    email2: strOrNull(row.email2),
    accountNumber: strOrNull(row.account_number),
    foreignId: strOrNull(row.foreign_id),
    customFields: JSON.parse(str(row.custom_fields) || '{}') as Record<string, string>,
    contact: strOrNull(row.contact),
    phone: strOrNull(row.phone),
    address: strOrNull(row.address),
    city: strOrNull(row.city),
    zip: strOrNull(row.zip),
    country: strOrNull(row.country),
  };
}

export function toTicket(row: Row): Ticket {
  return {
    id: str(row.id),
    number: str(row.number),
    accountId: str(row.account_id),
    contactId: strOrNull(row.contact_id),
    subject: str(row.subject),
    status: str(row.status),
    priority: strOrNull(row.priority),
    kind: strOrNull(row.kind),
    source: strOrNull(row.source),
    createdAt: str(row.created_at),
    updatedAt: str(row.updated_at),
  };
}

/** The values of a ticket's row that both adapters write, from a ticket (new or imported). */
export function ticketValues(
  ticket: Pick<
    Ticket,
    'number' | 'accountId' | 'contactId' | 'subject' | 'status' | 'priority' | 'kind' | 'source'
  >,
) {
  return {
    // Exact: ticket numbers have at most fifteen digits.
    seq: Number(ticket.number),
    number: ticket.number,
    accountId: ticket.accountId,
    contactId: ticket.contactId,
    subject: ticket.subject,
    status: ticket.status,
    priority: ticket.priority,
    kind: ticket.kind,
    source: ticket.source,
  };
}

export function toEmployee(row: Row): Employee {
  return {
    id: str(row.id),
    name: str(row.name),
    email1: strOrNull(row.email1),
    email2: strOrNull(row.email2),
    active: row.active === true || Number(row.active) === 1,
  };
}

export function toOutcome(row: Row): OutcomeRecord {
  return {
    key: str(row.key),
    source: str(row.source),
    mailbox: strOrNull(row.mailbox),
    messageId: strOrNull(row.message_id),
    from: strOrNull(row.from_address),
    subject: str(row.subject),
    action: str(row.action) as OutcomeRecord['action'],
    code: str(row.code),
    reason: str(row.reason),
    ticketNumber: strOrNull(row.ticket_number),
    accountId: strOrNull(row.account_id),
    flags: JSON.parse(str(row.flags)) as string[],
    forwardedTo: JSON.parse(str(row.forwarded_to)) as string[],
    sent: JSON.parse(str(row.sent)) as OutcomeRecord['sent'],
    details: row.details ? (JSON.parse(str(row.details)) as Record<string, unknown>) : null,
    createdAt: iso(row.created_at),
  };
}

export function toIntake(row: Row): IntakeItem {
  return {
    id: str(row.id),
    mailboxId: str(row.mailbox_id),
    source: str(row.source),
    state: str(row.state) as IntakeState,
    attempts: Number(row.attempts),
    lastError: strOrNull(row.last_error),
    outcomeKey: strOrNull(row.outcome_key),
    enqueuedAt: iso(row.enqueued_at),
    nextAttemptAt: iso(row.next_attempt_at),
    settledAt: isoOrNull(row.settled_at),
  };
}

/**
 * Where a pending outbox mail's original is kept, from its `held` flag (the outbox keeps one: SQLite 1/0, SQL
 * Server's bit true/false) and its `original_document_id`; null when the mail is whole.
 */
export function toPendingOriginal(row: Row): PendingOriginal | null {
  if (Number(row.held) === 1) return { kind: 'held' };
  const documentId = strOrNull(row.original_document_id);
  return documentId ? { kind: 'document', documentId } : null;
}
