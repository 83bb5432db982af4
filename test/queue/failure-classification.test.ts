import { mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { processDeps } from '../../src/composition-root.ts';
import { parseCrmImport } from '../../src/crm/crm-import.ts';
import { StoreError } from '../../src/crm/crm-store.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { InboxWatcher } from '../../src/mailbox/local/inbox-watcher.ts';
import { LocalMailbox } from '../../src/mailbox/local/local-mailbox.ts';
import type { Mailbox, MailPieces, SendMailOptions, SettledFolder } from '../../src/mailbox/mailbox.ts';
import { MailboxError } from '../../src/mailbox/mailbox-error.ts';
import { IntakeWorker, worthRetrying } from '../../src/processing/intake-worker.ts';
import { OutboxSender } from '../../src/processing/outbox-sender.ts';
import { mail } from '../helpers/mail-factory.ts';
import { waitFor } from '../helpers/run-node.ts';

const demoCrm = fileURLToPath(new URL('../../demo/crm.json', import.meta.url));
const silent = pino({ level: 'silent' });

/** The local folder, calling `onFetch` before each message is read. */
class WatchedMailbox implements Mailbox {
  readonly name = 'local';
  readonly #inner: LocalMailbox;
  readonly #onFetch: () => void;
  constructor(inner: LocalMailbox, onFetch: () => void) {
    this.#inner = inner;
    this.#onFetch = onFetch;
  }
  async fetchRaw(id: string): Promise<Buffer> {
    this.#onFetch();
    return this.#inner.fetchRaw(id);
  }
  send(mail: MailPieces, options: SendMailOptions): Promise<void> {
    return this.#inner.send(mail, options);
  }
  settle(id: string, folder: SettledFolder): Promise<void> {
    return this.#inner.settle(id, folder);
  }
  listInbox(): Promise<string[]> {
    return this.#inner.listInbox();
  }
}

/** A database with the demo CRM and one new customer mail in the queue. */
async function rig() {
  const dir = mkdtempSync(join(tmpdir(), 'classify-'));
  const path = join(dir, 'crm.sqlite');
  const config = loadConfig({
    DATABASE_URL: `sqlite:${path}`,
    MAILBOX_DIR: join(dir, 'mailbox'),
    RETRY_BASE_MS: '10',
    MAX_ATTEMPTS: '4',
  });
  // A short busy timeout: a write blocked by another connection fails quickly instead of waiting 5 s.
  const store = SqliteCrmStore.open({ path, busyTimeoutMs: 20 });
  await store.importCrm(parseCrmImport(JSON.parse(readFileSync(demoCrm, 'utf8'))));
  const local = new LocalMailbox(join(dir, 'mailbox'));
  await local.ensureFolders();
  const file = join(local.root, 'inbox', 'new.eml');
  writeFileSync(
    file,
    mail({ from: 'carl@acme.example', subject: 'VPN down', messageId: 'vpn@acme.example' }),
  );
  const past = new Date(Date.now() - 1000);
  utimesSync(file, past, past);
  await new InboxWatcher({
    mailbox: local,
    store,
    logger: silent,
    intervalMs: 1000,
    onEnqueued: () => undefined,
  }).scan();
  return { dir, path, config, store, local };
}

type Rig = Awaited<ReturnType<typeof rig>>;

function workerFor(r: Rig, mailbox: Mailbox, random?: () => number): IntakeWorker {
  return new IntakeWorker(
    processDeps(r.config, r.store, silent),
    mailbox,
    new OutboxSender(r.store, mailbox, silent),
    {
      concurrency: 1,
      maxAttempts: r.config.MAX_ATTEMPTS,
      retryBaseMs: r.config.RETRY_BASE_MS,
      leaseMs: 30_000,
      pollIntervalMs: 20,
      workerId: 'test-worker',
      ...(random ? { random } : {}),
    },
  );
}

describe('retrying by what went wrong', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('retries a message while another writer keeps the database locked, and opens its ticket once it is free', async () => {
    const r = await rig();
    cleanups.push(() => r.store.close());
    const other = new Database(r.path);
    cleanups.push(() => {
      other.close();
    });
    // Another writer takes the database while the message is being read, and is done by the time the worker
    // picks its retry time.
    let locked = false;
    const mailbox = new WatchedMailbox(r.local, () => {
      if (locked) return;
      other.prepare('BEGIN IMMEDIATE').run();
      locked = true;
    });
    const releaseThenJitter = (): number => {
      if (other.inTransaction) other.prepare('ROLLBACK').run();
      return 0.5;
    };
    const worker = workerFor(r, mailbox, releaseThenJitter);
    worker.start();
    cleanups.push(() => worker.stop());
    const outcome = await waitFor(
      async () => (await r.store.findOutcomesByMessageId('vpn@acme.example', 1))[0],
      5_000,
    );

    expect(locked).toBe(true);
    expect(outcome.action).toBe('ticket-created');
    expect(await r.store.listIntake('done', 10)).toMatchObject([
      { attempts: 2, lastError: expect.stringMatching(/StoreError: SQLite SQLITE_BUSY/) },
    ]);
    expect(await r.store.listIntake('quarantined', 10)).toEqual([]);
  });

  it('quarantines a message the database refuses on the first attempt and tells internal support', async () => {
    const r = await rig();
    cleanups.push(() => r.store.close());
    const other = new Database(r.path);
    // A rule of the database that every filed document breaks: waiting will not change that.
    other.exec(`CREATE TRIGGER no_documents BEFORE INSERT ON documents
      BEGIN SELECT RAISE(ABORT, 'documents are not accepted'); END`);
    other.close();

    await workerFor(r, r.local).runUntilIdle();

    expect(await r.store.listIntake('quarantined', 10)).toMatchObject([
      {
        attempts: 1,
        lastError: expect.stringMatching(
          /StoreError: SQLite SQLITE_CONSTRAINT_TRIGGER: documents are not accepted/,
        ),
      },
    ]);
    const outcomes = await r.store.listOutcomes();
    expect(outcomes.map((outcome) => [outcome.action, outcome.code])).toEqual([['failed', 'quarantined']]);
    expect(outcomes[0]!.reason).toMatch(/quarantined after 1 attempt/);
    expect((await r.store.counts()).tickets).toBe(1); // the demo's ticket only
    const toSupport = readdirSync(join(r.local.root, 'sent'))
      .map((file) => readFileSync(join(r.local.root, 'sent', file), 'utf8'))
      .filter((text) => /To: helpdesk@msp\.example/.test(text));
    expect(toSupport).toHaveLength(1);
    expect(readdirSync(join(r.local.root, 'failed'))).toEqual(['new.eml']);
  });

  it.each([
    ['a throttled mailbox', new MailboxError('throttled', 'slow down', { retryAfterMs: 1000 }), true],
    ['an unreachable mailbox', new MailboxError('transient', 'no answer'), true],
    ['a busy database', new StoreError('transient', 'database is locked'), true],
    ['a refusing mailbox', new MailboxError('forbidden', 'access denied'), false],
    ['a constraint the data breaks', new StoreError('permanent', 'UNIQUE constraint failed'), false],
    ['a fault in the program', new TypeError("Cannot read properties of undefined (reading 'id')"), false],
    ['anything else nobody translated', new Error('surprise'), false],
  ])('tries again after %s: %s', (_what, error, retried) => {
    expect(worthRetrying(error)).toBe(retried);
  });
});
