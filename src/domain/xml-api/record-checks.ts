import { classifyEmailField } from '../addresses.ts';
import { formatTicketNumber } from '../ticket-tag.ts';
import { ticketSequenceOf } from '../ticket-numbers.ts';
import { codeOfColumn, xmlDataKinds, xmlLinkTargets } from './data-kinds.ts';
import type { XmlDataKindSpec, XmlLinkTarget } from './data-kinds.ts';
import { xmlApiError } from './xml-api-errors.ts';
import type { XmlApiError, XmlApiErrorCode } from './xml-api-errors.ts';
import type { ValidatedXmlTransaction, XmlColumnValue, XmlTransactionResult } from './xml-transaction.ts';

/*
 * What applying a validated XML transaction needs to know from the database, and what it then writes. A store
 * runs it as a loop inside its transaction:
 *
 *   current = the record an update changes (`SELECT * FROM spec.table WHERE id = …`), null for an insert
 *   until checkXmlRecord(…) answers something other than `lookup`: answer each lookup, ask again
 *   refused → store the result; write → xmlRecordRow(…), insert or update, then xmlRecordResult(…)
 *
 * so that every rule (which links are checked when, which account a record takes from its ticket, which ticket
 * numbers an insert may choose) lives here once, and a store only answers "does this record exist, and whose is it".
 */

/** A row as the store holds it (column → value). */
export type StoredRecord = Readonly<Record<string, unknown>>;

/** A linked record as the store found it: the account it belongs to, for kinds that belong to one. */
export interface LinkedRecord {
  accountId: string | null;
}

/** A question for the store: does this record exist (and whose is it), is this ticket number taken. */
export type XmlRecordLookup =
  { kind: 'record'; target: XmlLinkTarget; id: string } | { kind: 'ticket-number'; sequence: number };

/** The answers so far. */
export interface XmlRecordFacts {
  /** The record an update changes, as stored; null for an insert (or an update of a record that does not exist). */
  current: StoredRecord | null;
  /** By `linkKey(target, id)`: the record found, or null when there is none. */
  records: ReadonlyMap<string, LinkedRecord | null>;
  /** By ticket sequence: whether a ticket has that number. */
  ticketNumbersTaken: ReadonlyMap<number, boolean>;
}

export type XmlRecordCheck =
  /** Answer these and ask again. */
  | { kind: 'lookup'; lookups: XmlRecordLookup[] }
  /** Nothing is written; the result says why. */
  | { kind: 'refused'; result: XmlTransactionResult }
  /**
   * Write these values (the transaction's, completed). `needsTicketNumber`: a new ticket that takes the next
   * number, which the store reserves and passes to `xmlRecordRow`.
   */
  | { kind: 'write'; values: Record<string, XmlColumnValue>; needsTicketNumber: boolean };

/** The key of a linked record in `XmlRecordFacts.records`. */
export function linkKey(target: XmlLinkTarget, id: string): string {
  return `${target}:${id}`;
}

const text = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

/** Tickets first: a ticket may supply the account that a contact or asset is then checked against. */
const linkOrder: readonly XmlLinkTarget[] = ['ticket', 'account', 'employee', 'contact', 'asset'];

/** One pass over the checks with what is known so far: refusals, and the lookups still missing. */
class Pass {
  readonly errors: XmlApiError[] = [];
  readonly lookups: XmlRecordLookup[] = [];
  readonly #spec: XmlDataKindSpec;
  readonly #facts: XmlRecordFacts;

  constructor(spec: XmlDataKindSpec, facts: XmlRecordFacts) {
    this.#spec = spec;
    this.#facts = facts;
  }

