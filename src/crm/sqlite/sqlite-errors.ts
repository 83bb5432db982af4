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

/** A place to wait on: the event loop waits here as it would in SQLite's own busy handler. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs database work, translating driver failures at the adapter's boundary.
 *
 * SQLite can answer SQLITE_BUSY before its busy timeout has run out: seen on this store's connection while the
 * checkpoint thread restarted the log (sqlite-checkpointer.ts), after about 80 ms of a 5 s timeout, on BEGIN
 * IMMEDIATE and on single-statement writes alike. Within `busyWaitMs` of the call's start the work is then run
 * again after a short pause, as the busy handler would have waited. That is safe because each use runs one unit of
 * writing, one statement or one transaction, which a BUSY leaves undone.
 */
export function translated<T>(work: () => T, busyWaitMs = 0): T {
  const started = performance.now();
  for (let attempt = 0; ; attempt += 1) {
    try {
      return work();
    } catch (error) {
      const left = busyWaitMs - (performance.now() - started);
      if (!isBusy(error) || left <= 0) throw toStoreError(error);
      Atomics.wait(pause, 0, 0, Math.min(left, 2 ** Math.min(attempt, 5)));
    }
  }
}

function isBusy(error: unknown): boolean {
  return error instanceof Database.SqliteError && /^SQLITE_BUSY(_|$)/.test(error.code);
}
