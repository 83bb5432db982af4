import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewOutgoingMail } from '../../src/crm/crm-store.ts';
import { handleXmlApiMail } from '../../src/processing/xml-api/handle-xml-api-mail.ts';
import type { XmlApiHandling } from '../../src/processing/xml-api/handle-xml-api-mail.ts';
import { parseEmail } from '../../src/processing/parse-email.ts';
import { parseXmlDocument } from '../../src/processing/xml-api/parse-xml-document.ts';
import type { XmlElement } from '../../src/domain/xml-api/xml-element.ts';
import { internalSupport, loadFixture, openTestCrm, transactionMail } from './xml-api-harness.ts';
import type { TestCrm } from './xml-api-harness.ts';

type Row = Record<string, unknown>;

let crm: TestCrm;
beforeEach(async () => {
  crm = await openTestCrm();
});
afterEach(async () => {
  await crm.close();
});

async function run(fixture: string, overrides = {}): Promise<XmlApiHandling> {
  const email = await loadFixture(fixture);
  const handling = await handleXmlApiMail(email, crm.deps(overrides)(email));
  if (!handling) throw new Error(`${fixture} was not taken as an XML API call`);
  return handling;
}

/** The response mail as a recipient reads it, with its XML document's elements by name. */
async function readResponse(mail: NewOutgoingMail): Promise<{
  to: string[];
  bcc: string[];
  from: string | undefined;
  headers: Readonly<Record<string, string>>;
  xml: Record<string, string>;
  errors: XmlElement[];
}> {
  const parsed = await parseEmail(mail.mime);
  const document = parseXmlDocument(parsed.text);
  if (!document.ok) throw new Error(document.error.message);
  expect(document.root.name).toBe('CommitCRMTransactionResponse');
  return {
    to: parsed.to.map((address) => address.address),
    bcc: parsed.bcc.map((address) => address.address),
    from: parsed.from?.address,
    headers: parsed.headers,
    xml: Object.fromEntries(document.root.children.map((child) => [child.name, child.text])),
    errors: document.root.children.find((child) => child.name === 'Errors')?.children ?? [],
  };
}

const row = (crm: TestCrm, table: string, id: string): Row | undefined =>
  crm.db.prepare(`SELECT * FROM ${table} WHERE id = ?`).get(id) as Row | undefined;

