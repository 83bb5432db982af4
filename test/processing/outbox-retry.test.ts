import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewOutgoingMail, ProcessingCommit } from '../../src/crm/crm-store.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { GraphApi } from '../../src/mailbox/graph/graph-api.ts';
import { GraphMailbox } from '../../src/mailbox/graph/graph-mailbox.ts';
import { heldOriginalPlaceholder } from '../../src/processing/original-placeholder.ts';
import { OutboxSender, type OutboxSenderOptions } from '../../src/processing/outbox-sender.ts';
import { GraphStandIn } from '../graph-stand-in/graph-stand-in.ts';
import { mailboxName, token } from '../graph/helpers.ts';

const silent = pino({ level: 'silent' });
const sendMail = /\/sendMail$/;

function outgoing(id: string): NewOutgoingMail {
  return {
    id,
    kind: 'acknowledgment',
    to: ['jane@acme.example'],
    subject: `Mail ${id}`,
    messageId: `${id}@msp.example`,
    referenceToken: null,
    ticketId: null,
    mime: Buffer.from(
      [
        `From: ${mailboxName}`,
        'To: jane@acme.example',
        `Subject: Mail ${id}`,
        `Message-ID: <${id}@msp.example>`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'We received your request.',
        '',
      ].join('\r\n'),
    ),
  };
}

