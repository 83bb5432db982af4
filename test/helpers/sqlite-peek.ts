import Database from 'better-sqlite3';

/**
 * A count from a SQLite file that another process is writing, read on a connection of its own that is closed
 * at once (so it never holds the database open between looks).
 */
export function countRows(databasePath: string, sql: string): number {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    return Number((db.prepare(sql).get() as { n: number }).n);
  } finally {
    db.close();
  }
}

/** True when every mail in the outbox has been sent. */
export const outboxDrained = (databasePath: string): boolean =>
  countRows(databasePath, `SELECT count(*) AS n FROM outbox WHERE state <> 'sent'`) === 0;
