import { describe, expect, it } from 'vitest';
import { parseXmlDocument } from '../../src/processing/xml-api/parse-xml-document.ts';
import {
  detectXmlTransactions,
  isSignatureOnly,
  sniffRootName,
} from '../../src/domain/xml-api/detect-transactions.ts';
import { readEnvelope } from '../../src/domain/xml-api/read-envelope.ts';
import { validateTransaction } from '../../src/domain/xml-api/validate-transaction.ts';
import type { XmlValidation } from '../../src/domain/xml-api/validate-transaction.ts';
import { buildResponseXml, escapeXml } from '../../src/domain/xml-api/build-response.ts';
import { passwordMatches } from '../../src/processing/xml-api/check-password.ts';
import type { EmailAttachment } from '../../src/domain/email.ts';
import { isOwnAddress, readResponseAddress } from '../../src/processing/xml-api/response-address.ts';
import { routeResponse } from '../../src/processing/xml-api/response-mail.ts';

const transaction = (dataKind: string, fields: string, extra = ''): string =>
  `<?commitcrmxml version="1.0" ?>
<CommitCRMTransaction>
  <ExternalApplicationName>Test</ExternalApplicationName>${extra}
  <DataKind>${dataKind}</DataKind>
  <RecordData>${fields}</RecordData>
</CommitCRMTransaction>`;

function validate(xml: string, password: string | null = null): XmlValidation {
  const parsed = parseXmlDocument(xml);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const { envelope, errors } = readEnvelope(parsed.root);
  return validateTransaction(
    envelope,
    errors,
    { password, ticketNumberDigits: 7 },
    { newRecordId: 'NEW-1', now: new Date('2025-03-04T10:00:00Z'), passwordMatches },
  );
}

const codes = (validation: XmlValidation): string[] =>
  validation.ok ? [] : validation.errors.map((e) => e.code);

describe('parseXmlDocument', () => {
  it('keeps every value as text: leading zeros and 20-digit ids survive', () => {
    const parsed = parseXmlDocument('<R><A>0000042</A><B>12345678901234567890</B><C>1e5</C><D>true</D></R>');
    expect(parsed.ok && parsed.root.children.map((child) => child.text)).toEqual([
      '0000042',
      '12345678901234567890',
      '1e5',
      'true',
    ]);
  });

  it('decodes the XML entities, character references and CDATA, and nothing else', () => {
    const parsed = parseXmlDocument(
      '<R><A>a &amp; b &lt;c&gt; &#233;&#x41; &nbsp;</A><B><![CDATA[<x> & y]]></B></R>',
    );
    expect(parsed.ok && parsed.root.children.map((child) => child.text)).toEqual([
      'a & b <c> éA &nbsp;',
      '<x> & y',
    ]);
  });

  it.each([
    ['a DOCTYPE', '<!DOCTYPE R [<!ENTITY x "y">]><R>&x;</R>', 'XML_DTD_FORBIDDEN'],
    ['an external entity', '<!DOCTYPE R SYSTEM "file:///etc/passwd"><R/>', 'XML_DTD_FORBIDDEN'],
    ['a lone ENTITY declaration', '<R><!ENTITY x "y"></R>', 'XML_DTD_FORBIDDEN'],
    ['unbalanced tags', '<R><A>1</R>', 'XML_MALFORMED'],
    ['two roots', '<R/><R/>', 'XML_MALFORMED'],
    ['a reserved element name', '<R><__proto__>1</__proto__></R>', 'XML_MALFORMED'],
    ['deep nesting', `${'<a>'.repeat(20)}${'</a>'.repeat(20)}`, 'XML_TOO_DEEP'],
    ['more than 1 MiB', `<R>${'x'.repeat(1024 * 1024)}</R>`, 'XML_TOO_LARGE'],
  ])('refuses %s', (_label, xml, code) => {
    const parsed = parseXmlDocument(xml);
    expect(parsed.ok ? null : parsed.error.code).toBe(code);
  });

  it('counts the size in UTF-8 bytes', () => {
    const text = `<R>${'é'.repeat(600 * 1024)}</R>`;
    expect(text.length).toBeLessThan(1024 * 1024);
    expect(parseXmlDocument(text).ok).toBe(false);
  });
});

