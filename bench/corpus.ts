/** A generated, realistic mail corpus for the benchmark: the mix and sizes are deterministic, so runs compare. */
import { randomBytes } from 'node:crypto';

export interface CorpusMail {
  kind: 'new-ticket' | 'reply' | 'employee-bcc' | 'unknown-sender' | 'auto-reply';
  raw: Buffer;
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const words =
  'printer network server backup mailbox password laptop screen outlook teams vpn firewall license update disk slow error cannot open please help urgent since yesterday morning office users invoice'.split(
    ' ',
  );

function sentence(random: () => number, length: number): string {
  return Array.from({ length }, () => words[Math.floor(random() * words.length)]).join(' ');
}

function base64Lines(bytes: Buffer): string {
  return (bytes.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

/** A message of about `size` bytes: text body, and attachments making up the rest. */
function build(random: () => number, index: number, headers: Record<string, string>, size: number): Buffer {
  const boundary = `b${index}x${Math.floor(random() * 1e9)}`;
  const head = Object.entries({
    ...headers,
    Date: 'Fri, 27 Nov 2026 09:00:00 +0000',
    'Message-ID': `<bench-${index}-${Math.floor(random() * 1e9)}@bench.example>`,
    'MIME-Version': '1.0',
    'Content-Type': `multipart/mixed; boundary="${boundary}"`,
  })
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n');
  const body = `Hello,\r\n\r\n${sentence(random, 40)}.\r\n${sentence(random, 30)}.\r\n\r\nRegards\r\n`;
  const parts = [`--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}`];
  let remaining = size - head.length - body.length - 200;
  let attachment = 0;
  while (remaining > 1024) {
    const bytes = Math.min(remaining, 1 + Math.floor(random() * 700_000)) * 0.74;
    // Incompressible bytes, like the photos and PDFs customers attach.
    const content = randomBytes(Math.floor(bytes));
    attachment += 1;
    parts.push(
      `--${boundary}\r\nContent-Type: application/octet-stream; name="file${attachment}.bin"\r\nContent-Disposition: attachment; filename="file${attachment}.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(content)}`,
    );
    remaining -= Math.ceil(content.length / 0.74) + 200;
  }
  return Buffer.from(`${head}\r\n\r\n${parts.join('\r\n')}\r\n--${boundary}--\r\n`);
}

/** Sizes from 2 KB to 2 MB, most of them small, as in a real support mailbox. */
function sizeOf(random: () => number): number {
  const roll = random();
  if (roll < 0.6) return 2_048 + Math.floor(random() * 20_000);
  if (roll < 0.9) return 20_000 + Math.floor(random() * 280_000);
  return 300_000 + Math.floor(random() * 1_797_152);
}

/**
 * A mix: new tickets from known customers (by address and by domain), replies carrying a tag, technicians'
 * BCC replies, unknown senders and out-of-office replies. Account `i` has address contact`i`@acct`i`.example.
 */
export function generateCorpus(
  count: number,
  options: { seed?: number; accounts: number; ticketNumbers: string[] },
): CorpusMail[] {
  const random = prng(options.seed ?? 42);
  const mails: CorpusMail[] = [];
  for (let index = 0; index < count; index += 1) {
    const account = Math.floor(random() * options.accounts);
    const ticket = options.ticketNumbers[Math.floor(random() * options.ticketNumbers.length)] ?? '0000001';
    const roll = random();
    const size = sizeOf(random);
    const base = { To: 'support@msp.example' };
    let kind: CorpusMail['kind'];
    let headers: Record<string, string>;
    if (roll < 0.35) {
      kind = 'new-ticket';
      const sender =
        random() < 0.5 ? `contact1@acct${account}.example` : `someone${index}@acct${account}.example`;
      headers = { ...base, From: `Customer <${sender}>`, Subject: sentence(random, 5) };
    } else if (roll < 0.6) {
      kind = 'reply';
      headers = {
        ...base,
        From: `contact1@acct${account}.example`,
        Subject: `RE: [Ticket#${ticket}] ${sentence(random, 4)}`,
      };
    } else if (roll < 0.75) {
      kind = 'employee-bcc';
      headers = {
        From: 'Tom Tech <tom@msp.example>',
        To: `contact1@acct${account}.example`,
        Bcc: 'support@msp.example',
        Subject: `RE: [Ticket#${ticket}] ${sentence(random, 4)}`,
      };
    } else if (roll < 0.9) {
      kind = 'unknown-sender';
      headers = {
        ...base,
        From: `stranger${index}@nowhere${index % 97}.example`,
        Subject: sentence(random, 6),
      };
    } else {
      kind = 'auto-reply';
      headers = {
        ...base,
        From: `contact1@acct${account}.example`,
        Subject: `Automatic reply: ${sentence(random, 3)}`,
        'Auto-Submitted': 'auto-replied',
      };
    }
    mails.push({ kind, raw: build(random, index, headers, kind === 'auto-reply' ? 2_500 : size) });
  }
  return mails;
}

/** The CRM the corpus is written against: `accounts` accounts, five contacts each, a bare domain each. */
export function corpusCrm(accounts: number) {
  return {
    accounts: Array.from({ length: accounts }, (_, i) => ({
      id: `ACCT${i}`,
      company: `Account ${i} Ltd`,
      email1: `info@acct${i}.example`,
      email2: `acct${i}.example`,
      contacts: Array.from({ length: 5 }, (_, c) => ({
        id: `ACCT${i}-C${c + 1}`,
        name: `Contact ${c + 1}`,
        email: `contact${c + 1}@acct${i}.example`,
      })),
    })),
    employees: [{ id: 'TOM', name: 'Tom Tech', email1: 'tom@msp.example', email2: null, active: true }],
    tickets: Array.from({ length: 50 }, (_, t) => ({
      number: String(t + 1).padStart(7, '0'),
      accountId: `ACCT${t % accounts}`,
      subject: `Existing ticket ${t + 1}`,
      status: 'open',
    })),
  };
}

/** A customer's mail of about `megabytes` MB: a short text and one large attachment. */
export function bigMessage(
  megabytes: number,
  { from = 'contact1@acct1.example', subject = 'Big scan' }: { from?: string; subject?: string } = {},
): Buffer {
  const attachment = randomBytes(Math.floor((megabytes * 1_048_576 - 4096) * 0.74));
  return Buffer.from(
    `From: ${from}\r\nTo: support@msp.example\r\nSubject: ${subject}\r\nMessage-ID: <big@acct1.example>\r\n` +
      'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n' +
      `--x\r\nContent-Type: application/pdf; name="scan.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(attachment)}\r\n--x--\r\n`,
  );
}
