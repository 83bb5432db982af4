import { afterEach, describe, expect, it } from 'vitest';
import { openEngine, internalSupport, type Engine } from '../helpers/engine.ts';
import { readFixture } from '../helpers/fixtures.ts';

let engine: Engine;
afterEach(async () => {
  await engine.close();
});

describe('matching the sender to an account', () => {
  it("opens a ticket for the one account whose bare domain matches an unknown address's domain", async () => {
    engine = await openEngine();

    const { outcome } = await engine.process('new-from-unknown-address-known-domain.eml');

    expect(outcome).toMatchObject({ action: 'ticket-created', code: 'new-mail-domain', accountId: 'ACME' });
    const ticket = await engine.ticket(outcome.ticketNumber!);
    expect(ticket).toMatchObject({
      accountId: 'ACME',
      contactId: null,
      subject: 'New starter needs an account',
    });
    const documents = await engine.store.listDocuments(ticket.id);
    expect(documents.map((document) => document.sender)).toEqual(['carl@acme.example']);
    const sent = await engine.sent();
    expect(sent.map((mail) => [mail.kind, mail.to])).toEqual([['ack', ['carl@acme.example']]]);
  });

  it('matches the exact domain only: a subdomain of an account domain is unknown', async () => {
    engine = await openEngine();
    const raw = Buffer.from(
      readFixture('new-from-unknown-address-known-domain.eml')
        .toString('utf8')
        .replace('carl@ACME.example', 'carl@eu.acme.example'),
    );

    const { outcome } = await engine.process(raw);

    expect(outcome).toMatchObject({ action: 'forwarded', code: 'no-match', ticketNumber: null });
  });

  it('forwards a mail whose domain is on two accounts to internal support, naming both, and opens no ticket', async () => {
    engine = await openEngine();
    const before = await engine.store.counts();

    const { outcome } = await engine.process('duplicate-domain.eml');

    expect(outcome).toMatchObject({
      action: 'forwarded',
      code: 'duplicate-domain',
      ticketNumber: null,
      forwardedTo: [internalSupport],
      sent: [],
    });
    expect(outcome.reason).toContain('duplicate domain');
    expect(outcome.reason).toContain('Globex (GLOBEX)');
    expect(outcome.reason).toContain('Initech (INITECH)');
    expect((await engine.store.counts()).tickets).toBe(before.tickets);
    expect((await engine.store.counts()).documents).toBe(before.documents);

    const sent = await engine.sent();
    expect(sent).toHaveLength(1);
    const forward = sent[0]!;
    expect(forward.to).toEqual([internalSupport]);
    expect(forward.text).toContain('Globex (GLOBEX)');
    expect(forward.text).toContain('Initech (INITECH)');
    expect(forward.original?.equals(readFixture('duplicate-domain.eml'))).toBe(true);
  });

  it('forwards mail from an unknown sender untouched (original attached byte for byte), no ticket, no reply', async () => {
    engine = await openEngine();
    const before = await engine.store.counts();

    const { outcome } = await engine.process('unknown-sender.eml');

    expect(outcome).toMatchObject({
      action: 'forwarded',
      code: 'no-match',
      ticketNumber: null,
      accountId: null,
      forwardedTo: [internalSupport],
      sent: [],
    });
    expect(outcome.reason).toContain('no account matches');
    expect((await engine.store.counts()).tickets).toBe(before.tickets);

    const sent = await engine.sent();
    expect(sent).toHaveLength(1);
    const forward = sent[0]!;
    expect(forward.kind).toBe('forward');
    expect(forward.to).toEqual([internalSupport]);
    expect(forward.subject).toContain('Do you offer backup services?');
    expect(forward.text).toContain(`Reason: ${outcome.reason}`);
    // Internal support can answer the sender directly.
    expect(forward.headers['reply-to']).toContain('someone@unknown.example');
    expect(forward.original).not.toBeNull();
    expect(forward.original!.equals(readFixture('unknown-sender.eml'))).toBe(true);
  });

  it('matches the full address before the domain: a contact on a shared domain gets a ticket for its account', async () => {
    engine = await openEngine();
    // shared-hosting.example is on Globex and Initech, but wendy@shared-hosting.example is Globex's contact.
    const raw = Buffer.from(
      readFixture('duplicate-domain.eml')
        .toString('utf8')
        .replace('Webmaster <webmaster@shared-hosting.example>', 'Wendy Web <Wendy@Shared-Hosting.example>'),
    );

    const { outcome } = await engine.process(raw);

    expect(outcome).toMatchObject({
      action: 'ticket-created',
      code: 'new-mail-address',
      accountId: 'GLOBEX',
    });
    expect((await engine.ticket(outcome.ticketNumber!)).contactId).toBe('GLOBEX-WENDY');
  });
});
