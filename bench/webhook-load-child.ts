// The webhook's load generator, in its own process so that sending and timing requests do not share the
// webhook's event loop or CPU time: `webhook-load-child.ts URL`. Prints one JSON object on stdout.
import http from 'node:http';
import { clientState } from '../test/graph/helpers.ts';

const url = process.argv[2]!;
const subscriptionId = process.argv[3]!;
const rate = 1_000;
const seconds = 3;

// node:http with keep-alive, enough sockets that no request waits for a free one at this rate.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const post = (body: string): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        timeout: 10_000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('timeout', () => request.destroy(new Error('webhook timeout')));
    request.on('error', reject);
    request.end(body);
  });

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

for (let i = 0; i < 200; i += 1) await notify(); // warm-up: JIT, connections, SQLite pages

/**
 * Open loop at an even 1,000 notifications/s: request i is due at start + i ms whatever the answers do. Latency
 * is counted from when a request was due, not from when it went out, so that a late sender cannot hide the
 * webhook's own delays (coordinated omission); the time from going out is reported beside it.
 */
const fromDue: number[] = [];
const fromSend: number[] = [];
const pending: Promise<void>[] = [];
const total = rate * seconds;
const interval = 1000 / rate;
const start = performance.now();
let next = 0;
let lateSends = 0;
while (next < total) {
  const now = performance.now();
  while (next < total && start + next * interval <= now) {
    const due = start + next * interval;
    const sent = performance.now();
    if (sent - due > 1) lateSends += 1;
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
  await new Promise((resolve) => (wait >= 1 ? setTimeout(resolve, Math.floor(wait)) : setImmediate(resolve)));
}
const elapsed = (performance.now() - start) / 1000;
await Promise.all(pending);

// Closed loop, 32 senders for 2 s: how many the webhook can take.
let done = 0;
const until = performance.now() + 2_000;
await Promise.all(
  Array.from({ length: 32 }, async () => {
    while (performance.now() < until) {
      await notify();
      done += 1;
    }
  }),
);
agent.destroy();

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const at = (values: number[], p: number) =>
  values[Math.min(values.length - 1, Math.floor(values.length * p))]!;
const due = sorted(fromDue);
const send = sorted(fromSend);
process.stdout.write(
  JSON.stringify({
    p50: at(due, 0.5),
    p95: at(due, 0.95),
    p99: at(due, 0.99),
    max: due.at(-1),
    p99FromSend: at(send, 0.99),
    samples: due.length,
    offeredPerS: total / elapsed,
    lateSends,
    closedLoopPerS: done / 2,
    accepted,
  }) + '\n',
);