  /** The linked record; null with LINKED_RECORD_NOT_FOUND when it does not exist; undefined until looked up. */
  linked(target: XmlLinkTarget, column: string, id: string): LinkedRecord | null | undefined {
    const key = linkKey(target, id);
    if (!this.#facts.records.has(key)) {
      this.lookups.push({ kind: 'record', target, id });
      return undefined;
    }
    const found = this.#facts.records.get(key) ?? null;
    if (!found) {
      const code = codeOfColumn(this.#spec, column);
      this.errors.push(xmlApiError('LINKED_RECORD_NOT_FOUND', `${code}: no ${target} "${id}"`, code));
    }
    return found;
  }

  /** Whether a ticket has the number; undefined until looked up. */
  ticketNumberTaken(sequence: number): boolean | undefined {
    const taken = this.#facts.ticketNumbersTaken.get(sequence);
    if (taken === undefined) this.lookups.push({ kind: 'ticket-number', sequence });
    return taken;
  }

  refuse(code: XmlApiErrorCode, column: string, message: string): void {
    const field = codeOfColumn(this.#spec, column);
    this.errors.push(xmlApiError(code, `${field}: ${message}`, field));
  }
}

/**
 * Checks the records a transaction links to and completes the values the links imply (a charge's account from
 * its ticket). A link is checked when the transaction sets it; a contact, ticket or asset also when the record's
 * account changes, since it must belong to that account.
 */
function checkLinks(
  pass: Pass,
  spec: XmlDataKindSpec,
  current: StoredRecord | null,
  values: Record<string, XmlColumnValue>,
): void {
  const merged = (column: string): string | null =>
    text(column in values ? values[column] : current?.[column]);
  const linkColumns = new Map<string, XmlLinkTarget>();
  for (const field of spec.fields) if (field.link) linkColumns.set(field.column, field.link);
  const ordered = [...linkColumns].sort(([, a], [, b]) => linkOrder.indexOf(a) - linkOrder.indexOf(b));

  for (const [column, target] of ordered) {
    const id = merged(column);
    if (id === null) continue;
    if (!xmlLinkTargets[target].belongsToAccount) {
      if (column in values) pass.linked(target, column, id);
      continue;
    }
    if (!(column in values) && !('account_id' in values)) continue;
    const linked = pass.linked(target, column, id);
    if (!linked) continue;
    const accountId = merged('account_id');
    if (accountId === null && target === 'ticket' && spec.accountFromTicket) {
      values.account_id = linked.accountId;
    } else if (accountId !== null && linked.accountId !== accountId) {
      pass.refuse(
        'LINK_MISMATCH',
        column,
        `${target} "${id}" belongs to account "${linked.accountId}", not "${accountId}"`,
      );
    }
  }
}

/**
 * A ticket's number is the connector's (threading finds tickets by it): an insert may choose an unused one, an
 * update may only repeat it.
 */
function checkTicketNumber(
  pass: Pass,
  current: StoredRecord | null,
  values: Record<string, XmlColumnValue>,
): void {
  if (!('number' in values)) return;
  const sequence = Number(values.number);
  if (current) {
    if (sequence !== ticketSequenceOf(text(current.number) ?? '')) {
      pass.refuse(
        'INVALID_VALUE',
        'number',
        `the ticket's number is ${text(current.number)} and cannot be changed`,
      );
    }
    delete values.number;
  } else if (!Number.isSafeInteger(sequence) || sequence < 1) {
    pass.refuse('INVALID_VALUE', 'number', 'a ticket number is 1 or more');
  } else if (pass.ticketNumberTaken(sequence)) {
    pass.refuse('INVALID_VALUE', 'number', `ticket number ${text(values.number)} is already in use`);
  }
}

/** Only the field table's columns may reach a store's SQL text; values always go as parameters. */
function assertKnownColumns(spec: XmlDataKindSpec, transaction: ValidatedXmlTransaction): void {
  const allowed = new Set(spec.fields.map((field) => field.column));
  for (const column of Object.keys(transaction.values)) {
    if (!allowed.has(column)) throw new Error(`column ${column} is not a field of ${transaction.dataKind}`);
  }
}

/** What to do with a transaction, given the facts so far (see the top of this file). */
export function checkXmlRecord(transaction: ValidatedXmlTransaction, facts: XmlRecordFacts): XmlRecordCheck {
  const { dataKind, operation, recordId } = transaction;
  const spec = xmlDataKinds[dataKind];
  assertKnownColumns(spec, transaction);
  const { current } = facts;
  if (operation === 'update' && !current) {
    const field = spec.recordIdField;
    return {
      kind: 'refused',
      result: {
        status: 'failure',
        dataKind,
        operation,
        recordId,
        errors: [
          xmlApiError('RECORD_NOT_FOUND', `${field}: no ${dataKind} with record id "${recordId}"`, field),
        ],
      },
    };
  }
  const values: Record<string, XmlColumnValue> = { ...transaction.values };
  const pass = new Pass(spec, facts);
  checkLinks(pass, spec, current, values);
  if (dataKind === 'TICKET') checkTicketNumber(pass, current, values);
  if (pass.lookups.length > 0) return { kind: 'lookup', lookups: pass.lookups };
  if (pass.errors.length > 0) {
    return {
      kind: 'refused',
      result: {
        status: 'failure',
        dataKind,
        operation,
        recordId: current ? recordId : null,
        errors: pass.errors,
      },
    };
  }
  const needsTicketNumber = dataKind === 'TICKET' && operation === 'insert' && values.number === undefined;
  return { kind: 'write', values, needsTicketNumber };
}

/**
 * The columns to write for checked values: the record id of an insert, a new ticket's number, and the audit
 * columns. The audit fields a transaction names win over who sent it and when. `ticketSequence` is the number
 * the store reserved when the check asked for one.
 */
export function xmlRecordRow(
  transaction: ValidatedXmlTransaction,
  values: Readonly<Record<string, XmlColumnValue>>,
  context: { author: string; now: string; ticketSequence: number | null; current: StoredRecord | null },
): { columns: Record<string, XmlColumnValue>; ticketSequence: number | null; ticketNumber: string | null } {
  const columns: Record<string, XmlColumnValue> = { ...values };
  if (transaction.operation === 'update') {
    columns.updated_by ??= context.author;
    columns.updated_at ??= context.now;
    // A ticket's number cannot change (checkTicketNumber), so the stored one is the result's.
    const ticketNumber = transaction.dataKind === 'TICKET' ? text(context.current?.number) : null;
    return { columns, ticketSequence: null, ticketNumber };
  }
  let ticketSequence: number | null = null;
  let ticketNumber: string | null = null;
  if (transaction.dataKind === 'TICKET') {
    ticketSequence = columns.number !== undefined ? Number(columns.number) : context.ticketSequence;
    if (ticketSequence === null) throw new Error('a new ticket needs a reserved ticket number');
    ticketNumber = formatTicketNumber(ticketSequence, { digits: transaction.ticketNumberDigits });
    columns.number = ticketNumber;
  }
  columns.id = transaction.recordId;
  columns.created_by ??= context.author;
  columns.created_at ??= context.now;
  columns.updated_at ??= context.now;
  return { columns, ticketSequence, ticketNumber };
}

/** The result of a written transaction: the record, the account it belongs to, a ticket's number. */
export function xmlRecordResult(
  transaction: ValidatedXmlTransaction,
  values: Readonly<Record<string, XmlColumnValue>>,
  current: StoredRecord | null,
  ticketNumber: string | null,
): XmlTransactionResult {
  const { dataKind, operation, recordId } = transaction;
  const accountId =
    dataKind === 'ACCOUNT'
      ? recordId
      : text('account_id' in values ? values.account_id : current?.account_id);
  return { status: 'success', dataKind, operation, recordId, accountId, ticketNumber };
}

/**
 * The row as every store writes it: the record's columns, plus an account's email match keys (written with the
 * address, so a bare domain takes part in domain matching at once) and a new ticket's sequence number.
 */
export function xmlStoredRow(
  transaction: ValidatedXmlTransaction,
  columns: Readonly<Record<string, XmlColumnValue>>,
  ticketSequence: number | null,
): Record<string, XmlColumnValue> {
  const row: Record<string, XmlColumnValue> = { ...columns };
  if (transaction.dataKind === 'ACCOUNT') {
    for (const column of ['email1', 'email2'] as const) {
      if (column in row) {
        const value = row[column];
        row[`${column}_key`] = classifyEmailField(value === null ? null : String(value))?.value ?? null;
      }
    }
  }
  if (ticketSequence !== null) row.seq = ticketSequence;
  return row;
}
