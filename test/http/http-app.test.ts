import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../src/http/http-app.ts';
import { createLogger } from '../../src/log/logger.ts';

interface LogLine {
  msg: string;
  requestId?: string;
  [field: string]: unknown;
}

async function serve(options: { ready?: () => Promise<Record<string, unknown>> } = {}) {
  const lines: LogLine[] = [];
  const logger = createLogger({
    level: 'trace',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  const router = express.Router();
  router.get('/work', async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    logger.info({ step: 'inside the handler' }, 'doing work');
    res.json({ ok: true });
  });
  router.get('/boom', () => {
    throw new Error('database password is hunter2');
  });
  router.post('/echo', express.json({ limit: '1kb' }), (req, res) => {
    res.json(req.body);
  });
  const app = createHttpApp({
    logger,
    readiness: options.ready ?? (async () => ({ db: 'ok' })),
    routers: [router],
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, lines, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('HTTP skeleton', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it('puts the request id on every log line the request causes, also after an await', async () => {
    const { base, lines, close } = await serve();
    closers.push(close);
    const response = await fetch(`${base}/work`, { headers: { 'X-Request-Id': 'req-123' } });
    expect(response.headers.get('x-request-id')).toBe('req-123');
    const fromRequest = lines.filter((line) => line.msg === 'doing work' || line.msg === 'request');
    expect(fromRequest).toHaveLength(2);
    expect(fromRequest.every((line) => line.requestId === 'req-123')).toBe(true);
    // Without a usable id from the caller, one is made up.
    const other = await fetch(`${base}/work`, { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(other.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers errors as JSON with the request id, never with internals', async () => {
    const { base, lines, close } = await serve();
    closers.push(close);
    const failed = await fetch(`${base}/boom`);
    expect(failed.status).toBe(500);
    const body = (await failed.json()) as { error: string; requestId: string };
    expect(body.error).toBe('internal error');
    expect(body.requestId).toBe(failed.headers.get('x-request-id'));
    expect(lines.filter((line) => line.msg === 'request failed')).toHaveLength(1);

    const tooLarge = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(4000) }),
    });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toMatchObject({ error: 'request body too large' });
    const malformed = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(malformed.status).toBe(400);
  });

  it('reports readiness from its check, and 503 with the reason when it fails', async () => {
    let healthy = true;
    const { base, close } = await serve({
      ready: async () => {
        if (!healthy) throw new Error('database is locked');
        return { db: 'ok' };
      },
    });
    closers.push(close);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready', db: 'ok' });
    healthy = false;
    const down = await fetch(`${base}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'not ready', error: 'database is locked' });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
