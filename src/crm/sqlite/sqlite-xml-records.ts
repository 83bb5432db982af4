import type Database from 'better-sqlite3';
import { xmlDataKinds, xmlLinkTargets } from '../../domain/xml-api/data-kinds.ts';
import {
  checkXmlRecord,
  linkKey,
  xmlRecordResult,
  xmlRecordRow,
  xmlStoredRow,
  type LinkedRecord,
  type StoredRecord,
  type XmlRecordLookup,
} from '../../domain/xml-api/record-checks.ts';
import type {
  ValidatedXmlTransaction,
  XmlColumnValue,
  XmlTransactionResult,
} from '../../domain/xml-api/xml-transaction.ts';
import { takeNextTicketSequence } from './sqlite-ticket-numbers.ts';

type Row = Record<string, unknown>;

/** Table names come from the domain's tables, never from a transaction; ids always go as parameters. */
function findRow(db: Database.Database, table: string, id: string): Row | null {
  return (db.prepare(`SELECT * FROM ${table} WHERE id = ?`).get(id) as Row | undefined) ?? null;
}

function answer(
  db: Database.Database,
  lookup: XmlRecordLookup,
  records: Map<string, LinkedRecord | null>,
  ticketNumbersTaken: Map<number, boolean>,
): void {
  if (lookup.kind === 'ticket-number') {
    ticketNumbersTaken.set(
      lookup.sequence,
      db.prepare('SELECT 1 FROM tickets WHERE seq = ?').get(lookup.sequence) !== undefined,
    );
    return;
  }
  const target = xmlLinkTargets[lookup.target];
  const row = findRow(db, target.table, lookup.id);
  const accountId = row && target.belongsToAccount ? row.account_id : null;
  records.set(
    linkKey(lookup.target, lookup.id),
    row ? { accountId: accountId === null || accountId === undefined ? null : String(accountId) } : null,
  );
}

function write(
  db: Database.Database,
  transaction: ValidatedXmlTransaction,
  columns: Record<string, XmlColumnValue>,
  ticketSequence: number | null,
): void {
  const { table } = xmlDataKinds[transaction.dataKind];
  const row = xmlStoredRow(transaction, columns, ticketSequence);
  const names = Object.keys(row);
  const parameters = Object.fromEntries(names.map((column, i) => [`p${i}`, row[column]]));
  if (transaction.operation === 'insert') {
    db.prepare(
      `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `@p${i}`).join(', ')})`,
    ).run(parameters);
  } else {
    db.prepare(
      `UPDATE ${table} SET ${names.map((column, i) => `${column} = @p${i}`).join(', ')} WHERE id = @id`,
    ).run({ ...parameters, id: transaction.recordId });
  }
}

/** Checks (domain/xml-api/record-checks.ts) and writes one transaction, inside the caller's transaction. */
function apply(
  db: Database.Database,
  transaction: ValidatedXmlTransaction,
  author: string,
  now: string,
): XmlTransactionResult {
  const { table } = xmlDataKinds[transaction.dataKind];
  const current: StoredRecord | null =
    transaction.operation === 'update' ? findRow(db, table, transaction.recordId) : null;
  const records = new Map<string, LinkedRecord | null>();
  const ticketNumbersTaken = new Map<number, boolean>();
  for (;;) {
    const check = checkXmlRecord(transaction, { current, records, ticketNumbersTaken });
    if (check.kind === 'refused') return check.result;
    if (check.kind === 'lookup') {
      for (const lookup of check.lookups) answer(db, lookup, records, ticketNumbersTaken);
      continue;
    }
    const reserved = check.needsTicketNumber ? takeNextTicketSequence(db) : null;
    const row = xmlRecordRow(transaction, check.values, { author, now, ticketSequence: reserved, current });
    write(db, transaction, row.columns, row.ticketSequence);
    return xmlRecordResult(transaction, check.values, current, row.ticketNumber);
  }
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
  now: Date,
): XmlTransactionResult {
  const run = db.transaction((): XmlTransactionResult => {
    const stored = db.prepare('SELECT result FROM api_results WHERE key = ?').get(key) as Row | undefined;
    if (stored) return JSON.parse(String(stored.result)) as XmlTransactionResult;
    const result = apply(db, transaction, author, now.toISOString());
    db.prepare('INSERT INTO api_results (key, result, created_at) VALUES (?, ?, ?)').run(
      key,
      JSON.stringify(result),
      now.toISOString(),
    );
    return result;
  });
  return run.immediate();
}
