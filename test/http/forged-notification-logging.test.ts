import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { createGraphWebhookRouter } from '../../src/http/graph-webhook.ts';
import { createHttpApp } from '../../src/http/http-app.ts';
import { RejectionLog } from '../../src/http/rejection-log.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { clientState } from '../graph/helpers.ts';

const subscriptionId = '7f9d1c2e-0000-4000-8000-000000000001';
const forgedState = 'forged-state-3b8e2d71c4';

const item = (id: string, overrides: Record<string, unknown> = {}) => ({
  subscriptionId,
  clientState,
  changeType: 'created',
  resource: `Users/support@msp.example/Messages/${id}`,
  resourceData: { id },
  ...overrides,
});

/** Ten items a forger might send in one POST: wrong secrets, made-up subscriptions, junk. */
const forgedBatch = (request: number) => ({
  value: Array.from({ length: 10 }, (_, index) => {
    const id = `AAMkF${request}x${index}`;
    if (index < 5) return item(id, { clientState: forgedState });
    if (index < 8) return item(id, { subscriptionId: `made-up-${index}`, clientState: forgedState });
    return { junk: true, clientState: forgedState };
  }),
});

interface LogLine {
  msg: string;
  reason?: string;
  rejected?: Record<string, number>;
  total?: number;
}

describe('logging of forged Graph notifications', () => {
  let store: SqliteCrmStore;
  let server: Server | undefined;
  let url: string;
  let lines: string[];
  let logger: Logger;
  let rejections: RejectionLog | undefined;

  /** The service's HTTP app (at the default log level) with the webhook mounted. */
  async function serve(options: { rejections?: RejectionLog } = {}): Promise<void> {
    rejections = options.rejections;
    const app = createHttpApp({
      logger,
      readiness: async () => ({}),
      routers: [
        createGraphWebhookRouter({
          store,
          logger,
          clientState,
          isKnownSubscription: (id) => id === subscriptionId,
          onLifecycle: () => {},
          ...(options.rejections ? { rejections: options.rejections } : {}),
        }),
      ],
    });
    const listening = app.listen(0, '127.0.0.1');
    server = listening;
    await new Promise((resolve) => listening.once('listening', resolve));
    url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/webhooks/graph`;
  }

  beforeEach(() => {
    server = undefined;
    rejections = undefined;
    store = SqliteCrmStore.open({ path: ':memory:' });
    lines = [];
    logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  });
  afterEach(async () => {
    rejections?.stop();
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(null)));
    await store.close();
  });

  const post = (body: unknown) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const parsed = (): LogLine[] => lines.map((line) => JSON.parse(line) as LogLine);

  it('writes one line, not one per item, for 100 forged POSTs of ten items each', async () => {
    await serve();
    for (let request = 0; request < 100; request += 1) {
      expect((await post(forgedBatch(request))).status).toBe(403);
    }
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(parsed()[0]).toMatchObject({ reason: 'client-state-mismatch' });
    expect(lines.join('\n')).not.toContain(forgedState);
    expect(lines.join('\n')).not.toContain(clientState);
  });

  it('logs the count by reason once the window closes, or on shutdown, and still accepts a genuine notification', async () => {
    const log = new RejectionLog(logger);
    await serve({ rejections: log });
    for (let request = 0; request < 100; request += 1) await post(forgedBatch(request));
    const genuine = await post({ value: [item('AAMkGenuine1')] });
    expect(genuine.status).toBe(202);
    expect(await store.findIntake('AAMkGenuine1')).not.toBeNull();
    expect(lines).toHaveLength(1);

    log.stop();
    expect(lines).toHaveLength(2);
    const summary = parsed()[1]!;
    // The first item had a line of its own; the other 999 are counted.
    expect(summary).toMatchObject({
      msg: 'rejected Graph notifications since the last line',
      rejected: { 'client-state-mismatch': 499, 'unknown-subscription': 300, malformed: 200 },
      total: 999,
    });
    expect(lines.join('\n')).not.toContain(forgedState);
    expect(lines.join('\n')).not.toContain(clientState);
  });

  it('writes one summary per window while the forging goes on, and a first line again after a quiet window', () => {
    vi.useFakeTimers();
    try {
      const log = new RejectionLog(logger);
      log.record('unknown-subscription', { subscriptionId: 'made-up', path: '/webhooks/graph' });
      for (let count = 0; count < 500; count += 1) log.record('client-state-mismatch');
      expect(lines).toHaveLength(1);
      vi.advanceTimersByTime(60_000);
      expect(parsed()[1]).toMatchObject({ rejected: { 'client-state-mismatch': 500 }, total: 500 });
      for (let count = 0; count < 7; count += 1) log.record('malformed');
      vi.advanceTimersByTime(60_000);
      expect(parsed()[2]).toMatchObject({ rejected: { malformed: 7 }, total: 7 });
      // A minute without rejections ends the counting, and writes nothing.
      vi.advanceTimersByTime(60_000);
      expect(lines).toHaveLength(3);
      log.record('client-state-mismatch');
      expect(parsed()[3]).toMatchObject({ reason: 'client-state-mismatch' });
      log.stop();
      expect(vi.getTimerCount()).toBe(0);
      expect(lines).toHaveLength(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts unreadable request bodies instead of logging each one', async () => {
    await serve();
    for (let request = 0; request < 20; request += 1) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"value": [',
      });
      expect(response.status).toBe(400);
    }
    expect(lines).toHaveLength(1);
    expect(parsed()[0]).toMatchObject({ reason: 'bad-request' });
  });
});
