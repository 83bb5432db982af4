import { afterEach, describe, expect, it } from 'vitest';
import { openEngine, internalSupport, type Engine } from '../helpers/engine.ts';
import { readFixture, withMessageId } from '../helpers/fixtures.ts';

let engine: Engine;
afterEach(async () => {
  await engine.close();
});

describe('machine-made mail', () => {
  // Each comes from an address or domain of a known account: without loop protection it would open a
  // ticket and be answered.
  it.each([
    ['an Exchange out-of-office reply (Auto-Submitted)', 'out-of-office-exchange.eml', 'Auto-Submitted'],
    [
      'an out-of-office reply known only by its German subject',
      'out-of-office-subject-only.eml',
      'out-of-office',
    ],
    ['a delivery status notification (multipart/report)', 'dsn-bounce.eml', 'multipart/report'],
    ['a bounce from MAILER-DAEMON', 'mailer-daemon-bounce.eml', 'mailer-daemon'],
    ['mail from our own support address', 'loop-from-support-address.eml', 'support address itself'],
  ])('opens no ticket and sends no automatic reply for %s', async (_case, fixture, why) => {
    engine = await openEngine({ AUTO_ACK: 'true' });
    const before = await engine.store.counts();

    const { outcome } = await engine.process(fixture);

    expect(outcome).toMatchObject({
      action: 'ignored',
      code: 'machine-mail',
      ticketNumber: null,
      sent: [],
      forwardedTo: [],
    });
    expect(outcome.reason).toContain(why);
    const after = await engine.store.counts();
    expect(after.tickets).toBe(before.tickets);
    expect(after.documents).toBe(before.documents);
    expect(after.outcomes).toBe(before.outcomes + 1);
    expect(await engine.sent()).toEqual([]);
  });

  it('forwards unthreaded machine mail to internal support (never to the sender) when so configured', async () => {
    engine = await openEngine({ UNTHREADED_MACHINE_MAIL: 'forward' });

    const { outcome } = await engine.process('dsn-bounce.eml');

    expect(outcome).toMatchObject({
      action: 'forwarded',
      code: 'machine-mail',
      forwardedTo: [internalSupport],
    });
    const sent = await engine.sent();
    expect(sent.map((mail) => mail.to)).toEqual([[internalSupport]]);
    expect(sent[0]!.original?.equals(readFixture('dsn-bounce.eml'))).toBe(true);
  });

  it('files an out-of-office reply that threads to a ticket quietly: no forward, no reply', async () => {
    engine = await openEngine();

    const { outcome } = await engine.process('out-of-office-on-ticket.eml');

    expect(outcome).toMatchObject({
      action: 'filed',
      code: 'machine-reply-filed',
      ticketNumber: '0000042',
      forwardedTo: [],
      sent: [],
    });
    expect((await engine.documents('0000042')).map((document) => document.messageId)).toEqual([
      'oof-on-ticket-0042@acme.example',
    ]);
    expect(await engine.sent()).toEqual([]);
  });

  it('files an out-of-office reply to our acknowledgment quietly under that ticket', async () => {
    engine = await openEngine();
    const first = await engine.process('new-from-contact-with-attachment.eml');
    const [ack] = await engine.sent();
    const oof = Buffer.from(
      readFixture('out-of-office-exchange.eml')
        .toString('utf8')
        .replace('<quote-request-41@msp.example>', `<${ack!.messageId}>`),
    );

    const { outcome } = await engine.process(oof);

    expect(outcome).toMatchObject({
      action: 'filed',
      code: 'machine-reply-filed',
      ticketNumber: first.outcome.ticketNumber,
      sent: [],
      forwardedTo: [],
    });
    expect(await engine.sent()).toHaveLength(1);
  });
});

describe('bulk and list mail', () => {
  it('opens a ticket for list mail from a customer but never answers it (BULK_MAIL_OPENS_TICKET=true)', async () => {
    engine = await openEngine({ BULK_MAIL_OPENS_TICKET: 'true' });

    const { outcome } = await engine.process('newsletter-list-mail.eml');

    expect(outcome).toMatchObject({ action: 'ticket-created', accountId: 'ACME', sent: [] });
    expect(outcome.flags).toEqual(['no-ack:Precedence: list']);
    expect(await engine.sent()).toEqual([]);
  });

  it('forwards list mail instead of opening a ticket when BULK_MAIL_OPENS_TICKET=false', async () => {
    engine = await openEngine({ BULK_MAIL_OPENS_TICKET: 'false' });
    const before = await engine.store.counts();

    const { outcome } = await engine.process('newsletter-list-mail.eml');

    expect(outcome).toMatchObject({ action: 'forwarded', code: 'bulk-mail', forwardedTo: [internalSupport] });
    expect((await engine.store.counts()).tickets).toBe(before.tickets);
  });
});

describe('rate limit on automatic replies', () => {
  it('sends at most AUTO_REPLY_LIMIT_PER_HOUR acknowledgments to one recipient, still opening every ticket', async () => {
    engine = await openEngine({ AUTO_REPLY_LIMIT_PER_HOUR: '2' });
    const mail = readFixture('new-from-contact-with-attachment.eml');

    const outcomes = [];
    for (const n of [1, 2, 3]) {
      outcomes.push((await engine.process(withMessageId(mail, `burst-${n}@mail.gmail.example`))).outcome);
    }

    expect(outcomes.map((outcome) => outcome.action)).toEqual([
      'ticket-created',
      'ticket-created',
      'ticket-created',
    ]);
    expect(new Set(outcomes.map((outcome) => outcome.ticketNumber)).size).toBe(3);
    expect(outcomes.map((outcome) => outcome.sent.length)).toEqual([1, 1, 0]);
    expect(outcomes[2]!.flags).toContain('no-ack:rate-limited');
    const acks = (await engine.sent()).filter((sent) => sent.kind === 'ack');
    expect(acks.map((ack) => ack.to)).toEqual([['bob.stone@gmail.example'], ['bob.stone@gmail.example']]);
  });

  it('counts per recipient: another customer still gets an acknowledgment', async () => {
    engine = await openEngine({ AUTO_REPLY_LIMIT_PER_HOUR: '1' });
    const mail = readFixture('new-from-contact-with-attachment.eml');
    await engine.process(withMessageId(mail, 'first@mail.gmail.example'));
    const limited = await engine.process(withMessageId(mail, 'second@mail.gmail.example'));

    const other = await engine.process('new-from-unknown-address-known-domain.eml');

    expect(limited.outcome.sent).toEqual([]);
    expect(other.outcome.sent.map((mail) => mail.to)).toEqual([['carl@acme.example']]);
  });

  it('sends no acknowledgment at all when the limit is 0', async () => {
    engine = await openEngine({ AUTO_REPLY_LIMIT_PER_HOUR: '0' });

    const { outcome } = await engine.process('new-from-contact-with-attachment.eml');

    expect(outcome.action).toBe('ticket-created');
    expect(await engine.sent()).toEqual([]);
  });
});
