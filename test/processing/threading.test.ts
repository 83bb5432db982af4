import { afterEach, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { openEngine, internalSupport, type Engine } from '../helpers/engine.ts';
import { fixtureWith, readFixture } from '../helpers/fixtures.ts';

let engine: Engine;
afterEach(async () => {
  await engine.close();
});

describe('replies carrying a ticket tag', () => {
  it("files the customer's reply under the ticket and forwards it to internal support", async () => {
    engine = await openEngine();
    const before = await engine.store.counts();

    const { outcome } = await engine.process('reply-customer.eml');

    expect(outcome).toMatchObject({
      action: 'filed',
      code: 'customer-reply',
      ticketNumber: '0000042',
      accountId: 'ACME',
      flags: [],
      forwardedTo: [internalSupport],
      sent: [],
    });
    expect((await engine.store.counts()).tickets).toBe(before.tickets);
    const documents = await engine.documents('0000042');
    expect(documents.map((document) => [document.sender, document.messageId])).toEqual([
      ['jane@acme.example', 'reply-customer-0042@acme.example'],
    ]);
    const sent = await engine.sent();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toEqual([internalSupport]);
    expect(sent[0]!.subject).toContain('[Ticket#0000042]');
    expect(sent[0]!.original?.equals(readFixture('reply-customer.eml'))).toBe(true);
  });

  it('files an active employee’s reply that reached us only by Bcc, and forwards nothing', async () => {
    engine = await openEngine();
    const fixture = await simpleParser(readFixture('reply-employee-bcc.eml'));
    // The point of the fixture: the support address is in Bcc only.
    const visible = [fixture.to, fixture.cc].flatMap((field) =>
      field === undefined ? [] : (Array.isArray(field) ? field : [field]).flatMap((list) => list.value),
    );
    expect(visible.map((entry) => entry.address)).not.toContain('support@msp.example');

    const { outcome } = await engine.process('reply-employee-bcc.eml');

    expect(outcome).toMatchObject({
      action: 'filed',
      code: 'employee-reply',
      ticketNumber: '0000042',
      forwardedTo: [],
      sent: [],
    });
    expect(outcome.reason).toContain('Tom Tech');
    const documents = await engine.documents('0000042');
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ sender: 'tom.tech@msp.example' });
    expect(documents[0]!.recipients).toEqual(['jane@acme.example', 'support@msp.example']);
    expect(await engine.sent()).toEqual([]);
  });

  it('files an inactive employee’s reply and forwards it', async () => {
    engine = await openEngine();

    const { outcome } = await engine.process('reply-inactive-employee.eml');

    expect(outcome).toMatchObject({
      action: 'filed',
      ticketNumber: '0000042',
      forwardedTo: [internalSupport],
    });
    expect(outcome.reason).toContain('inactive employee Olga Former');
    expect(await engine.documents('0000042')).toHaveLength(1);
    expect((await engine.sent()).map((mail) => mail.to)).toEqual([[internalSupport]]);
  });

  it('handles a tag for a ticket that does not exist as new mail, and the outcome says so', async () => {
    engine = await openEngine();
    const before = await engine.store.counts();

    const { outcome } = await engine.process('reply-unknown-ticket-tag.eml');

    expect(outcome).toMatchObject({ action: 'ticket-created', code: 'new-mail-address', accountId: 'ACME' });
    expect(outcome.ticketNumber).not.toBe('0999999');
    expect(outcome.flags).toContain('unknown-ticket:0999999');
    expect(outcome.reason).toContain('tagged ticket 0999999 does not exist');
    expect((await engine.store.counts()).tickets).toBe(before.tickets + 1);
    expect(await engine.store.findTicketByNumber('0999999')).toBeNull();
    expect(await engine.documents('0000042')).toEqual([]);
  });

  it.each([
    ['RE: FW: AW: RE: [Ticket#0000107]', 'reply-re-fw-aw-prefixes.eml'],
    ['re:fw:   [ ticket  #   107 ]', 'reply-odd-spacing-and-case.eml'],
    ['SV: Antw: [TICKET<nbsp>#<full-width 0>000107] (RFC 2047 encoded)', 'reply-sv-antw-encoded-subject.eml'],
  ])('threads "%s" to the right ticket', async (_subject, fixture) => {
    engine = await openEngine();

    const { outcome } = await engine.process(fixture);

    expect(outcome).toMatchObject({ action: 'filed', code: 'customer-reply', ticketNumber: '0000107' });
    expect(await engine.documents('0000107')).toHaveLength(1);
    expect(await engine.documents('0000042')).toHaveLength(0);
  });

  it('files a tagged reply from a sender unrelated to the ticket’s account, forwards it and flags it', async () => {
    engine = await openEngine();

    const { outcome } = await engine.process('unrelated-sender-with-tag.eml');

    expect(outcome).toMatchObject({
      action: 'filed',
      code: 'unrelated-sender-reply',
      ticketNumber: '0000042',
      flags: ['unrelated-sender'],
      forwardedTo: [internalSupport],
    });
    expect(await engine.documents('0000042')).toHaveLength(1);
    const [forward] = await engine.sent();
    expect(forward?.subject).toContain('unrelated sender');
    expect(forward?.text).toContain('Flags: unrelated-sender');
    // No automatic reply goes to the stranger.
    expect(outcome.sent).toEqual([]);
  });
});

