import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteCheckpointer } from '../../src/crm/sqlite/sqlite-checkpointer.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A store on a new file, with the size of the database file (without its log) right after opening. */
function openStore(backgroundCheckpoints: boolean): {
  store: SqliteCrmStore;
  path: string;
  size: () => number;
} {
  const dir = mkdtempSync(join(tmpdir(), 'checkpoint-'));
  dirs.push(dir);
  const path = join(dir, 'crm.sqlite');
  const store = SqliteCrmStore.open({ path, backgroundCheckpoints });
  return { store, path, size: () => statSync(path).size };
}

async function writeSome(store: SqliteCrmStore, count: number): Promise<void> {
  const now = new Date();
  for (let index = 0; index < count; index += 1)
    await store.enqueue({ mailboxId: `AAMk-${index}-${'x'.repeat(200)}`, source: 'graph', now });
}

async function settle(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('write-ahead log checkpoints in a thread of their own', () => {
  it('copies committed pages into the database file without a commit doing it', async () => {
    // A hundred rows (a few hundred pages) stay below the thousand pages at which a commit would checkpoint by itself.
    const background = openStore(true);
    const inline = openStore(false);
    await settle(300);
    const before = { background: background.size(), inline: inline.size() };
    await writeSome(background.store, 100);
    await writeSome(inline.store, 100);
    let grown = false;
    for (let waited = 0; waited < 3_000 && !grown; waited += 50) {
      await settle(50);
      grown = background.size() > before.background;
    }
    expect(grown).toBe(true);
    // The same writes without the thread stay in the log until a commit reaches the threshold.
    expect(inline.size()).toBe(before.inline);
    // Nothing was lost on the way: every row is there, through a new connection after closing.
    await background.store.close();
    await inline.store.close();
    for (const { path } of [background, inline]) {
      const reopened = SqliteCrmStore.open({ path, backgroundCheckpoints: false });
      expect(await reopened.listIntake('pending', 1_000)).toHaveLength(100);
      await reopened.close();
    }
  });

  it('starts the log over and truncates it while commits go on without a pause', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'checkpoint-'));
    dirs.push(dir);
    const path = join(dir, 'log.sqlite');
    const db = new Database(path);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const limit = 256 * 1024;
    const checkpointer = SqliteCheckpointer.start(db, path, 5, { restartAboveBytes: limit });
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    // One commit after another for two seconds, the event loop turning in between, as in a busy service; the log
    // file's size read every 20 ms in the second half (the thread takes a moment to start).
    const sizes: number[] = [];
    const start = performance.now();
    let written = 0;
    let nextReading = start + 1_000;
    while (performance.now() < start + 2_000) {
      insert.run('x'.repeat(300));
      written += 1;
      if (performance.now() >= nextReading) {
        sizes.push(statSync(`${path}-wal`).size);
        nextReading += 20;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await checkpointer.stop();
    // Without the restart the file only grows: it is never shorter than the longest the log has been, so after a
    // second of commits no reading is near the limit and none is shorter than the one before. With it the log goes
    // back to the limit again and again (a little above it between a restart and the next pass; on a loaded
    // machine the thread falls behind now and then, so not every reading is there).
    const nearLimit = sizes.filter((size) => size <= 2 * limit).length;
    const shrank = sizes.filter((size, index) => index > 0 && size < sizes[index - 1]!).length;
    expect(sizes.length).toBeGreaterThan(10);
    expect(shrank, `log sizes ${sizes.join(' ')}`).toBeGreaterThanOrEqual(3);
    expect(nearLimit / sizes.length, `log sizes ${sizes.join(' ')}`).toBeGreaterThan(0.25);
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(written);
    db.close();
  });

  it('ends its thread on close, leaving no log behind', async () => {
    const { store, path } = openStore(true);
    await writeSome(store, 50);
    await store.close();
    // The last connection to close copies what is left and removes the log.
    expect(existsSync(`${path}-wal`)).toBe(false);
  });
});
