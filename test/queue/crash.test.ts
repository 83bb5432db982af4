import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { parseCrmImport } from '../../src/crm/crm-import.ts';
import { mail } from '../helpers/mail-factory.ts';
import { startNode, waitFor } from '../helpers/run-node.ts';
import { countRows, outboxDrained } from '../helpers/sqlite-peek.ts';

const workerScript = fileURLToPath(new URL('./crash-worker.ts', import.meta.url));
const demoCrm = fileURLToPath(new URL('../../demo/crm.json', import.meta.url));

/** A mix of mails: new tickets with acknowledgments, forwards, and replies filed and forwarded. */
function corpus(count: number): { name: string; text: string; messageId: string }[] {
  return Array.from({ length: count }, (_, index) => {
    const messageId = `crash-${index}@test.example`;
    const kind = index % 3;
    const text =
      kind === 0
        ? mail({ from: `Carl ${index} <carl${index}@acme.example>`, subject: `Problem ${index}`, messageId })
        : kind === 1
          ? mail({ from: `stranger${index}@unknown.example`, subject: `Question ${index}`, messageId })
          : mail({
              // Distinct senders: one sender's 60 replies in an hour would be a flood (one notice, no forwards).
              from: `jane${index}@acme.example`,
              subject: `RE: [Ticket#0000042] Printer (${index})`,
              messageId,
            });
    return { name: `m${String(index).padStart(3, '0')}.eml`, text, messageId };
  });
}

describe('crash safety', () => {
  it('gives every message exactly one outcome, no duplicate ticket and no lost mail across SIGKILLs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crash-'));
    const databasePath = join(dir, 'crm.sqlite');
    const mailboxDir = join(dir, 'mailbox');
    const seed = SqliteCrmStore.open({ path: databasePath });
    await seed.importCrm(parseCrmImport(JSON.parse(readFileSync(demoCrm, 'utf8'))));
    await seed.close();
    const mails = corpus(180);
    const inbox = join(mailboxDir, 'inbox');
    mkdirSync(inbox, { recursive: true });
    for (const entry of mails) writeFileSync(join(inbox, entry.name), entry.text);

    const env = {
      DATABASE_URL: `sqlite:${databasePath}`,
      MAILBOX_DIR: mailboxDir,
      PORT: '0',
      LEASE_SECONDS: '1',
      POLL_INTERVAL_MS: '50',
      WORKER_CONCURRENCY: '3',
      RETRY_BASE_MS: '50',
      LOG_LEVEL: 'silent',
    };
    const done = (): number => countRows(databasePath, 'SELECT count(*) AS n FROM outcomes');

    let kills = 0;
    let seed32 = 0x2f6b_91a3;
    const random = (): number => {
      seed32 = (seed32 * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed32 / 2 ** 31;
    };
    // Kill the worker at pseudo-random points until every message has an outcome (or we have killed enough).
    const progress: number[] = [];
    while (kills < 12 && done() < mails.length) {
      const child = startNode(workerScript, [], { cwd: dir, env });
      await waitFor(async () => child.stdout?.read()?.toString().includes('started'), 10_000, 10);
      await new Promise((resolve) => setTimeout(resolve, 10 + random() * 90));
      child.kill('SIGKILL');
      await once(child, 'exit');
      kills += 1;
      progress.push(done());
    }
    // Then let one worker finish the rest.
    const last = startNode(workerScript, [], { cwd: dir, env });
    try {
      await waitFor(
        async () => {
          if (done() < mails.length) return false;
          return readdirSync(inbox).length === 0;
        },
        30_000,
        100,
      );
      await waitFor(async () => outboxDrained(databasePath), 10_000, 100);
    } finally {
      last.kill('SIGTERM');
      await once(last, 'exit');
    }

    const db = new Database(databasePath, { readonly: true });
    const outcomes = db.prepare('SELECT message_id, action, ticket_number FROM outcomes').all() as {
      message_id: string;
      action: string;
      ticket_number: string | null;
    }[];
    // Exactly one outcome per message.
    expect(outcomes.map((o) => o.message_id).sort()).toEqual(mails.map((m) => m.messageId).sort());
    // No ticket duplicated: one new ticket per ticket-created outcome, one document per message.
    const created = outcomes.filter((o) => o.action === 'ticket-created');
    expect(created).toHaveLength(60);
    expect(Number((db.prepare('SELECT count(*) AS n FROM tickets').get() as { n: number }).n)).toBe(
      1 + created.length,
    );
    const perMessage = db
      .prepare('SELECT message_id, count(*) AS n FROM documents GROUP BY message_id HAVING n > 1')
      .all();
    expect(perMessage).toEqual([]);
    expect(Number((db.prepare('SELECT count(*) AS n FROM documents').get() as { n: number }).n)).toBe(120);
    // No mail lost: every outbox mail was sent and is in sent/, with at most one duplicate per kill.
    const outbox = db.prepare('SELECT id, state FROM outbox').all() as { id: string; state: string }[];
    expect(outbox).toHaveLength(60 + 60 + 60); // acknowledgments, forwards of unknown senders, forwards of replies
    expect(outbox.every((row) => row.state === 'sent')).toBe(true);
    const sent = readdirSync(join(mailboxDir, 'sent'));
    for (const row of outbox) expect(sent).toContain(`${row.id}.eml`);
    expect(sent.length - outbox.length).toBeLessThanOrEqual(kills);
    // Every file left the inbox for processed/.
    expect(readdirSync(join(mailboxDir, 'processed'))).toHaveLength(mails.length);
    db.close();
    // The kills really interrupted the work: several happened with messages still unprocessed.
    expect(
      progress.filter((count) => count < mails.length).length,
      `outcomes after each kill: ${progress.join(', ')}`,
    ).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
