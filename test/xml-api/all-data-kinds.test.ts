import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewOutgoingMail } from '../../src/crm/crm-store.ts';
import { escapeXml } from '../../src/domain/xml-api/build-response.ts';
import { parseXmlDocument } from '../../src/processing/xml-api/parse-xml-document.ts';
import { handleXmlApiMail } from '../../src/processing/xml-api/handle-xml-api-mail.ts';
import type { XmlApiHandling } from '../../src/processing/xml-api/handle-xml-api-mail.ts';
import { parseEmail } from '../../src/processing/parse-email.ts';
import { apiSettings, loadFixture, openTestCrm } from './xml-api-harness.ts';
import type { TestCrm } from './xml-api-harness.ts';

type Row = Record<string, unknown>;

let crm: TestCrm;
beforeEach(async () => {
  crm = await openTestCrm();
});
afterEach(async () => {
  await crm.close();
});

async function run(fixture: string): Promise<XmlApiHandling> {
  const email = await loadFixture(fixture);
  const handling = await handleXmlApiMail(email, crm.deps()(email));
  if (!handling) throw new Error(`${fixture} was not taken as an XML API call`);
  return handling;
}

/** A one-transaction mail written here, for the cases that differ in a field or two. */
async function runTransaction(
  id: string,
  dataKind: string,
  fields: Record<string, string>,
): Promise<XmlApiHandling> {
  const record = Object.entries(fields)
    .map(([name, value]) => `    <${name}>${escapeXml(value)}</${name}>\n`)
    .join('');
  const email = await parseEmail(
    Buffer.from(
      'From: Partner Web Form <webform@partner.example>\nTo: support@msp.example\n' +
        `Subject: ${id}\nMessage-ID: <${id}@partner.example>\nContent-Type: text/plain; charset=utf-8\n\n` +
        '<CommitCRMTransaction>\n  <SendResponseToEmail>integrations@partner.example</SendResponseToEmail>\n' +
        `  <Password>${apiSettings.password}</Password>\n  <ReturnTransactionID>${id}</ReturnTransactionID>\n` +
        `  <DataKind>${dataKind}</DataKind>\n  <RecordData>\n${record}  </RecordData>\n</CommitCRMTransaction>\n`,
    ),
  );
  const handling = await handleXmlApiMail(email, crm.deps()(email));
  if (!handling) throw new Error(`${id} was not taken as an XML API call`);
  return handling;
}

/** The response document's elements by name, as the partner reads them. */
async function responseOf(mail: NewOutgoingMail): Promise<Record<string, string>> {
  const document = parseXmlDocument((await parseEmail(mail.mime)).text);
  if (!document.ok) throw new Error(document.error.message);
  return Object.fromEntries(document.root.children.map((child) => [child.name, child.text]));
}

const row = (table: string, id: string): Row | undefined =>
  crm.db.prepare(`SELECT * FROM ${table} WHERE id = ?`).get(id) as Row | undefined;

describe('CHARGE with the CRM’s own field codes', () => {
  it('stores a charge written with FLDSLP… codes, every value in its column', async () => {
    const handling = await run('charge-reference-codes.eml');

    expect(handling.details.transactions[0]!.errors).toEqual([]);
    expect(handling.code).toBe('api-applied');
    expect(row('charges', 'XMLREC-1')).toMatchObject({
      account_id: 'ACME-001',
      ticket_id: 'TKT-7',
      employee_id: 'EMP-1',
      item: 'ONSITE-HOUR',
      description: 'Replaced the fuser unit',
      date: '2025-03-04',
      start_time: '09:00',
      end_time: '10:30',
      quantity: '1.5',
      hours_amount: '1.5',
      price: '95.00',
      adjust_percent: '-10',
      billable: 1,
      stage: 'D',
      user1: 'PO 4711',
      created_by: 'Timesheet',
    });
    expect(await responseOf(handling.outgoing[0]!)).toMatchObject({
      Status: 'SUCCESS',
      DataKind: 'CHARGE',
      RecordID: 'XMLREC-1',
    });
  });

  it('still accepts the FLDSLC… codes of earlier versions, and updates by either record-id code', async () => {
    await run('charge-on-ticket.eml');
    const update = await runTransaction('charge-update', 'CHARGE', {
      FLDSLCRECID: 'XMLREC-1',
      FLDSLPBILLKIND: 'N',
      FLDSLCQUANTITY: '2',
    });
    expect(update.code).toBe('api-applied');
    expect(row('charges', 'XMLREC-1')).toMatchObject({ billable: 0, quantity: '2', item: 'ONSITE-HOUR' });
  });

  it('refuses a field named under both its old and its CRM code, writing nothing', async () => {
    const before = crm.snapshot();
    const handling = await runTransaction('charge-twice', 'CHARGE', {
      FLDSLPCARDID: 'ACME-001',
      FLDSLPDESC: 'Remote session',
      FLDSLCDESC: 'Remote session',
    });
    expect(handling.details.transactions[0]!.errors).toEqual([
      expect.objectContaining({ code: 'DUPLICATE_FIELD', field: 'FLDSLCDESC' }),
    ]);
    expect(crm.snapshot()).toBe(before);
  });
});