describe('handleXmlApiMail against a real SQLite store', () => {
  it('opens a numbered ticket for an existing account and answers SendResponseToEmail with the record id', async () => {
    const handling = await run('ticket-insert.eml');

    expect(handling.code).toBe('api-applied');
    expect(handling.ticketNumber).toBe('0000008');
    expect(handling.accountId).toBe('ACME-001');
    const ticket = await crm.store.findTicketByNumber('0000008');
    expect(ticket).toMatchObject({
      id: 'XMLREC-1',
      accountId: 'ACME-001',
      contactId: 'ACME-001/1',
      subject: 'Printer on 2nd floor does not print & shows error 0x0042',
      status: 'open',
      priority: 'High',
      source: 'Web form',
    });
    expect(row(crm, 'tickets', 'XMLREC-1')).toMatchObject({
      created_by: 'Web form',
      due_at: '2025-03-05T17:00:00',
    });
    expect(handling.details.transactions[0]).toMatchObject({
      dataKind: 'TICKET',
      operation: 'insert',
      status: 'success',
      recordId: 'XMLREC-1',
      returnTransactionId: '0000042',
      response: { to: 'integrations@partner.example', bcc: null },
    });

    expect(handling.outgoing).toHaveLength(1);
    const mail = handling.outgoing[0]!;
    expect(mail).toMatchObject({ kind: 'api-response', to: ['integrations@partner.example'] });
    const response = await readResponse(mail);
    expect(response.to).toEqual(['integrations@partner.example']);
    expect(response.from).toBe('support@msp.example');
    expect(response.headers['auto-submitted']).toBe('auto-replied');
    expect(response.headers['in-reply-to']).toContain('tx-ticket-insert@partner.example');
    expect(response.xml).toMatchObject({
      ReturnTransactionID: '0000042',
      Status: 'SUCCESS',
      DataKind: 'TICKET',
      Operation: 'INSERT',
      RecordID: 'XMLREC-1',
      TicketNumber: '0000008',
    });
  });

  it("updates that ticket's status by its record id", async () => {
    await run('ticket-insert.eml');
    const handling = await run('ticket-update-status.eml');

    expect(handling.code).toBe('api-applied');
    expect(handling.ticketNumber).toBe('0000008');
    const ticket = await crm.store.findTicketByNumber('0000008');
    expect(ticket).toMatchObject({
      id: 'XMLREC-1',
      status: 'Waiting for customer',
      subject: expect.stringContaining('Printer'),
    });
    expect(row(crm, 'tickets', 'XMLREC-1')).toMatchObject({ updated_by: 'Web form', created_by: 'Web form' });
    const response = await readResponse(handling.outgoing[0]!);
    expect(response.xml).toMatchObject({ Status: 'SUCCESS', Operation: 'UPDATE', RecordID: 'XMLREC-1' });
  });

  it('adds an account whose bare-domain Email2 takes part in domain matching at once', async () => {
    const handling = await run('account-insert-domain.eml');

    expect(handling.code).toBe('api-applied');
    const byDomain = await crm.store.findAccountsByDomain('newco.example');
    expect(byDomain.map((account) => account.id)).toEqual(['XMLREC-1']);
    expect(byDomain[0]).toMatchObject({ company: 'NewCo Ltd', fileAs: 'NewCo', email2: 'newco.example' });
    const byAddress = await crm.store.findAccountsByAddress('nora@newco.example');
    expect(byAddress.map((match) => match.account.id)).toEqual(['XMLREC-1']);
    expect(row(crm, 'accounts', 'XMLREC-1')).toMatchObject({
      created_by: 'CRM sync',
      email2_key: 'newco.example',
    });
  });

  it('stores an asset linked to an account', async () => {
    const handling = await run('asset-insert.eml');
    expect(handling.code).toBe('api-applied');
    expect(row(crm, 'assets', 'XMLREC-1')).toMatchObject({
      account_id: 'ACME-001',
      name: 'Reception printer',
      asset_type: 'Printer',
      status: 'Active',
      serial_no: 'CN0042XYZ',
      created_by: 'RMM inventory',
    });
  });

  it('stores a history note on an account', async () => {
    const handling = await run('history-note-insert.eml');
    expect(handling.code).toBe('api-applied');
    expect(row(crm, 'history_notes', 'XMLREC-1')).toMatchObject({
      account_id: 'ACME-001',
      description: 'Called Alice about the renewal; she will confirm by Friday.',
      date: '2025-03-04T09:30:00',
      kind: 'Phone call',
    });
  });

  it("stores a charge on a ticket, under the ticket's account", async () => {
    const handling = await run('charge-on-ticket.eml');
    expect(handling.code).toBe('api-applied');
    expect(handling.accountId).toBe('ACME-001');
    expect(row(crm, 'charges', 'XMLREC-1')).toMatchObject({
      account_id: 'ACME-001',
      ticket_id: 'TKT-7',
      item: 'ONSITE-HOUR',
      quantity: '1.5',
      price: '95.00',
      date: '2025-03-04',
      billable: 1,
      created_by: 'Timesheet',
    });
  });

  describe('rejections: a response naming the error, and no data changed', () => {
    it.each([
      ['unknown-datakind.eml', 'UNKNOWN_DATAKIND', 'DataKind'],
      ['unknown-field.eml', 'UNKNOWN_FIELD', 'FLDTKTCOLOUR'],
      ['update-missing-record.eml', 'RECORD_NOT_FOUND', 'FLDTKTRECID'],
    ])('%s is refused with %s', async (fixture, code, field) => {
      const before = crm.snapshot();
      const counts = await crm.store.counts();

      const handling = await run(fixture);

      expect(crm.snapshot()).toBe(before);
      expect(await crm.store.counts()).toEqual(counts);
      expect(handling.code).toBe('api-rejected');
      expect(handling.reason).toContain(code);
      expect(handling.ticketNumber).toBeNull();
      expect(handling.details.transactions[0]).toMatchObject({
        status: 'failure',
        errors: [expect.objectContaining({ code, field })],
      });
      expect(handling.outgoing).toHaveLength(1);
      const response = await readResponse(handling.outgoing[0]!);
      expect(response.to).toEqual(['integrations@partner.example']);
      expect(response.xml.Status).toBe('FAILURE');
      const error = Object.fromEntries(response.errors[0]!.children.map((child) => [child.name, child.text]));
      expect(error).toMatchObject({ Code: code, Field: field });
      expect(error.Message).not.toBe('');
    });
  });

  describe('a transaction without the right password', () => {
    it.each([
      ['stranger-wrong-password.eml', 'the <Password> is wrong'],
      ['stranger-no-password.eml', 'the transaction carries no <Password>'],
    ])(
      '%s: nothing goes to the stranger it names; internal support gets the mail and the reason',
      async (fixture, why) => {
        const before = crm.snapshot();

        const handling = await run(fixture);

        expect(crm.snapshot()).toBe(before);
        expect(handling.code).toBe('api-rejected');
        expect(handling.reason).toContain('BAD_PASSWORD');
        expect(handling.details.transactions[0]).toMatchObject({
          status: 'failure',
          errors: [expect.objectContaining({ code: 'BAD_PASSWORD' })],
          response: { skipped: expect.stringContaining('authentication failed') },
        });
        expect(handling.outgoing.map((mail) => [mail.kind, mail.to])).toEqual([
          ['forward', [internalSupport]],
        ]);
        const forward = handling.outgoing[0]!;
        expect(forward.aboutSender).toBe('noreply@evil.example');
        const parsed = await parseEmail(forward.mime);
        expect([...parsed.to, ...parsed.cc, ...parsed.bcc].map((address) => address.address)).toEqual([
          internalSupport,
        ]);
        expect(parsed.subject).toContain('XML API authentication failed');
        expect(parsed.text).toContain(`BAD_PASSWORD): ${why}`);
        expect(parsed.text).toContain('it asked for a response to stranger@evil.example; none was sent');
        expect(parsed.attachments.map((attachment) => attachment.contentType)).toEqual(['message/rfc822']);
      },
    );

    it('forwards the mail once however many transactions fail, and answers the one that authenticated', async () => {
      const handling = await run('mixed-passwords.eml');

      expect(handling.code).toBe('api-partial');
      expect(handling.details.transactions.map((t) => [t.returnTransactionId, t.status, t.response])).toEqual(
        [
          ['mixed-1', 'failure', { skipped: expect.stringContaining('authentication failed') }],
          ['mixed-2', 'success', { to: 'integrations@partner.example', bcc: null }],
          ['mixed-3', 'failure', { skipped: expect.stringContaining('authentication failed') }],
        ],
      );
      expect(handling.outgoing.map((mail) => [mail.kind, mail.to])).toEqual([
        ['api-response', ['integrations@partner.example']],
        ['forward', [internalSupport]],
      ]);
      const note = (await parseEmail(handling.outgoing[1]!.mime)).text;
      expect(note).toContain('transaction #1: the <Password> is wrong');
      expect(note).toContain('transaction #3: the transaction carries no <Password>');
      expect(note).not.toContain('#2');
    });

    it('never echoes the configured password, nor the one given, in the outcome or the note', async () => {
      const handling = await run('bad-password.eml');
      const forward = handling.outgoing[0]!;
      expect(forward.kind).toBe('forward');
      const note = (await parseEmail(forward.mime)).text;
      const recorded = JSON.stringify(handling.details) + handling.reason + forward.subject + note;
      expect(recorded).not.toContain('s3cret-api');
      expect(recorded).not.toContain('guess');
      // The original travels unchanged, as every forward's does; the configured password is in nothing.
      expect(forward.mime.toString()).not.toContain('s3cret-api');
    });
  });

  it('accepts a transaction without a password when none is configured', async () => {
    const handling = await run('missing-password.eml', { password: null });
    expect(handling.code).toBe('api-applied');
  });

  describe('hostile XML', () => {
    it('refuses a DOCTYPE with entity expansion quickly, answering nobody and writing nothing', async () => {
      const before = crm.snapshot();
      const started = performance.now();
      const handling = await run('doctype-entities.eml');
      expect(performance.now() - started).toBeLessThan(1000);

      expect(handling.code).toBe('api-rejected');
      expect(handling.details.transactions[0]!.errors[0]!.code).toBe('XML_DTD_FORBIDDEN');
      expect(handling.details.transactions[0]!.response).toEqual({ skipped: expect.any(String) });
      expect(handling.outgoing).toEqual([]);
      expect(crm.snapshot()).toBe(before);
    });

    it('refuses a 10 MB XML body quickly with bounded memory', async () => {
      const email = await loadFixture('ticket-insert.eml');
      const filler = `    <FLDTKTNOTES>${'A'.repeat(1024)}</FLDTKTNOTES>\n`.repeat(10 * 1024);
      const huge = { ...email, text: email.text.replace('  </RecordData>', `${filler}  </RecordData>`) };
      expect(huge.text.length).toBeGreaterThan(10 * 1024 * 1024);
      const heapBefore = process.memoryUsage().heapUsed;
      const started = performance.now();

      const handling = await handleXmlApiMail(huge, crm.deps()(huge));

      expect(performance.now() - started).toBeLessThan(1000);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
      expect(handling?.code).toBe('api-rejected');
      expect(handling?.details.transactions[0]!.errors[0]!.code).toBe('XML_TOO_LARGE');
      expect(handling?.outgoing).toEqual([]);
    });
  });

  it('keeps leading zeros and long numeric ids through the round trip', async () => {
    const asset = await run('leading-zeros.eml');
    expect(asset.code).toBe('api-applied');
    expect(row(crm, 'assets', 'XMLREC-1')).toMatchObject({
      account_id: '00123',
      serial_no: '000000098765432109876543210',
      code: '0007',
    });
    expect((await readResponse(asset.outgoing[0]!)).xml.ReturnTransactionID).toBe('0000042');

    const ticket = await run('long-account-id.eml');
    expect(ticket.accountId).toBe('12345678901234567890');
    expect((await crm.store.findTicketByNumber(ticket.ticketNumber!))?.accountId).toBe(
      '12345678901234567890',
    );
    expect((await readResponse(ticket.outgoing[0]!)).xml.ReturnTransactionID).toBe('00000000000000000000001');
  });

  describe('who gets the response', () => {
    it('never the support address itself, even when the XML names it', async () => {
      const handling = await run('response-to-support.eml');
      expect(handling.code).toBe('api-applied');
      expect(handling.outgoing).toEqual([]);
      expect(handling.details.transactions[0]!.response).toEqual({
        skipped: expect.stringContaining('support address'),
      });
    });

    it('the sender only when the XML names the sender', async () => {
      const named = await run('response-to-sender.eml');
      expect(named.outgoing.map((mail) => mail.to)).toEqual([['webform@partner.example']]);

      // ticket-insert.eml comes from webform@partner.example but names integrations@partner.example.
      const other = await run('ticket-insert.eml');
      const response = await readResponse(other.outgoing[0]!);
      expect([...response.to, ...response.bcc]).toEqual(['integrations@partner.example']);
    });

    it('a Bcc copy to XML_API_RESPONSE_BCC, never to the support address', async () => {
      const handling = await run('ticket-insert.eml', { responseBcc: 'audit@msp.example' });
      const response = await readResponse(handling.outgoing[0]!);
      expect(response.to).toEqual(['integrations@partner.example']);
      expect(response.bcc).toEqual(['audit@msp.example']);

      const looped = await run('history-note-insert.eml', { responseBcc: 'support@msp.example' });
      expect((await readResponse(looped.outgoing[0]!)).bcc).toEqual([]);
      const internal = await run('asset-insert.eml', { responseBcc: internalSupport });
      expect((await readResponse(internal.outgoing[0]!)).bcc).toEqual([]);
    });

    it('nobody when no address is named: the result is still in the details', async () => {
      const handling = await run('no-response-address.eml');
      expect(handling.outgoing).toEqual([]);
      expect(handling.details.transactions[0]).toMatchObject({
        status: 'success',
        dataKind: 'HISTORY-NOTE',
        recordId: 'XMLREC-1',
        returnTransactionId: 'quiet-1',
        response: { skipped: expect.stringContaining('no SendResponseToEmail') },
      });
    });

    it('nobody when SendResponseToEmail is a list or a group, not even the first address on it', async () => {
      for (const [index, value] of [
        'a@x.example, support@msp.example',
        'a@x.example,b@y.example',
        'a@x.example; b@y.example',
        'Partners: a@x.example, b@y.example;',
      ].entries()) {
        const email = await transactionMail({ id: `list-${index}`, sendResponseToEmail: value });
        const handling = await handleXmlApiMail(email, crm.deps()(email));
        expect(handling?.code, value).toBe('api-applied');
        expect(handling?.outgoing, value).toEqual([]);
        expect(handling?.details.transactions[0]!.response, value).toEqual({
          skipped: expect.stringMatching(
            /^SendResponseToEmail (lists \d addresses|is a group); a response goes to exactly one address$/,
          ),
        });
      }
    });

    it("never one of the connector's own addresses, however it is written", async () => {
      for (const [index, value] of [
        'SUPPORT@MSP.EXAMPLE',
        '<support@msp.example>',
        'Support <support@msp.example>',
        'support@msp.example,',
        '  support@msp.example  ',
        'support+api@msp.example',
        internalSupport,
        `Helpdesk <${internalSupport.toUpperCase()}>`,
      ].entries()) {
        const email = await transactionMail({ id: `own-${index}`, sendResponseToEmail: value });
        const handling = await handleXmlApiMail(email, crm.deps()(email));
        expect(handling?.outgoing, value).toEqual([]);
        expect(handling?.details.transactions[0]!.response, value).toEqual({
          skipped: expect.stringContaining("the connector's own addresses"),
        });
      }
    });

    it('a single mailbox written with a display name or angle brackets, at its address alone', async () => {
      for (const [index, value] of ['Partner <a@b.example>', '<a@b.example>', ' A@B.example ,'].entries()) {
        const email = await transactionMail({ id: `single-${index}`, sendResponseToEmail: value });
        const handling = await handleXmlApiMail(email, crm.deps()(email));
        expect(handling?.details.transactions[0]!.response, value).toEqual({ to: 'a@b.example', bcc: null });
        const response = await readResponse(handling!.outgoing[0]!);
        expect([...response.to, ...response.bcc], value).toEqual(['a@b.example']);
      }
    });

    it('nobody when responses are turned off', async () => {
      const handling = await run('ticket-insert.eml', { sendResponses: false });
      expect(handling.code).toBe('api-applied');
      expect(handling.outgoing).toEqual([]);
    });
  });

  describe('rate limits on responses', () => {
    /** Handles and records a one-transaction mail answered at `to`; returns its handling. */
    async function answer(id: string, to: string, overrides = {}, now?: Date): Promise<XmlApiHandling> {
      const email = await transactionMail({ id, sendResponseToEmail: to });
      const handling = await handleXmlApiMail(email, crm.deps(overrides, now)(email));
      await crm.commit(email, handling!);
      return handling!;
    }

    it('answers one recipient at most XML_API_RESPONSE_LIMIT_PER_HOUR times an hour; another still gets its answer', async () => {
      const limit = { responseLimitPerRecipient: 2 };
      expect((await answer('r1', 'ops@partner.example', limit)).outgoing).toHaveLength(1);
      expect((await answer('r2', 'Ops@Partner.example', limit)).outgoing).toHaveLength(1);

      const third = await answer('r3', 'ops@partner.example', limit);
      expect(third.code).toBe('api-applied');
      expect(third.outgoing).toEqual([]);
      expect(third.details.transactions[0]!.response).toEqual({
        skipped: expect.stringMatching(
          /^rate limit: responses to ops@partner\.example in the last hour: 2, at most 2 \(XML_API_RESPONSE_LIMIT_PER_HOUR\)$/,
        ),
      });

      const other = await answer('r4', 'billing@partner.example', limit);
      expect(other.outgoing.map((mail) => mail.to)).toEqual([['billing@partner.example']]);
    });

    it('counts the responses the same mail already holds', async () => {
      const handling = await run('two-xml-attachments.eml', { responseLimitPerRecipient: 1 });
      expect(handling.outgoing.map((mail) => mail.to)).toEqual([['integrations@partner.example']]);
      expect(handling.details.transactions[1]!.response).toEqual({
        skipped: expect.stringContaining(
          'rate limit: responses to integrations@partner.example in the last hour: 1, at most 1',
        ),
      });
    });

    it('counts acknowledgments and responses together against AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR', async () => {
      const cap = { autoReplyGlobalLimit: 2 };
      expect((await answer('g1', 'ops@partner.example', cap)).outgoing).toHaveLength(1);
      await crm.acknowledge('alice@acme.example');

      const refused = await answer('g2', 'billing@partner.example', cap);
      expect(refused.outgoing).toEqual([]);
      expect(refused.details.transactions[0]!.response).toEqual({
        skipped: expect.stringMatching(
          /^rate limit: automatic replies .* in the last hour: 2, at most 2 \(AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR\)$/,
        ),
      });
    });

    it('measures the hour on the injected clock', async () => {
      const limit = { responseLimitPerRecipient: 1 };
      await answer('h1', 'ops@partner.example', limit, new Date());
      const minutes = (n: number): Date => new Date(Date.now() + n * 60_000);
      expect((await answer('h2', 'ops@partner.example', limit, minutes(50))).outgoing).toEqual([]);
      expect((await answer('h3', 'ops@partner.example', limit, minutes(70))).outgoing).toHaveLength(1);
    });
  });

  it('runs each .xml attachment of a signature-only mail as its own transaction', async () => {
    const handling = await run('two-xml-attachments.eml');
    expect(handling.code).toBe('api-applied');
    expect(handling.details.transactions.map((t) => [t.source, t.dataKind, t.returnTransactionId])).toEqual([
      ['attachment "note.xml"', 'HISTORY-NOTE', 'batch-1'],
      ['attachment "asset.xml"', 'ASSET', 'batch-2'],
    ]);
    expect(handling.outgoing).toHaveLength(2);
    const ids = handling.details.transactions.map((t) => t.recordId!);
    expect(row(crm, 'history_notes', ids[0]!)).toBeDefined();
    expect(row(crm, 'assets', ids[1]!)).toMatchObject({ name: 'Spare laptop' });
  });

  it('is idempotent: the same mail handled again returns the stored results and writes nothing', async () => {
    const first = await run('ticket-insert.eml');
    const after = crm.snapshot();
    const again = await run('ticket-insert.eml');
    expect(crm.snapshot()).toBe(after);
    expect(again.details.transactions[0]).toMatchObject({ recordId: 'XMLREC-1', ticketNumber: '0000008' });
    expect(again.code).toBe(first.code);
  });

  it('returns null when the API is off, and for mail that is not an API call', async () => {
    const email = await loadFixture('ticket-insert.eml');
    expect(await handleXmlApiMail(email, crm.deps({ enabled: false })(email))).toBeNull();

    const customer = await parseEmail(
      Buffer.from(
        'From: Alice <alice@acme.example>\nTo: support@msp.example\nSubject: Printer\nMessage-ID: <c1@acme.example>\n\n' +
          'Hello, the <b>printer</b> is broken again.\n',
      ),
    );
    expect(await handleXmlApiMail(customer, crm.deps()(customer))).toBeNull();
  });
});
