import type { XmlDataKind } from './xml-transaction.ts';

/**
 * How a value is checked and stored. Every type keeps the text as written (ids keep their leading
 * zeros) except `flag`, stored as 0/1.
 * - `text`: any text; `id`: a record id (no line breaks); `email`: an address or a bare domain;
 * - `datetime`: `YYYY-MM-DD`, optionally `THH:MM[:SS]` (or a space) and a zone;
 * - `decimal`: `-12.50`; `flag`: `Y`/`N`, `true`/`false`, `1`/`0`.
 */
export type XmlFieldType = 'text' | 'id' | 'email' | 'datetime' | 'decimal' | 'flag';

export interface XmlFieldSpec {
  code: string;
  /** Our column (the SQLite and SQL Server adapters use these names). */
  column: string;
  label: string;
  type: XmlFieldType;
  maxLength: number;
  /** The column always has a value: an empty element cannot clear it. */
  notNull?: boolean;
}

export interface XmlDataKindSpec {
  dataKind: XmlDataKind;
  /** Present → update that record; absent → insert. */
  recordIdField: string;
  fields: readonly XmlFieldSpec[];
  /** On insert, at least one field of each group must have a value. */
  requiredOnInsert: readonly (readonly string[])[];
  /** Columns an insert fills when the transaction does not. */
  insertDefaults: Readonly<Record<string, string>>;
}

const text = (code: string, column: string, label: string, maxLength = 250): XmlFieldSpec => ({
  code,
  column,
  label,
  type: 'text',
  maxLength,
});
const id = (code: string, column: string, label: string): XmlFieldSpec => ({
  code,
  column,
  label,
  type: 'id',
  maxLength: 64,
});

const account: XmlDataKindSpec = {
  dataKind: 'ACCOUNT',
  recordIdField: 'FLDCRDRECID',
  fields: [
    { ...text('FLDCRDCOMPANY', 'company', 'Company name'), notNull: true },
    { ...text('FLDCRDFULLNAME', 'file_as', '"File as" name (default: the company name)'), notNull: true },
    text('FLDCRDCONTACT', 'contact', 'Primary contact name'),
    {
      code: 'FLDCRDEMAIL1',
      column: 'email1',
      label: 'Email 1: an address or a bare domain',
      type: 'email',
      maxLength: 254,
    },
    {
      code: 'FLDCRDEMAIL2',
      column: 'email2',
      label: 'Email 2: an address or a bare domain',
      type: 'email',
      maxLength: 254,
    },
    text('FLDCRDPHONE1', 'phone', 'Phone 1', 50),
    text('FLDCRDPHONE2', 'phone2', 'Phone 2', 50),
    text('FLDCRDADDRESS1', 'address', 'Address line 1'),
    text('FLDCRDADDRESS2', 'address2', 'Address line 2'),
    text('FLDCRDCITY', 'city', 'City', 100),
    text('FLDCRDSTATE', 'state', 'State or region', 100),
    text('FLDCRDZIP', 'zip', 'Postal code', 30),
    text('FLDCRDCOUNTRY', 'country', 'Country', 100),
    text('FLDCRDNOTES', 'notes', 'Notes', 32000),
  ],
  requiredOnInsert: [['FLDCRDCOMPANY', 'FLDCRDFULLNAME']],
  insertDefaults: {},
};

const ticket: XmlDataKindSpec = {
  dataKind: 'TICKET',
  recordIdField: 'FLDTKTRECID',
  fields: [
    { ...id('FLDTKTCARDID', 'account_id', 'Account record id'), notNull: true },
    id('FLDTKTCONTACTID', 'contact_id', "Contact record id (a contact of the ticket's account)"),
    { ...text('FLDTKTPROBLEM', 'subject', 'Problem description (the ticket subject)', 4000), notNull: true },
    { ...text('FLDTKTSTATUS', 'status', 'Status (default `open`)', 100), notNull: true },
    text('FLDTKTPRIORITY', 'priority', 'Priority', 100),
    text('FLDTKTKIND', 'kind', 'Ticket type', 100),
    text('FLDTKTSOURCE', 'source', 'Source', 100),
    {
      code: 'FLDTKTDUEDATETIME',
      column: 'due_at',
      label: 'Due date and time',
      type: 'datetime',
      maxLength: 40,
    },
    id('FLDTKTWORKERID', 'worker_id', 'Assigned employee record id'),
    text('FLDTKTNOTES', 'notes', 'Notes', 32000),
  ],
  requiredOnInsert: [['FLDTKTCARDID'], ['FLDTKTPROBLEM']],
  insertDefaults: { status: 'open' },
};

