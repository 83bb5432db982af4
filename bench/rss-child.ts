// Runs in its own process so that its memory figures are its own: `big FILE`, `reply-forward FILE`,
// `forward FILE` or `many N`.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { processMessage } from '../src/processing/process-message.ts';
import { OutboxSender } from '../src/processing/outbox-sender.ts';
import { prng } from './corpus.ts';
import { benchWorker, MemoryMailbox, seededStore } from './bench-kit.ts';

const mode = process.argv[2];
// The big message needs no large CRM; the many messages are matched against 1,000 accounts.
const { store, deps } = await seededStore(mode === 'many' ? 1000 : 10);
const rssMb = (): number => process.memoryUsage().rss / 1_048_576;

/**
 * The process's peak resident set so far, in MB. Linux's VmHWM belongs to this program image; getrusage's
 * maxRSS is carried across exec from the parent that forked us (the benchmark, itself large).
 */
function peakRssMb(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** The outcome each single-message mode must reach: a new ticket, a filed reply with a forward, a forward. */
const expected: Record<string, string> = {
  big: 'ticket-created',
  'reply-forward': 'filed',
  forward: 'forwarded',
};

if (expected[mode ?? ''] !== undefined) {
  // The 35 MB message was written to a file by the parent: only reading, processing it and sending what it
  // causes (an acknowledgment, a forward carrying the original) count here.
  global.gc?.();
  const raw = await readFile(process.argv[3]!);
  const before = peakRssMb();
  const result = await processMessage(raw, { label: mode!, intakeId: null }, deps);
  if (result.outcome.action !== expected[mode!])
    throw new Error(`unexpected outcome ${result.outcome.action} (${result.outcome.code})`);
  const mailbox = new MemoryMailbox();
  await new OutboxSender(store, mailbox, deps.logger).flush();
  if (mode !== 'big' && mailbox.sent === 0) throw new Error('the forward was not sent');
  const peak = peakRssMb();
  process.stdout.write(
    JSON.stringify({ peakRssMb: peak, baselineRssMb: before, messageMb: raw.length / 1_048_576 }) + '\n',
  );
} else if (mode === 'many') {
  // Through the whole pipeline (queue, processing, outbox, sending), in batches as mail arrives.
  const count = Number(process.argv[3] ?? 10_000);
  const random = prng(7);
  const mailbox = new MemoryMailbox();
  const worker = benchWorker(store, deps, mailbox, 'rss');
  const warmup = Math.min(1000, Math.floor(count / 10));
  const trace: { messages: number; rssMb: number; heapMb: number }[] = [];
  const sample = (messages: number): void => {
    global.gc?.();
    trace.push({ messages, rssMb: rssMb(), heapMb: process.memoryUsage().heapUsed / 1_048_576 });
  };
  for (let index = 0; index < count; index += 1) {
    const account = Math.floor(random() * 1000);
    const body = 'x'.repeat(2000 + Math.floor(random() * 18_000));
    mailbox.messages.set(
      `m${index}`,
      Buffer.from(
        `From: contact1@acct${account}.example\r\nTo: support@msp.example\r\nSubject: ${index % 3 === 0 ? 'RE: [Ticket#0000001] ' : ''}Issue ${index}\r\n` +
          `Message-ID: <many-${index}@bench.example>\r\nContent-Type: text/plain\r\n\r\n${body}\r\n`,
      ),
    );
    await store.enqueue({ mailboxId: `m${index}`, source: 'bench', now: new Date() });
    if ((index + 1) % 100 === 0) await worker.runUntilIdle();
    if (index + 1 === warmup || (index + 1) % 1000 === 0) sample(index + 1);
  }
  await worker.runUntilIdle();
  const warm = trace.find((point) => point.messages === warmup)!;
  const end = trace.at(-1)!;
  process.stdout.write(
    JSON.stringify({ warmRssMb: warm.rssMb, endRssMb: end.rssMb, count, warmup, sent: mailbox.sent, trace }) +
      '\n',
  );
}
await store.close();
