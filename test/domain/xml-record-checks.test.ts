import { describe, expect, it } from 'vitest';
import {
  checkXmlRecord,
  linkKey,
  xmlRecordResult,
  xmlRecordRow,
  type LinkedRecord,
  type StoredRecord,
  type XmlRecordCheck,
} from '../../src/domain/xml-api/record-checks.ts';
import type { ValidatedXmlTransaction } from '../../src/domain/xml-api/xml-transaction.ts';

/** A database of linked records: `kind:id` → the account it belongs to (null for accounts and employees). */
const records: Record<string, LinkedRecord> = {
  'account:ACME': { accountId: null },
  'account:GLOBEX': { accountId: null },
  'ticket:T1': { accountId: 'ACME' },
  'contact:C1': { accountId: 'ACME' },
  'employee:E1': { accountId: null },
};
const takenTicketNumbers = new Set([42]);

/** Runs the check loop as a store does, answering from `records`; returns the decision and what was asked. */
function check(
  transaction: ValidatedXmlTransaction,
  current: StoredRecord | null = null,
): { decision: Exclude<XmlRecordCheck, { kind: 'lookup' }>; asked: string[] } {
  const found = new Map<string, LinkedRecord | null>();
  const taken = new Map<number, boolean>();
  const asked: string[] = [];
  for (;;) {
    const decision = checkXmlRecord(transaction, { current, records: found, ticketNumbersTaken: taken });
    if (decision.kind !== 'lookup') return { decision, asked };
    for (const lookup of decision.lookups) {
      if (lookup.kind === 'record') {
        const key = linkKey(lookup.target, lookup.id);
        asked.push(key);
        found.set(key, records[key] ?? null);
      } else {
        asked.push(`ticket-number:${lookup.sequence}`);
        taken.set(lookup.sequence, takenTicketNumbers.has(lookup.sequence));
      }
    }
  }
}

const insert = (
  dataKind: ValidatedXmlTransaction['dataKind'],
  values: ValidatedXmlTransaction['values'],
): ValidatedXmlTransaction => ({
  dataKind,
  operation: 'insert',
  recordId: 'NEW',
  values,
  ticketNumberDigits: 7,
});

const codes = (decision: XmlRecordCheck): string[] =>
  decision.kind === 'refused' && decision.result.status === 'failure'
    ? decision.result.errors.map((error) => error.code)
    : [];

describe('XML API record checks', () => {
  it("files a charge that names only its ticket under the ticket's account, and checks that account", () => {
    const { decision, asked } = check(insert('CHARGE', { ticket_id: 'T1', description: 'Work' }));
    expect(decision).toEqual({
      kind: 'write',
      values: { ticket_id: 'T1', description: 'Work', account_id: 'ACME' },
      needsTicketNumber: false,
    });
    expect(asked).toEqual(['ticket:T1', 'account:ACME']);
  });

  it('refuses a link to a record that does not exist, naming the CRM field', () => {
    const { decision } = check(insert('TICKET', { account_id: 'NOPE', subject: 'x', status: 'open' }));
    expect(decision).toMatchObject({
      kind: 'refused',
      result: {
        status: 'failure',
        recordId: null,
        errors: [
          {
            code: 'LINKED_RECORD_NOT_FOUND',
            field: 'FLDTKTCARDID',
            message: 'FLDTKTCARDID: no account "NOPE"',
          },
        ],
      },
    });
  });

  it("refuses a contact of another account than the record's", () => {
    const { decision } = check(insert('TICKET', { account_id: 'GLOBEX', contact_id: 'C1', subject: 'x' }));
    expect(codes(decision)).toEqual(['LINK_MISMATCH']);
  });

  it("checks a ticket's contact again when an update moves the ticket to another account", () => {
    const current = { id: 'T1', account_id: 'ACME', contact_id: 'C1', number: '0000007' };
    const update: ValidatedXmlTransaction = {
      dataKind: 'TICKET',
      operation: 'update',
      recordId: 'T1',
      values: { account_id: 'GLOBEX' },
      ticketNumberDigits: 7,
    };
    expect(codes(check(update, current).decision)).toEqual(['LINK_MISMATCH']);
    // Untouched links of an update are not looked up again.
    const status = { ...update, values: { status: 'closed' } };
    expect(check(status, current)).toMatchObject({ decision: { kind: 'write' }, asked: [] });
  });

  it('refuses an update of a record that does not exist without looking anything up', () => {
    const update: ValidatedXmlTransaction = {
      dataKind: 'ASSET',
      operation: 'update',
      recordId: 'A9',
      values: { account_id: 'ACME' },
      ticketNumberDigits: 7,
    };
    expect(check(update)).toMatchObject({ decision: { kind: 'refused' }, asked: [] });
    expect(codes(check(update).decision)).toEqual(['RECORD_NOT_FOUND']);
  });

  it('lets a new ticket choose an unused number, refuses a used one, and keeps an existing ticket number', () => {
    expect(
      check(insert('TICKET', { account_id: 'ACME', subject: 'x', number: '0000043' })).decision,
    ).toMatchObject({
      kind: 'write',
      needsTicketNumber: false,
    });
    expect(
      codes(check(insert('TICKET', { account_id: 'ACME', subject: 'x', number: '42' })).decision),
    ).toEqual(['INVALID_VALUE']);
    expect(
      codes(check(insert('TICKET', { account_id: 'ACME', subject: 'x', number: '0' })).decision),
    ).toEqual(['INVALID_VALUE']);
    const current = { id: 'T1', account_id: 'ACME', number: '0000007' };
    const renumber: ValidatedXmlTransaction = {
      dataKind: 'TICKET',
      operation: 'update',
      recordId: 'T1',
      values: { number: '8' },
      ticketNumberDigits: 7,
    };
    expect(codes(check(renumber, current).decision)).toEqual(['INVALID_VALUE']);
    expect(check({ ...renumber, values: { number: '7' } }, current).decision).toEqual({
      kind: 'write',
      values: {},
      needsTicketNumber: false,
    });
  });

  it('asks for the next ticket number only for a new ticket that names none', () => {
    expect(check(insert('TICKET', { account_id: 'ACME', subject: 'x' })).decision).toMatchObject({
      needsTicketNumber: true,
    });
  });

  it('writes the audit columns the transaction leaves out, and pads a new ticket number', () => {
    const transaction = insert('TICKET', { account_id: 'ACME', subject: 'x', created_by: 'Portal' });
    const row = xmlRecordRow(transaction, transaction.values, {
      author: 'Web form',
      now: '2026-01-02T03:04:05.000Z',
      ticketSequence: 44,
      current: null,
    });
    expect(row).toEqual({
      columns: {
        account_id: 'ACME',
        subject: 'x',
        created_by: 'Portal',
        number: '0000044',
        id: 'NEW',
        created_at: '2026-01-02T03:04:05.000Z',
        updated_at: '2026-01-02T03:04:05.000Z',
      },
      ticketSequence: 44,
      ticketNumber: '0000044',
    });
    expect(xmlRecordResult(transaction, transaction.values, null, row.ticketNumber)).toEqual({
      status: 'success',
      dataKind: 'TICKET',
      operation: 'insert',
      recordId: 'NEW',
      accountId: 'ACME',
      ticketNumber: '0000044',
    });
  });
});
