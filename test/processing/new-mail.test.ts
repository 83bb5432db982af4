import { afterEach, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { openEngine, internalSupport, type Engine } from '../helpers/engine.ts';
import { readFixture } from '../helpers/fixtures.ts';

let engine: Engine;
afterEach(async () => {
  await engine.close();
});

describe('new mail from a secondary contact', () => {
  it('opens a ticket under the contact’s account and files the mail with its attachments and original', async () => {
    engine = await openEngine({ AUTO_ACK: 'true' });
    const before = await engine.store.counts();

    const { outcome, duplicate } = await engine.process('new-from-contact-with-attachment.eml');

    expect(duplicate).toBe(false);
    expect(outcome).toMatchObject({
      action: 'ticket-created',
      code: 'new-mail-address',
      accountId: 'ACME',
      messageId: 'CAK7x0nE3f9Qp2-Lw4vGz8bd1R@mail.gmail.example',
      from: 'bob.stone@gmail.example',
    });
    expect(outcome.reason).toContain('contact');
    expect((await engine.store.counts()).tickets).toBe(before.tickets + 1);

    const ticket = await engine.ticket(outcome.ticketNumber!);
    expect(ticket).toMatchObject({
      accountId: 'ACME',
      contactId: 'ACME-BOB',
      subject: 'Error when opening the accounts spreadsheet',
      status: 'open',
      source: 'email',
    });
    const documents = await engine.store.listDocuments(ticket.id);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({
      accountId: 'ACME',
      sender: 'bob.stone@gmail.example',
      recipients: ['support@msp.example'],
      subject: 'Error when opening the accounts spreadsheet',
      messageId: 'CAK7x0nE3f9Qp2-Lw4vGz8bd1R@mail.gmail.example',
      date: '2026-11-16T08:12:40.000Z',
      attachments: [
        { filename: 'error-report.pdf', contentType: 'application/pdf', size: 142 },
        { filename: 'screenshot.png', contentType: 'image/png', size: 70 },
      ],
    });
    const raw = await engine.store.readDocumentRaw(documents[0]!.id);
    expect(raw?.equals(readFixture('new-from-contact-with-attachment.eml'))).toBe(true);

    const stored = (
      await engine.store.findOutcomesByMessageId('CAK7x0nE3f9Qp2-Lw4vGz8bd1R@mail.gmail.example', 1)
    )[0];
    expect(stored).toMatchObject({ action: 'ticket-created', ticketNumber: outcome.ticketNumber });
  });

  it('sends the customer one acknowledgment carrying the [Ticket#…] tag when AUTO_ACK=true', async () => {
    engine = await openEngine({ AUTO_ACK: 'true' });

    const { outcome } = await engine.process('new-from-contact-with-attachment.eml');

    const tag = `[Ticket#${outcome.ticketNumber}]`;
    const sent = await engine.sent();
    expect(sent).toHaveLength(1);
    const ack = sent[0]!;
    expect(ack.kind).toBe('ack');
    expect(ack.to).toEqual(['bob.stone@gmail.example']);
    expect(ack.from).toEqual(['support@msp.example']);
    expect(ack.subject).toBe(`${tag} Error when opening the accounts spreadsheet`);
    expect(ack.text).toContain(tag);
    expect(ack.text).toMatch(/ECR-[0-9a-f]{20}/);
    expect(ack.inReplyTo).toBe('CAK7x0nE3f9Qp2-Lw4vGz8bd1R@mail.gmail.example');
    // RFC 3834: marked as an automatic reply so that the other side does not answer it.
    expect(ack.headers['auto-submitted']).toBe('auto-replied');
    expect(outcome.sent).toEqual([
      { to: ['bob.stone@gmail.example'], subject: ack.subject, kind: 'acknowledgment' },
    ]);
    expect(outcome.forwardedTo).toEqual([]);
  });

  it('sends no acknowledgment (and no forward) when AUTO_ACK=false', async () => {
    engine = await openEngine({ AUTO_ACK: 'false' });

    const { outcome } = await engine.process('new-from-contact-with-attachment.eml');

    expect(outcome.action).toBe('ticket-created');
    expect(await engine.documents(outcome.ticketNumber!)).toHaveLength(1);
    expect(outcome.sent).toEqual([]);
    expect(outcome.forwardedTo).toEqual([]);
    expect(await engine.sent()).toEqual([]);
  });

  it('uses the configured acknowledgment subject template and still keeps the tag', async () => {
    engine = await openEngine({ ACK_SUBJECT_TEMPLATE: 'We received: {subject} ({accountName})' });

    const { outcome } = await engine.process('new-from-contact-with-attachment.eml');

    const [ack] = await engine.sent();
    expect(ack?.subject).toBe(
      `[Ticket#${outcome.ticketNumber}] We received: Error when opening the accounts spreadsheet (Acme)`,
    );
  });

  it('never sends an acknowledgment to internal support or leaks the original to the customer', async () => {
    engine = await openEngine();

    await engine.process('new-from-contact-with-attachment.eml');

    const [ack] = await engine.sent();
    expect(ack?.to).not.toContain(internalSupport);
    const parsed = await simpleParser(ack!.raw);
    expect(parsed.attachments).toEqual([]);
  });
});