describe('the five data kinds added to the CRM’s first five', () => {
  it.each([
    [
      'OPPORTUNITY',
      'opportunities',
      'opportunity',
      {
        account_id: 'ACME-001',
        contact_id: 'ACME-001/1',
        worker_id: 'EMP-1',
        name: 'Replace the office printers',
        amount: '4800.00',
        close_date: '2025-04-30',
      },
      { stage: 'Won', probability: '100', name: 'Replace the office printers' },
    ],
    [
      'DOCUMENT',
      'document_records',
      'document',
      {
        account_id: 'ACME-001',
        ticket_id: 'TKT-7',
        worker_id: 'EMP-1',
        description: 'Signed service report',
        date: '2025-03-04',
        file_name: 'TKT-7-service-report.pdf',
      },
      { status: 'Archived', description: 'Signed service report' },
    ],
    [
      'APPOINTMENT-OR-TASK',
      'appointments_tasks',
      'appointment',
      {
        family: 'A',
        account_id: 'ACME-001',
        ticket_id: 'TKT-7',
        worker_id: 'EMP-1',
        date: '2025-03-06',
        start_time: '09:00',
        end_time: '10:30',
      },
      { start_time: '11:00', end_time: '12:30', date: '2025-03-06' },
    ],
    [
      'ITEM',
      'items',
      'item',
      {
        type_group: 'L',
        item_no: 'ONSITE-HOUR',
        name: 'On-site work, per hour',
        unit_is_hour: 1,
        unit_price: '95.00',
      },
      { unit_price: '99.00', suspended: 0, item_no: 'ONSITE-HOUR' },
    ],
    [
      'KBARTICLE',
      'kb_articles',
      'kbarticle',
      { title: 'Printer shows error 0x0042', ticket_id: 'TKT-7', worker_id: 'EMP-1', account_id: null },
      { status: 'Published', title: 'Printer shows error 0x0042' },
    ],
  ])(
    '%s: an insert and an update are stored and answered with the record id',
    async (dataKind, table, fixture, inserted, updated) => {
      const insert = await run(`${fixture}-insert.eml`);
      expect(insert.details.transactions[0]!.errors).toEqual([]);
      expect(insert.code).toBe('api-applied');
      expect(row(table, 'XMLREC-1')).toMatchObject({ ...inserted, created_by: expect.any(String) });
      expect(await responseOf(insert.outgoing[0]!)).toMatchObject({
        Status: 'SUCCESS',
        DataKind: dataKind,
        Operation: 'INSERT',
        RecordID: 'XMLREC-1',
      });

      const update = await run(`${fixture}-update.eml`);
      expect(update.details.transactions[0]!.errors).toEqual([]);
      expect(update.code).toBe('api-applied');
      expect(row(table, 'XMLREC-1')).toMatchObject({ ...updated, updated_by: expect.any(String) });
      expect(await responseOf(update.outgoing[0]!)).toMatchObject({
        Status: 'SUCCESS',
        DataKind: dataKind,
        Operation: 'UPDATE',
        RecordID: 'XMLREC-1',
      });
    },
  );

  it.each([
    [
      'OPPORTUNITY',
      { FLDOPPCARDID: 'NOPE-404', FLDOPPNAME: 'Printers' },
      'FLDOPPCARDID',
      'no account "NOPE-404"',
    ],
    [
      'DOCUMENT',
      { FLDDOCTICKETID: 'TKT-404', FLDDOCDOCUMENTDESC: 'Report' },
      'FLDDOCTICKETID',
      'no ticket "TKT-404"',
    ],
    [
      'APPOINTMENT-OR-TASK',
      { FLDEVTCARDID: 'ACME-001', FLDEVTWORKERID: 'EMP-404', FLDEVTDESCRIPTION: 'Visit' },
      'FLDEVTWORKERID',
      'no employee "EMP-404"',
    ],
    [
      'KBARTICLE',
      { FLDKBATITLE: 'Error 0x0042', FLDKBACARDID: 'NOPE-404' },
      'FLDKBACARDID',
      'no account "NOPE-404"',
    ],
  ])(
    '%s naming a record that does not exist is refused and writes nothing',
    async (dataKind, fields, field, why) => {
      const before = crm.snapshot();
      const handling = await runTransaction(`missing-${dataKind}`, dataKind, fields);

      expect(handling.code).toBe('api-rejected');
      expect(handling.details.transactions[0]!.errors).toEqual([
        { code: 'LINKED_RECORD_NOT_FOUND', field, message: `${field}: ${why}` },
      ]);
      expect(crm.snapshot()).toBe(before);
      expect(await responseOf(handling.outgoing[0]!)).toMatchObject({
        Status: 'FAILURE',
        DataKind: dataKind,
      });
    },
  );

  it('refuses a contact of another account', async () => {
    await runTransaction('other-account', 'ACCOUNT', { FLDCRDCOMPANY: 'Other Ltd' });
    const handling = await runTransaction('other-contact', 'OPPORTUNITY', {
      FLDOPPCARDID: 'XMLREC-1',
      FLDOPPCONTACTID: 'ACME-001/1',
      FLDOPPNAME: 'Printers',
    });
    expect(handling.details.transactions[0]!.errors).toEqual([
      expect.objectContaining({ code: 'LINK_MISMATCH', field: 'FLDOPPCONTACTID' }),
    ]);
  });

  it('answers an update of an unknown record with RECORD_NOT_FOUND', async () => {
    const handling = await runTransaction('unknown-item', 'ITEM', {
      FLDITMRECID: 'ITM-404',
      FLDITMUNITPRICE: '1',
    });
    expect(handling.details.transactions[0]!.errors).toEqual([
      expect.objectContaining({ code: 'RECORD_NOT_FOUND', field: 'FLDITMRECID' }),
    ]);
  });

  it('writes a new kind once however often the same mail arrives', async () => {
    await run('opportunity-insert.eml');
    const after = crm.snapshot();
    const again = await run('opportunity-insert.eml');
    expect(crm.snapshot()).toBe(after);
    expect(again.details.transactions[0]).toMatchObject({ status: 'success', recordId: 'XMLREC-1' });
    expect(crm.db.prepare('SELECT count(*) AS n FROM opportunities').get()).toEqual({ n: 1 });
  });
});

