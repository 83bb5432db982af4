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
import type { SqlDatabase, SqlExecutor } from './sql-database.ts';
import { sqlStatements, xmlInsert, xmlRecordById, xmlUpdate } from './statements.ts';
import { storedKey } from './rows.ts';
import { takeNextTicketSequence } from './ticket-numbers.ts';

function recordById(table: string): (typeof xmlRecordById)[string] {
  const statement = xmlRecordById[table];
  if (!statement) throw new Error(`no look-up by id for table ${table}`);
  return statement;
}

async function answer(
  tx: SqlExecutor,
  lookup: XmlRecordLookup,
  records: Map<string, LinkedRecord | null>,
  ticketNumbersTaken: Map<number, boolean>,
): Promise<void> {
  if (lookup.kind === 'ticket-number') {
    const taken = await tx.row(sqlStatements.ticketSeqTaken, { seq: lookup.sequence });
    ticketNumbersTaken.set(lookup.sequence, taken !== null);
    return;
  }
  const target = xmlLinkTargets[lookup.target];
  const row = await tx.row(recordById(target.table), { id: lookup.id });
  const accountId = row && target.belongsToAccount ? row.account_id : null;
  records.set(
    linkKey(lookup.target, lookup.id),
    row ? { accountId: accountId === null || accountId === undefined ? null : String(accountId) } : null,
  );
}

async function write(
  tx: SqlExecutor,
  transaction: ValidatedXmlTransaction,
  columns: Record<string, XmlColumnValue>,
  ticketSequence: number | null,
): Promise<void> {
  const spec = xmlDataKinds[transaction.dataKind];
  const row = xmlStoredRow(transaction, columns, ticketSequence);
  const names = Object.keys(row);
  const values = Object.fromEntries(names.map((column, i) => [`p${i}`, row[column]]));
  if (transaction.operation === 'insert') await tx.run(xmlInsert(spec, names), values);
  else await tx.run(xmlUpdate(spec, names), { ...values, id: transaction.recordId });
}

/** Checks (domain/xml-api/record-checks.ts) and writes one transaction, inside the caller's transaction. */
async function apply(
  tx: SqlExecutor,
  transaction: ValidatedXmlTransaction,
  author: string,
  now: string,
): Promise<XmlTransactionResult> {
  const { table } = xmlDataKinds[transaction.dataKind];
  const current: StoredRecord | null =
    transaction.operation === 'update' ? await tx.row(recordById(table), { id: transaction.recordId }) : null;
  const records = new Map<string, LinkedRecord | null>();
  const ticketNumbersTaken = new Map<number, boolean>();
  for (;;) {
    const check = checkXmlRecord(transaction, { current, records, ticketNumbersTaken });
    if (check.kind === 'refused') return check.result;
    if (check.kind === 'lookup') {
      for (const lookup of check.lookups) await answer(tx, lookup, records, ticketNumbersTaken);
      continue;
    }
    const reserved = check.needsTicketNumber ? await takeNextTicketSequence(tx) : null;
    const row = xmlRecordRow(transaction, check.values, { author, now, ticketSequence: reserved, current });
    await write(tx, transaction, row.columns, row.ticketSequence);
    return xmlRecordResult(transaction, check.values, current, row.ticketNumber);
  }
}

/**
 * Applies one validated XML transaction in one database transaction: all of it or nothing. The result is stored
 * under `key` (message key + transaction index): a retry returns it unchanged, and a retry running at the same
 * time waits on the key's lock and then returns it too.
 */
export async function applyXmlTransactionSqlServer(
  db: SqlDatabase,
  key: string,
  transaction: ValidatedXmlTransaction,
  author: string,
  now: Date,
): Promise<XmlTransactionResult> {
  return db.transaction(async (tx) => {
    const stored = await tx.row(sqlStatements.apiResultLocked, { key: storedKey(key) });
    if (stored) return JSON.parse(String(stored.result)) as XmlTransactionResult;
    const result = await apply(tx, transaction, author, now.toISOString());
    await tx.run(sqlStatements.insertApiResult, { key: storedKey(key), result: JSON.stringify(result), now });
    return result;
  });
}
