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

const workerScript = fileURLToPath(new URL('./crash-worker.ts', import.meta.url));
const demoCrm = fileURLToPath(new URL('../../demo/crm.json', import.meta.url));

describe('several processes on one database', () => {
  it('share the queue safely: every message processed once, by one of them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multi-'));
    const databasePath = join(dir, 'crm.sqlite');
    const seed = SqliteCrmStore.open({ path: databasePath });
    await seed.importCrm(parseCrmImport(JSON.parse(readFileSync(demoCrm, 'utf8'))));
    await seed.close();
    const inbox = join(dir, 'mailbox', 'inbox');
    mkdirSync(inbox, { recursive: true });
    const count = 120;
    for (let index = 0; index < count; index += 1) {
      const from = index % 2 === 0 ? `user${index}@acme.example` : `someone${index}@unknown.example`;
      writeFileSync(
        join(inbox, `m${index}.eml`),
        mail({ from, subject: `Request ${index}`, messageId: `multi-${index}@test.example` }),
      );
    }
    const env = {
      DATABASE_URL: `sqlite:${databasePath}`,
      MAILBOX_DIR: join(dir, 'mailbox'),
      PORT: '0',
      POLL_INTERVAL_MS: '50',
      WORKER_CONCURRENCY: '4',
      LOG_LEVEL: 'silent',
      WORKER_LOG_LEVEL: 'info',
    };
    const workers = [
      startNode(workerScript, [], { cwd: dir, env }),
      startNode(workerScript, [], { cwd: dir, env }),
    ];
    const processed = workers.map(() => 0);
    workers.forEach((worker, index) =>
      worker.stdout?.on('data', (chunk: Buffer) => {
        processed[index]! += chunk.toString().split('"msg":"message processed"').length - 1;
      }),
    );
    try {
      await waitFor(async () => readdirSync(inbox).length === 0 || null, 30_000, 100);
      // Moving a message does not wait for its mails: wait until the outbox is empty too.
      await waitFor(async () => outboxDrained(databasePath), 10_000, 100);
    } finally {
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((worker) => (worker.exitCode === null ? once(worker, 'exit') : null)));
    }
    const db = new Database(databasePath, { readonly: true });
    // One outcome per message.
    const messageIds = (db.prepare('SELECT message_id FROM outcomes').all() as { message_id: string }[])
      .map((row) => row.message_id)
      .sort();
    expect(messageIds).toEqual(
      Array.from({ length: count }, (_, index) => `multi-${index}@test.example`).sort(),
    );
    const owners = db.prepare(`SELECT count(DISTINCT lease_owner) AS n FROM intake`).get() as { n: number };
    expect(owners.n).toBe(0); // every claim was released when its item finished
    expect((db.prepare(`SELECT count(*) AS n FROM tickets`).get() as { n: number }).n).toBe(1 + count / 2);
    expect((db.prepare(`SELECT count(*) AS n FROM outbox`).get() as { n: number }).n).toBe(count);
    expect(readdirSync(join(dir, 'mailbox', 'sent'))).toHaveLength(count);
    db.close();
    // Both processes took part, and between them processed each message once.
    expect(
      processed.every((n) => n > 0),
      `processed per worker: ${processed.join(', ')}`,
    ).toBe(true);
    expect(processed[0]! + processed[1]!).toBe(count);
  }, 60_000);
});
