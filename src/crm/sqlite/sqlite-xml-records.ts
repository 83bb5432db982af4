import type Database from 'better-sqlite3';
import { classifyEmailField } from '../../domain/addresses.ts';
import { xmlDataKinds } from '../../domain/xml-api/data-kinds.ts';
import { xmlApiError } from '../../domain/xml-api/xml-api-errors.ts';
import type { XmlApiError } from '../../domain/xml-api/xml-api-errors.ts';
import type {
  ValidatedXmlTransaction,
  XmlColumnValue,
  XmlDataKind,
  XmlTransactionResult,
} from '../../domain/xml-api/xml-transaction.ts';

type Row = Record<string, unknown>;

const tables: Readonly<Record<XmlDataKind, string>> = {
  ACCOUNT: 'accounts',
  TICKET: 'tickets',
  ASSET: 'assets',
  'HISTORY-NOTE': 'history_notes',
  CHARGE: 'charges',
};

/** The FLD code that names a column, so that a store error points at the element the caller wrote. */
function codeOf(dataKind: XmlDataKind, column: string): string {
  return xmlDataKinds[dataKind].fields.find((field) => field.column === column)?.code ?? column;
}

/** Only the field table's columns reach SQL text; values always go as parameters. */
function checkedColumns(transaction: ValidatedXmlTransaction): string[] {
  const allowed = new Set(xmlDataKinds[transaction.dataKind].fields.map((field) => field.column));
  const columns = Object.keys(transaction.values);
  for (const column of columns) {
    if (!allowed.has(column)) throw new Error(`column ${column} is not a field of ${transaction.dataKind}`);
  }
  return columns;
}

const text = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

class Links {
  readonly errors: XmlApiError[] = [];
  readonly #db: Database.Database;
  readonly #dataKind: XmlDataKind;

  constructor(db: Database.Database, dataKind: XmlDataKind) {
    this.#db = db;
    this.#dataKind = dataKind;
  }

