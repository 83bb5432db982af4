import type Database from 'better-sqlite3';
import { classifyEmailField } from '../../domain/addresses.ts';
import { codeOfColumn, xmlDataKinds } from '../../domain/xml-api/data-kinds.ts';
import type { XmlDataKindSpec, XmlLinkTarget } from '../../domain/xml-api/data-kinds.ts';
import { xmlApiError } from '../../domain/xml-api/xml-api-errors.ts';
import type { XmlApiError, XmlApiErrorCode } from '../../domain/xml-api/xml-api-errors.ts';
import type {
  ValidatedXmlTransaction,
  XmlColumnValue,
  XmlTransactionResult,
} from '../../domain/xml-api/xml-transaction.ts';

type Row = Record<string, unknown>;

const linkTables: Readonly<Record<XmlLinkTarget, string>> = {
  account: 'accounts',
  contact: 'contacts',
  ticket: 'tickets',
  employee: 'employees',
  asset: 'assets',
};

/** Only the field table's columns reach SQL text; values always go as parameters. */
function checkedColumns(spec: XmlDataKindSpec, transaction: ValidatedXmlTransaction): string[] {
  const allowed = new Set(spec.fields.map((field) => field.column));
  const columns = Object.keys(transaction.values);
  for (const column of columns) {
    if (!allowed.has(column)) throw new Error(`column ${column} is not a field of ${transaction.dataKind}`);
  }
  return columns;
}

const text = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

/** Collects refusals, each naming the CRM's code for the column at fault. */
class Refusals {
  readonly errors: XmlApiError[] = [];
  readonly #db: Database.Database;
  readonly #spec: XmlDataKindSpec;

  constructor(db: Database.Database, spec: XmlDataKindSpec) {
    this.#db = db;
    this.#spec = spec;
  }

  /** The linked row, or null with a LINKED_RECORD_NOT_FOUND error. */
  find(target: XmlLinkTarget, column: string, id: string): Row | null {
    const row = this.#db.prepare(`SELECT * FROM ${linkTables[target]} WHERE id = ?`).get(id) as
      Row | undefined;
    if (row) return row;
    const code = codeOfColumn(this.#spec, column);
    this.errors.push(xmlApiError('LINKED_RECORD_NOT_FOUND', `${code}: no ${target} "${id}"`, code));
    return null;
  }

  add(code: XmlApiErrorCode, column: string, message: string): void {
    const field = codeOfColumn(this.#spec, column);
    this.errors.push(xmlApiError(code, `${field}: ${message}`, field));
  }
}

/** Tickets first: a ticket may supply the account that a contact or asset is then checked against. */
const linkOrder: readonly XmlLinkTarget[] = ['ticket', 'account', 'employee', 'contact', 'asset'];

/**
 * Checks the records a transaction links to and completes the values the links imply (a charge's
 * account from its ticket). `current` is the record being updated, or null for an insert.
 */
function checkLinks(
  refusals: Refusals,
  spec: XmlDataKindSpec,
  current: Row | null,
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
    if (target === 'account' || target === 'employee') {
      if (column in values) refusals.find(target, column, id);
      continue;
    }
    // A contact, ticket or asset belongs to an account: check it again when the record's account changes.
    if (!(column in values) && !('account_id' in values)) continue;
    const linked = refusals.find(target, column, id);
    if (!linked) continue;
    const accountId = merged('account_id');
    const linkedAccount = text(linked.account_id);
    if (accountId === null && target === 'ticket' && spec.accountFromTicket) {
      values.account_id = linkedAccount;
    } else if (accountId !== null && linkedAccount !== accountId) {
      refusals.add(
        'LINK_MISMATCH',
        column,
        `${target} "${id}" belongs to account "${linkedAccount}", not "${accountId}"`,
      );
    }
  }
}

/**
 * A ticket's number is the connector's (threading finds tickets by it): an insert may choose an unused
 * one, an update may only repeat it.
 */
function checkTicketNumber(
  db: Database.Database,
  refusals: Refusals,
  current: Row | null,
  values: Record<string, XmlColumnValue>,
): void {
  if (!('number' in values)) return;
  const seq = Number(values.number);
  if (current) {
    if (seq !== Number(current.seq)) {
      refusals.add(
        'INVALID_VALUE',
        'number',
        `the ticket's number is ${text(current.number)} and cannot be changed`,
      );
    }
    delete values.number;
  } else if (!Number.isSafeInteger(seq) || seq < 1) {
    refusals.add('INVALID_VALUE', 'number', 'a ticket number is 1 or more');
  } else if (db.prepare('SELECT 1 FROM tickets WHERE seq = ?').get(seq)) {
    refusals.add('INVALID_VALUE', 'number', `ticket number ${text(values.number)} is already in use`);
  }
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
  spec: XmlDataKindSpec,
  transaction: ValidatedXmlTransaction,
  values: Record<string, XmlColumnValue>,
  author: string,
  now: string,
): { ticketNumber: string | null } {
  const row: Record<string, XmlColumnValue> = { ...values };
  if (transaction.dataKind === 'ACCOUNT') {
    // Match keys are written with the address, so a bare domain takes part in domain matching at once.
    for (const column of ['email1', 'email2'] as const) {
      if (column in row) row[`${column}_key`] = classifyEmailField(text(row[column]))?.value ?? null;
    }
  }
  let ticketNumber: string | null = null;
  if (transaction.operation === 'insert') {
    if (transaction.dataKind === 'TICKET') {
      const seq = row.number !== undefined ? Number(row.number) : nextTicketSeq(db);
      ticketNumber = String(seq).padStart(transaction.ticketNumberDigits, '0');
      row.seq = seq;
      row.number = ticketNumber;
    }
    // The audit fields a transaction names win over who sent it and when.
    row.id = transaction.recordId;
    row.created_by ??= author;
    row.created_at ??= now;
    row.updated_at ??= now;
    const columns = Object.keys(row);
    db.prepare(
      `INSERT INTO ${spec.table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `@p${i}`).join(', ')})`,
    ).run(Object.fromEntries(columns.map((column, i) => [`p${i}`, row[column]])));
  } else {
    row.updated_by ??= author;
    row.updated_at ??= now;
    const columns = Object.keys(row);
    db.prepare(
      `UPDATE ${spec.table} SET ${columns.map((column, i) => `${column} = @p${i}`).join(', ')} WHERE id = @id`,
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
  const spec = xmlDataKinds[dataKind];
  checkedColumns(spec, transaction);
  let current: Row | null = null;
  if (operation === 'update') {
    current =
      (db.prepare(`SELECT * FROM ${spec.table} WHERE id = ?`).get(recordId) as Row | undefined) ?? null;
    if (!current) {
      const field = spec.recordIdField;
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
  const refusals = new Refusals(db, spec);
  checkLinks(refusals, spec, current, values);
  if (dataKind === 'TICKET') checkTicketNumber(db, refusals, current, values);
  if (refusals.errors.length > 0) {
    return {
      status: 'failure',
      dataKind,
      operation,
      recordId: current ? recordId : null,
      errors: refusals.errors,
    };
  }
  const { ticketNumber } = write(db, spec, transaction, values, author, now);
  const accountId =
    dataKind === 'ACCOUNT'
      ? recordId
      : text('account_id' in values ? values.account_id : current?.account_id);
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
