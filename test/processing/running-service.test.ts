import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/composition-root.ts';
import { loadConfig } from '../../src/config/config.ts';
import { internalSupport, readSentMail, seedTestCrm, silentLogger, testEnv } from '../helpers/engine.ts';
import { readFixture } from '../helpers/fixtures.ts';

let dir: string;
let app: App | null = null;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'email-connector-service-'));
});

afterEach(async () => {
  await app?.stop();
  app = null;
  await rm(dir, { recursive: true, force: true });
});

async function startService(overrides: Record<string, string> = {}): Promise<App> {
  const config = loadConfig(testEnv(dir, { PORT: '0', POLL_INTERVAL_MS: '100', ...overrides }));
  app = createApp({ config, logger: silentLogger() });
  await seedTestCrm(app.store);
  await app.start();
  return app;
}

async function folder(name: string): Promise<string[]> {
  return (await readdir(join(dir, 'mailbox', name))).sort();
}

/** Waits until `done` holds, checking every 25 ms; returns the time it took. */
async function waitFor(done: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await done())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not done within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Date.now() - started;
}

describe('the running service on the local mailbox', () => {
  it('records the outcome of a file dropped into inbox/ and moves it to processed/ within 2 s', async () => {
    // The default poll interval, as `npm start` runs.
    const service = await startService({ POLL_INTERVAL_MS: '1000' });
    expect(await folder('inbox')).toEqual([]);

    await writeFile(join(dir, 'mailbox', 'inbox', 'reply-customer.eml'), readFixture('reply-customer.eml'));
    const elapsed = await waitFor(
      async () => (await folder('processed')).includes('reply-customer.eml'),
      2000,
    );

    expect(elapsed).toBeLessThan(2000);
    expect(await folder('inbox')).toEqual([]);
    const outcome =
      (await service.store.findOutcomesByMessageId('reply-customer-0042@acme.example', 1))[0] ?? null;
    expect(outcome).toMatchObject({
      action: 'filed',
      ticketNumber: '0000042',
      forwardedTo: [internalSupport],
    });
    expect(outcome?.source).toContain('reply-customer.eml');
    const ticket = await service.store.findTicketByNumber('0000042');
    expect(await service.store.listDocuments(ticket!.id)).toHaveLength(1);
    // The forward is sent from the outbox, independently of the move.
    await waitFor(async () => (await readSentMail(join(dir, 'mailbox'))).length > 0, 2000);
    const sent = await readSentMail(join(dir, 'mailbox'));
    expect(sent.map((mail) => mail.to)).toEqual([[internalSupport]]);
  });

  it('processes several dropped files, each to exactly one outcome', async () => {
    const service = await startService();
    const names = [
      'new-from-contact-with-attachment.eml',
      'unknown-sender.eml',
      'out-of-office-exchange.eml',
    ];

    for (const name of names) await writeFile(join(dir, 'mailbox', 'inbox', name), readFixture(name));
    await waitFor(async () => (await folder('processed')).length === names.length, 2000);

    const outcomes = await service.store.listOutcomes();
    expect(outcomes.map((outcome) => outcome.action).sort()).toEqual([
      'forwarded',
      'ignored',
      'ticket-created',
    ]);
    expect(await folder('inbox')).toEqual([]);
  });

  it('moves a message that cannot be processed to failed/ with a failed outcome', async () => {
    const service = await startService({ MAX_MESSAGE_MB: '1' });
    const large = Buffer.concat([
      readFixture('no-message-id.eml'),
      Buffer.from(`${'x'.repeat(76)}\n`.repeat(16_000)),
    ]);

    await writeFile(join(dir, 'mailbox', 'inbox', 'too-large.eml'), large);
    await waitFor(async () => (await folder('failed')).includes('too-large.eml'), 2000);

    const [outcome] = await service.store.listOutcomes();
    expect(outcome).toMatchObject({ action: 'failed', code: 'too-large' });
  });
});