  /** The linked row, or null with a LINKED_RECORD_NOT_FOUND error. */
  find(table: string, column: string, id: string): Row | null {
    const row = this.#db.prepare(`SELECT * FROM ${table} WHERE id = ?`).get(id) as Row | undefined;
    if (row) return row;
    const code = codeOf(this.#dataKind, column);
    this.errors.push(
      xmlApiError('LINKED_RECORD_NOT_FOUND', `${code}: no ${table.replace(/s$/, '')} "${id}"`, code),
    );
    return null;
  }

  mismatch(column: string, message: string): void {
    const code = codeOf(this.#dataKind, column);
    this.errors.push(xmlApiError('LINK_MISMATCH', `${code}: ${message}`, code));
  }
}

/**
 * Checks the records a transaction links to and completes the values the links imply (a charge's
 * account from its ticket). `current` is the record being updated, or null for an insert.
 */
function checkLinks(
  db: Database.Database,
  transaction: ValidatedXmlTransaction,
  current: Row | null,
  values: Record<string, XmlColumnValue>,
): XmlApiError[] {
  const links = new Links(db, transaction.dataKind);
  const merged: Row = { ...current, ...values };
  const given = (column: string): string | null => (column in values ? text(values[column]) : null);
  const accountId = text(merged.account_id);

  if (given('account_id') !== null) links.find('accounts', 'account_id', given('account_id')!);
  if (given('worker_id') !== null) links.find('employees', 'worker_id', given('worker_id')!);
  if (given('employee_id') !== null) links.find('employees', 'employee_id', given('employee_id')!);

  if (transaction.dataKind === 'TICKET') {
    const contactId = text(merged.contact_id);
    if (contactId !== null && ('contact_id' in values || 'account_id' in values)) {
      const contact = links.find('contacts', 'contact_id', contactId);
      if (contact && accountId !== null && text(contact.account_id) !== accountId) {
        links.mismatch('contact_id', `contact "${contactId}" is not a contact of account "${accountId}"`);
      }
    }
  }
  if (transaction.dataKind === 'CHARGE') {
    const ticketId = text(merged.ticket_id);
    if (ticketId !== null && ('ticket_id' in values || 'account_id' in values)) {
      const ticket = links.find('tickets', 'ticket_id', ticketId);
      if (ticket && accountId === null) values.account_id = text(ticket.account_id);
      else if (ticket && text(ticket.account_id) !== accountId) {
        links.mismatch(
          'ticket_id',
          `ticket "${ticketId}" belongs to account "${text(ticket.account_id)}", not "${accountId}"`,
        );
      }
    }
  }
  return links.errors;
}

/** The next ticket number, taken exactly as `reserveTicketNumber` does, inside the caller's transaction. */
function nextTicketSeq(db: Database.Database): number {
  const highest = Number((db.prepare('SELECT coalesce(max(seq), 0) AS n FROM tickets').get() as Row).n);
  const counter = db.prepare(`SELECT value FROM counters WHERE name = 'ticket'`).get() as Row | undefined;
  const next = Math.max(highest, counter ? Number(counter.value) : 0) + 1;
  db.prepare(
    `INSERT INTO counters (name, value) VALUES ('ticket', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`,
  ).run(next);
  return next;
}

function write(
  db: Database.Database,
  transaction: ValidatedXmlTransaction,
  values: Record<string, XmlColumnValue>,
  author: string,
  now: string,
): { ticketNumber: string | null } {
  const table = tables[transaction.dataKind];
  const row: Record<string, XmlColumnValue> = { ...values };
  if (transaction.dataKind === 'ACCOUNT') {
    // Match keys are written with the address, so a bare domain takes part in domain matching at once.
    for (const column of ['email1', 'email2'] as const) {
      if (column in row) row[`${column}_key`] = classifyEmailField(text(row[column]))?.value ?? null;
    }
  }
  let ticketNumber: string | null = null;
  if (transaction.operation === 'insert') {
    if (transaction.dataKind === 'ACCOUNT') {
      row.company ??= row.file_as ?? '';
      row.file_as ??= row.company;
    }
    if (transaction.dataKind === 'TICKET') {
      const seq = nextTicketSeq(db);
      ticketNumber = String(seq).padStart(transaction.ticketNumberDigits, '0');
      row.seq = seq;
      row.number = ticketNumber;
    }
    Object.assign(row, { id: transaction.recordId, created_by: author, created_at: now, updated_at: now });
    const columns = Object.keys(row);
    db.prepare(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `@p${i}`).join(', ')})`,
    ).run(Object.fromEntries(columns.map((column, i) => [`p${i}`, row[column]])));
  } else {
    Object.assign(row, { updated_by: author, updated_at: now });
    const columns = Object.keys(row);
    db.prepare(
      `UPDATE ${table} SET ${columns.map((column, i) => `${column} = @p${i}`).join(', ')} WHERE id = @id`,
    ).run({
      ...Object.fromEntries(columns.map((column, i) => [`p${i}`, row[column]])),
      id: transaction.recordId,
    });
    if (transaction.dataKind === 'TICKET') {
      ticketNumber = text(
        (db.prepare('SELECT number FROM tickets WHERE id = ?').get(transaction.recordId) as Row).number,
      );
    }
  }
  return { ticketNumber };
}

function apply(
  db: Database.Database,
  transaction: ValidatedXmlTransaction,
  author: string,
  now: string,
): XmlTransactionResult {
  const { dataKind, operation, recordId } = transaction;
  checkedColumns(transaction);
  const table = tables[dataKind];
  let current: Row | null = null;
  if (operation === 'update') {
    current = (db.prepare(`SELECT * FROM ${table} WHERE id = ?`).get(recordId) as Row | undefined) ?? null;
    if (!current) {
      const field = xmlDataKinds[dataKind].recordIdField;
      return {
        status: 'failure',
        dataKind,
        operation,
        recordId,
        errors: [
          xmlApiError('RECORD_NOT_FOUND', `${field}: no ${dataKind} with record id "${recordId}"`, field),
        ],
      };
    }
  }
  const values: Record<string, XmlColumnValue> = { ...transaction.values };
  const errors = checkLinks(db, transaction, current, values);
  if (errors.length > 0)
    return { status: 'failure', dataKind, operation, recordId: current ? recordId : null, errors };
  const { ticketNumber } = write(db, transaction, values, author, now);
  const accountId = dataKind === 'ACCOUNT' ? recordId : text({ ...current, ...values }.account_id)!;
  return { status: 'success', dataKind, operation, recordId, accountId, ticketNumber };
}

/**
 * Applies one validated XML transaction in one database transaction: all of it or nothing.
 * The result is stored under `key` (message key + transaction index): a retry returns it unchanged.
 */
export function applyXmlTransactionSqlite(
  db: Database.Database,
  key: string,
  transaction: ValidatedXmlTransaction,
  author: string,
): XmlTransactionResult {
  const run = db.transaction((): XmlTransactionResult => {
    const stored = db.prepare('SELECT result FROM api_results WHERE key = ?').get(key) as Row | undefined;
    if (stored) return JSON.parse(String(stored.result)) as XmlTransactionResult;
    const now = new Date().toISOString();
    const result = apply(db, transaction, author, now);
    db.prepare('INSERT INTO api_results (key, result, created_at) VALUES (?, ?, ?)').run(
      key,
      JSON.stringify(result),
      now,
    );
    return result;
  });
  return run.immediate();
}
