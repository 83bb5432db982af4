import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenCredential } from '@azure/identity';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { createApp, type App } from '../../src/composition-root.ts';
import { loadConfig } from '../../src/config/config.ts';
import { checkServiceHealth, IntakeHealthMonitor } from '../../src/processing/intake-health-monitor.ts';
import { testCertificate } from '../graph-stand-in/certificate.ts';
import { GraphStandIn } from '../graph-stand-in/graph-stand-in.ts';
import {
  capturedLogger,
  clientState,
  mailboxName,
  startHarness,
  token,
  waitFor,
  type Harness,
} from '../graph/helpers.ts';
import { testEnv } from '../helpers/engine.ts';
import { freePort } from '../helpers/run-node.ts';
import { countRows } from '../helpers/sqlite-peek.ts';

const internalSupport = 'helpdesk@msp.example';

/** The identity endpoint as the service sees it: hands out the stand-in's token until told to refuse. */
function switchableCredential(): TokenCredential & { refusing: boolean; requests: number } {
  const credential = {
    refusing: false,
    requests: 0,
    async getToken() {
      credential.requests += 1;
      if (credential.refusing) throw new Error('AADSTS700016: Application not found in the directory.');
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return credential;
}

function subjectOf(mime: string): string {
  return /^Subject: (.*)$/m.exec(mime)?.[1] ?? '';
}

/** The service as createApp builds it on Graph, serving HTTPS, with the monitor checking every 20 ms. */
async function startService(credential: TokenCredential): Promise<{
  app: App;
  standIn: GraphStandIn;
  database: string;
  close(): Promise<void>;
}> {
  const standIn = await GraphStandIn.start({ token });
  const dir = mkdtempSync(join(tmpdir(), 'health-service-'));
  const port = await freePort();
  const config = loadConfig(
    testEnv(dir, {
      PORT: String(port),
      GRAPH_AUTH: 'client-secret',
      GRAPH_TENANT_ID: '00000000-0000-0000-0000-000000000001',
      GRAPH_CLIENT_ID: '00000000-0000-0000-0000-000000000002',
      GRAPH_CLIENT_SECRET: 'unused-secret-value',
      SUPPORT_MAILBOX: mailboxName,
      PUBLIC_BASE_URL: `https://127.0.0.1:${port}`,
      GRAPH_CLIENT_STATE: clientState,
      GRAPH_BASE_URL: standIn.baseUrl,
      POLL_INTERVAL_MS: '50',
      RETRY_BASE_MS: '20',
    }),
  );
  const app = createApp({
    config,
    logger: capturedLogger().logger,
    tls: testCertificate(),
    graph: { credential, fetchOptions: standIn.fetchOptions, requestTimeoutMs: 2_000, healthCacheMs: 0 },
    healthMonitor: { intervalMs: 20 },
  });
  await app.start();
  return {
    app,
    standIn,
    database: join(dir, 'crm.sqlite'),
    async close() {
      try {
        await app.stop();
      } finally {
        await standIn.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

describe('the intake health monitor in the running service', () => {
  let service: Awaited<ReturnType<typeof startService>> | null = null;
  afterEach(async () => {
    await service?.close();
    service = null;
  });

  it('tells internal support once when intake breaks and once when it recovers, however many checks run', async () => {
    const credential = switchableCredential();
    service = await startService(credential);
    const { database, standIn } = service;
    const notices = () => countRows(database, `SELECT count(*) AS n FROM outbox WHERE kind = 'notice'`);
    const sentNotices = () =>
      standIn.sentMail.filter((mail) => /^X-Email-Connector: notice/m.test(mail.mime));

    // Healthy checks queue nothing.
    const healthyFrom = credential.requests;
    await waitFor(() => credential.requests >= healthyFrom + 5);
    expect(notices()).toBe(0);

    credential.refusing = true;
    const brokenFrom = credential.requests;
    // Every check asks for a token (no cache here): many checks run while it is broken.
    await waitFor(() => credential.requests >= brokenFrom + 10);
    expect(notices()).toBe(1);
    // Sending needs a token too: the notice waits in the outbox.
    expect(sentNotices()).toHaveLength(0);
    expect(
      countRows(database, `SELECT count(*) AS n FROM outbox WHERE kind = 'notice' AND state = 'pending'`),
    ).toBe(1);

    credential.refusing = false;
    await waitFor(() => sentNotices().length >= 2, 10_000);
    const recoveredFrom = credential.requests;
    await waitFor(() => credential.requests >= recoveredFrom + 5);
    expect(notices()).toBe(2);

    const [broken, recovered] = sentNotices();
    expect(subjectOf(broken!.mime)).toBe('[Email Connector] Mail intake is broken: graph-credential');
    expect(broken!.mime).toMatch(/^To: helpdesk@msp\.example/m);
    expect(broken!.mime).toContain('AADSTS700016');
    expect(broken!.mime).toContain('email-connector doctor');
    expect(subjectOf(recovered!.mime)).toBe('[Email Connector] Mail intake works again');
    expect(recovered!.mime).toMatch(/It was broken from \S+ \(\d+ min\)/);
  });
});

describe('several instances on one database', () => {
  let harness: Harness | null = null;
  let dir = '';
  const stores: SqliteCrmStore[] = [];
  afterEach(async () => {
    await harness?.close();
    harness = null;
    for (const store of stores.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('send one notice per transition between them, also when another instance takes over', async () => {
    dir = mkdtempSync(join(tmpdir(), 'health-monitor-'));
    const path = join(dir, 'crm.sqlite');
    const credential = switchableCredential();
    harness = await startHarness({
      store: SqliteCrmStore.open({ path }),
      intake: { credential, healthCacheMs: 0 },
    });
    await harness.intake.start();
    const other = harness.newIntake();
    await other.start();

    // Each instance has its own connection to the shared file, its own intake and its own monitor.
    const instance = (name: string, intake: typeof other) => {
      const store = SqliteCrmStore.open({ path });
      stores.push(store);
      return new IntakeHealthMonitor({
        store,
        logger: harness!.logger,
        check: () => checkServiceHealth(store, intake),
        supportAddress: 'support@msp.example',
        internalSupportAddress: internalSupport,
        instanceId: name,
      });
    };
    const first = instance('first', harness.intake);
    const second = instance('second', other);
    const notices = () =>
      countRows(
        path,
        `SELECT count(*) AS n FROM outbox WHERE kind = 'notice' AND first_recipient = '${internalSupport}'`,
      );

    credential.refusing = true;
    for (let round = 0; round < 5; round += 1) {
      expect((await first.checkNow())?.ok).toBe(false);
      // The first holds the lease: the second does not check at all.
      expect(await second.checkNow()).toBeNull();
    }
    expect(notices()).toBe(1);

    // The first instance stops; the second takes over and finds intake already recorded as broken.
    await first.stop();
    for (let round = 0; round < 3; round += 1) expect((await second.checkNow())?.ok).toBe(false);
    expect(notices()).toBe(1);

    credential.refusing = false;
    for (let round = 0; round < 3; round += 1) expect((await second.checkNow())?.ok).toBe(true);
    expect(notices()).toBe(2);
    await second.stop();
  });

  it('queues no notice for a transition another instance recorded first', async () => {
    dir = mkdtempSync(join(tmpdir(), 'health-monitor-'));
    const store = SqliteCrmStore.open({ path: join(dir, 'crm.sqlite') });
    stores.push(store);
    const mail = (id: string) => ({
      id,
      kind: 'notice' as const,
      to: [internalSupport],
      subject: 'Mail intake is broken',
      messageId: `${id}@msp.example`,
      referenceToken: null,
      ticketId: null,
      mime: Buffer.from('Subject: Mail intake is broken\r\n\r\nbroken\r\n'),
    });
    const broken = JSON.stringify({ state: 'broken', since: '2026-01-01T00:00:00.000Z' });
    expect(await store.queueNotice(mail('a'), { key: 'intake-health', expected: null, value: broken })).toBe(
      true,
    );
    // A second instance that read the state before the first recorded the change.
    expect(await store.queueNotice(mail('b'), { key: 'intake-health', expected: null, value: broken })).toBe(
      false,
    );
    expect((await store.listPendingMail(10, new Date())).map((pending) => pending.id)).toEqual(['a']);
    expect(await store.getState('intake-health')).toBe(broken);
  });
});
