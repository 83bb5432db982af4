import type { XmlColumnValue, XmlDataKind } from './xml-transaction.ts';

/**
 * How a value is checked and stored. Every type keeps the text as written (ids keep their leading
 * zeros) except `flag` and `choice`, stored as the table says.
 * - `text`: any text; `id`: a record id (no line breaks); `email`: an address or a bare domain;
 * - `datetime`: `YYYY-MM-DD`, optionally `THH:MM[:SS]` (or a space) and a zone;
 * - `time`: `HH:MM[:SS]`, or a `datetime`;
 * - `decimal`: `-12.50`; `digits`: `0000042`; `flag`: `Y`/`N`, `true`/`false`, `1`/`0`;
 * - `choice`: one of the field's `choices`.
 */
export type XmlFieldType =
  'text' | 'id' | 'email' | 'datetime' | 'time' | 'decimal' | 'digits' | 'flag' | 'choice';

/** The kind of record a link field names; the store refuses a link to a record that does not exist. */
export type XmlLinkTarget = 'account' | 'contact' | 'ticket' | 'employee' | 'asset';

/**
 * Where each kind of linked record lives (our table, with an `id` column) and whether it belongs to an account
 * (an `account_id` column): a link to one of those must name a record of the linking record's account.
 * domain/xml-api/record-checks.ts applies these; a store only answers "does this record exist, and whose is it".
 */
export const xmlLinkTargets: Readonly<Record<XmlLinkTarget, { table: string; belongsToAccount: boolean }>> =
  Object.freeze({
    account: { table: 'accounts', belongsToAccount: false },
    contact: { table: 'contacts', belongsToAccount: true },
    ticket: { table: 'tickets', belongsToAccount: true },
    employee: { table: 'employees', belongsToAccount: false },
    asset: { table: 'assets', belongsToAccount: true },
  });

export interface XmlFieldSpec {
  code: string;
  /** Our column (the SQLite and SQL Server adapters use these names). */
  column: string;
  label: string;
  type: XmlFieldType;
  maxLength: number;
  /** The column always has a value: an empty element cannot clear it. */
  notNull?: boolean;
  /** For `choice`: each accepted value (upper case) and what the column stores for it. */
  choices?: Readonly<Record<string, XmlColumnValue>>;
  /** The record this id must name. Contacts, tickets and assets must also belong to the record's account. */
  link?: XmlLinkTarget;
  /** An insert that leaves the field out gets the time the mail is processed. */
  defaultNow?: boolean;
  /** The CRM's reference marks the name as following the vendor's pattern, not seen in a primary source. */
  unconfirmed?: boolean;
  /**
   * Not one of the CRM's codes: earlier versions of this connector documented it, so integrations written
   * for them keep working. `replacedBy` is the CRM's code for the same column, null when the CRM has none.
   */
  deprecated?: { replacedBy: string | null };
}

export interface XmlDataKindSpec {
  dataKind: XmlDataKind;
  /** The CRM's table for this data kind (for the docs). */
  crmTable: string;
  /** Our table. */
  table: string;
  /** Present → update that record; absent → insert. */
  recordIdField: string;
  /** Deprecated spellings of the record-id field (see `XmlFieldSpec.deprecated`). */
  recordIdAliases: readonly string[];
  /** Every code of the data kind follows the vendor's pattern; none was seen in a primary source. */
  unconfirmed: boolean;
  fields: readonly XmlFieldSpec[];
  /** On insert, at least one field of each group must have a value. */
  requiredOnInsert: readonly (readonly string[])[];
  /** Columns an insert fills when the transaction does not. */
  insertDefaults: Readonly<Record<string, XmlColumnValue>>;
  /** `[target, source]`: an insert that leaves the target column empty copies the source column. */
  insertCopies: readonly (readonly [string, string])[];
  /** A record that names a ticket but no account is filed under the ticket's account. */
  accountFromTicket: boolean;
}

type FieldOptions = Partial<
  Pick<XmlFieldSpec, 'maxLength' | 'notNull' | 'choices' | 'link' | 'defaultNow' | 'unconfirmed'>
>;

const defaultMaxLength: Readonly<Record<XmlFieldType, number>> = {
  text: 250,
  id: 64,
  email: 254,
  datetime: 40,
  time: 40,
  decimal: 30,
  digits: 15,
  flag: 5,
  choice: 10,
};

