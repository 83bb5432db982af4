import Database from 'better-sqlite3';
import fc from 'fast-check';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CrmStore } from '../../src/crm/crm-store.ts';
import { LocalMailbox } from '../../src/mailbox/local/local-mailbox.ts';
import type { DeferredPiece, Mailbox, MailPieces, SendMailOptions } from '../../src/mailbox/mailbox.ts';
import { composeMail } from '../../src/processing/compose-mail.ts';
import {
  heldOriginalPlaceholder,
  originalPlaceholder,
  withOriginal,
} from '../../src/processing/original-placeholder.ts';
import { OutboxSender } from '../../src/processing/outbox-sender.ts';
import { processMessage } from '../../src/processing/process-message.ts';
import { internalSupport, openEngine, readSentMail, silentLogger, type Engine } from '../helpers/engine.ts';
import { readFixture } from '../helpers/fixtures.ts';

/** nodemailer draws its multipart boundaries at random: the same mail composed twice differs only there. */
const sameBoundaries = (mime: Buffer): string =>
  mime.toString('latin1').replace(/_NmP-[0-9a-f]+-Part_/g, '_NmP-boundary-Part_');

/** The forward of `original` as composing it in gives it, and as the placeholder and the pieces around it give it. */
async function composedBothWays(
  original: Buffer,
  placeholder: Buffer,
): Promise<{ inline: Buffer; pieces: Buffer }> {
  const spec = {
    from: 'support@msp.example',
    to: [internalSupport],
    subject: '[Email Connector] Forwarded: Printer',
    text: 'Forwarded.\n\nThe original message is attached unchanged.',
    messageId: 'forward-1@msp.example',
    date: new Date('2026-11-27T10:00:00.000Z'),
    headers: { 'Auto-Submitted': 'auto-forwarded', 'X-Email-Connector': 'forward' },
  };
  const inline = await composeMail({ ...spec, original: { filename: 'Printer.eml', raw: original } });
  const held = await composeMail({ ...spec, original: { filename: 'Printer.eml', raw: placeholder } });
  const pieces = withOriginal(held, placeholder, original);
  if (!pieces) throw new Error('no placeholder in the composed forward');
  return { inline, pieces: Buffer.concat(pieces as Buffer[]) };
}

/** Large enough to span several of SQLite's 1 MiB parts. */
function largeMail(from: string, subject: string): Buffer {
  const body = Buffer.alloc(3 * 1_048_576 + 5);
  for (let at = 0; at < body.length; at += 1) body[at] = 0x41 + ((at * 7) % 26);
  return Buffer.concat([
    Buffer.from(
      `From: ${from}\r\nTo: support@msp.example\r\nSubject: ${subject}\r\nMessage-ID: <large-${Date.now()}@example.net>\r\n` +
        'Date: Fri, 27 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n',
    ),
    body,
    Buffer.from('\r\n'),
  ]);
}

/** The outbox's large values as SQLite holds them: owner → total bytes. */
function blobSizes(databasePath: string): Map<string, number> {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT owner, sum(length(data)) AS n FROM blob_parts GROUP BY owner').all() as {
      owner: string;
      n: number;
    }[];
    return new Map(rows.map((row) => [row.owner, Number(row.n)]));
  } finally {
    db.close();
  }
}

/** The local mailbox, noting what shape each mail it is given has (buffers, or a piece read as it is sent). */
class NotingMailbox implements Mailbox {
  readonly name = 'local';
  readonly given: { outboxId: string; shape: string[]; largestPart: number }[] = [];
  readonly #inner: LocalMailbox;
  constructor(inner: LocalMailbox) {
    this.#inner = inner;
  }
  async send(mail: MailPieces, options: SendMailOptions): Promise<void> {
    const pieces = Buffer.isBuffer(mail) ? [mail] : mail;
    const noted = { outboxId: options.outboxId, shape: [] as string[], largestPart: 0 };
    this.given.push(noted);
    const watched = pieces.map((piece) => {
      if (Buffer.isBuffer(piece)) {
        noted.shape.push('buffer');
        return piece;
      }
      noted.shape.push('deferred');
      const deferred: DeferredPiece = {
        length: piece.length,
        async *read() {
          for await (const part of piece.read()) {
            noted.largestPart = Math.max(noted.largestPart, part.length);
            yield part;
          }
        },
      };
      return deferred;
    });
    return this.#inner.send(watched, options);
  }
  fetchRaw(id: string): Promise<Buffer> {
    return this.#inner.fetchRaw(id);
  }
  settle(id: string, folder: 'processed' | 'failed'): Promise<void> {
    return this.#inner.settle(id, folder);
  }
  listInbox(): Promise<string[]> {
    return this.#inner.listInbox();
  }
}

describe('a forward carries its original by reference, and sends it byte for byte', () => {
  it('gives exactly the forward that composing the original in gives, whatever the original holds', async () => {
    const fixtures = ['unknown-sender.eml', 'garbage.eml', 'reply-customer.eml', 'dsn-bounce.eml'].map(
      readFixture,
    );
    const special = [
      Buffer.alloc(0),
      Buffer.from('no line end at all'),
      Buffer.from('bare\nLF\rand CR\r\n\r\n.\r\n..\r\n'),
      Buffer.from(`${'x'.repeat(5000)}\r\n`),
      Buffer.from('--_NmP-0000000000000000-Part_1\r\n{{email-connector:original:other}}\r\n'),
      Buffer.from([0, 255, 13, 10, 128, 27, 0x1b, 0xfe]),
    ];
    for (const original of [...fixtures, ...special]) {
      for (const placeholder of [originalPlaceholder('doc-1'), heldOriginalPlaceholder('mail-1')]) {
        const { inline, pieces } = await composedBothWays(original, placeholder);
        expect(sameBoundaries(pieces)).toBe(sameBoundaries(inline));
      }
    }
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
        const { inline, pieces } = await composedBothWays(Buffer.from(bytes), heldOriginalPlaceholder('m'));
        expect(sameBoundaries(pieces)).toBe(sameBoundaries(inline));
      }),
      { numRuns: 200 },
    );
  });
});

