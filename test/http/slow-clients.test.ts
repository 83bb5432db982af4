import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createApp, type App } from '../../src/composition-root.ts';
import { silentLogger, testEnv } from '../helpers/engine.ts';

const limits = {
  headersTimeoutMs: 600,
  requestTimeoutMs: 1_200,
  keepAliveTimeoutMs: 2_000,
  timeoutCheckIntervalMs: 100,
};

/** A raw connection that records what the server answered and when it closed the connection. */
function openConnection(port: number): {
  socket: Socket;
  received: () => string;
  closed: Promise<number>;
} {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  const opened = Date.now();
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - opened)));
  return { socket, received: () => received, closed };
}

/** Writes `text` one byte at a time, every `everyMs`, until the text ends or the connection closes. */
function dribble(socket: Socket, text: string, everyMs: number): () => void {
  let index = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || index >= text.length) clearInterval(timer);
    else socket.write(text[index++]!);
  }, everyMs);
  return () => clearInterval(timer);
}

const deadline = <T>(promise: Promise<T>, ms: number): Promise<T | 'still open'> =>
  Promise.race([
    promise,
    new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), ms)),
  ]);

describe('the service against slow clients', () => {
  let dir: string;
  let app: App;
  let port: number;
  const stops: (() => void)[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slow-clients-'));
    const config = loadConfig(testEnv(dir, { PORT: '0' }));
    app = createApp({ config, logger: silentLogger(), serverLimits: limits });
    port = await app.start();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const health = async (): Promise<number> => (await fetch(`http://127.0.0.1:${port}/healthz`)).status;

  it('cuts off a client that sends its headers one byte at a time, and keeps answering others meanwhile', async () => {
    const slow = openConnection(port);
    stops.push(
      dribble(slow.socket, `GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-Slow: y\r\n'.repeat(50)}\r\n`, 150),
    );
    const answered: number[] = [];
    const others = setInterval(() => void health().then((status) => answered.push(status)), 100);
    stops.push(() => clearInterval(others));

    const closedAfter = await deadline(slow.closed, 4_000);
    clearInterval(others);
    expect(closedAfter).not.toBe('still open');
    expect(closedAfter).toBeGreaterThanOrEqual(limits.headersTimeoutMs - 50);
    expect(closedAfter).toBeLessThan(limits.headersTimeoutMs + 1_000);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(answered.length).toBeGreaterThan(2);
    expect(answered.every((status) => status === 200)).toBe(true);
    expect(await health()).toBe(200);
  });

  it('cuts off a client that sends its body one byte at a time', async () => {
    const slow = openConnection(port);
    slow.socket.write(
      'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n',
    );
    stops.push(dribble(slow.socket, 'x'.repeat(100), 150));
    const closedAfter = await deadline(slow.closed, 5_000);
    expect(closedAfter).not.toBe('still open');
    expect(closedAfter).toBeLessThan(limits.requestTimeoutMs + 1_000);
    expect(await health()).toBe(200);
  });

  it('keeps an idle connection open for the next request past the header timeout', async () => {
    // A front end reuses its connections: an idle one must not be taken for a slow client.
    const client = openConnection(port);
    const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    client.socket.write(request);
    await waitUntil(() => client.received().includes('"status":"ok"'));
    await new Promise((resolve) => setTimeout(resolve, limits.headersTimeoutMs + 400));
    client.socket.write(request);
    await waitUntil(() => client.received().split('HTTP/1.1 200').length === 3);
    client.socket.destroy();
  });
});

async function waitUntil(condition: () => boolean, ms = 3_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
