import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
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
import { outboxDrained } from '../helpers/sqlite-peek.ts';

const serviceScript = fileURLToPath(new URL('./crash-worker.ts', import.meta.url));
const demoCrm = fileURLToPath(new URL('../../demo/crm.json', import.meta.url));

const processes = 4;
const mailsPerProcess = 250;
const total = processes * mailsPerProcess;

describe('scaling out on one SQLite file', () => {
  it(`opens ${total} tickets with ${total} distinct numbers from ${processes} service processes, each message once`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scale-'));
    const databasePath = join(dir, 'crm.sqlite');
    const seed = SqliteCrmStore.open({ path: databasePath });
    await seed.importCrm(parseCrmImport(JSON.parse(readFileSync(demoCrm, 'utf8'))));
    await seed.close();
    const inbox = join(dir, 'mailbox', 'inbox');
    mkdirSync(inbox, { recursive: true });
    // New customers: unknown addresses at a domain an account holds, each opening a ticket with an acknowledgment.
    for (let index = 0; index < total; index += 1) {
      writeFileSync(
        join(inbox, `m${String(index).padStart(4, '0')}.eml`),
        mail({
          from: `customer${index}@acme.example`,
          subject: `Request ${index}`,
          messageId: `scale-${index}@acme.example`,
        }),
      );
    }
    const env = {
      DATABASE_URL: `sqlite:${databasePath}`,
      MAILBOX_DIR: join(dir, 'mailbox'),
      PORT: '0',
      POLL_INTERVAL_MS: '50',
      WORKER_CONCURRENCY: '4',
      AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR: String(total),
      LOG_LEVEL: 'silent',
      WORKER_LOG_LEVEL: 'info',
    };
    const services = Array.from({ length: processes }, () => startNode(serviceScript, [], { cwd: dir, env }));
    const processed = services.map(() => 0);
    services.forEach((service, index) =>
      service.stdout?.on('data', (chunk: Buffer) => {
        processed[index]! += chunk.toString().split('"msg":"message processed"').length - 1;
      }),
    );
    const started = Date.now();
    try {
      await waitFor(async () => readdirSync(inbox).length === 0 || null, 75_000, 250);
      await waitFor(async () => outboxDrained(databasePath), 10_000, 100);
    } finally {
      for (const service of services) service.kill('SIGTERM');
      await Promise.all(
        services.map((service) => (service.exitCode === null ? once(service, 'exit') : null)),
      );
    }
    const elapsedMs = Date.now() - started;

    const db = new Database(databasePath, { readonly: true });
    const one = (sql: string): number => Number((db.prepare(sql).get() as { n: number }).n);
    try {
      // Every message has exactly one outcome, and it opened a ticket.
      expect(one(`SELECT count(*) AS n FROM outcomes`)).toBe(total);
      expect(one(`SELECT count(DISTINCT message_id) AS n FROM outcomes`)).toBe(total);
      expect(one(`SELECT count(*) AS n FROM outcomes WHERE action = 'ticket-created'`)).toBe(total);
      // One new ticket per message, no number twice (the demo's own ticket is the one more).
      expect(one(`SELECT count(*) AS n FROM tickets WHERE source = 'email'`)).toBe(total);
      expect(one(`SELECT count(DISTINCT number) AS n FROM tickets`)).toBe(total + 1);
      expect(one(`SELECT count(DISTINCT ticket_number) AS n FROM outcomes`)).toBe(total);
      // One filed document per message.
      expect(one(`SELECT count(*) AS n FROM documents`)).toBe(total);
      expect(one(`SELECT count(DISTINCT message_id) AS n FROM documents`)).toBe(total);
      // One acknowledgment per message, each sent once.
      expect(one(`SELECT count(*) AS n FROM outbox WHERE kind = 'acknowledgment' AND state = 'sent'`)).toBe(
        total,
      );
      expect(one(`SELECT count(*) AS n FROM intake WHERE state <> 'done'`)).toBe(0);
    } finally {
      db.close();
    }
    expect(readdirSync(join(dir, 'mailbox', 'sent'))).toHaveLength(total);
    expect(readdirSync(join(dir, 'mailbox', 'processed'))).toHaveLength(total);
    // Every process took part, and between them they processed each message once.
    expect(
      processed.every((n) => n > 0),
      `processed per process: ${processed.join(', ')}`,
    ).toBe(true);
    expect(processed.reduce((sum, n) => sum + n, 0)).toBe(total);
    expect(elapsedMs).toBeLessThan(90_000);
  }, 120_000);
});
