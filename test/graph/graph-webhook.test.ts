import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { frontDoor } from '../../src/http/front-door.ts';
import { createGraphWebhookRouter, type LifecycleEvent } from '../../src/http/graph-webhook.ts';
import { createServer } from '../../src/http/http-server.ts';
import { RejectionLog } from '../../src/http/rejection-log.ts';
import { capturedLogger, clientState } from './helpers.ts';

const subscriptionId = '7f9d1c2e-0000-4000-8000-000000000001';

function item(id: string, overrides: Record<string, unknown> = {}) {
  return {
    subscriptionId,
    clientState,
    changeType: 'created',
    resource: `Users/support@msp.example/Messages/${id}`,
    resourceData: { id },
    tenantId: 'tenant',
    ...overrides,
  };
}

/** The two ways the handler is served: mounted in an Express app, and by the service's front door before Express. */
const servings = ['express router', 'front door'] as const;

describe.each(servings)('Graph webhook (%s)', (serving) => {
  let store: SqliteCrmStore;
  let server: Server;
  let url: string;
  let lines: string[];
  let lifecycle: { event: LifecycleEvent; subscriptionId: string }[];
  let notified: { valid: number; created: number }[];
  let rejections: RejectionLog;

  beforeEach(async () => {
    store = SqliteCrmStore.open({ path: ':memory:' });
    const captured = capturedLogger();
    lines = captured.lines;
    lifecycle = [];
    notified = [];
    rejections = new RejectionLog(captured.logger);
    const router = createGraphWebhookRouter({
      store,
      logger: captured.logger,
      clientState,
      isKnownSubscription: (id) => id === subscriptionId,
      onLifecycle: (event, id) => lifecycle.push({ event, subscriptionId: id }),
      onNotified: (info) => notified.push(info),
      rejections,
    });
    const app = express();
    app.use(router);
    // What Express answers for a route the webhook does not serve.
    app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
    server =
      serving === 'front door'
        ? createServer(frontDoor(app, [router.fastRoute], captured.logger))
        : createServer(app);
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/graph`;
  });
  afterEach(async () => {
    rejections.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
  });

  const postJson = (body: unknown, path = url) =>
    fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('echoes the decoded validation token as text/plain on both routes', async () => {
    const token = 'Validation: Testing client application reachability & more <x>';
    for (const path of [url, `${url}/lifecycle`]) {
      const response = await fetch(`${path}?validationToken=${encodeURIComponent(token)}`, {
        method: 'POST',
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toBe(token);
    }
    expect(lines.join('\n')).not.toContain('reachability');
  });

  it('enqueues every valid item before answering 202, once per message', async () => {
    const response = await postJson({ value: [item('AAMkA1'), item('AAMkA2'), item('AAMkA1')] });
    expect(response.status).toBe(202);
    // The reply came after the commit: the rows are there as soon as the response is.
    expect((await store.findIntake('AAMkA1'))?.source).toBe('graph');
    expect(await store.findIntake('AAMkA2')).not.toBeNull();
    expect(await store.listIntake('pending', 10)).toHaveLength(2);
    expect(notified).toEqual([{ valid: 3, created: 2 }]);
    await postJson({ value: [item('AAMkA2')] });
    expect(notified.at(-1)).toEqual({ valid: 1, created: 0 });
  });

  it('rejects a wrong clientState or an unknown subscription with 403 and enqueues nothing', async () => {
    const forged = await postJson({ value: [item('AAMkF1', { clientState: 'guess' })] });
    expect(forged.status).toBe(403);
    const unknown = await postJson({ value: [item('AAMkF2', { subscriptionId: 'not-ours' })] });
    expect(unknown.status).toBe(403);
    const missing = await postJson({ value: [item('AAMkF3', { clientState: undefined })] });
    expect(missing.status).toBe(403);
    expect(await store.listIntake('pending', 10)).toEqual([]);
    // The first rejection is logged at once, the others are counted (see forged-notification-logging.test.ts).
    rejections.stop();
    const log = lines.join('\n');
    expect(log).toContain('client-state-mismatch');
    expect(log).toContain('unknown-subscription');
    expect(log).not.toContain(clientState);
    expect(log).not.toContain('guess');
  });

  it('accepts a partly forged batch with 202 but enqueues only the genuine items', async () => {
    const response = await postJson({ value: [item('AAMkG1'), item('AAMkF9', { clientState: 'nope' })] });
    expect(response.status).toBe(202);
    expect(await store.findIntake('AAMkG1')).not.toBeNull();
    expect(await store.findIntake('AAMkF9')).toBeNull();
  });

  it('refuses an oversized body with 413 and a malformed one with 400', async () => {
    const huge = { value: [item('AAMkH1', { padding: 'x'.repeat(300 * 1024) })] };
    expect((await postJson(huge)).status).toBe(413);
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"value": [',
    });
    expect(bad.status).toBe(400);
    expect((await postJson({ nothing: true })).status).toBe(400);
    expect(await store.listIntake('pending', 10)).toEqual([]);
  });

  it('counts items of the wrong kind or length as malformed, and takes the fields Graph may leave out', async () => {
    const malformed = [
      'not an object',
      ['an', 'array'],
      null,
      item('AAMkM1', { subscriptionId: '' }),
      item('AAMkM2', { subscriptionId: 42 }),
      item('AAMkM3', { subscriptionId: 's'.repeat(201) }),
      item('AAMkM4', { clientState: 7 }),
      item('AAMkM5', { clientState: 'c'.repeat(257) }),
      item('AAMkM6', { changeType: null }),
      item('AAMkM7', { changeType: 'c'.repeat(65) }),
      item('AAMkM8', { resource: ['Messages', 'AAMkM8'] }),
      item('AAMkM9', { resource: 'r'.repeat(2049) }),
      item('AAMkMA', { resourceData: 'AAMkMA' }),
      item('AAMkMB', { resourceData: { id: 12 } }),
      item('AAMkMC', { lifecycleEvent: 3 }),
    ];
    for (const raw of malformed) expect((await postJson({ value: [raw] })).status).toBe(403);
    // Alongside a genuine item the batch is taken, and only the genuine items are queued.
    const plain = { subscriptionId, clientState, resource: 'Users/x/Messages/AAMkN2', resourceData: null };
    const response = await postJson({
      value: [...malformed, item('AAMkN1', { changeType: 'created,updated' }), plain],
    });
    expect(response.status).toBe(202);
    const queued = (await store.listIntake('pending', 50)).map((entry) => entry.mailboxId).sort();
    expect(queued).toEqual(['AAMkN1', 'AAMkN2']);
    rejections.stop();
    expect(lines.join('\n')).toContain('malformed');
  });

  it('refuses a batch of more than 1,000 items with 400', async () => {
    const many = Array.from({ length: 1001 }, (_, index) => item(`AAMkB${index}`));
    expect((await postJson({ value: many })).status).toBe(400);
    expect((await postJson({ value: many.slice(0, 1000) })).status).toBe(202);
    expect((await store.listIntake('pending', 2000)).length).toBe(1000);
  });

  it('hands lifecycle events on after answering, without enqueueing', async () => {
    const response = await postJson(
      {
        value: [
          { subscriptionId, clientState, lifecycleEvent: 'missed' },
          { subscriptionId, clientState, lifecycleEvent: 'subscriptionRemoved' },
        ],
      },
      `${url}/lifecycle`,
    );
    expect(response.status).toBe(202);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lifecycle.map((entry) => entry.event)).toEqual(['missed', 'subscriptionRemoved']);
    expect(await store.listIntake('pending', 10)).toEqual([]);
  });

  it('rejects message ids that are not Graph ids', async () => {
    const response = await postJson({ value: [item('../../etc/passwd')] });
    expect(response.status).toBe(403);
    expect(await store.listIntake('pending', 10)).toEqual([]);
  });

  it('reads only JSON in UTF-8 without content coding, and answers on the paths as Express matches them', async () => {
    const post = (body: string, headers: Record<string, string>, path = url) =>
      fetch(path, { method: 'POST', headers, body });
    const genuine = JSON.stringify({ value: [item('AAMkJ1')] });
    expect((await post(genuine, { 'content-type': 'text/plain' })).status).toBe(400);
    expect((await post(genuine, { 'content-type': 'application/json; charset=iso-8859-1' })).status).toBe(
      415,
    );
    expect(
      (await post(genuine, { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status,
    ).toBe(415);
    expect((await post('"just a string"', { 'content-type': 'application/json' })).status).toBe(400);
    expect(await store.listIntake('pending', 10)).toEqual([]);
    // Graph's own header, another JSON media type, a different case and a trailing slash are all the same route.
    const base = url.replace('/webhooks/graph', '');
    for (const [path, type] of [
      [`${base}/webhooks/graph`, 'application/json; charset=utf-8'],
      [`${base}/Webhooks/Graph/`, 'application/vnd.example+json'],
    ] as const) {
      const response = await post(JSON.stringify({ value: [item(`AAMkJ${path.length}`)] }), {
        'content-type': type,
      });
      expect(response.status, path).toBe(202);
    }
    expect(await store.listIntake('pending', 10)).toHaveLength(2);
    // Not the webhook: Express answers (a GET, another path).
    expect((await fetch(url)).status).toBe(404);
    expect(
      (await post(genuine, { 'content-type': 'application/json' }, `${base}/webhooks/graphx`)).status,
    ).toBe(404);
  });

  it('refuses a validation request that carries the token twice, and answers a request id', async () => {
    const response = await fetch(`${url}?validationToken=a&validationToken=b`, { method: 'POST' });
    expect(response.status).toBe(400);
    const answered = await fetch(`${url}?validationToken=ok`, {
      method: 'POST',
      headers: { 'x-request-id': 'graph-req-1' },
    });
    expect(await answered.text()).toBe('ok');
    if (serving === 'front door') expect(answered.headers.get('x-request-id')).toBe('graph-req-1');
  });

  it('answers 503 and queues nothing when the queue cannot commit, so that Graph sends the notification again', async () => {
    await store.close();
    const response = await postJson({ value: [item('AAMkK1')] });
    expect(response.status).toBe(503);
    expect(lines.join('\n')).toContain('enqueue failed');
    store = SqliteCrmStore.open({ path: ':memory:' });
  });
});