const asset: XmlDataKindSpec = {
  dataKind: 'ASSET',
  recordIdField: 'FLDASTRECID',
  fields: [
    { ...id('FLDASTACCRECID', 'account_id', 'Account record id'), notNull: true },
    { ...text('FLDASTNAME', 'name', 'Asset name'), notNull: true },
    text('FLDASTASSETTYPE', 'asset_type', 'Asset type', 100),
    text('FLDASTSTATUS', 'status', 'Status', 100),
    text('FLDASTSERIALNO', 'serial_no', 'Serial number', 100),
    text('FLDASTASSETCODE', 'code', 'Asset code', 100),
    text('FLDASTDESC', 'description', 'Description', 32000),
  ],
  requiredOnInsert: [['FLDASTACCRECID'], ['FLDASTNAME']],
  insertDefaults: {},
};

const historyNote: XmlDataKindSpec = {
  dataKind: 'HISTORY-NOTE',
  recordIdField: 'FLDHISRECID',
  fields: [
    { ...id('FLDHISCARDID', 'account_id', 'Account record id'), notNull: true },
    { ...text('FLDHISDESCRIPTION', 'description', 'Note text', 32000), notNull: true },
    {
      code: 'FLDHISNOTEDATETIME',
      column: 'date',
      label: 'Date and time of the note (default: when the mail is processed)',
      type: 'datetime',
      maxLength: 40,
      notNull: true,
    },
    text('FLDHISKIND', 'kind', 'Kind of note', 100),
  ],
  requiredOnInsert: [['FLDHISCARDID'], ['FLDHISDESCRIPTION']],
  insertDefaults: {},
};

const charge: XmlDataKindSpec = {
  dataKind: 'CHARGE',
  recordIdField: 'FLDSLCRECID',
  fields: [
    {
      ...id('FLDSLCCARDID', 'account_id', "Account record id (default: the ticket's account)"),
      notNull: true,
    },
    id('FLDSLCTICKETID', 'ticket_id', 'Ticket record id'),
    id('FLDSLCWORKERID', 'employee_id', 'Employee record id'),
    text('FLDSLCITEMID', 'item', 'Item (product or service) code', 100),
    text('FLDSLCDESC', 'description', 'Description', 4000),
    { code: 'FLDSLCQUANTITY', column: 'quantity', label: 'Quantity', type: 'decimal', maxLength: 30 },
    { code: 'FLDSLCPRICE', column: 'price', label: 'Unit price', type: 'decimal', maxLength: 30 },
    { code: 'FLDSLCDATE', column: 'date', label: 'Date of the charge', type: 'datetime', maxLength: 40 },
    { code: 'FLDSLCBILLABLE', column: 'billable', label: 'Billable (Y/N)', type: 'flag', maxLength: 5 },
  ],
  requiredOnInsert: [
    ['FLDSLCCARDID', 'FLDSLCTICKETID'],
    ['FLDSLCITEMID', 'FLDSLCDESC'],
  ],
  insertDefaults: {},
};

/** The supported data kinds with their field tables (docs/xml-api.md shows the same tables). */
export const xmlDataKinds: Readonly<Record<XmlDataKind, XmlDataKindSpec>> = Object.freeze({
  ACCOUNT: account,
  TICKET: ticket,
  ASSET: asset,
  'HISTORY-NOTE': historyNote,
  CHARGE: charge,
});

/** Data kinds of the CRM's API that this connector does not write: refused with UNSUPPORTED_DATAKIND. */
export const unsupportedDataKinds: readonly string[] = [
  'OPPORTUNITY',
  'DOCUMENT',
  'APPOINTMENT-OR-TASK',
  'ITEM',
  'KBARTICLE',
  'CONTACT',
];

export function findDataKind(name: string): XmlDataKindSpec | null {
  const key = name.trim().toUpperCase();
  return Object.hasOwn(xmlDataKinds, key) ? xmlDataKinds[key as XmlDataKind] : null;
}