const fieldOf =
  (type: XmlFieldType) =>
  (code: string, column: string, label: string, options: FieldOptions = {}): XmlFieldSpec => ({
    code,
    column,
    label,
    type,
    ...options,
    maxLength: options.maxLength ?? defaultMaxLength[type],
  });

const text = fieldOf('text');
const id = fieldOf('id');
const email = fieldOf('email');
const datetime = fieldOf('datetime');
const time = fieldOf('time');
const decimal = fieldOf('decimal');
const digits = fieldOf('digits');
const flag = fieldOf('flag');
const choice = fieldOf('choice');

const link = (
  target: XmlLinkTarget,
  code: string,
  column: string,
  label: string,
  options: FieldOptions = {},
) => id(code, column, label, { ...options, link: target });

/** A code this connector documented before it used the CRM's: the same column as `field`. */
const deprecatedAlias = (
  code: string,
  field: XmlFieldSpec,
  overrides: Partial<XmlFieldSpec> = {},
): XmlFieldSpec => ({
  ...field,
  code,
  ...overrides,
  deprecated: { replacedBy: field.code },
});

/** `FLDxxxUSER1` … `FLDxxxUSER<count>` into `user1` … */
const userFields = (prefix: string, count: number): XmlFieldSpec[] =>
  Array.from({ length: count }, (_, i) =>
    text(`${prefix}USER${i + 1}`, `user${i + 1}`, `User field ${i + 1}`),
  );

const createdBy = (code: string): XmlFieldSpec =>
  text(code, 'created_by', 'Created by (default: `ExternalApplicationName`)', { maxLength: 100 });