describe('detection', () => {
  it('finds the root behind the declaration, processing instructions, comments and a DOCTYPE', () => {
    expect(
      sniffRootName(
        '\uFEFF <?xml version="1.0"?>\n<?commitcrmxml version="1.0" ?><!-- hi --><CommitCRMTransaction>',
      ),
    ).toBe('CommitCRMTransaction');
    expect(sniffRootName('<!DOCTYPE CommitCRMTransaction [ <!ENTITY a "b"> ]>')).toBe('CommitCRMTransaction');
    expect(sniffRootName('Hello <CommitCRMTransaction>')).toBeNull();
  });

  it('takes a signature block alone as signature-only, and nothing more', () => {
    expect(isSignatureOnly('')).toBe(true);
    expect(isSignatureOnly(' \n\n ')).toBe(true);
    expect(isSignatureOnly('-- \nPartner Integrations\npartner.example')).toBe(true);
    expect(isSignatureOnly('See attached.\n-- \nBob')).toBe(false);
    expect(isSignatureOnly(`-- \n${'line\n'.repeat(11)}`)).toBe(false);
  });

  const xmlAttachment = (filename: string, text: string, inline = false): EmailAttachment => ({
    filename,
    contentType: 'application/xml',
    size: text.length,
    content: Buffer.from(text),
    position: 0,
    contentId: null,
    inline,
  });

  it('reads a body transaction and cuts a signature the mail client added after it', () => {
    const body = `${transaction('TICKET', '')}\n-- \nSent from my phone`;
    const detection = detectXmlTransactions({ text: body, attachments: [] });
    expect(detection?.documents).toHaveLength(1);
    expect(detection?.documents[0]!.text.endsWith('</CommitCRMTransaction>')).toBe(true);
  });

  it('reads .xml attachments only when the body is empty or signature-only and nothing else is attached', () => {
    const tx = xmlAttachment('tx.xml', transaction('TICKET', ''));
    const logo: EmailAttachment = {
      ...xmlAttachment('logo.png', 'png'),
      contentType: 'image/png',
      inline: true,
    };
    expect(detectXmlTransactions({ text: '', attachments: [tx, logo] })?.documents).toHaveLength(1);
    expect(detectXmlTransactions({ text: 'Please see the attached file', attachments: [tx] })).toBeNull();
    expect(
      detectXmlTransactions({
        text: '',
        attachments: [tx, { ...logo, filename: 'report.pdf', inline: false }],
      }),
    ).toBeNull();
    expect(
      detectXmlTransactions({ text: '', attachments: [xmlAttachment('export.xml', '<Invoices/>')] }),
    ).toBeNull();
  });

  it('refuses more than 10 transactions in one mail', () => {
    const many = Array.from({ length: 11 }, (_, i) => xmlAttachment(`t${i}.xml`, transaction('TICKET', '')));
    expect(detectXmlTransactions({ text: '', attachments: many })?.refused?.code).toBe(
      'TOO_MANY_TRANSACTIONS',
    );
  });
});

