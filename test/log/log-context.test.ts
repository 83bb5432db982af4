import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, withLogContext } from '../../src/log/logger.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { loadConfig } from '../../src/config/config.ts';
import { processDeps } from '../../src/composition-root.ts';
import { LocalMailbox } from '../../src/mailbox/local/local-mailbox.ts';
import { IntakeWorker } from '../../src/processing/intake-worker.ts';
import { OutboxSender } from '../../src/processing/outbox-sender.ts';
import { mail } from '../helpers/mail-factory.ts';
import { waitFor } from '../helpers/run-node.ts';

interface LogLine {
  msg: string;
  [field: string]: unknown;
}

function capture() {
  const lines: LogLine[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  return { lines, logger };
}

describe('log lines carry only their own fields', () => {
  it('does not repeat one line’s fields on the next line of the same request', () => {
    const { lines, logger } = capture();
    withLogContext({ requestId: 'req-1' }, () => {
      logger.info({ intakeId: 'item-7', ticketNumber: '0000042' }, 'first');
      logger.info('second');
    });
    expect(lines[0]).toMatchObject({ requestId: 'req-1', intakeId: 'item-7', ticketNumber: '0000042' });
    expect(lines[1]).toMatchObject({ requestId: 'req-1', msg: 'second' });
    expect(lines[1]).not.toHaveProperty('intakeId');
    expect(lines[1]).not.toHaveProperty('ticketNumber');
  });

  it('does not stamp the worker’s lines with the request that woke it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-context-'));
    const config = loadConfig({
      DATABASE_URL: `sqlite:${join(dir, 'crm.sqlite')}`,
      MAILBOX_DIR: join(dir, 'mailbox'),
      LOG_LEVEL: 'info',
    });
    const { lines, logger } = capture();
    const store = SqliteCrmStore.open({ path: join(dir, 'crm.sqlite') });
    const mailbox = new LocalMailbox(config.MAILBOX_DIR);
    await mailbox.ensureFolders();
    const worker = new IntakeWorker(
      processDeps(config, store, logger),
      mailbox,
      new OutboxSender(store, mailbox, logger),
      {
        concurrency: 1,
        maxAttempts: 3,
        retryBaseMs: 10,
        leaseMs: 60_000,
        pollIntervalMs: 60_000,
        workerId: 'w1',
      },
    );
    try {
      worker.start();
      writeFileSync(
        join(config.MAILBOX_DIR, 'inbox', 'hello.eml'),
        mail({ from: 'someone@nowhere.example', subject: 'Printer' }),
      );
      const [mailboxId] = await waitFor(async () => {
        const ids = await mailbox.listInbox();
        return ids.length > 0 ? ids : null;
      }, 5_000);
      const { item } = await store.enqueue({ mailboxId: mailboxId!, source: 'local', now: new Date() });
      // A webhook request enqueues a message and wakes the worker, inside the request's log context.
      withLogContext({ requestId: 'req-webhook' }, () => {
        logger.info({ intakeId: item.id }, 'notification accepted');
        worker.wake();
      });
      await waitFor(async () => lines.some((line) => line.msg === 'message processed'), 10_000);
      const processed = lines.find((line) => line.msg === 'message processed')!;
      expect(processed.intakeId).toBe(item.id);
      expect(processed).not.toHaveProperty('requestId');
    } finally {
      await worker.stop();
      await store.close();
    }
  });
});