const account: XmlDataKindSpec = {
  dataKind: 'ACCOUNT',
  crmTable: 'Cards',
  table: 'accounts',
  recordIdField: 'FLDCRDRECID',
  recordIdAliases: [],
  unconfirmed: false,
  fields: [
    link('employee', 'FLDCRDASSIGNCARDID', 'manager_id', 'Account manager (employee record id)'),
    text('FLDCRDSUBCONTSTATUS', 'sub_contact_status', 'Secondary-contact status', { maxLength: 50 }),
    id(
      'FLDCRDBCRECID',
      'contract_id',
      'Default contract record id (not checked: contracts are not kept here)',
    ),
    text('FLDCRDCOMPANY', 'company', 'Company name (default: the "file as" name)', { notNull: true }),
    text('FLDCRDCONTACT', 'contact', 'Primary contact: first and last name'),
    text('FLDCRDASSISTANT', 'assistant', 'Assistant'),
    text('FLDCRDFULLNAME', 'file_as', '"File as" name (default: the company name)', { notNull: true }),
    text('FLDCRDLASTNAME', 'last_name', 'Last name'),
    text('FLDCRDDEAR', 'dear', 'Dear (salutation)', { maxLength: 100 }),
    text('FLDCRDSUFFIX', 'suffix', 'Suffix', { maxLength: 50 }),
    text('FLDCRDTITLE', 'title', 'Title', { maxLength: 100 }),
    text('FLDCRDDEPARTMENT', 'department', 'Department'),
    text('FLDCRDCARDID2', 'account_number', 'Account number', { maxLength: 100 }),
    text('FLDCRDCARDID3', 'card_id3', 'ID', { maxLength: 100 }),
    text('FLDCRDPERSONID', 'person_id', 'Person id', { maxLength: 100 }),
    text('FLDCRDSUBCODE', 'sub_code', 'Sub-contact code', { maxLength: 100 }),
    text('FLDCRDENTITYKIND', 'entity_kind', 'Account type', { maxLength: 100 }),
    text('FLDCRDKIND', 'kind', 'Type', { maxLength: 100 }),
    text('FLDCRDREGIONCODE', 'region_code', 'Region', { maxLength: 100 }),
    text('FLDCRDTAXCODE1', 'tax_code1', 'Tax code 1', { maxLength: 50 }),
    text('FLDCRDTAXCODE2', 'tax_code2', 'Tax code 2', { maxLength: 50 }),
    text('FLDCRDACCOUNTSTATUS', 'account_status', 'Account status', { maxLength: 100 }),
    text('FLDCRDCARDMESSAGE', 'popup_message', 'Pop-up message', { maxLength: 4000 }),
    flag('FLDCRDSHOWMESSAGE', 'show_popup_message', 'Show the pop-up message'),
    text('FLDCRDADDRESS1', 'address', 'Address line 1'),
    text('FLDCRDADDRESS2', 'address2', 'Address line 2'),
    text('FLDCRDADDRESS3', 'address3', 'Address line 3'),
    text('FLDCRDCITY', 'city', 'City', { maxLength: 100 }),
    text('FLDCRDSTATE', 'state', 'State or region', { maxLength: 100 }),
    text('FLDCRDCOUNTRY', 'country', 'Country', { maxLength: 100 }),
    text('FLDCRDZIP', 'zip', 'Postal code', { maxLength: 30 }),
    email('FLDCRDEMAIL1', 'email1', 'Email 1: an address or a bare domain', { unconfirmed: true }),
    email('FLDCRDEMAIL2', 'email2', 'Email 2: an address or a bare domain', { unconfirmed: true }),
    text('FLDCRDPHONE1', 'phone', 'Phone 1', { maxLength: 50 }),
    text('FLDCRDPHONE2', 'phone2', 'Phone 2', { maxLength: 50 }),
    text('FLDCRDPHONE3', 'phone3', 'Phone 3', { maxLength: 50 }),
    text('FLDCRDPHONE4', 'phone4', 'Phone 4', { maxLength: 50 }),
    text('FLDCRDPHNDESC1', 'phone1_desc', 'Phone 1 description or extension', { maxLength: 100 }),
    text('FLDCRDPHNDESC2', 'phone2_desc', 'Phone 2 description or extension', { maxLength: 100 }),
    text('FLDCRDPHNDESC3', 'phone3_desc', 'Phone 3 description or extension', { maxLength: 100 }),
    text('FLDCRDPHNDESC4', 'phone4_desc', 'Phone 4 description or extension', { maxLength: 100 }),
    text('FLDCRDFAX1', 'fax', 'Fax', { maxLength: 50 }),
    text('FLDCRDFAXDESC1', 'fax_desc', 'Fax description or extension', { maxLength: 100 }),
    text('FLDCRDURL1', 'url1', 'Web address 1'),
    text('FLDCRDURL2', 'url2', 'Web address 2'),
    ...userFields('FLDCRD', 5),
    datetime('FLDCRDCREATEDATE', 'created_at', 'Created (default: when the mail is processed)', {
      notNull: true,
    }),
    text('FLDCRDCREATEUSERID', 'created_by', 'Created by (default: `ExternalApplicationName`)', {
      maxLength: 100,
    }),
    text('FLDCRDUPDATEUSERID', 'updated_by', 'Last updated by (default: `ExternalApplicationName`)', {
      maxLength: 100,
    }),
    datetime('FLDCRDUPDATEDATE', 'updated_at', 'Last updated (default: when the mail is processed)', {
      notNull: true,
    }),
    text('FLDCRDDOCSFOLDER', 'docs_folder', 'Documents folder', { maxLength: 1000 }),
    text('FLDCRDNOTES', 'notes', 'Notes', { maxLength: 32000 }),
  ],
  requiredOnInsert: [['FLDCRDCOMPANY', 'FLDCRDFULLNAME']],
  insertDefaults: {},
  insertCopies: [
    ['company', 'file_as'],
    ['file_as', 'company'],
  ],
  accountFromTicket: false,
};

const ticketNotes = text('FLDTKTNOTES', 'notes', 'Notes', { maxLength: 32000 });

