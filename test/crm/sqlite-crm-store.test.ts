import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/crm/crm-store.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { sqliteErrorKind, translated } from '../../src/crm/sqlite/sqlite-errors.ts';
import { sqliteMigrations } from '../../src/crm/sqlite/sqlite-migrations.ts';
import { describeCrmStoreContract } from './crm-store.contract.ts';

const tempFile = (): string => join(mkdtempSync(join(tmpdir(), 'crm-')), 'crm.sqlite');

describeCrmStoreContract('SQLite file', async () => SqliteCrmStore.open({ path: tempFile() }));

describe('SQLite adapter', () => {
  it('creates the database folder and applies every migration once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'crm-')), 'nested', 'dir', 'crm.sqlite');
    const store = SqliteCrmStore.open({ path });
    expect(store.schemaVersion).toBe(sqliteMigrations.at(-1)!.version);
    await store.close();
    const again = SqliteCrmStore.open({ path });
    expect(again.schemaVersion).toBe(sqliteMigrations.at(-1)!.version);
    await again.close();
  });
});

describe('SQLite look-ups', () => {
  it('matches addresses, domains, employees, ticket numbers and thread references by index, never by scan', async () => {
    const store = SqliteCrmStore.open({ path: tempFile() });
    const plans = store.explainLookups();
    for (const [name, steps] of Object.entries(plans)) {
      expect(steps.length, name).toBeGreaterThan(0);
      for (const step of steps.filter((detail) => /^(SCAN|SEARCH)/.test(detail))) {
        // A SCAN of a temporary b-tree (UNION, ORDER BY) is fine; a SCAN of a table is not.
        expect(step, `${name}: ${steps.join(' | ')}`).not.toMatch(
          /^SCAN (accounts|contacts|employees|tickets|thread_refs)\b|^SCAN [a-z]\b/,
        );
      }
      expect(
        steps.some((detail) => /USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY|PRIMARY KEY/.test(detail)),
        name,
      ).toBe(true);
    }
    await store.close();
  });
});

describe('SQLite queue', () => {
  it('reads due intake items from the front of an index, never sorting the backlog', async () => {
    const store = SqliteCrmStore.open({ path: tempFile() });
    for (const [name, steps] of Object.entries(store.explainQueue())) {
      expect(steps.join(' | '), name).toMatch(/^SEARCH intake USING INDEX intake_due \(state=\?/);
      expect(steps.join(' | '), name).not.toMatch(/TEMP B-TREE/);
    }
    await store.close();
  });

  // The queue's and the outbox's limits are written into their statements' text (see limitClause): only whole
  // numbers may get there.
  it('claims at most the limit asked for, and refuses a limit that is not a whole number before it reads', async () => {
    const store = SqliteCrmStore.open({ path: tempFile() });
    for (const mailboxId of ['a', 'b', 'c'])
      await store.enqueue({ mailboxId, source: 'test', now: new Date('2026-01-01T00:00:00Z') });
    const claim = (limit: number) =>
      store.claimIntake({ workerId: 'w', leaseMs: 60_000, now: new Date('2026-01-01T00:01:00Z'), limit });
    for (const limit of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])
      await expect(claim(limit), String(limit)).rejects.toThrow(RangeError);
    await expect(store.listPendingMail(0.5, new Date())).rejects.toThrow(RangeError);
    await expect(store.findOutcomesByMessageId('x@example.com', -5)).rejects.toThrow(RangeError);
    expect(await claim(0)).toEqual([]);
    expect((await claim(2)).map((item) => item.mailboxId)).toEqual(['a', 'b']);
    expect((await claim(5)).map((item) => item.mailboxId)).toEqual(['c']);
    await store.close();
  });
});

describe('SQLite failures', () => {
  // SQLite can answer SQLITE_BUSY before the connection's busy timeout ran out (seen while the checkpoint thread
  // restarted the log): the store then waits out the rest of the timeout itself.
  it('runs work again that SQLite refused as busy early, within the busy timeout, and gives up once it has passed', () => {
    const busy = () => new Database.SqliteError('database is locked', 'SQLITE_BUSY');
    let calls = 0;
    const done = translated(() => {
      calls += 1;
      if (calls < 3) throw busy();
      return 'written';
    }, 1_000);
    expect(done).toBe('written');
    expect(calls).toBe(3);

    const alwaysBusy = (): never => {
      calls += 1;
      throw busy();
    };
    calls = 0;
    const started = performance.now();
    let failure: unknown;
    try {
      translated(alwaysBusy, 60);
    } catch (error) {
      failure = error;
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(59);
    expect(calls).toBeGreaterThan(1);
    expect(failure).toMatchObject({ kind: 'transient', cause: { code: 'SQLITE_BUSY' } });

    // Anything but BUSY, and BUSY with no time left, fail at once.
    calls = 0;
    const constraint = () => {
      calls += 1;
      throw new Database.SqliteError('UNIQUE constraint failed', 'SQLITE_CONSTRAINT_UNIQUE');
    };
    expect(() => translated(constraint, 1_000)).toThrow(StoreError);
    expect(calls).toBe(1);
    calls = 0;
    expect(() => translated(alwaysBusy)).toThrow(StoreError);
    expect(calls).toBe(1);
  });

  it('reports a database another process keeps locked as a transient StoreError, keeping the driver error', async () => {
    const path = tempFile();
    const store = SqliteCrmStore.open({ path, busyTimeoutMs: 50 });
    const other = new Database(path);
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const failure = await store
        .enqueue({ mailboxId: 'm1', source: 'test', now: new Date() })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StoreError);
      expect(failure).toMatchObject({ kind: 'transient', retryable: true, cause: { code: 'SQLITE_BUSY' } });
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    // The lock gone, the same call succeeds.
    expect((await store.enqueue({ mailboxId: 'm1', source: 'test', now: new Date() })).created).toBe(true);
    await store.close();
  });

  it.each([
    ['SQLITE_BUSY', 'transient'],
    ['SQLITE_BUSY_SNAPSHOT', 'transient'],
    ['SQLITE_LOCKED', 'transient'],
    ['SQLITE_IOERR_WRITE', 'transient'],
    ['SQLITE_FULL', 'transient'],
    ['SQLITE_CONSTRAINT_UNIQUE', 'permanent'],
    ['SQLITE_CONSTRAINT_FOREIGNKEY', 'permanent'],
    ['SQLITE_READONLY', 'permanent'],
    ['SQLITE_CORRUPT', 'permanent'],
    ['SQLITE_ERROR', 'permanent'],
  ])('classifies %s as %s', (code, kind) => {
    expect(sqliteErrorKind(code)).toBe(kind);
  });
});