describe('the outbox holds a forward’s original once, and sending reads it as it goes', () => {
  let engine: Engine;
  afterEach(async () => {
    await engine.close();
  });

  const databaseOf = (engine: Engine): string => join(engine.dir, 'crm.sqlite');

  it('keeps an unknown sender’s original apart from the forward, once, and sends it unchanged', async () => {
    engine = await openEngine();
    const raw = largeMail('someone@unknown.example', 'Scan of the contract');

    const { outcome } = await engine.process(raw, 'unknown.eml');

    expect(outcome).toMatchObject({ action: 'forwarded', forwardedTo: [internalSupport] });
    const sizes = blobSizes(databaseOf(engine));
    const outbox = [...sizes].filter(([owner]) => owner.startsWith('outbox:'));
    const originals = [...sizes].filter(([owner]) => owner.startsWith('outbox-original:'));
    // The forward's own MIME is small: the original is not composed into it.
    expect(outbox).toHaveLength(1);
    expect(outbox[0]![1]).toBeLessThan(8_192);
    expect(originals).toEqual([[`outbox-original:${outbox[0]![0].slice('outbox:'.length)}`, raw.length]]);
    const [forward] = await engine.sent();
    expect(forward!.original?.equals(raw)).toBe(true);
    // The original is in the sent mail exactly once, and no placeholder is left.
    const sentText = forward!.raw.toString('latin1');
    expect(sentText.indexOf(raw.toString('latin1'))).toBeGreaterThan(0);
    expect(forward!.raw.length).toBeLessThan(raw.length + 8_192);
    expect(sentText).not.toContain('{{email-connector:');
  });

  it('refers a filed reply’s forward to the filed document, and sends that original unchanged', async () => {
    engine = await openEngine();
    const raw = largeMail('jane@acme.example', 'RE: [Ticket#0000042] Printer');

    const { outcome } = await engine.process(raw, 'reply.eml');

    expect(outcome).toMatchObject({
      action: 'filed',
      ticketNumber: '0000042',
      forwardedTo: [internalSupport],
    });
    const sizes = blobSizes(databaseOf(engine));
    expect([...sizes.keys()].filter((owner) => owner.startsWith('outbox-original:'))).toEqual([]);
    expect([...sizes].filter(([owner]) => owner.startsWith('outbox:')).every(([, n]) => n < 8_192)).toBe(
      true,
    );
    expect([...sizes].filter(([owner]) => owner.startsWith('document:')).map(([, n]) => n)).toEqual([
      raw.length,
    ]);
    const [forward] = await engine.sent();
    expect(forward!.original?.equals(raw)).toBe(true);
    expect(forward!.raw.toString('latin1')).not.toContain('{{email-connector:');
  });

  it('hands the mailbox each forward as [head, original read part by part, tail], one mail at a time', async () => {
    engine = await openEngine();
    const mailbox = new NotingMailbox(new LocalMailbox(engine.mailboxDir));
    const store: CrmStore = engine.store;
    const raws = [
      largeMail('someone@unknown.example', 'First'),
      largeMail('jane@acme.example', 'RE: [Ticket#0000042] Second'),
      largeMail('other@unknown.example', 'Third'),
    ];
    for (const [index, raw] of raws.entries())
      await processMessage(raw, { label: `m${index}.eml`, intakeId: null }, engine.deps);

    expect(await new OutboxSender(store, mailbox, silentLogger()).flush()).toBe(3);

    expect(mailbox.given.map((mail) => mail.shape)).toEqual([
      ['buffer', 'deferred', 'buffer'],
      ['buffer', 'deferred', 'buffer'],
      ['buffer', 'deferred', 'buffer'],
    ]);
    // SQLite's parts, one at a time: never the whole original in one buffer.
    for (const mail of mailbox.given) expect(mail.largestPart).toBe(1_048_576);
    // Each original went out once, unchanged (sent/ lists the mails by outbox id, not in order).
    const sent = await readSentMail(engine.mailboxDir);
    expect(sent).toHaveLength(3);
    for (const raw of raws) expect(sent.filter((mail) => mail.original?.equals(raw))).toHaveLength(1);
  });

  it('gives up at once on a mail whose MIME has lost its placeholder, and sends the next one', async () => {
    engine = await openEngine();
    await processMessage(
      largeMail('someone@unknown.example', 'Broken'),
      { label: 'a.eml', intakeId: null },
      engine.deps,
    );
    await processMessage(readFixture('unknown-sender.eml'), { label: 'b.eml', intakeId: null }, engine.deps);
    const [broken] = await engine.store.listPendingMail(10, new Date());
    const db = new Database(databaseOf(engine));
    db.prepare(`UPDATE blob_parts SET data = ? WHERE owner = ?`).run(
      Buffer.from('From: x\r\n\r\nno placeholder'),
      `outbox:${broken!.id}`,
    );
    db.close();

    const sender = new OutboxSender(engine.store, new LocalMailbox(engine.mailboxDir), silentLogger());
    expect(await sender.flush()).toBe(1);

    expect(await engine.store.listPendingMail(10, new Date())).toEqual([]);
    const sent = await readSentMail(engine.mailboxDir);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.original?.equals(readFixture('unknown-sender.eml'))).toBe(true);
  });
});