const ticket: XmlDataKindSpec = {
  dataKind: 'TICKET',
  crmTable: 'Tickets',
  table: 'tickets',
  recordIdField: 'FLDTKTRECID',
  recordIdAliases: [],
  unconfirmed: false,
  fields: [
    link('account', 'FLDTKTCARDID', 'account_id', 'Account record id', { notNull: true }),
    link('contact', 'FLDTKTCONTACTID', 'contact_id', "Contact record id (a contact of the ticket's account)"),
    id('FLDTKTBCRECID', 'contract_id', 'Contract record id (not checked: contracts are not kept here)'),
    link('asset', 'FLDTKTASSETRECID', 'asset_id', "Asset record id (an asset of the ticket's account)"),
    link('employee', 'FLDTKTWORKERID', 'worker_id', 'Assigned employee (manager) record id'),
    text('FLDTKTPRIORITY', 'priority', 'Priority', { maxLength: 100 }),
    digits(
      'FLDTKTTICKETNO',
      'number',
      "Ticket number: an insert takes this number instead of the next one (refused when taken); an update must give the ticket's own",
      { notNull: true },
    ),
    text('FLDTKTPROBLEM', 'subject', 'Problem description (the ticket subject)', {
      maxLength: 4000,
      notNull: true,
    }),
    text('FLDTKTKIND', 'kind', 'Ticket type', { maxLength: 100 }),
    text('FLDTKTSOURCE', 'source', 'Source', { maxLength: 100 }),
    decimal('FLDTKTSCHEDLENESTIM', 'estimated_duration', 'Estimated duration'),
    flag('FLDTKTFORDISPATCH', 'for_dispatch', 'Show in dispatch'),
    text('FLDTKTSTATUS', 'status', 'Status (default `open`; the CRM writes `1000` for completed)', {
      maxLength: 100,
      notNull: true,
    }),
    datetime('FLDTKTDUEDATETIME', 'due_at', 'Due date and time'),
    text('FLDTKTSOLUTION', 'solution', 'Resolution', { maxLength: 32000 }),
    ...userFields('FLDTKT', 1),
    createdBy('FLDTKTCREATEUSER'),
    { ...ticketNotes, deprecated: { replacedBy: null } },
  ],
  requiredOnInsert: [['FLDTKTCARDID'], ['FLDTKTPROBLEM']],
  insertDefaults: { status: 'open' },
  insertCopies: [],
  accountFromTicket: false,
};

const asset: XmlDataKindSpec = {
  dataKind: 'ASSET',
  crmTable: 'Assets',
  table: 'assets',
  recordIdField: 'FLDASTRECID',
  recordIdAliases: [],
  unconfirmed: false,
  fields: [
    text('FLDASTASSETCODE', 'code', 'Asset code', { maxLength: 100 }),
    text('FLDASTASSETTYPE', 'asset_type', 'Asset type (the CRM requires it)', { maxLength: 100 }),
    text('FLDASTNAME', 'name', 'Asset name (default: the asset type)', { notNull: true }),
    text('FLDASTSTATUS', 'status', 'Status (the CRM requires it)', { maxLength: 100 }),
    text('FLDASTSERIALNO', 'serial_no', 'Serial number', { maxLength: 100 }),
    link('account', 'FLDASTACCRECID', 'account_id', 'Account record id', { notNull: true }),
    link(
      'contact',
      'FLDASTCONTACTRECID',
      'contact_id',
      "Contact record id (a contact of the asset's account)",
    ),
    text('FLDASTDESC', 'description', 'Description', { maxLength: 32000 }),
    text('FLDASTLOCATION', 'location', 'Location'),
    text('FLDASTNOTES', 'notes', 'Notes', { maxLength: 32000 }),
    decimal('FLDASTQUANTITY', 'quantity', 'Quantity'),
    text('FLDASTVERSION', 'version', 'Version', { maxLength: 100 }),
    text('FLDASTMANUFACTURER', 'manufacturer', 'Manufacturer'),
    text('FLDASTMNFSERIALNO', 'manufacturer_serial_no', "Manufacturer's serial number", { maxLength: 100 }),
    text('FLDASTMODEL', 'model', 'Model'),
    datetime('FLDASTCUSTPURDATE', 'purchase_date', 'Customer purchase: date'),
    flag('FLDASTCUSTPURFROMUS', 'purchased_from_us', 'Customer purchase: bought from us'),
    text('FLDASTCUSTPUROURINV', 'purchase_invoice_no', 'Customer purchase: our invoice number', {
      maxLength: 100,
    }),
    text('FLDASTCUSTPURPO', 'purchase_order_no', "Customer purchase: the customer's purchase order", {
      maxLength: 100,
    }),
    decimal('FLDASTCUSTPURPRICE', 'purchase_price', 'Customer purchase: price'),
    datetime('FLDASTDELIVEDATE', 'delivered_date', 'Delivery date'),
    text('FLDASTINSTALBY', 'installed_by', 'Installed by'),
    datetime('FLDASTINSTALDATE', 'installed_date', 'Installation date'),
    text('FLDASTLICENSECODE', 'license_code', 'Licence codes', { maxLength: 4000 }),
    text('FLDASTLICENSEKEYS', 'license_keys', 'Licence keys', { maxLength: 4000 }),
    text('FLDASTLICENSENOTES', 'license_notes', 'Licence notes', { maxLength: 32000 }),
    datetime('FLDASTVENDORDATEPURC', 'vendor_purchase_date', 'Vendor: purchase date'),
    text('FLDASTVENDORINVNO', 'vendor_invoice_no', "Vendor: the vendor's invoice number", { maxLength: 100 }),
    text('FLDASTVENDOROURPO', 'vendor_purchase_order_no', 'Vendor: our purchase order', { maxLength: 100 }),
    decimal('FLDASTVENDORPRICE', 'vendor_price', 'Vendor: price'),
    id('FLDASTVENDORRECID', 'vendor_id', 'Vendor: record id (not checked)'),
    text('FLDASTVENDORSERNO', 'vendor_serial_no', "Vendor: the vendor's serial number", { maxLength: 100 }),
    datetime('FLDASTVENDORWARREXP', 'vendor_warranty_expires', "Vendor: the vendor's warranty expires"),
    datetime('FLDASTWARREXPDATE', 'warranty_expires', 'Warranty expires'),
    ...userFields('FLDAST', 5),
    datetime('FLDASTUSERDATE1', 'user_date1', 'User date field 1'),
    decimal('FLDASTUSERNUMBER1', 'user_number1', 'User number field 1'),
    createdBy('FLDASTCREATEUSER'),
    text('FLDASTUPDATEUSER', 'updated_by', 'Last updated by (default: `ExternalApplicationName`)', {
      maxLength: 100,
    }),
  ],
  requiredOnInsert: [['FLDASTACCRECID'], ['FLDASTNAME', 'FLDASTASSETTYPE']],
  insertDefaults: {},
  insertCopies: [['name', 'asset_type']],
  accountFromTicket: false,
};

