import { mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { createApp, processDeps } from '../../src/composition-root.ts';
import { parseCrmImport } from '../../src/crm/crm-import.ts';
import type { CrmStore } from '../../src/crm/crm-store.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import type { Mailbox, MailPieces, SendMailOptions, SettledFolder } from '../../src/mailbox/mailbox.ts';
import { MailboxError } from '../../src/mailbox/mailbox-error.ts';
import { InboxWatcher } from '../../src/mailbox/local/inbox-watcher.ts';
import { LocalMailbox } from '../../src/mailbox/local/local-mailbox.ts';
import { IntakeWorker, retryDelayMs, type IntakeWorkerOptions } from '../../src/processing/intake-worker.ts';
import type { ProcessDeps } from '../../src/processing/process-message.ts';
import { OutboxSender } from '../../src/processing/outbox-sender.ts';
import { parseEmail } from '../../src/processing/parse-email.ts';
import { runCli } from '../../src/cli.ts';
import { mail } from '../helpers/mail-factory.ts';
import { waitFor } from '../helpers/run-node.ts';

const demoCrm = fileURLToPath(new URL('../../demo/crm.json', import.meta.url));
const silent = pino({ level: 'silent' });

/** The local mailbox with faults injected at the port: `failFetches` transient failures, or always. */
class FlakyMailbox implements Mailbox {
  readonly name = 'local';
  fetchFailures = 0;
  alwaysFail = false;
  readonly #inner: LocalMailbox;
  constructor(inner: LocalMailbox, failFetches: number) {
    this.#inner = inner;
    this.fetchFailures = failFetches;
  }
  async fetchRaw(id: string): Promise<Buffer> {
    if (this.alwaysFail) throw new MailboxError('transient', 'mailbox unavailable (injected)');
    if (this.fetchFailures > 0) {
      this.fetchFailures -= 1;
      throw new MailboxError('throttled', 'throttled (injected)', { retryAfterMs: 20 });
    }
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

interface Rig {
  dir: string;
  env: Record<string, string>;
  config: Config;
  store: CrmStore;
  local: LocalMailbox;
}

async function rig(extra: Record<string, string> = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'queue-'));
  const env = {
    DATABASE_URL: `sqlite:${join(dir, 'crm.sqlite')}`,
    MAILBOX_DIR: join(dir, 'mailbox'),
    PORT: '0',
    POLL_INTERVAL_MS: '50',
    RETRY_BASE_MS: '10',
    MAX_ATTEMPTS: '4',
    LOG_LEVEL: 'silent',
    ...extra,
  };
  const config = loadConfig(env);
  const store = SqliteCrmStore.open({ path: join(dir, 'crm.sqlite') });
  await store.importCrm(parseCrmImport(JSON.parse(readFileSync(demoCrm, 'utf8'))));
  const local = new LocalMailbox(join(dir, 'mailbox'));
  await local.ensureFolders();
  return { dir, env, config, store, local };
}

function workerFor(
  r: Rig,
  mailbox: Mailbox,
  options: Partial<IntakeWorkerOptions> = {},
  deps: ProcessDeps = processDeps(r.config, r.store, silent),
): IntakeWorker {
  return new IntakeWorker(deps, mailbox, new OutboxSender(r.store, mailbox, silent), {
    concurrency: 3,
    maxAttempts: r.config.MAX_ATTEMPTS,
    retryBaseMs: r.config.RETRY_BASE_MS,
    leaseMs: 30_000,
    pollIntervalMs: 20,
    workerId: 'test-worker',
    ...options,
  });
}

/** One pass of the inbox watcher: every finished file in `inbox/` is enqueued. */
const scanInbox = (r: Rig): Promise<number> =>
  new InboxWatcher({
    mailbox: r.local,
    store: r.store,
    logger: silent,
    intervalMs: 1000,
    onEnqueued: () => undefined,
  }).scan();

/** Drops a mail into the inbox as a finished copy (written a moment ago, so the scan takes it at once). */
const drop = (r: Rig, name: string, text: string): void => {
  const path = join(r.local.root, 'inbox', name);
  writeFileSync(path, text);
  const past = new Date(Date.now() - 1000);
  utimesSync(path, past, past);
};
const sent = (r: Rig): string[] =>
  readdirSync(join(r.local.root, 'sent')).map((file) =>
    readFileSync(join(r.local.root, 'sent', file), 'utf8'),
  );

describe('durable intake queue', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('gives one outcome, one ticket and one acknowledgment for the same message arriving three times, interleaved', async () => {
    const r = await rig();
    cleanups.push(() => r.store.close());
    const same = mail({
      from: 'carl@acme.example',
      subject: 'Scanner jammed',
      messageId: 'same-1@acme.example',
    });
    drop(r, 'a-copy1.eml', same);
    drop(r, 'b-other.eml', mail({ from: 'x@unknown.example', subject: 'Other' }));
    drop(r, 'c-copy2.eml', same);
    drop(r, 'd-other.eml', mail({ from: 'y@unknown.example', subject: 'Other 2' }));
    drop(r, 'e-copy3.eml', same);
    await scanInbox(r);
    await scanInbox(r); // announced again: still one queue row per file
    expect(await r.store.listIntake('pending', 100)).toHaveLength(5);
    await workerFor(r, r.local).runUntilIdle();

    const outcomes = await r.store.listOutcomes();
    expect(outcomes.filter((o) => o.messageId === 'same-1@acme.example')).toHaveLength(1);
    expect(outcomes).toHaveLength(3);
    expect((await r.store.counts()).tickets).toBe(2); // the demo ticket and one new one
    expect(sent(r).filter((m) => /Subject: \[Ticket#\d+\] Scanner jammed/.test(m))).toHaveLength(1);
    expect(readdirSync(join(r.local.root, 'inbox'))).toEqual([]);
    expect(readdirSync(join(r.local.root, 'processed'))).toHaveLength(5);
  });

  it('retries transient mailbox failures with backoff and succeeds, keeping the attempt count', async () => {
    const r = await rig();
    cleanups.push(() => r.store.close());
    drop(
      r,
      'new.eml',
      mail({ from: 'carl@acme.example', subject: 'VPN down', messageId: 'vpn@acme.example' }),
    );
    const flaky = new FlakyMailbox(r.local, 3);
    await scanInbox(r);
    const worker = workerFor(r, flaky);
    worker.start();
    cleanups.push(() => worker.stop());
    const outcome = await waitFor(
      async () => (await r.store.findOutcomesByMessageId('vpn@acme.example', 1))[0],
      5_000,
    );
    expect(outcome.action).toBe('ticket-created');
    const [item] = await r.store.listIntake('done', 10);
    expect(item).toMatchObject({ attempts: 4, lastError: expect.stringMatching(/throttled \(injected\)/) });
    expect(flaky.fetchFailures).toBe(0);
  });

  it('quarantines a message that keeps failing, tells internal support once, and reprocesses it once the cause is gone', async () => {
    const r = await rig();
    cleanups.push(() => r.store.close());
    drop(
      r,
      'stuck.eml',
      mail({ from: 'carl@acme.example', subject: 'Email not syncing', messageId: 'stuck@acme.example' }),
    );
    const broken = new FlakyMailbox(r.local, 0);
    broken.alwaysFail = true;
    await scanInbox(r);
    const worker = workerFor(r, broken);
    worker.start();
    const [quarantined] = await waitFor(async () => {
      const items = await r.store.listIntake('quarantined', 10);
      return items.length > 0 ? items : null;
    }, 5_000);
    await worker.stop();
    expect(quarantined).toMatchObject({
      attempts: 4,
      lastError: expect.stringMatching(/mailbox unavailable/),
    });
    // Internal support told once, with the failure; the outcome says failed.
    const notices = sent(r).filter((m) => /To: helpdesk@msp\.example/.test(m));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/quarantined after 4 attempt/);
    expect((await r.store.listOutcomes({ action: 'failed' })).map((o) => o.code)).toEqual(['quarantined']);
    // Quarantine is never cleared by itself: another worker pass leaves it alone.
    await workerFor(r, broken).runUntilIdle();
    expect(await r.store.listIntake('quarantined', 10)).toHaveLength(1);
    expect(sent(r).filter((m) => /To: helpdesk@msp\.example/.test(m))).toHaveLength(1);

    // An operator sees it with the CLI.
    const listed: string[] = [];
    const listing = { out: (line: string) => listed.push(line), err: (line: string) => listed.push(line) };
    expect(await runCli(['quarantine', 'list'], r.env, listing)).toBe(0);
    expect(listed.join('\n')).toMatch(/stuck\.eml\|\S+\s+4\s+MailboxError: mailbox unavailable \(injected\)/);

    // The cause is removed (the CLI uses the plain mailbox): reprocess succeeds.
    const lines: string[] = [];
    const output = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(line) };
    const code = await runCli(['reprocess', '--all'], r.env, output);
    expect(code, lines.join('\n')).toBe(0);
    expect(lines.join('\n')).toMatch(
      /reprocessing 1 message\(s\)[\s\S]*\[1\] stuck\.eml\|[^ ]+ → ticket-created/,
    );
    const reopened = SqliteCrmStore.open({ path: join(r.dir, 'crm.sqlite') });
    cleanups.push(() => reopened.close());
    expect(await reopened.listIntake('quarantined', 10)).toEqual([]);
    expect((await reopened.findOutcomesByMessageId('stuck@acme.example', 1))[0]?.action).toBe(
      'ticket-created',
    );
    expect(await reopened.listOutcomes({ action: 'failed' })).toEqual([]);
    expect(readdirSync(join(r.local.root, 'processed'))).toEqual(['stuck.eml']);
    expect(readdirSync(join(r.local.root, 'failed'))).toEqual([]);
  });

  it('goes on claiming and processing while the outbox is still sending an earlier mail', async () => {
    const r = await rig();
    cleanups.push(() => r.store.close());
    for (const n of [1, 2, 3])
      drop(
        r,
        `m${n}.eml`,
        mail({ from: 'carl@acme.example', subject: `Printer ${n}`, messageId: `slow-${n}@acme.example` }),
      );
    await scanInbox(r);
    // Sending hangs (a long forward on a slow link) until released.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let sendsStarted = 0;
    const slow = new FlakyMailbox(r.local, 0);
    slow.send = async (pieces, options) => {
      sendsStarted += 1;
      await released;
      return r.local.send(pieces, options);
    };
    const worker = workerFor(r, slow, { concurrency: 1 });
    worker.start();
    // All three have their outcome (one at a time) while the first acknowledgment is still on its way.
    await waitFor(async () => ((await r.store.listOutcomes()).length === 3 ? true : null), 5_000);
    expect(sendsStarted).toBe(1);
    expect(sent(r)).toHaveLength(0);
    release();
    await waitFor(async () => (sent(r).length === 3 ? true : null), 5_000);
    await worker.stop();
    expect(sent(r).filter((m) => /Subject: \[Ticket#\d+\] Printer \d/.test(m))).toHaveLength(3);
  });

  it('processes large messages one at a time, and smaller ones side by side', async () => {
    const r = await rig();
    cleanups.push(() => r.store.close());
    for (const n of [1, 2, 3, 4])
      drop(
        r,
        `m${n}.eml`,
        mail({
          from: 'carl@acme.example',
          subject: `Report ${n}`,
          messageId: `large-${n}@acme.example`,
          body: 'x'.repeat(n <= 2 ? 20_000 : 100),
        }),
      );
    await scanInbox(r);
    const deps = processDeps(r.config, r.store, silent);
    cleanups.push(() => deps.parser?.close() ?? Promise.resolve());
    // The real parser, slowed down and watched: how many messages over 10 kB it reads at the same time, and
    // whether a small one was read meanwhile.
    let reading = 0;
    let most = 0;
    let smallOverlapped = false;
    const watched = {
      parse: async (raw: Buffer) => {
        const large = raw.length >= 10_000;
        if (large) most = Math.max(most, (reading += 1));
        else smallOverlapped ||= reading > 0;
        try {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return await (deps.parser ?? { parse: parseEmail }).parse(raw);
        } finally {
          if (large) reading -= 1;
        }
      },
      close: async () => undefined,
    };
    const worker = workerFor(
      r,
      r.local,
      { concurrency: 4, largeMessageBytes: 10_000 },
      { ...deps, parser: watched },
    );
    await worker.runUntilIdle();
    expect((await r.store.listOutcomes()).map((o) => o.action)).toEqual(Array(4).fill('ticket-created'));
    expect(most).toBe(1);
    expect(smallOverlapped).toBe(true);
  });

  it('processes files dropped into the inbox while the service was stopped, once it starts', async () => {
    const r = await rig();
    await r.store.close();
    for (let index = 0; index < 5; index += 1) {
      drop(
        r,
        `offline-${index}.eml`,
        mail({ from: `p${index}@unknown.example`, subject: `While down ${index}` }),
      );
    }
    const app = createApp({ config: r.config, logger: silent });
    await app.start();
    cleanups.push(() => app.stop());
    await waitFor(async () => readdirSync(join(r.local.root, 'processed')).length === 5 || null, 5_000);
    expect(await app.store.listOutcomes()).toHaveLength(5);
    expect(readdirSync(join(r.local.root, 'inbox'))).toEqual([]);
    // Stopping twice (a second signal, a test's cleanup) is harmless.
    await app.stop();
  });

  it('backs off exponentially with jitter, never sooner than Retry-After', () => {
    expect(retryDelayMs(1, 1000, () => 0.5, null)).toBe(1000);
    expect(retryDelayMs(3, 1000, () => 0.5, null)).toBe(4000);
    expect(retryDelayMs(3, 1000, () => 0, null)).toBe(2000);
    expect(retryDelayMs(3, 1000, () => 0.999, null)).toBeLessThan(6000);
    expect(retryDelayMs(1, 1000, () => 0.5, 30_000)).toBe(30_000);
  });
});
