import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageParseError, parseEmail } from '../../src/processing/parse-email.ts';
import { ParsePool } from '../../src/processing/parse-pool.ts';
import { silentLogger } from '../helpers/engine.ts';

const fixtures = new URL('../fixtures/', import.meta.url);
const mails = [
  ...readdirSync(fixtures).filter((name) => name.endsWith('.eml')),
  ...readdirSync(new URL('real-world/', fixtures))
    .filter((name) => name.endsWith('.eml'))
    .map((name) => `real-world/${name}`),
].map((name) => ({ name, raw: readFileSync(new URL(name, fixtures)) }));

let pool: ParsePool | null = null;
afterEach(async () => {
  await pool?.close();
  pool = null;
});

/**
 * Everything a parse gives, in a form two results can be compared in. mailparser dates a message without a
 * readable Date header at the moment it reads it: that one field differs between two reads.
 */
function comparable(email: Awaited<ReturnType<typeof parseEmail>>) {
  const date = email.date && Math.abs(email.date.getTime() - Date.now()) < 60_000 ? 'when read' : email.date;
  return { ...email, raw: email.raw.length, contentHash: email.contentHash, date };
}

/** A silent logger that keeps the message of each error it is given. */
function errorCollectingLogger() {
  const errors: string[] = [];
  const logger = silentLogger();
  logger.error = ((fields: { err?: { message?: string } }) =>
    void errors.push(fields.err?.message ?? '')) as never;
  return { logger, errors };
}

describe('parsing on threads', () => {
  it('gives exactly what parsing on the event loop gives, for every fixture, with several in flight', async () => {
    pool = new ParsePool({ threads: 2, logger: silentLogger() });
    expect(mails.length).toBeGreaterThan(30);
    const threaded = await Promise.all(mails.map((mail) => pool!.parse(mail.raw)));
    expect(pool.threadsRunning).toBe(2);
    for (const [index, mail] of mails.entries()) {
      const inline = await parseEmail(mail.raw);
      expect(comparable(threaded[index]!), mail.name).toEqual(comparable(inline));
      expect(threaded[index]!.raw, mail.name).toBe(mail.raw);
      for (const attachment of threaded[index]!.attachments)
        if (attachment.content) expect(Buffer.isBuffer(attachment.content)).toBe(true);
    }
  });

  it('parses a large message on the calling thread, and starts no thread for that', async () => {
    pool = new ParsePool({ threads: 1, inlineAboveBytes: 1024, logger: silentLogger() });
    const big = mails.find((mail) => mail.raw.length > 1024)!;
    expect((await pool.parse(big.raw)).subject).toBe((await parseEmail(big.raw)).subject);
    expect(pool.threadsRunning).toBe(0);
  });

  it('fails the message a thread held when the thread stops, and starts another for the next', async () => {
    const { logger, errors } = errorCollectingLogger();
    // Threads with a heap too small to load the MIME reader: each one stops with the message it was given.
    pool = new ParsePool({ threads: 1, threadHeapMb: 8, logger });
    await expect(pool.parse(mails[0]!.raw)).rejects.toThrow(/parse thread stopped/);
    await expect(pool.parse(mails[1]!.raw)).rejects.toThrow(/parse thread stopped/);
    expect(pool.threadsStarted).toBe(2);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/memory/i);
    // This process, and parsing here, go on.
    expect((await parseEmail(mails[0]!.raw)).from).not.toBeNull();
  });

  it('hands a thread its next message before it has answered the last, up to the limit; the rest wait here', async () => {
    pool = new ParsePool({ threads: 1, perThread: 2, logger: silentLogger() });
    const parsing = mails.slice(0, 5).map((mail) => pool!.parse(mail.raw));
    expect(pool.messagesInThreads).toBe(2);
    const emails = await Promise.all(parsing);
    expect(emails.map((email) => email.raw)).toEqual(mails.slice(0, 5).map((mail) => mail.raw));
    expect(pool.messagesInThreads).toBe(0);
    expect(pool.threadsStarted).toBe(1);
    expect(pool.sharedBuffers).toBe(2);
  });

  it('fails every message a stopped thread held, and gives the ones still waiting to its replacement', async () => {
    const { logger, errors } = errorCollectingLogger();
    pool = new ParsePool({ threads: 1, perThread: 2, threadHeapMb: 8, logger });
    const results = await Promise.allSettled(mails.slice(0, 3).map((mail) => pool!.parse(mail.raw)));
    // Two went to the first thread and fail with it; the third waited and went to the second, which also stops.
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(pool.threadsStarted).toBe(2);
    expect(errors).toHaveLength(2);
    expect(pool.messagesInThreads).toBe(0);
  });

  it('hands messages in through a few reused buffers, and what comes back owes nothing to them', async () => {
    pool = new ParsePool({ threads: 1, perThread: 1, logger: silentLogger() });
    const withXml = (body: string) =>
      Buffer.from(
        'From: a@b.example\r\nSubject: xml\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n' +
          'Content-Type: text/plain\r\n\r\nsee attached\r\n--x\r\nContent-Type: application/xml\r\n' +
          `Content-Transfer-Encoding: 7bit\r\nContent-Disposition: attachment; filename=t.xml\r\n\r\n${body}\r\n--x--\r\n`,
      );
    const first = await pool.parse(withXml('<ticket><subject>first</subject></ticket>'));
    // The next messages go to the same thread in the same buffer, over the first one's bytes.
    for (const mail of mails.slice(0, 10)) await pool.parse(mail.raw);
    await pool.parse(withXml('<ticket><subject>SECOND</subject></ticket>'));
    expect(first.attachments[0]!.content?.toString('utf8')).toBe('<ticket><subject>first</subject></ticket>');
    expect(first.subject).toBe('xml');
    expect(pool.sharedBuffers).toBe(1);
  });

  it('hands a MIME reading failure back as the same MessageParseError', async () => {
    pool = new ParsePool({ threads: 1, logger: silentLogger() });
    // A header block larger than mailparser accepts.
    const raw = Buffer.from(`Subject: ${'x'.repeat(3 * 1_048_576)}\r\n\r\nbody\r\n`);
    const inline = await parseEmail(raw).then(
      () => null,
      (error: unknown) => error,
    );
    const threaded = await pool.parse(raw).then(
      () => null,
      (error: unknown) => error,
    );
    if (inline === null) {
      expect(threaded).toBeNull();
      return;
    }
    expect(inline).toBeInstanceOf(MessageParseError);
    expect(threaded).toBeInstanceOf(MessageParseError);
    expect((threaded as Error).message).toBe((inline as Error).message);
  });

  it('reads an attachment with an empty Content-Type (which the MIME reader gives as false) on both paths', async () => {
    pool = new ParsePool({ threads: 1, logger: silentLogger() });
    const raw = Buffer.from(
      'From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type:\r\n' +
        'Content-Disposition: attachment; filename=a.pdf\r\n\r\nAAAA\r\n--x--\r\n',
    );
    for (const email of [await parseEmail(raw), await pool.parse(raw)])
      expect(email.attachments).toEqual([
        expect.objectContaining({
          filename: 'a.pdf',
          contentType: 'application/octet-stream',
          content: null,
        }),
      ]);
    expect(pool.threadsStarted).toBe(1);
  });
});
