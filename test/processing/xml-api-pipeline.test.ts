import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { escapeXml } from '../../src/domain/xml-api/build-response.ts';
import { mail } from '../helpers/mail-factory.ts';
import { internalSupport, openEngine, type Engine } from '../helpers/engine.ts';

/** The web-form fixtures carry no password: these tests run the API with the explicit opt-in. */
const noPassword = { XML_API_ENABLED: 'true', XML_API_ALLOW_NO_PASSWORD: 'true' };
const withPassword = { XML_API_ENABLED: 'true', XML_API_PASSWORD: 's3cret-api' };

/** A TICKET transaction for ACME, mailed from a web form. */
function transaction(sendResponseToEmail: string, password: string | null): Buffer {
  const body = [
    '<CommitCRMTransaction>',
    `  <SendResponseToEmail>${escapeXml(sendResponseToEmail)}</SendResponseToEmail>`,
    password === null ? '' : `  <Password>${password}</Password>`,
    '  <DataKind>TICKET</DataKind>',
    '  <RecordData><FLDTKTCARDID>ACME</FLDTKTCARDID><FLDTKTPROBLEM>Screen dark</FLDTKTPROBLEM></RecordData>',
    '</CommitCRMTransaction>',
  ].join('\r\n');
  return Buffer.from(mail({ from: 'Web Form <webform@acme.example>', subject: 'Web form submission', body }));
}

describe('XML API in the processing pipeline', () => {
  let engine: Engine;
  afterEach(async () => {
    await engine.close();
  });

  it('applies a TICKET transaction as step 2 and answers SendResponseToEmail only', async () => {
    engine = await openEngine(noPassword);
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
    engine = await openEngine(noPassword);
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
    engine = await openEngine(noPassword);
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
  it('answers nobody for a wrong or missing password, and forwards the mail to internal support', async () => {
    engine = await openEngine(withPassword);
    const before = await engine.store.counts();
    for (const [password, why] of [
      ['guess', 'the <Password> is wrong'],
      [null, 'the transaction carries no <Password>'],
    ] as const) {
      const { outcome } = await engine.process(transaction('stranger@evil.example', password));
      expect(outcome).toMatchObject({
        action: 'api',
        code: 'api-rejected',
        sent: [],
        forwardedTo: [internalSupport],
      });
      expect(outcome.details).toMatchObject({
        transactions: [{ response: { skipped: expect.stringContaining('authentication failed') } }],
      });
      const forwards = (await engine.sent()).filter((m) => m.text.includes(`BAD_PASSWORD): ${why}`));
      expect(forwards.map((m) => [m.kind, m.to])).toEqual([['forward', [internalSupport]]]);
    }
    expect((await engine.sent()).flatMap((m) => m.to)).toEqual([internalSupport, internalSupport]);
    expect((await engine.store.counts()).tickets).toBe(before.tickets);
  });

  it('collapses a flood of refused transactions from one sender into one notice', async () => {
    engine = await openEngine({ ...withPassword, FORWARD_LIMIT_PER_SENDER_PER_HOUR: '2' });
    const outcomes = [];
    for (let n = 0; n < 5; n += 1) {
      outcomes.push((await engine.process(transaction(`stranger${n}@evil.example`, 'guess'))).outcome);
    }
    expect(outcomes.map((o) => o.flags.includes('forward-suppressed:flood'))).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
    const sent = await engine.sent();
    expect(sent.map((m) => m.kind).sort()).toEqual(['forward', 'forward', 'notice']);
    expect(sent.every((m) => m.to.join() === internalSupport)).toBe(true);
  });

  it("never answers the connector's own addresses: support, internal support, the mailbox", async () => {
    engine = await openEngine({
      ...withPassword,
      SUPPORT_MAILBOX: 'connector@msp.example',
      PUBLIC_BASE_URL: 'https://connector.example',
      GRAPH_CLIENT_STATE: 'state-for-the-test',
    });
    for (const own of ['Support <SUPPORT@msp.example>', `${internalSupport},`, '<Connector@MSP.example>']) {
      const { outcome } = await engine.process(transaction(own, 's3cret-api'));
      expect(outcome, own).toMatchObject({ code: 'api-applied', sent: [], forwardedTo: [] });
    }
    expect(await engine.sent()).toEqual([]);
  });

  it('counts its responses with acknowledgments against AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR', async () => {
    engine = await openEngine({ ...withPassword, AUTO_ACK: 'true', AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR: '1' });
    const { outcome: customer } = await engine.process(
      Buffer.from(mail({ from: 'Bob <bob@acme.example>', subject: 'Printer jams' })),
    );
    expect(customer.sent.map((m) => m.kind)).toEqual(['acknowledgment']);

    const { outcome } = await engine.process(transaction('forms@acme.example', 's3cret-api'));
    expect(outcome).toMatchObject({ code: 'api-applied', sent: [] });
    expect(outcome.details).toMatchObject({
      transactions: [{ response: { skipped: expect.stringContaining('AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR') } }],
    });
    expect((await engine.sent()).map((m) => m.kind)).toEqual(['ack']);
  });
});
