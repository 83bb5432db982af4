// The webhook's load generator, in its own process so that sending and timing requests do not share the
// webhook's event loop or CPU time: `webhook-load-child.ts URL SUBSCRIPTION MODE`, MODE `open` (an even 1,000/s
// for 3 s) or `closed` (32 senders for 2 s). Prints one JSON object on stdout.
import net from 'node:net';
import { clientState } from '../test/graph/helpers.ts';

const url = process.argv[2]!;
const subscriptionId = process.argv[3]!;
const mode = process.argv[4] ?? 'open';
if (mode !== 'open' && mode !== 'closed') throw new Error(`unknown mode ${mode}: open or closed`);
const rate = 1_000;
const seconds = 3;

/**
 * A lean HTTP/1.1 client on keep-alive sockets: each request is written as prepared bytes and its answer read by
 * status line and Content-Length. node:http's client costs about as much CPU per request as the webhook itself;
 * on two cores its pauses would be counted against the webhook.
 */
class Connection {
  readonly socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: ((status: number) => void) | null = null;
  #failed: ((error: Error) => void) | null = null;

  constructor(host: string, port: number) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#read();
    });
    this.socket.on('error', (error) => this.#failed?.(error));
    this.socket.on('close', () => this.#failed?.(new Error('connection closed')));
  }

  request(bytes: Buffer): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#waiting = resolve;
      this.#failed = reject;
      this.socket.write(bytes);
    });
  }

  #read(): void {
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.#buffer.toString('latin1', 0, end);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
    if (Number.isNaN(length)) throw new Error(`an answer without Content-Length: ${head.split('\r\n')[0]}`);
    if (this.#buffer.length < end + 4 + length) return;
    this.#buffer = this.#buffer.subarray(end + 4 + length);
    const resolve = this.#waiting;
    this.#waiting = null;
    this.#failed = null;
    resolve?.(Number(head.slice(9, 12)));
  }
}

const target = new URL(url);
const idle: Connection[] = [];
let opened = 0;
/** A free connection, opening another (up to 256) when all are busy. */
function connection(): Connection {
  const free = idle.pop();
  if (free) return free;
  if (opened >= 256) throw new Error('more than 256 requests in flight');
  opened += 1;
  return new Connection(target.hostname, Number(target.port));
}
const post = async (body: string): Promise<number> => {
  const bytes = Buffer.from(
    `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  const socket = connection();
  const status = await socket.request(bytes);
  idle.push(socket);
  return status;
};

let sequence = 0;
const accepted: string[] = [];
/** Posts one notification for a new message id; resolves when the 202 has arrived. */
async function notify(): Promise<void> {
  const id = `AAMkBench${(sequence += 1)}`;
  const body = JSON.stringify({
    value: [
      {
        subscriptionId,
        clientState,
        changeType: 'created',
        resource: `Users/x/Messages/${id}`,
        resourceData: { id },
      },
    ],
  });
  const status = await post(body);
  if (status !== 202) throw new Error(`webhook answered ${status}`);
  accepted.push(id);
}

/**
 * `count` senders each sending its next notification as soon as the last is answered, while `more()` says so;
 * resolves with how many were answered.
 */
async function closedSenders(count: number, more: () => boolean): Promise<number> {
  let answered = 0;
  await Promise.all(
    Array.from({ length: count }, async () => {
      while (more()) {
        await notify();
        answered += 1;
      }
    }),
  );
  return answered;
}

/**
 * Warm-up, unmeasured: a few connections, then 6,000 notifications from 8 senders and a pause. Both processes'
 * JIT compiles its hot paths in a burst after about 3,000 requests (TurboFan on V8's helper threads, in the
 * generator and the server at once), which holds both cores for a tenth of a second or more; inside the measured
 * window that one-time burst alone set the p99. The service compiles once per start and then runs for days, so the
 * figure is its steady state, as the throughput figures are after their warm-up pass.
 */
const warmUpNotifications = 6_000;
for (let i = 0; i < 8; i += 1) await notify();
let warmed = 0;
await closedSenders(8, () => (warmed += 1) <= warmUpNotifications);
await new Promise((resolve) => setTimeout(resolve, 500)); // compilations started by the warm-up finish

/**
 * Open loop at an even 1,000 notifications/s: request i is due at start + i ms whatever the answers do. Latency
 * is counted from when a request was due, not from when it went out, so that a late sender cannot hide the
 * webhook's own delays (coordinated omission); the time from going out is reported beside it.
 *
 * Between sends the generator sleeps on a timer (Node's timers have a resolution of 1 ms), and a wake-up sends
 * every request that fell due meanwhile; each is then up to about a millisecond late, counted in its latency.
 * Spinning until each due time instead would hold one of the machine's two cores for the whole run, a core the
 * service under test would then lack (Graph's senders do not run on the service's machine).
 */
async function openLoop() {
  const fromDue: number[] = [];
  const fromSend: number[] = [];
  const sendLateness: number[] = [];
  const pending: Promise<void>[] = [];
  const total = rate * seconds;
  const interval = 1000 / rate;
  const start = performance.now();
  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && start + next * interval <= now) {
      const due = start + next * interval;
      const sent = performance.now();
      sendLateness.push(sent - due);
      pending.push(
        notify().then(() => {
          const done = performance.now();
          fromDue.push(done - due);
          fromSend.push(done - sent);
        }),
      );
      next += 1;
    }
    const wait = start + next * interval - performance.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.floor(wait))));
  }
  const elapsed = (performance.now() - start) / 1000;
  await Promise.all(pending);
  const due = sorted(fromDue);
  const send = sorted(fromSend);
  return {
    p50: at(due, 0.5),
    p95: at(due, 0.95),
    p99: at(due, 0.99),
    max: due.at(-1),
    p99FromSend: at(send, 0.99),
    sendLatenessP99: at(sorted(sendLateness), 0.99),
    samples: due.length,
    offeredPerS: total / elapsed,
  };
}

/** Closed loop, 32 senders for 2 s: how many the webhook can take. */
async function closedLoop() {
  const until = performance.now() + 2_000;
  return { closedLoopPerS: (await closedSenders(32, () => performance.now() < until)) / 2 };
}

function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}
function at(values: number[], p: number): number {
  return values[Math.min(values.length - 1, Math.floor(values.length * p))]!;
}

const result = mode === 'open' ? await openLoop() : await closedLoop();
for (const socket of idle) socket.socket.destroy();
process.stdout.write(`${JSON.stringify({ ...result, warmUpNotifications, accepted })}\n`);