describe('outbox retries through Microsoft Graph', () => {
  let dir: string;
  let databasePath: string;
  let store: SqliteCrmStore;
  let standIn: GraphStandIn;
  /** The sender's clock, moved by hand. */
  let clock: number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outbox-retry-'));
    databasePath = join(dir, 'crm.sqlite');
    store = SqliteCrmStore.open({ path: databasePath });
    standIn = await GraphStandIn.start({ token });
    clock = Date.parse('2026-11-27T10:00:00.000Z');
  });
  afterEach(async () => {
    await standIn.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sender = (options: OutboxSenderOptions = {}) =>
    new OutboxSender(
      store,
      new GraphMailbox({
        api: new GraphApi({
          credential: standIn.credential,
          baseUrl: standIn.baseUrl,
          fetchOptions: standIn.fetchOptions,
          timeoutMs: 5_000,
        }),
        mailbox: mailboxName,
      }),
      silent,
      { now: () => new Date(clock), retryBaseMs: 100, ...options },
    );

  const queue = async (...ids: string[]) => {
    await store.commitProcessing(queued(...ids));
  };
  /** The commit that queues these mails (an acknowledgment each). */
  const queued = (...ids: string[]): ProcessingCommit => ({
    outcome: {
      key: `mid:${ids.join('+')}@acme.example`,
      source: 'test',
      messageId: null,
      from: 'jane@acme.example',
      subject: 'Printer',
      action: 'ticket-created',
      code: 'new-ticket',
      reason: 'test',
      ticketNumber: null,
      accountId: null,
      flags: [],
      forwardedTo: [],
      sent: [],
      details: null,
    },
    ticket: null,
    documents: [],
    outgoing: ids.map(outgoing),
    intakeId: null,
  });

  /** The outbox row as the database holds it, read on a connection of its own. */
  const row = (id: string) => {
    const db = new Database(databasePath, { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare('SELECT state, attempts, next_attempt_at AS nextAttemptAt FROM outbox WHERE id = ?')
        .get(id) as { state: string; attempts: number; nextAttemptAt: string | null };
    } finally {
      db.close();
    }
  };
  const sends = () => standIn.requestsMatching('POST', sendMail);
  const at = (offsetMs: number) => new Date(clock + offsetMs).toISOString();

  it.each([429, 503] as const)(
    'stores the Retry-After of a refused sendMail (%i) as the next attempt time, and sends nothing before it',
    async (status) => {
      const outbox = sender();
      await queue('A');
      standIn.injectFault({ path: sendMail, status, retryAfterSeconds: 2 });
      const start = clock;

      expect(await outbox.flush()).toBe(0);
      expect(row('A')).toEqual({ state: 'pending', attempts: 1, nextAttemptAt: at(2_000) });
      expect(await store.nextMailAttemptAt()).toEqual(new Date(start + 2_000));
      const refused = sends()[0];

      clock = start + 1_999;
      expect(await outbox.flush()).toBe(0);
      expect(sends()).toHaveLength(1);

      clock = start + 2_000;
      expect(await outbox.flush()).toBe(1);
      expect(row('A')).toMatchObject({ state: 'sent', attempts: 2 });
      const [first, second] = sends();
      expect([first?.status, second?.status]).toEqual([status, 202]);
      // The second request reached the stand-in no sooner than Graph asked.
      expect(second?.at).toBeGreaterThanOrEqual((refused?.answeredAt ?? Infinity) + 2_000);
      expect(standIn.sentMail).toHaveLength(1);
    },
  );

  it('sends a forward whose original the outbox holds once, whole, after honouring a 429 on its sendMail', async () => {
    const outbox = sender();
    const original = Buffer.alloc(3 * 1_048_576 + 2);
    for (let at = 0; at < original.length; at += 1) original[at] = (at * 5 + (at >> 9)) & 0xff;
    const forward = outgoing('F');
    const head = `From: ${mailboxName}\r\nTo: helpdesk@msp.example\r\nSubject: Mail F\r\nMIME-Version: 1.0\r\n\r\n`;
    await store.commitProcessing({
      ...queued('F'),
      outgoing: [
        {
          ...forward,
          kind: 'forward',
          mime: Buffer.concat([Buffer.from(head), heldOriginalPlaceholder('F'), Buffer.from('\r\n')]),
          heldOriginal: original,
        },
      ],
    });
    standIn.injectFault({ path: sendMail, status: 429, retryAfterSeconds: 1 });
    const start = clock;

    expect(await outbox.flush()).toBe(0);
    expect(row('F')).toEqual({ state: 'pending', attempts: 1, nextAttemptAt: at(1_000) });
    expect(standIn.sentMail).toEqual([]);

    clock = start + 1_000;
    expect(await outbox.flush()).toBe(1);
    expect(sends().map((request) => request.status)).toEqual([429, 202]);
    const expected = Buffer.concat([Buffer.from(head), original, Buffer.from('\r\n')]);
    expect(sends()[1]).toMatchObject({
      contentLength: 4 * Math.ceil(expected.length / 3),
      transferEncoding: null,
    });
    expect(standIn.sentMail).toHaveLength(1);
    expect(standIn.sentMail[0]!.raw.equals(expected)).toBe(true);
    expect(await outbox.flush()).toBe(0);
    expect(standIn.sentMail).toHaveLength(1);
  });

  it('backs off exponentially up to its ceiling when the mailbox gives no Retry-After', async () => {
    const outbox = sender({ retryBaseMs: 1_000, maxRetryDelayMs: 3_000 });
    await queue('A');
    standIn.injectFault({ path: sendMail, status: 503, times: 3 });
    const start = clock;

    await outbox.flush();
    expect(row('A').nextAttemptAt).toBe(at(1_000));
    clock = start + 1_000;
    await outbox.flush();
    expect(row('A').nextAttemptAt).toBe(new Date(start + 3_000).toISOString());
    clock = start + 2_999;
    await outbox.flush();
    expect(sends()).toHaveLength(2);
    clock = start + 3_000;
    await outbox.flush();
    // 4 s would be the next doubling; the ceiling is 3 s.
    expect(row('A').nextAttemptAt).toBe(new Date(start + 6_000).toISOString());
    clock = start + 6_000;
    expect(await outbox.flush()).toBe(1);
    expect(sends().map((request) => request.status)).toEqual([503, 503, 503, 202]);
  });

  it('lets no later mail overtake a refused one: nothing is sent before its retry time, then both in order', async () => {
    const outbox = sender();
    await queue('A', 'B');
    standIn.injectFault({ path: sendMail, status: 429, retryAfterSeconds: 1 });
    const start = clock;

    expect(await outbox.flush()).toBe(0);
    expect(row('B')).toEqual({ state: 'pending', attempts: 0, nextAttemptAt: null });
    clock = start + 500;
    expect(await outbox.flush()).toBe(0);
    expect(sends()).toHaveLength(1);

    clock = start + 1_000;
    expect(await outbox.flush()).toBe(2);
    expect(standIn.sentMail.map((mail) => /^Subject: (.*)$/m.exec(mail.mime)?.[1]?.trim())).toEqual([
      'Mail A',
      'Mail B',
    ]);
  });

  it('gives up at once on a mail the mailbox refuses for good, and sends the next one', async () => {
    const outbox = sender();
    await queue('A', 'B');
    standIn.injectFault({ path: sendMail, status: 404 });

    expect(await outbox.flush()).toBe(1);
    expect(row('A')).toEqual({ state: 'failed', attempts: 1, nextAttemptAt: null });
    expect(row('B')).toMatchObject({ state: 'sent' });
  });
});
