import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/**
 * Copies the write-ahead log into the database file from a thread of its own, so that the event loop that
 * answers webhooks and commits messages never waits for a checkpoint (and its fsync). SQLite lets a checkpoint
 * on one connection run while another connection keeps writing; the main connection's automatic checkpoints are
 * switched off while this thread works, and switched back on if it ever stops.
 */
export class SqliteCheckpointer {
  readonly #worker: Worker;
  readonly #db: Database.Database;
  #stopped = false;

  private constructor(db: Database.Database, worker: Worker) {
    this.#db = db;
    this.#worker = worker;
  }

  /**
   * Starts checkpointing `path` (the file `db` has open) every `intervalMs`. A log longer than `restartAboveBytes`
   * (default 64 MiB) is copied completely so that the next commit starts it over (see the thread's source), and
   * `db` then truncates the file back to that size.
   */
  static start(
    db: Database.Database,
    path: string,
    intervalMs = 100,
    options: { restartAboveBytes?: number } = {},
  ): SqliteCheckpointer {
    const restartAboveBytes = options.restartAboveBytes ?? 64 * 1_048_576;
    // The worker is given better-sqlite3's resolved location, so it loads the same build from any directory.
    const modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
    db.pragma(`journal_size_limit = ${restartAboveBytes}`);
    const worker = new Worker(workerSource, {
      eval: true,
      workerData: { modulePath, path, intervalMs, restartAboveBytes, restartWaitMs: 1_000 },
      // Its own small heap: it only ever holds one connection.
      resourceLimits: { maxOldGenerationSizeMb: 32 },
    });
    worker.unref();
    db.pragma('wal_autocheckpoint = 0');
    const checkpointer = new SqliteCheckpointer(db, worker);
    const fallBack = (): void => {
      // Without the thread the WAL would grow without end: the connection checkpoints by itself again.
      if (db.open) db.pragma('wal_autocheckpoint = 1000');
    };
    worker.once('error', fallBack);
    worker.once('exit', () => {
      if (!checkpointer.#stopped) fallBack();
    });
    return checkpointer;
  }

  /** Stops the thread after its current checkpoint; the connection checkpoints by itself again. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    // Kept alive until it has closed its connection, even when nothing else holds the process open.
    this.#worker.ref();
    this.#worker.postMessage('stop');
    await new Promise<void>((resolve) => {
      this.#worker.once('exit', () => resolve());
      // A thread that does not answer within a second is ended.
      setTimeout(() => void this.#worker.terminate().then(() => resolve()), 1_000).unref();
    });
    if (this.#db.open) this.#db.pragma('wal_autocheckpoint = 1000');
  }
}

/**
 * The thread: one connection, a PASSIVE checkpoint whenever the log has frames not yet copied (PASSIVE never waits
 * for readers or writers). The log restarts from its beginning at the next write after it was copied completely;
 * under a steady stream of commits that moment seldom comes (a commit lands during nearly every pass), and the log
 * grew by some 15 MB a second for as long as 1,000 notifications a second went on. So once it is longer than
 * restartAboveBytes, a RESTART checkpoint holds writers back while it copies the frames since the last pass (SQLite
 * does not always make them wait out their busy_timeout then; the store does, see `translated`); the next commit then
 * starts the log over, and the main connection's journal_size_limit truncates the file back to that size.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.modulePath);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const pageSize = db.pragma('page_size', { simple: true });
let timer = null;
let stopping = false;
function pass() {
  try {
    const [copied] = db.pragma('wal_checkpoint(PASSIVE)');
    if (copied && copied.log * pageSize > workerData.restartAboveBytes) {
      db.pragma('busy_timeout = ' + workerData.restartWaitMs);
      try {
        db.pragma('wal_checkpoint(RESTART)');
      } finally {
        db.pragma('busy_timeout = 0');
      }
    }
  } catch {
    // Busy or locked: the next pass tries again.
  }
  if (!stopping) timer = setTimeout(pass, workerData.intervalMs);
}
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  stopping = true;
  if (timer) clearTimeout(timer);
  try { db.close(); } catch {}
  parentPort.close();
});
timer = setTimeout(pass, workerData.intervalMs);
`;