describe('threading beyond the subject tag', () => {
  /** Processes a new mail and returns its ticket number and the acknowledgment the connector sent. */
  async function newTicketWithAck() {
    const { outcome } = await engine.process('new-from-contact-with-attachment.eml');
    const [ack] = await engine.sent();
    expect(ack?.kind).toBe('ack');
    return { ticketNumber: outcome.ticketNumber!, ack: ack! };
  }

  it('threads a reply whose In-Reply-To is our acknowledgment, although its subject has no tag', async () => {
    engine = await openEngine();
    const { ticketNumber, ack } = await newTicketWithAck();
    const reply = fixtureWith('reply-without-tag.eml', { 'ACK-MESSAGE-ID': ack.messageId });

    const { outcome } = await engine.process(reply, 'reply-without-tag.eml');

    expect(outcome).toMatchObject({ action: 'filed', ticketNumber, accountId: 'ACME' });
    expect(outcome.reason).toContain('in-reply-to');
    const documents = await engine.documents(ticketNumber);
    expect(documents.map((document) => document.messageId)).toEqual([
      'CAK7x0nE3f9Qp2-Lw4vGz8bd1R@mail.gmail.example',
      'CAK7x0nE-reply-without-tag@mail.gmail.example',
    ]);
  });

  it('threads a reply whose References (not In-Reply-To) name our acknowledgment', async () => {
    engine = await openEngine();
    const { ticketNumber, ack } = await newTicketWithAck();
    const reply = fixtureWith('reply-without-tag.eml', {
      'In-Reply-To: <ACK-MESSAGE-ID>': 'In-Reply-To: <lost-in-transit@mail.gmail.example>',
      'ACK-MESSAGE-ID': ack.messageId,
    });

    const { outcome } = await engine.process(reply);

    expect(outcome).toMatchObject({ action: 'filed', ticketNumber });
    expect(outcome.reason).toContain('references');
  });

  it('threads a reply whose In-Reply-To names a customer mail we filed', async () => {
    engine = await openEngine();
    const { ticketNumber } = await newTicketWithAck();
    const reply = fixtureWith('reply-without-tag.eml', {
      'ACK-MESSAGE-ID': 'CAK7x0nE3f9Qp2-Lw4vGz8bd1R@mail.gmail.example',
    });

    const { outcome } = await engine.process(reply);

    expect(outcome).toMatchObject({ action: 'filed', ticketNumber });
    expect(outcome.reason).toContain('in-reply-to');
  });

  it('threads a tagless reply that quotes the hidden reference token of our acknowledgment', async () => {
    engine = await openEngine();
    const { ticketNumber, ack } = await newTicketWithAck();
    const token = /ECR-[0-9a-f]{20}/.exec(ack.text)?.[0];
    expect(token).toBeDefined();
    const reply = fixtureWith('reply-quoting-reference-token.eml', { 'ECR-REFERENCE-TOKEN': token! });

    const { outcome } = await engine.process(reply);

    expect(outcome).toMatchObject({ action: 'filed', ticketNumber, code: 'customer-reply' });
    expect(outcome.reason).toContain('reference-token');
    expect(await engine.documents(ticketNumber)).toHaveLength(2);
  });

  it('opens a new ticket for the same tagless reply when nothing links it to a ticket', async () => {
    engine = await openEngine();
    const { ticketNumber } = await newTicketWithAck();
    const reply = fixtureWith('reply-quoting-reference-token.eml', {
      'ECR-REFERENCE-TOKEN': 'ECR-00000000000000000000',
    });

    const { outcome } = await engine.process(reply);

    expect(outcome.action).toBe('ticket-created');
    expect(outcome.ticketNumber).not.toBe(ticketNumber);
  });
});