const historyNote: XmlDataKindSpec = {
  dataKind: 'HISTORY-NOTE',
  crmTable: 'Notebook',
  table: 'history_notes',
  recordIdField: 'FLDHISRECID',
  recordIdAliases: [],
  unconfirmed: false,
  fields: [
    id('FLDHISLINKRECID', 'link_id', 'Record the note is about, of any data kind (not checked)'),
    link('employee', 'FLDHISWORKERID', 'worker_id', 'Employee record id'),
    link('account', 'FLDHISCARDID', 'account_id', 'Account record id', { notNull: true }),
    link('contact', 'FLDHISCONTACTID', 'contact_id', "Contact record id (a contact of the note's account)"),
    id('FLDHISDOCID', 'document_id', 'Document record id (not checked)'),
    datetime(
      'FLDHISNOTEDATETIME',
      'date',
      'Date and time of the note (default: when the mail is processed)',
      {
        notNull: true,
        defaultNow: true,
      },
    ),
    text('FLDHISDESCRIPTION', 'description', 'Note text', { maxLength: 32000, notNull: true }),
    text('FLDHISKIND', 'kind', 'Kind of note', { maxLength: 100 }),
    ...userFields('FLDHIS', 1),
    createdBy('FLDHISCREATEUSER'),
  ],
  requiredOnInsert: [['FLDHISCARDID'], ['FLDHISDESCRIPTION']],
  insertDefaults: {},
  insertCopies: [],
  accountFromTicket: false,
};

const chargeAccount = link(
  'account',
  'FLDSLPCARDID',
  'account_id',
  "Account record id (default: the ticket's account)",
  {
    notNull: true,
  },
);
const chargeWorker = link('employee', 'FLDSLPWORKERID', 'employee_id', 'Employee record id');
const chargeItem = text(
  'FLDSLPITEMID',
  'item',
  'Item record id or code (not checked: items need not be kept here)',
  {
    maxLength: 100,
  },
);
const chargeTicket = link(
  'ticket',
  'FLDSLPTICKETID',
  'ticket_id',
  "Ticket record id (a ticket of the charge's account)",
);
const chargeDate = datetime('FLDSLPSLIPDATE', 'date', 'Date of the charge');
const chargeDescription = text('FLDSLPDESC', 'description', 'Description', { maxLength: 4000 });
const chargeQuantity = decimal('FLDSLPQUANTITY', 'quantity', 'Quantity (units)');
const chargePrice = decimal('FLDSLPPRICE', 'price', 'Unit price');
const chargeBillKind = choice('FLDSLPBILLKIND', 'billable', '`B` billable, `N` not billable', {
  choices: { B: 1, N: 0 },
});