describe('the reference’s other fields of the first five data kinds', () => {
  it('stores an account’s manager, numbers, phones and custom fields, and checks the manager', async () => {
    const handling = await runTransaction('account-fields', 'ACCOUNT', {
      FLDCRDCOMPANY: 'Fields Ltd',
      FLDCRDASSIGNCARDID: 'EMP-1',
      FLDCRDCARDID2: '000815',
      FLDCRDPHONE3: '+1 555 0103',
      FLDCRDPHNDESC3: 'ext. 3',
      FLDCRDUSER5: 'gold',
      FLDCRDSHOWMESSAGE: 'Y',
      FLDCRDCREATEUSERID: 'Migration',
    });
    expect(handling.code).toBe('api-applied');
    expect(row('accounts', 'XMLREC-1')).toMatchObject({
      company: 'Fields Ltd',
      file_as: 'Fields Ltd',
      manager_id: 'EMP-1',
      account_number: '000815',
      phone3: '+1 555 0103',
      phone3_desc: 'ext. 3',
      user5: 'gold',
      show_popup_message: 1,
      created_by: 'Migration',
    });

    const refused = await runTransaction('account-manager', 'ACCOUNT', {
      FLDCRDRECID: 'ACME-001',
      FLDCRDASSIGNCARDID: 'EMP-404',
    });
    expect(refused.details.transactions[0]!.errors).toEqual([
      expect.objectContaining({ code: 'LINKED_RECORD_NOT_FOUND', field: 'FLDCRDASSIGNCARDID' }),
    ]);
  });

  it('names a new asset after its type when the transaction gives the CRM’s required fields only', async () => {
    const handling = await runTransaction('asset-required', 'ASSET', {
      FLDASTACCRECID: 'ACME-001',
      FLDASTASSETTYPE: 'Router',
      FLDASTSTATUS: 'Active',
      FLDASTWARREXPDATE: '2027-12-31',
      FLDASTCUSTPURFROMUS: 'Y',
    });
    expect(handling.code).toBe('api-applied');
    expect(row('assets', 'XMLREC-1')).toMatchObject({
      name: 'Router',
      asset_type: 'Router',
      warranty_expires: '2027-12-31',
      purchased_from_us: 1,
    });
  });

  it('files a history note with the CRM’s employee, contact and linked-record fields', async () => {
    const handling = await runTransaction('note-links', 'HISTORY-NOTE', {
      FLDHISCARDID: 'ACME-001',
      FLDHISCONTACTID: 'ACME-001/1',
      FLDHISWORKERID: 'EMP-1',
      FLDHISLINKRECID: 'TKT-7',
      FLDHISDESCRIPTION: 'Called back',
    });
    expect(handling.code).toBe('api-applied');
    expect(row('history_notes', 'XMLREC-1')).toMatchObject({
      contact_id: 'ACME-001/1',
      worker_id: 'EMP-1',
      link_id: 'TKT-7',
    });
  });

  describe('FLDTKTTICKETNO', () => {
    it('numbers a new ticket as the transaction says, and later tickets after it', async () => {
      const numbered = await runTransaction('ticket-no', 'TICKET', {
        FLDTKTCARDID: 'ACME-001',
        FLDTKTPROBLEM: 'Imported',
        FLDTKTTICKETNO: '120',
        FLDTKTSOLUTION: 'Replaced the toner',
        FLDTKTFORDISPATCH: 'N',
      });
      expect(numbered.ticketNumber).toBe('0000120');
      expect(row('tickets', 'XMLREC-1')).toMatchObject({ solution: 'Replaced the toner', for_dispatch: 0 });
      expect((await crm.store.findTicketByNumber('120'))?.id).toBe('XMLREC-1');

      const next = await runTransaction('ticket-next', 'TICKET', {
        FLDTKTCARDID: 'ACME-001',
        FLDTKTPROBLEM: 'Next',
      });
      expect(next.ticketNumber).toBe('0000121');
    });

    it('refuses a number in use, and a change of a ticket’s number', async () => {
      const taken = await runTransaction('ticket-taken', 'TICKET', {
        FLDTKTCARDID: 'ACME-001',
        FLDTKTPROBLEM: 'Again',
        FLDTKTTICKETNO: '0000007',
      });
      expect(taken.details.transactions[0]!.errors).toEqual([
        expect.objectContaining({ code: 'INVALID_VALUE', field: 'FLDTKTTICKETNO' }),
      ]);

      const renumber = await runTransaction('ticket-renumber', 'TICKET', {
        FLDTKTRECID: 'TKT-7',
        FLDTKTTICKETNO: '8',
      });
      expect(renumber.details.transactions[0]!.errors).toEqual([
        expect.objectContaining({ code: 'INVALID_VALUE', field: 'FLDTKTTICKETNO' }),
      ]);

      const same = await runTransaction('ticket-same', 'TICKET', {
        FLDTKTRECID: 'TKT-7',
        FLDTKTTICKETNO: '7',
        FLDTKTSTATUS: '1000',
      });
      expect(same.code).toBe('api-applied');
      expect(row('tickets', 'TKT-7')).toMatchObject({ number: '0000007', status: '1000' });
    });

    it('refuses an asset of another account on a ticket', async () => {
      await runTransaction('zero-asset', 'ASSET', { FLDASTACCRECID: '00123', FLDASTNAME: 'Zero router' });
      const handling = await runTransaction('ticket-asset', 'TICKET', {
        FLDTKTCARDID: 'ACME-001',
        FLDTKTPROBLEM: 'Router down',
        FLDTKTASSETRECID: 'XMLREC-1',
      });
      expect(handling.details.transactions[0]!.errors).toEqual([
        expect.objectContaining({ code: 'LINK_MISMATCH', field: 'FLDTKTASSETRECID' }),
      ]);
    });
  });
});
