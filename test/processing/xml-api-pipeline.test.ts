import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { mail } from '../helpers/mail-factory.ts';
import { openEngine, type Engine } from '../helpers/engine.ts';

describe('XML API in the processing pipeline', () => {
  let engine: Engine;
  afterEach(async () => {
    await engine.close();
  });

  it('applies a TICKET transaction as step 2 and answers SendResponseToEmail only', async () => {
    engine = await openEngine({ XML_API_ENABLED: 'true' });
    const { outcome } = await engine.process('xml-ticket-from-web-form.eml');
    expect(outcome).toMatchObject({ action: 'api', code: 'api-applied', accountId: 'ACME' });
    const ticket = await engine.ticket(outcome.ticketNumber!);
    expect(ticket).toMatchObject({ accountId: 'ACME', subject: 'Meeting room screen shows no signal' });
    const sent = await engine.sent();
    expect(sent.map((m) => m.to)).toEqual([['forms@acme.example']]);
    const response = sent[0]!.raw.toString();
    expect(response).toMatch(/CommitCRMTransactionResponse/);
    expect(response).toMatch(/<ReturnTransactionID>form-7781<\/ReturnTransactionID>/);
    expect(response).toContain(ticket.id);
    // Not treated as customer mail as well: no acknowledgment, no document filed from the form's mail.
    expect(await engine.documents(outcome.ticketNumber!)).toEqual([]);
  });

  it('with XML_API_ENABLED=false, the same mail follows the normal customer path', async () => {
    engine = await openEngine({ XML_API_ENABLED: 'false', AUTO_ACK: 'true' });
    const { outcome } = await engine.process('xml-ticket-from-web-form.eml');
    expect(outcome).toMatchObject({ action: 'ticket-created', code: 'new-mail-domain', accountId: 'ACME' });
    const sent = await engine.sent();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toEqual(['webform@acme.example']);
    expect(sent[0]!.subject).toMatch(/^\[Ticket#\d{7}\] Web form submission$/);
  });

  it('an ACCOUNT added by XML with a bare domain matches the next customer mail from that domain', async () => {
    engine = await openEngine({ XML_API_ENABLED: 'true' });
    const { outcome: api } = await engine.process('xml-account-with-domain.eml');
    expect(api).toMatchObject({ action: 'api', code: 'api-applied' });
    const { outcome } = await engine.process(
      Buffer.from(mail({ from: 'Ada <ada@umbrella.example>', subject: 'Laptop battery swollen' })),
    );
    expect(outcome).toMatchObject({
      action: 'ticket-created',
      code: 'new-mail-domain',
      accountId: api.accountId,
    });
  });

  it('an alert that an automated-email rule detects is handled by the rule even when its body is XML', async () => {
    engine = await openEngine({ XML_API_ENABLED: 'true' });
    const body = readFileSync(
      new URL('../fixtures/xml-ticket-from-web-form.eml', import.meta.url),
      'utf8',
    ).split(/\r?\n\r?\n/)[1]!;
    const { outcome } = await engine.process(
      Buffer.from(mail({ from: 'alerts@rmm.example', subject: 'ALERT disk full (Site: RMM-4711)', body })),
    );
    expect(outcome.action).not.toBe('api');
    expect(outcome.code).toMatch(/^rule-/);
  });
});