const charge: XmlDataKindSpec = {
  dataKind: 'CHARGE',
  crmTable: 'Slips',
  table: 'charges',
  recordIdField: 'FLDSLPRECID',
  recordIdAliases: ['FLDSLCRECID'],
  unconfirmed: false,
  fields: [
    id('FLDSLPSOURCERECID', 'source_id', 'Record the charge comes from (not checked)'),
    chargeAccount,
    chargeWorker,
    chargeItem,
    id('FLDSLPBCRECID', 'contract_id', 'Contract record id (not checked: contracts are not kept here)'),
    chargeTicket,
    chargeDate,
    chargeDescription,
    chargeQuantity,
    decimal('FLDSLPHOURSAMOUNT', 'hours_amount', 'Hours'),
    decimal('FLDSLPADJUSTAMOUNT', 'adjust_amount', 'Adjustment: amount'),
    decimal('FLDSLPADJUSTPERCENT', 'adjust_percent', 'Adjustment: percent'),
    time('FLDSLPSTARTTIME', 'start_time', 'From time'),
    time('FLDSLPENDTIME', 'end_time', 'To time'),
    chargePrice,
    chargeBillKind,
    choice('FLDSLPSTAGE', 'stage', '`D` draft, `B` billed', { choices: { D: 'D', B: 'B' } }),
    ...userFields('FLDSLP', 1),
    createdBy('FLDSLPCREATEUSER'),
    deprecatedAlias('FLDSLCCARDID', chargeAccount),
    deprecatedAlias('FLDSLCTICKETID', chargeTicket),
    deprecatedAlias('FLDSLCWORKERID', chargeWorker),
    deprecatedAlias('FLDSLCITEMID', chargeItem),
    deprecatedAlias('FLDSLCDESC', chargeDescription),
    deprecatedAlias('FLDSLCQUANTITY', chargeQuantity),
    deprecatedAlias('FLDSLCPRICE', chargePrice),
    deprecatedAlias('FLDSLCDATE', chargeDate),
    deprecatedAlias('FLDSLCBILLABLE', chargeBillKind, {
      type: 'flag',
      maxLength: defaultMaxLength.flag,
      label: 'Billable (`Y`/`N`)',
      choices: undefined,
    }),
  ],
  requiredOnInsert: [
    ['FLDSLPCARDID', 'FLDSLPTICKETID'],
    ['FLDSLPITEMID', 'FLDSLPDESC'],
  ],
  insertDefaults: {},
  insertCopies: [],
  accountFromTicket: true,
};

const item: XmlDataKindSpec = {
  dataKind: 'ITEM',
  crmTable: 'Items',
  table: 'items',
  recordIdField: 'FLDITMRECID',
  recordIdAliases: [],
  unconfirmed: false,
  fields: [
    text(
      'FLDITMITEMTYPEGROUP',
      'type_group',
      'Item group: `P` product or part, `L` labour, `E` expense (*unconfirmed beyond `P`*)',
      { maxLength: 10 },
    ),
    text('FLDITMITEMNO', 'item_no', 'Item code', { maxLength: 100 }),
    text('FLDITMNAME', 'name', 'Item name (default: the item code)', { notNull: true }),
    text('FLDITMPRICESOURCE', 'price_source', 'Price source', { maxLength: 10 }),
    flag('FLDITMUNITISHOUR', 'unit_is_hour', 'The unit is an hour'),
    decimal('FLDITMUNITPRICE', 'unit_price', 'Unit price'),
    decimal('FLDITMSTANDARDCOST', 'standard_cost', 'Standard cost'),
    text('FLDITMTAXCODE1', 'tax_code1', 'Tax code 1', { maxLength: 50 }),
    text('FLDITMTAXCODE2', 'tax_code2', 'Tax code 2', { maxLength: 50 }),
    text('FLDITMTAXCODE3', 'tax_code3', 'Tax code 3', { maxLength: 50 }),
    flag('FLDITMDESCBYNAME', 'desc_by_name', 'A charge takes its description from the item name'),
    text('FLDITMDESC', 'description', 'Description', { maxLength: 4000 }),
    flag('FLDITMSUSPENDED', 'suspended', 'Suspended'),
    text('FLDITMNOTES', 'notes', 'Notes', { maxLength: 32000 }),
    ...userFields('FLDITM', 1),
    createdBy('FLDITMCREATEUSER'),
    datetime('FLDITMUPDATEDATE', 'updated_at', 'Last updated (default: when the mail is processed)', {
      notNull: true,
    }),
  ],
  requiredOnInsert: [['FLDITMITEMNO', 'FLDITMNAME']],
  insertDefaults: {},
  insertCopies: [['name', 'item_no']],
  accountFromTicket: false,
};

