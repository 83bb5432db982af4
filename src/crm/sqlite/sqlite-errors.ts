import Database from 'better-sqlite3';
import { StoreError, type StoreErrorKind } from '../store-error.ts';

/**
 * Result codes worth trying again: another process holds the lock longer than the busy timeout, or the file
 * system failed or ran full (a disk freed, a share back). Every other code fails the same way again: a
 * constraint the data breaks, a statement SQLite refuses, a damaged or read-only file.
 */
const transientCodes = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|PROTOCOL|NOMEM|INTERRUPT)(_|$)/;

/** The kind of a SQLite result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`, …). */
export function sqliteErrorKind(code: string): StoreErrorKind {
  return transientCodes.test(code) ? 'transient' : 'permanent';
}

/**
 * A driver failure as a StoreError (the driver's error kept as `cause`); anything else unchanged, so that our own
 * errors (a refused import) and programming errors keep their meaning.
 */
export function toStoreError(error: unknown): unknown {
  if (!(error instanceof Database.SqliteError)) return error;
  const kind = sqliteErrorKind(error.code);
  return new StoreError(kind, `SQLite ${error.code}: ${error.message}`, { cause: error });
}

/** Runs database work, translating driver failures at the adapter's boundary. */
export function translated<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw toStoreError(error);
  }
}
