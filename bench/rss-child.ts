// Runs in its own process so that its memory figures are its own: `big` or `many N`.
import { readFile } from 'node:fs/promises';
import { processMessage } from '../src/processing/process-message.ts';
import { prng } from './corpus.ts';
import { seededStore } from './bench-kit.ts';

const mode = process.argv[2];
const { store, deps } = await seededStore(1000);
const rssMb = (): number => process.memoryUsage().rss / 1_048_576;

if (mode === 'big') {
  // The 35 MB message was written to a file by the parent: only reading and processing it counts here.
  const raw = await readFile(process.argv[3]!);
  const before = process.resourceUsage().maxRSS / 1024;
  const result = await processMessage(raw, { label: 'big', intakeId: null }, deps);
  if (result.outcome.action !== 'ticket-created')
    throw new Error(`unexpected outcome ${result.outcome.action}`);
  const peak = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    JSON.stringify({ peakRssMb: peak, baselineRssMb: before, messageMb: raw.length / 1_048_576 }) + '\n',
  );
} else if (mode === 'many') {
  const count = Number(process.argv[3] ?? 10_000);
  const random = prng(7);
  const warmup = Math.min(1000, Math.floor(count / 10));
  let warm = 0;
  for (let index = 0; index < count; index += 1) {
    const account = Math.floor(random() * 1000);
    const body = 'x'.repeat(2000 + Math.floor(random() * 18_000));
    const raw = Buffer.from(
      `From: contact1@acct${account}.example\r\nTo: support@msp.example\r\nSubject: ${index % 3 === 0 ? 'RE: [Ticket#0000001] ' : ''}Issue ${index}\r\n` +
        `Message-ID: <many-${index}@bench.example>\r\nContent-Type: text/plain\r\n\r\n${body}\r\n`,
    );
    await processMessage(raw, { label: `m${index}`, intakeId: null }, deps);
    if (index === warmup) {
      global.gc?.();
      warm = rssMb();
    }
  }
  global.gc?.();
  process.stdout.write(JSON.stringify({ warmRssMb: warm, endRssMb: rssMb(), count, warmup }) + '\n');
}
await store.close();
