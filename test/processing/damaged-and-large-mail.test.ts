import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFiledAttachment } from '../../src/processing/filed-attachments.ts';
import { openEngine, internalSupport, type Engine } from '../helpers/engine.ts';
import { readFixture } from '../helpers/fixtures.ts';

let engine: Engine;
afterEach(async () => {
  await engine.close();
});

const attachmentBytes = 25 * 1024 * 1024;

/** A customer mail with a 25 MB attachment, built here so that it is never committed. */
function mailWith25MbAttachment(): { raw: Buffer; attachment: Buffer } {
  const attachment = randomBytes(attachmentBytes);
  const base64 = attachment.toString('base64').replace(/.{76}/g, '$&\r\n');
  const head = [
    'From: Jane Roe <jane@acme.example>',
    'To: support@msp.example',
    'Subject: Disk image of the broken laptop',
    'Date: Mon, 16 Nov 2026 18:00:00 +0000',
    'Message-ID: <disk-image-25mb@acme.example>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    '--outer',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'The image of the disk is attached.',
    '--outer',
    'Content-Type: application/octet-stream; name="laptop-disk.img"',
    'Content-Disposition: attachment; filename="laptop-disk.img"',
    'Content-Transfer-Encoding: base64',
    '',
    '',
  ].join('\r\n');
  return { raw: Buffer.from(`${head}${base64}\r\n--outer--\r\n`), attachment };
}

describe('damaged, empty and large mail: a clear outcome and no crash', () => {
  it('files a mail whose multipart body is broken, keeps the original and says the message is damaged', async () => {
    engine = await openEngine();

    const { outcome } = await engine.process('broken-mime.eml');

    expect(outcome).toMatchObject({ action: 'ticket-created', accountId: 'ACME' });
    expect(outcome.flags).toContain('damaged-mime');
    expect(outcome.reason).toContain('boundary never appears');
    const [document] = await engine.documents(outcome.ticketNumber!);
    expect((await engine.store.readDocumentRaw(document!.id))?.equals(readFixture('broken-mime.eml'))).toBe(
      true,
    );
  });

  it('forwards bytes that are no mail at all to internal support, saying why', async () => {
    engine = await openEngine();

    const { outcome } = await engine.process('garbage.eml');

    expect(outcome).toMatchObject({
      action: 'forwarded',
      flags: ['damaged-mime'],
      forwardedTo: [internalSupport],
    });
    expect(outcome.reason).toContain('no headers');
    expect(outcome.reason).toContain('no From address');
    const [forward] = await engine.sent();
    expect(forward?.original?.equals(readFixture('garbage.eml'))).toBe(true);
    expect(forward?.text).toContain('no From address');
  });

  it('forwards an empty file to internal support with the reason', async () => {
    engine = await openEngine();

    const { outcome } = await engine.process(Buffer.alloc(0), 'empty.eml');

    expect(outcome).toMatchObject({ action: 'forwarded', forwardedTo: [internalSupport] });
    expect(outcome.reason).toContain('no headers');
  });

  it('opens a ticket for a customer mail with an empty body and no subject', async () => {
    engine = await openEngine();

    const { outcome } = await engine.process('empty-body.eml');

    expect(outcome).toMatchObject({ action: 'ticket-created', accountId: 'ACME', flags: [] });
    expect(await engine.ticket(outcome.ticketNumber!)).toMatchObject({ subject: '(no subject)' });
    const documents = await engine.documents(outcome.ticketNumber!);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ subject: '', attachments: [] });
    const [ack] = await engine.sent();
    expect(ack?.subject).toBe(`[Ticket#${outcome.ticketNumber}] (no subject)`);
  });

  it('files a mail with a 25 MB attachment whole', async () => {
    engine = await openEngine();
    const { raw } = mailWith25MbAttachment();

    const { outcome } = await engine.process(raw, 'disk-image.eml');

    expect(outcome).toMatchObject({ action: 'ticket-created', accountId: 'ACME' });
    const [document] = await engine.documents(outcome.ticketNumber!);
    expect(document?.attachments).toEqual([
      {
        filename: 'laptop-disk.img',
        contentType: 'application/octet-stream',
        size: attachmentBytes,
        position: 0,
      },
    ]);
    expect((await engine.store.readDocumentRaw(document!.id))?.length).toBe(raw.length);
    // Stored once, in the raw message, and read back from there whole.
    expect((await readFiledAttachment(engine.store, document!, 0))?.length).toBe(attachmentBytes);
  });

  it('does not parse a message above MAX_MESSAGE_MB: failed, internal support told, original left in the mailbox', async () => {
    engine = await openEngine({ MAX_MESSAGE_MB: '20' });
    const { raw } = mailWith25MbAttachment();
    const before = await engine.store.counts();

    const { outcome } = await engine.process(raw, 'disk-image.eml');

    expect(outcome).toMatchObject({ action: 'failed', code: 'too-large', forwardedTo: [internalSupport] });
    expect(outcome.reason).toContain('MAX_MESSAGE_MB');
    expect((await engine.store.counts()).tickets).toBe(before.tickets);
    const [notice] = await engine.sent();
    expect(notice?.original).toBeNull();
    expect(notice?.text).toContain('disk-image.eml');
  });

  it('tells internal support once about a too-large message, however often it is processed', async () => {
    engine = await openEngine({ MAX_MESSAGE_MB: '20' });
    const { raw } = mailWith25MbAttachment();
    await engine.process(raw, 'disk-image.eml');

    const again = await engine.process(raw, 'disk-image.eml');

    expect(again).toMatchObject({ duplicate: true, outcome: { action: 'failed', code: 'too-large' } });
    expect(await engine.sent()).toHaveLength(1);
  });
});