describe('validateTransaction', () => {
  it('builds an insert when no record id is given, with defaults', () => {
    const validation = validate(
      transaction('ticket', '<FLDTKTCARDID>00123</FLDTKTCARDID><fldtktproblem>Broken</fldtktproblem>'),
    );
    expect(validation).toEqual({
      ok: true,
      transaction: {
        dataKind: 'TICKET',
        operation: 'insert',
        recordId: 'NEW-1',
        values: { account_id: '00123', subject: 'Broken', status: 'open' },
        ticketNumberDigits: 7,
      },
    });
  });

  it('builds an update when the record id is given; an empty element clears an optional field', () => {
    const validation = validate(
      transaction('TICKET', '<FLDTKTRECID>0042</FLDTKTRECID><FLDTKTPRIORITY></FLDTKTPRIORITY>'),
    );
    expect(validation.ok && validation.transaction).toMatchObject({
      operation: 'update',
      recordId: '0042',
      values: { priority: null },
    });
  });

  it('gives a history note the processing time when it names no date', () => {
    const validation = validate(
      transaction('HISTORY-NOTE', '<FLDHISCARDID>A</FLDHISCARDID><FLDHISDESCRIPTION>Hi</FLDHISDESCRIPTION>'),
    );
    expect(validation.ok && validation.transaction.values.date).toBe('2025-03-04T10:00:00.000Z');
  });

  it('fills what an insert leaves out as the CRM would: an asset named after its type, an appointment', () => {
    const asset = validate(
      transaction('ASSET', '<FLDASTACCRECID>A</FLDASTACCRECID><FLDASTASSETTYPE>Router</FLDASTASSETTYPE>'),
    );
    expect(asset.ok && asset.transaction.values).toEqual({
      account_id: 'A',
      asset_type: 'Router',
      name: 'Router',
    });
    const event = validate(
      transaction('APPOINTMENT-OR-TASK', '<FLDEVTDESCRIPTION>Visit</FLDEVTDESCRIPTION>'),
    );
    expect(event.ok && event.transaction.values).toEqual({ description: 'Visit', family: 'A' });
  });

  it('reads a deprecated charge code into the same column as the CRM code', () => {
    const validation = validate(
      transaction(
        'CHARGE',
        '<FLDSLCRECID>C-1</FLDSLCRECID><FLDSLCBILLABLE>yes</FLDSLCBILLABLE><FLDSLPSTAGE>b</FLDSLPSTAGE>',
      ),
    );
    expect(validation.ok && validation.transaction).toMatchObject({
      operation: 'update',
      recordId: 'C-1',
      values: { billable: 1, stage: 'B' },
    });
  });

  it.each([
    [
      'an unknown field',
      transaction('ASSET', '<FLDASTACCRECID>A</FLDASTACCRECID><FLDASTNAME>x</FLDASTNAME><FLDX>1</FLDX>'),
      'UNKNOWN_FIELD',
    ],
    ['a missing required field', transaction('ASSET', '<FLDASTACCRECID>A</FLDASTACCRECID>'), 'MISSING_FIELD'],
    [
      'a repeated field',
      transaction(
        'ASSET',
        '<FLDASTNAME>a</FLDASTNAME><FLDASTNAME>b</FLDASTNAME><FLDASTACCRECID>A</FLDASTACCRECID>',
      ),
      'DUPLICATE_FIELD',
    ],
    [
      'an email that is neither address nor domain',
      transaction('ACCOUNT', '<FLDCRDCOMPANY>X</FLDCRDCOMPANY><FLDCRDEMAIL1>not mail</FLDCRDEMAIL1>'),
      'INVALID_VALUE',
    ],
    [
      'a bad date',
      transaction('TICKET', '<FLDTKTRECID>1</FLDTKTRECID><FLDTKTDUEDATETIME>tomorrow</FLDTKTDUEDATETIME>'),
      'INVALID_VALUE',
    ],
    [
      'a bad quantity',
      transaction(
        'CHARGE',
        '<FLDSLCCARDID>A</FLDSLCCARDID><FLDSLCDESC>x</FLDSLCDESC><FLDSLCQUANTITY>1,5</FLDSLCQUANTITY>',
      ),
      'INVALID_VALUE',
    ],
    [
      'emptying a required field',
      transaction('TICKET', '<FLDTKTRECID>1</FLDTKTRECID><FLDTKTSTATUS/>'),
      'INVALID_VALUE',
    ],
    [
      'an update that changes nothing',
      transaction('TICKET', '<FLDTKTRECID>1</FLDTKTRECID>'),
      'MISSING_FIELD',
    ],
    [
      'a field under both its deprecated and its CRM code',
      transaction(
        'CHARGE',
        '<FLDSLPCARDID>A</FLDSLPCARDID><FLDSLPDESC>x</FLDSLPDESC><FLDSLCDESC>x</FLDSLCDESC>',
      ),
      'DUPLICATE_FIELD',
    ],
    [
      'a bill kind other than B or N',
      transaction(
        'CHARGE',
        '<FLDSLPCARDID>A</FLDSLPCARDID><FLDSLPDESC>x</FLDSLPDESC><FLDSLPBILLKIND>Y</FLDSLPBILLKIND>',
      ),
      'INVALID_VALUE',
    ],
    [
      'a time of day that does not exist',
      transaction('CHARGE', '<FLDSLPRECID>1</FLDSLPRECID><FLDSLPSTARTTIME>25:00</FLDSLPSTARTTIME>'),
      'INVALID_VALUE',
    ],
    [
      'a flag spelt like an object property',
      transaction('CHARGE', '<FLDSLPRECID>1</FLDSLPRECID><FLDSLCBILLABLE>constructor</FLDSLCBILLABLE>'),
      'INVALID_VALUE',
    ],
    [
      'a ticket number that is not digits',
      transaction('TICKET', '<FLDTKTRECID>1</FLDTKTRECID><FLDTKTTICKETNO>T-42</FLDTKTTICKETNO>'),
      'INVALID_VALUE',
    ],
    ['an unknown data kind', transaction('SPACESHIP', ''), 'UNKNOWN_DATAKIND'],
    ['CONTACT, which the CRM keeps as an ACCOUNT record', transaction('CONTACT', ''), 'UNSUPPORTED_DATAKIND'],
    ['an unknown envelope element', transaction('TICKET', '', '\n<Colour>blue</Colour>'), 'INVALID_ENVELOPE'],
    ['a wrong root', '<Transaction><DataKind>TICKET</DataKind></Transaction>', 'INVALID_ENVELOPE'],
  ])('refuses %s', (_label, xml, code) => {
    expect(codes(validate(xml))).toContain(code);
  });

  it('checks the password before anything else and reveals nothing more without it', () => {
    const xml = transaction('SPACESHIP', '<FLDX>1</FLDX>', '\n<Password>nope</Password>');
    expect(codes(validate(xml, 'right'))).toEqual(['BAD_PASSWORD']);
    expect(codes(validate(transaction('TICKET', ''), 'right'))).toEqual(['BAD_PASSWORD']);
  });

  it('compares passwords exactly', () => {
    expect(passwordMatches('right', 'right')).toBe(true);
    expect(passwordMatches('Right', 'right')).toBe(false);
    expect(passwordMatches('right-and-more', 'right')).toBe(false);
    expect(passwordMatches(null, '')).toBe(false);
  });
});