const opportunity: XmlDataKindSpec = {
  dataKind: 'OPPORTUNITY',
  crmTable: 'Opps',
  table: 'opportunities',
  recordIdField: 'FLDOPPRECID',
  recordIdAliases: [],
  unconfirmed: true,
  fields: [
    link('account', 'FLDOPPCARDID', 'account_id', 'Account record id', { notNull: true }),
    link(
      'contact',
      'FLDOPPCONTACTID',
      'contact_id',
      "Contact record id (a contact of the opportunity's account)",
    ),
    link('employee', 'FLDOPPWORKERID', 'worker_id', 'Employee in charge (record id)'),
    text('FLDOPPNAME', 'name', 'Opportunity name', { notNull: true }),
    text('FLDOPPDESCRIPTION', 'description', 'Description', { maxLength: 32000 }),
    text('FLDOPPSTATUS', 'status', 'Status', { maxLength: 100 }),
    text('FLDOPPSTAGE', 'stage', 'Stage', { maxLength: 100 }),
    decimal('FLDOPPPROBABILITY', 'probability', 'Probability of closing, in percent'),
    decimal('FLDOPPAMOUNT', 'amount', 'Amount'),
    datetime('FLDOPPOPENDATE', 'open_date', 'Opened'),
    datetime('FLDOPPCLOSEDATE', 'close_date', 'Expected or actual close date'),
    text('FLDOPPSOURCE', 'source', 'Source', { maxLength: 100 }),
    ...userFields('FLDOPP', 1),
    createdBy('FLDOPPCREATEUSER'),
  ],
  requiredOnInsert: [['FLDOPPCARDID'], ['FLDOPPNAME']],
  insertDefaults: {},
  insertCopies: [],
  accountFromTicket: false,
};

const document: XmlDataKindSpec = {
  dataKind: 'DOCUMENT',
  crmTable: 'Docs',
  table: 'document_records',
  recordIdField: 'FLDDOCRECID',
  recordIdAliases: [],
  unconfirmed: true,
  fields: [
    link('account', 'FLDDOCCARDID', 'account_id', "Account record id (default: the ticket's account)", {
      notNull: true,
    }),
    link(
      'contact',
      'FLDDOCCONTACTID',
      'contact_id',
      "Contact record id (a contact of the document's account)",
    ),
    link('ticket', 'FLDDOCTICKETID', 'ticket_id', "Ticket record id (a ticket of the document's account)"),
    link('employee', 'FLDDOCWORKERID', 'worker_id', 'Employee record id'),
    text('FLDDOCDOCUMENTDESC', 'description', 'Title or description of the document', {
      maxLength: 4000,
      notNull: true,
    }),
    datetime('FLDDOCDOCUMENTDATE', 'date', 'Date of the document (default: when the mail is processed)', {
      notNull: true,
      defaultNow: true,
    }),
    text('FLDDOCFILENAME', 'file_name', 'The file: a path or a link', { maxLength: 1000 }),
    text('FLDDOCSTATUS', 'status', 'Status', { maxLength: 100 }),
    ...userFields('FLDDOC', 1),
    createdBy('FLDDOCCREATEUSER'),
  ],
  requiredOnInsert: [['FLDDOCCARDID', 'FLDDOCTICKETID'], ['FLDDOCDOCUMENTDESC']],
  insertDefaults: {},
  insertCopies: [],
  accountFromTicket: true,
};

