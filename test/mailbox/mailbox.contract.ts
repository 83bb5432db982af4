import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Mailbox } from '../../src/mailbox/mailbox.ts';
import { MailboxError } from '../../src/mailbox/mailbox-error.ts';

/** How a test reaches behind one adapter: what the port itself cannot show. */
export interface MailboxDriver {
  mailbox: Mailbox;
  /** The mailbox's address: the From of the mail the tests send through it. */
  address: string;
  /** Puts a message into the inbox as if it had just arrived; resolves with its id as `listInbox` shows it. */
  arrive(mime: Buffer): Promise<string>;
  /** Every message the mailbox sent so far, as delivered, oldest first. */
  sent(): Promise<Buffer[]>;
  /** An id the adapter could have given, of a message it does not hold. */
  unknownId: string;
  close(): Promise<void>;
}

function message(subject: string, from = 'jane@acme.example', to = 'support@msp.example'): Buffer {
  return Buffer.from(
    [
      `From: Jane Roe <${from}>`,
      `To: ${to}`,
      `Subject: ${subject}`,
      `Message-ID: <${subject.replace(/\W+/g, '-')}-${Math.random().toString(36).slice(2)}@acme.example>`,
      'Date: Mon, 16 Nov 2026 09:01:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `${subject}: the printer on floor 2 does not print.`,
      '',
    ].join('\r\n'),
  );
}

/**
 * The behaviour every `Mailbox` adapter shows (src/mailbox/mailbox.ts), run by each adapter's test with a driver
 * that puts mail into its inbox and reads what it sent.
 */
export function describeMailboxContract(name: string, open: () => Promise<MailboxDriver>): void {
  describe(`Mailbox contract: ${name}`, () => {
    let driver: MailboxDriver;
    let mailbox: Mailbox;

    beforeEach(async () => {
      driver = await open();
      mailbox = driver.mailbox;
    });
    afterEach(async () => {
      await driver.close();
    });

    it('lists every message that arrived in the inbox, and nothing else', async () => {
      expect(await mailbox.listInbox()).toEqual([]);
      const first = await driver.arrive(message('First'));
      const second = await driver.arrive(message('Second'));
      const third = await driver.arrive(message('Third'));
      expect((await mailbox.listInbox()).sort()).toEqual([first, second, third].sort());
    });

    it('returns the exact bytes of a listed message', async () => {
      const mime = message('Byte for byte');
      const id = await driver.arrive(mime);
      expect(await mailbox.listInbox()).toContain(id);
      const raw = await mailbox.fetchRaw(id);
      expect(Buffer.isBuffer(raw)).toBe(true);
      expect(raw.equals(mime)).toBe(true);
    });

    it('answers a fetch of a message it does not hold with a not-found MailboxError', async () => {
      await driver.arrive(message('Someone else'));
      const error = await mailbox.fetchRaw(driver.unknownId).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MailboxError);
      expect(error).toMatchObject({ kind: 'not-found', retryable: false });
    });

    it('moves a settled message out of the inbox, and takes a second settle calmly', async () => {
      const kept = await driver.arrive(message('Stays'));
      const done = await driver.arrive(message('Done'));
      const broken = await driver.arrive(message('Broken'));
      await mailbox.settle(done, 'processed');
      await mailbox.settle(broken, 'failed');
      expect(await mailbox.listInbox()).toEqual([kept]);
      await expect(mailbox.settle(done, 'processed')).resolves.toBeUndefined();
      await expect(mailbox.settle(broken, 'failed')).resolves.toBeUndefined();
      expect(await mailbox.listInbox()).toEqual([kept]);
    });

    it('delivers a sent MIME message once, as given', async () => {
      const mime = message('Your ticket', driver.address, 'jane@acme.example');
      await mailbox.send(mime, { outboxId: 'outbox-1' });
      const sent = await driver.sent();
      expect(sent).toHaveLength(1);
      expect(sent[0]?.toString('utf8')).toBe(mime.toString('utf8'));
      // Sending is not receiving: the inbox is unchanged.
      expect(await mailbox.listInbox()).toEqual([]);
    });

    it('delivers a mail given in pieces as their concatenation, byte for byte, reading a deferred piece as it goes', async () => {
      // A forward: its head, an original of every byte value in odd-sized parts, its tail.
      const head = message('Forwarded', driver.address, 'helpdesk@msp.example');
      const original = Buffer.alloc(300_001);
      for (let at = 0; at < original.length; at += 1) original[at] = (at * 31 + (at >> 8)) & 0xff;
      let reads = 0;
      const deferred = {
        length: original.length,
        async *read(): AsyncGenerator<Buffer> {
          reads += 1;
          for (let at = 0; at < original.length; at += 65_537) yield original.subarray(at, at + 65_537);
        },
      };
      const pieces = [head, Buffer.alloc(0), Buffer.from('x'), deferred, Buffer.from('\r\n--end--\r\n')];
      await mailbox.send(pieces, { outboxId: 'outbox-pieces' });
      const sent = await driver.sent();
      expect(sent).toHaveLength(1);
      const expected = Buffer.concat([head, Buffer.from('x'), original, Buffer.from('\r\n--end--\r\n')]);
      expect(sent[0]!.length).toBe(expected.length);
      expect(sent[0]!.equals(expected)).toBe(true);
      expect(reads).toBe(1);
    });
  });
}