describe('responses', () => {
  it('escapes every value the caller sent', () => {
    const xml = buildResponseXml({
      index: 0,
      source: 'body',
      externalApplicationName: '<script>&',
      returnTransactionId: '"0042\'',
      dataKind: 'TICKET',
      operation: null,
      status: 'failure',
      recordId: null,
      accountId: null,
      ticketNumber: null,
      errors: [{ code: 'UNKNOWN_FIELD', message: 'FLD<x> is not a field', field: 'FLD<x>' }],
    });
    expect(xml).toContain('<ExternalApplicationName>&lt;script&gt;&amp;</ExternalApplicationName>');
    expect(xml).toContain('<ReturnTransactionID>&quot;0042&apos;</ReturnTransactionID>');
    const parsed = parseXmlDocument(xml);
    expect(parsed.ok).toBe(true);
    expect(escapeXml('a\u0000b')).toBe('ab');
  });

  it('are routed to SendResponseToEmail only, never to the support address', () => {
    const settings = {
      sendResponses: true,
      responseBcc: null,
      supportAddress: 'support@msp.example',
      ownAddresses: ['support@msp.example', 'helpdesk@msp.example'],
    };
    expect(routeResponse('Ops@Partner.example', settings)).toEqual({ to: 'ops@partner.example', bcc: null });
    expect(routeResponse('SUPPORT@msp.example', settings)).toHaveProperty('skipped');
    expect(routeResponse('a@x.example, b@y.example', settings)).toHaveProperty('skipped');
    expect(routeResponse(null, settings)).toHaveProperty('skipped');
    expect(routeResponse('ops@partner.example', { ...settings, sendResponses: false })).toHaveProperty(
      'skipped',
    );
  });
});

describe('SendResponseToEmail', () => {
  it.each([
    ['ops@partner.example', 'ops@partner.example'],
    ['  Ops@Partner.Example  ', 'ops@partner.example'],
    ['<ops@partner.example>', 'ops@partner.example'],
    ['Partner <ops@partner.example>', 'ops@partner.example'],
    ['"Doe, John" <john@partner.example>', 'john@partner.example'],
    ['ops@partner.example (integrations)', 'ops@partner.example'],
    ['ops@partner.example,', 'ops@partner.example'],
  ])('%j is the one mailbox %s', (value, address) => {
    expect(readResponseAddress(value)).toEqual({ ok: true, address });
  });

  it.each([
    ['a@x.example, b@y.example', /lists 2 addresses/],
    ['a@x.example,b@y.example', /lists 2 addresses/],
    ['a@x.example; b@y.example', /lists 2 addresses/],
    ['Partner <a@x.example>, support@msp.example', /lists 2 addresses/],
    ['Team: a@x.example, b@y.example;', /is a group/],
    ['Team:;', /is a group/],
    ['a@x.example b@y.example', /names two addresses/],
    ['"a,b"@x.example', /not an email address/],
    ['x@y@z.example', /not an email address/],
    ['partner', /not an email address/],
    [',', /not an email address/],
  ])('%j names no single mailbox', (value, reason) => {
    const read = readResponseAddress(value);
    expect(read.ok).toBe(false);
    expect(read.ok ? '' : read.reason).toMatch(reason);
  });

  it("recognises the connector's own addresses in any spelling that reaches them", () => {
    const own = ['support@msp.example', 'helpdesk@msp.example', '6f0c2a51-0000-4000-8000-00000000abcd'];
    for (const address of [
      'SUPPORT@MSP.EXAMPLE',
      'support+api@msp.example',
      'support@msp.example.',
      'helpdesk@msp.example',
    ]) {
      expect(isOwnAddress(address, own), address).toBe(true);
    }
    for (const address of ['support@partner.example', 'supporter@msp.example', 'ops@msp.example']) {
      expect(isOwnAddress(address, own), address).toBe(false);
    }
  });
});