const appointmentOrTask: XmlDataKindSpec = {
  dataKind: 'APPOINTMENT-OR-TASK',
  crmTable: 'Events',
  table: 'appointments_tasks',
  recordIdField: 'FLDEVTRECID',
  recordIdAliases: [],
  unconfirmed: true,
  fields: [
    choice('FLDEVTFAMILY', 'family', '`A` appointment, `T` task (default `A`)', {
      choices: { A: 'A', T: 'T' },
      notNull: true,
    }),
    link('account', 'FLDEVTCARDID', 'account_id', "Account record id (default: the ticket's account)"),
    link('contact', 'FLDEVTCONTACTID', 'contact_id', 'Contact record id (a contact of the account)'),
    link('ticket', 'FLDEVTTICKETID', 'ticket_id', 'Ticket record id (a ticket of the account)'),
    link('employee', 'FLDEVTWORKERID', 'worker_id', 'Employee whose appointment or task it is (record id)'),
    text('FLDEVTDESCRIPTION', 'description', 'Title and description', { maxLength: 4000, notNull: true }),
    datetime('FLDEVTEVENTDATE', 'date', "The appointment's date, or the task's due date"),
    time('FLDEVTSTARTTIME', 'start_time', 'Start time'),
    time('FLDEVTENDTIME', 'end_time', 'End time'),
    text('FLDEVTLOCATION', 'location', 'Location'),
    text('FLDEVTSTATUS', 'status', 'Status', { maxLength: 100 }),
    flag('FLDEVTDONE', 'done', 'Done'),
    ...userFields('FLDEVT', 1),
    createdBy('FLDEVTCREATEUSER'),
  ],
  requiredOnInsert: [['FLDEVTDESCRIPTION']],
  insertDefaults: { family: 'A' },
  insertCopies: [],
  accountFromTicket: true,
};

const kbArticle: XmlDataKindSpec = {
  dataKind: 'KBARTICLE',
  crmTable: 'KBArticles',
  table: 'kb_articles',
  recordIdField: 'FLDKBARECID',
  recordIdAliases: [],
  unconfirmed: true,
  fields: [
    text('FLDKBATITLE', 'title', 'Title', { notNull: true }),
    text('FLDKBAPROBLEM', 'problem', 'Problem or question', { maxLength: 32000 }),
    text('FLDKBASOLUTION', 'solution', 'Solution or answer', { maxLength: 32000 }),
    text('FLDKBACATEGORY', 'category', 'Category'),
    text('FLDKBASTATUS', 'status', 'Status', { maxLength: 100 }),
    datetime('FLDKBADATE', 'date', 'Date of the article'),
    link('account', 'FLDKBACARDID', 'account_id', 'Account the article is about (record id; optional)'),
    link('ticket', 'FLDKBATICKETID', 'ticket_id', 'Ticket the article comes from (record id)'),
    link('employee', 'FLDKBAWORKERID', 'worker_id', 'Author (employee record id)'),
    ...userFields('FLDKBA', 1),
    createdBy('FLDKBACREATEUSER'),
  ],
  requiredOnInsert: [['FLDKBATITLE']],
  insertDefaults: {},
  insertCopies: [],
  accountFromTicket: false,
};

/** Every data kind with its field table; docs/xml-api.md is generated from it (`npm run docs:xml-api`). */
export const xmlDataKinds: Readonly<Record<XmlDataKind, XmlDataKindSpec>> = Object.freeze({
  ACCOUNT: account,
  OPPORTUNITY: opportunity,
  DOCUMENT: document,
  CHARGE: charge,
  'APPOINTMENT-OR-TASK': appointmentOrTask,
  'HISTORY-NOTE': historyNote,
  TICKET: ticket,
  ITEM: item,
  ASSET: asset,
  KBARTICLE: kbArticle,
});

/**
 * A name callers use that is not a data kind of the CRM's XML API but means a record it has (a contact is an
 * ACCOUNT record in the CRM): refused with UNSUPPORTED_DATAKIND, whose message says so.
 */
export const unsupportedDataKinds: readonly string[] = ['CONTACT'];

export function findDataKind(name: string): XmlDataKindSpec | null {
  const key = name.trim().toUpperCase();
  return Object.hasOwn(xmlDataKinds, key) ? xmlDataKinds[key as XmlDataKind] : null;
}

/** The field a code names (a deprecated code included), or null. */
export function findField(spec: XmlDataKindSpec, code: string): XmlFieldSpec | null {
  return spec.fields.find((field) => field.code === code) ?? null;
}

/** The CRM's code for a column: what an error about that column names. */
export function codeOfColumn(spec: XmlDataKindSpec, column: string): string {
  const fields = spec.fields.filter((field) => field.column === column);
  return (fields.find((field) => !field.deprecated) ?? fields[0])?.code ?? column;
}
