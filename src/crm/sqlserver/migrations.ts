/**
 * The T-SQL schema, one entry per SQLite migration (crm/sqlite/sqlite-migrations.ts) with the same version,
 * tables, columns and indexes. Each entry runs once, in order, inside the one transaction of a migration run;
 * `GO` lines separate batches (a batch that adds a column cannot also use it). Never edit a shipped entry.
 *
 * Types, chosen once for every table:
 * - Ids and keys: `nvarchar(450) COLLATE Latin1_General_100_BIN2`. 450 characters is the longest key a clustered
 *   index takes; the binary collation compares as SQLite does (exactly), whatever the database's collation, and
 *   every column that joins or references another has the same one (SQL Server refuses a foreign key otherwise).
 * - The "file as" name: `Latin1_General_100_CI_AS`, so that look-ups by name ignore case with an index seek.
 * - Free text: `nvarchar(max)`; short enumerations the connector writes (states, kinds): `nvarchar(40)`.
 * - Times of the connector's own tables (outcomes, outbox, intake, state, leases, XML API results):
 *   `datetime2(3)` in UTC, since queries compare them (due, expired, since) and only the connector writes them.
 * - Times and dates of CRM records (accounts, tickets, documents, notes, …): `nvarchar(40)`, ISO text as SQLite
 *   keeps it, because the XML API stores a date exactly as the transaction wrote it (with or without a zone).
 * - Flags: `bit`; ticket sequence and counters: `bigint`; raw MIME, attachments, outbox mail: `varbinary(max)`.
 * - SQLite's implicit `rowid` (the tie-break of "oldest first" lists) is an explicit `rowid bigint IDENTITY`.
 * Primary keys, unique and foreign keys are named (`tickets_pk`, `tickets_seq_unique`, `documents_ticket_fk`).
 */
export const sqlServerMigrations: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'crm data model',
    sql: `
CREATE TABLE accounts (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  company nvarchar(max) NOT NULL,
  file_as nvarchar(450) COLLATE Latin1_General_100_CI_AS NOT NULL,
  email1 nvarchar(450) NULL,
  email1_key nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  email2 nvarchar(450) NULL,
  email2_key nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  account_number nvarchar(max) NULL,
  foreign_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  custom_fields nvarchar(max) NOT NULL DEFAULT N'{}',
  contact nvarchar(max) NULL,
  phone nvarchar(max) NULL,
  address nvarchar(max) NULL,
  city nvarchar(max) NULL,
  zip nvarchar(max) NULL,
  country nvarchar(max) NULL,
  created_at nvarchar(40) NOT NULL,
  updated_at nvarchar(40) NOT NULL,
  CONSTRAINT accounts_pk PRIMARY KEY (id)
);
CREATE INDEX accounts_email1_key ON accounts (email1_key);
CREATE INDEX accounts_email2_key ON accounts (email2_key);
CREATE INDEX accounts_file_as ON accounts (file_as);
CREATE INDEX accounts_foreign_id ON accounts (foreign_id);

CREATE TABLE contacts (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  account_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT contacts_account_fk REFERENCES accounts (id),
  name nvarchar(max) NOT NULL,
  email nvarchar(450) NULL,
  email_key nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  CONSTRAINT contacts_pk PRIMARY KEY (id)
);
CREATE INDEX contacts_email_key ON contacts (email_key);
CREATE INDEX contacts_account ON contacts (account_id);

CREATE TABLE employees (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  name nvarchar(max) NOT NULL,
  email1 nvarchar(450) NULL,
  email1_key nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  email2 nvarchar(450) NULL,
  email2_key nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  active bit NOT NULL DEFAULT 1,
  CONSTRAINT employees_pk PRIMARY KEY (id)
);
CREATE INDEX employees_email1_key ON employees (email1_key);
CREATE INDEX employees_email2_key ON employees (email2_key);

CREATE TABLE tickets (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  seq bigint NOT NULL,
  number nvarchar(40) COLLATE Latin1_General_100_BIN2 NOT NULL,
  account_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT tickets_account_fk REFERENCES accounts (id),
  contact_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL
    CONSTRAINT tickets_contact_fk REFERENCES contacts (id),
  subject nvarchar(max) NOT NULL,
  status nvarchar(max) NOT NULL,
  priority nvarchar(max) NULL,
  kind nvarchar(max) NULL,
  source nvarchar(max) NULL,
  created_by nvarchar(450) NULL,
  created_at nvarchar(40) NOT NULL,
  updated_at nvarchar(40) NOT NULL,
  CONSTRAINT tickets_pk PRIMARY KEY (id),
  CONSTRAINT tickets_seq_unique UNIQUE (seq),
  CONSTRAINT tickets_number_unique UNIQUE (number)
);
CREATE INDEX tickets_account ON tickets (account_id);

CREATE TABLE documents (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  ticket_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT documents_ticket_fk REFERENCES tickets (id),
  account_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT documents_account_fk REFERENCES accounts (id),
  sender nvarchar(max) NOT NULL,
  recipients nvarchar(max) NOT NULL,
  date nvarchar(40) NOT NULL,
  subject nvarchar(max) NOT NULL,
  text_body nvarchar(max) NOT NULL,
  html_body nvarchar(max) NULL,
  message_id nvarchar(max) NULL,
  raw varbinary(max) NOT NULL,
  created_at nvarchar(40) NOT NULL,
  rowid bigint IDENTITY(1, 1) NOT NULL,
  CONSTRAINT documents_pk PRIMARY KEY (id)
);
CREATE INDEX documents_ticket ON documents (ticket_id);

CREATE TABLE attachments (
  id bigint IDENTITY(1, 1) NOT NULL,
  document_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT attachments_document_fk REFERENCES documents (id),
  filename nvarchar(max) NOT NULL,
  content_type nvarchar(max) NOT NULL,
  size bigint NOT NULL,
  content varbinary(max) NOT NULL,
  CONSTRAINT attachments_pk PRIMARY KEY (id)
);
CREATE INDEX attachments_document ON attachments (document_id);

CREATE TABLE assets (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  account_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT assets_account_fk REFERENCES accounts (id),
  name nvarchar(max) NOT NULL,
  asset_type nvarchar(max) NULL,
  status nvarchar(max) NULL,
  serial_no nvarchar(max) NULL,
  code nvarchar(max) NULL,
  description nvarchar(max) NULL,
  created_by nvarchar(450) NULL,
  created_at nvarchar(40) NOT NULL,
  updated_at nvarchar(40) NOT NULL,
  CONSTRAINT assets_pk PRIMARY KEY (id)
);
CREATE INDEX assets_account ON assets (account_id);

CREATE TABLE history_notes (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  account_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT history_notes_account_fk REFERENCES accounts (id),
  date nvarchar(40) NOT NULL,
  description nvarchar(max) NOT NULL,
  kind nvarchar(max) NULL,
  created_by nvarchar(450) NULL,
  created_at nvarchar(40) NOT NULL,
  updated_at nvarchar(40) NOT NULL,
  rowid bigint IDENTITY(1, 1) NOT NULL,
  CONSTRAINT history_notes_pk PRIMARY KEY (id)
);
CREATE INDEX history_notes_account ON history_notes (account_id);

CREATE TABLE charges (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  account_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT charges_account_fk REFERENCES accounts (id),
  ticket_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL
    CONSTRAINT charges_ticket_fk REFERENCES tickets (id),
  employee_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  item nvarchar(max) NULL,
  description nvarchar(max) NULL,
  quantity nvarchar(max) NULL,
  price nvarchar(max) NULL,
  date nvarchar(40) NULL,
  billable bit NULL,
  created_by nvarchar(450) NULL,
  created_at nvarchar(40) NOT NULL,
  updated_at nvarchar(40) NOT NULL,
  CONSTRAINT charges_pk PRIMARY KEY (id)
);
CREATE INDEX charges_ticket ON charges (ticket_id);

CREATE TABLE counters (
  name nvarchar(100) COLLATE Latin1_General_100_BIN2 NOT NULL,
  value bigint NOT NULL,
  CONSTRAINT counters_pk PRIMARY KEY (name)
);
-- The ticket counter row exists from the start, so that taking a number only ever locks and updates it.
INSERT INTO counters (name, value) VALUES (N'ticket', 0);
`,
  },
  {
    version: 2,
    name: 'processing: outcomes, outbox, thread references, intake queue',
    sql: `
CREATE TABLE thread_refs (
  ref nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  kind nvarchar(40) NOT NULL,
  ticket_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT thread_refs_ticket_fk REFERENCES tickets (id),
  CONSTRAINT thread_refs_pk PRIMARY KEY (ref)
);

CREATE TABLE outcomes (
  [key] nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  source nvarchar(max) NOT NULL,
  message_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  from_address nvarchar(max) NULL,
  subject nvarchar(max) NOT NULL,
  action nvarchar(40) NOT NULL,
  code nvarchar(max) NOT NULL,
  reason nvarchar(max) NOT NULL,
  ticket_number nvarchar(40) NULL,
  account_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  flags nvarchar(max) NOT NULL,
  forwarded_to nvarchar(max) NOT NULL,
  sent nvarchar(max) NOT NULL,
  details nvarchar(max) NULL,
  created_at datetime2(3) NOT NULL,
  rowid bigint IDENTITY(1, 1) NOT NULL,
  CONSTRAINT outcomes_pk PRIMARY KEY ([key])
);
CREATE INDEX outcomes_created ON outcomes (created_at);

CREATE TABLE outbox (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  outcome_key nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  kind nvarchar(40) NOT NULL,
  recipients nvarchar(max) NOT NULL,
  first_recipient nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  subject nvarchar(max) NOT NULL,
  message_id nvarchar(max) NOT NULL,
  mime varbinary(max) NOT NULL,
  state nvarchar(40) NOT NULL DEFAULT N'pending',
  attempts int NOT NULL DEFAULT 0,
  last_error nvarchar(max) NULL,
  created_at datetime2(3) NOT NULL,
  sent_at datetime2(3) NULL,
  rowid bigint IDENTITY(1, 1) NOT NULL,
  CONSTRAINT outbox_pk PRIMARY KEY (id)
);
CREATE INDEX outbox_state ON outbox (state, created_at);
CREATE INDEX outbox_recipient ON outbox (first_recipient, kind, created_at);

CREATE TABLE intake (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  mailbox_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  source nvarchar(max) NOT NULL,
  state nvarchar(40) NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  last_error nvarchar(max) NULL,
  outcome_key nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  lease_owner nvarchar(450) NULL,
  lease_until datetime2(3) NULL,
  next_attempt_at datetime2(3) NOT NULL,
  enqueued_at datetime2(3) NOT NULL,
  updated_at datetime2(3) NOT NULL,
  settled_at datetime2(3) NULL,
  rowid bigint IDENTITY(1, 1) NOT NULL,
  CONSTRAINT intake_pk PRIMARY KEY (id),
  CONSTRAINT intake_mailbox_id_unique UNIQUE (mailbox_id)
);
CREATE INDEX intake_due ON intake (state, next_attempt_at);
`,
  },
  {
    version: 3,
    name: 'adapter state and leases',
    sql: `
CREATE TABLE app_state (
  [key] nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  value nvarchar(max) NOT NULL,
  updated_at datetime2(3) NOT NULL,
  CONSTRAINT app_state_pk PRIMARY KEY ([key])
);
CREATE TABLE leases (
  name nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  owner nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  until datetime2(3) NOT NULL,
  CONSTRAINT leases_pk PRIMARY KEY (name)
);
`,
  },
  {
    version: 4,
    name: 'xml api: fields of the FLD tables, authors, idempotent transaction results',
    sql: `
ALTER TABLE accounts ADD phone2 nvarchar(max) NULL;
ALTER TABLE accounts ADD address2 nvarchar(max) NULL;
ALTER TABLE accounts ADD state nvarchar(max) NULL;
ALTER TABLE accounts ADD notes nvarchar(max) NULL;
ALTER TABLE accounts ADD created_by nvarchar(450) NULL;
ALTER TABLE accounts ADD updated_by nvarchar(450) NULL;
ALTER TABLE tickets ADD due_at nvarchar(40) NULL;
ALTER TABLE tickets ADD worker_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE tickets ADD notes nvarchar(max) NULL;
ALTER TABLE tickets ADD updated_by nvarchar(450) NULL;
ALTER TABLE assets ADD updated_by nvarchar(450) NULL;
ALTER TABLE history_notes ADD updated_by nvarchar(450) NULL;
ALTER TABLE charges ADD updated_by nvarchar(450) NULL;

-- One row per applied XML transaction (message key + index): a retry returns it, writing nothing.
CREATE TABLE api_results (
  [key] nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  result nvarchar(max) NOT NULL,
  created_at datetime2(3) NOT NULL,
  CONSTRAINT api_results_pk PRIMARY KEY ([key])
);
`,
  },
  {
    version: 5,
    name: 'large values in parts',
    sql: `
-- SQLite keeps large values here in 1 MiB parts; this adapter streams varbinary(max) columns instead (see
-- docs/sql-server.md), and keeps the table so that both schemas have the same tables.
CREATE TABLE blob_parts (
  owner nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  part int NOT NULL,
  data varbinary(max) NOT NULL
);
CREATE UNIQUE INDEX blob_parts_owner ON blob_parts (owner, part);
CREATE INDEX intake_unsettled ON intake (settled_at, state, updated_at);
-- A forward of a filed message refers to the document's original instead of holding a second copy.
ALTER TABLE outbox ADD original_document_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL
  CONSTRAINT outbox_original_document_fk REFERENCES documents (id);
`,
  },
  {
    version: 6,
    name: 'send times, flood counts, outcomes by Message-ID',
    sql: `
-- A mail the mailbox refused (or throttled) is not sent again before this time; NULL = at once.
ALTER TABLE outbox ADD next_attempt_at datetime2(3) NULL;
-- Forwards and notices: the sender of the mail they are about, for the per-sender flood limit.
ALTER TABLE outbox ADD about_sender nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
GO
CREATE INDEX outbox_about_sender ON outbox (about_sender, kind, created_at);
CREATE INDEX outbox_kind_created ON outbox (kind, created_at);
CREATE INDEX outcomes_message_id ON outcomes (message_id);
`,
  },
  {
    version: 7,
    name: 'ticket history notes and follow-up tickets',
    sql: `
-- A history note may belong to a ticket (what happened to it: reopened, followed up).
ALTER TABLE history_notes ADD ticket_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL
  CONSTRAINT history_notes_ticket_fk REFERENCES tickets (id);
-- A ticket opened for a reply to a closed ticket names the ticket it follows.
ALTER TABLE tickets ADD follows_ticket_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL
  CONSTRAINT tickets_follows_ticket_fk REFERENCES tickets (id);
GO
CREATE INDEX history_notes_ticket ON history_notes (ticket_id);
`,
  },
  {
    version: 8,
    name: 'xml api: every field code of the reference, and the other five data kinds',
    sql: `
-- A column for every field the CRM's reference lists for these data kinds (docs/xml-api.md).
ALTER TABLE accounts ADD manager_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE accounts ADD sub_contact_status nvarchar(max) NULL;
ALTER TABLE accounts ADD contract_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE accounts ADD assistant nvarchar(max) NULL;
ALTER TABLE accounts ADD last_name nvarchar(max) NULL;
ALTER TABLE accounts ADD dear nvarchar(max) NULL;
ALTER TABLE accounts ADD suffix nvarchar(max) NULL;
ALTER TABLE accounts ADD title nvarchar(max) NULL;
ALTER TABLE accounts ADD department nvarchar(max) NULL;
ALTER TABLE accounts ADD card_id3 nvarchar(max) NULL;
ALTER TABLE accounts ADD person_id nvarchar(max) NULL;
ALTER TABLE accounts ADD sub_code nvarchar(max) NULL;
ALTER TABLE accounts ADD entity_kind nvarchar(max) NULL;
ALTER TABLE accounts ADD kind nvarchar(max) NULL;
ALTER TABLE accounts ADD region_code nvarchar(max) NULL;
ALTER TABLE accounts ADD tax_code1 nvarchar(max) NULL;
ALTER TABLE accounts ADD tax_code2 nvarchar(max) NULL;
ALTER TABLE accounts ADD account_status nvarchar(max) NULL;
ALTER TABLE accounts ADD popup_message nvarchar(max) NULL;
ALTER TABLE accounts ADD show_popup_message bit NULL;
ALTER TABLE accounts ADD address3 nvarchar(max) NULL;
ALTER TABLE accounts ADD phone3 nvarchar(max) NULL;
ALTER TABLE accounts ADD phone4 nvarchar(max) NULL;
ALTER TABLE accounts ADD phone1_desc nvarchar(max) NULL;
ALTER TABLE accounts ADD phone2_desc nvarchar(max) NULL;
ALTER TABLE accounts ADD phone3_desc nvarchar(max) NULL;
ALTER TABLE accounts ADD phone4_desc nvarchar(max) NULL;
ALTER TABLE accounts ADD fax nvarchar(max) NULL;
ALTER TABLE accounts ADD fax_desc nvarchar(max) NULL;
ALTER TABLE accounts ADD url1 nvarchar(max) NULL;
ALTER TABLE accounts ADD url2 nvarchar(max) NULL;
ALTER TABLE accounts ADD user1 nvarchar(max) NULL;
ALTER TABLE accounts ADD user2 nvarchar(max) NULL;
ALTER TABLE accounts ADD user3 nvarchar(max) NULL;
ALTER TABLE accounts ADD user4 nvarchar(max) NULL;
ALTER TABLE accounts ADD user5 nvarchar(max) NULL;
ALTER TABLE accounts ADD docs_folder nvarchar(max) NULL;
ALTER TABLE tickets ADD contract_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE tickets ADD asset_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE tickets ADD estimated_duration nvarchar(max) NULL;
ALTER TABLE tickets ADD for_dispatch bit NULL;
ALTER TABLE tickets ADD solution nvarchar(max) NULL;
ALTER TABLE tickets ADD user1 nvarchar(max) NULL;
ALTER TABLE assets ADD contact_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE assets ADD location nvarchar(max) NULL;
ALTER TABLE assets ADD notes nvarchar(max) NULL;
ALTER TABLE assets ADD quantity nvarchar(max) NULL;
ALTER TABLE assets ADD version nvarchar(max) NULL;
ALTER TABLE assets ADD manufacturer nvarchar(max) NULL;
ALTER TABLE assets ADD manufacturer_serial_no nvarchar(max) NULL;
ALTER TABLE assets ADD model nvarchar(max) NULL;
ALTER TABLE assets ADD purchase_date nvarchar(40) NULL;
ALTER TABLE assets ADD purchased_from_us bit NULL;
ALTER TABLE assets ADD purchase_invoice_no nvarchar(max) NULL;
ALTER TABLE assets ADD purchase_order_no nvarchar(max) NULL;
ALTER TABLE assets ADD purchase_price nvarchar(max) NULL;
ALTER TABLE assets ADD delivered_date nvarchar(40) NULL;
ALTER TABLE assets ADD installed_by nvarchar(max) NULL;
ALTER TABLE assets ADD installed_date nvarchar(40) NULL;
ALTER TABLE assets ADD license_code nvarchar(max) NULL;
ALTER TABLE assets ADD license_keys nvarchar(max) NULL;
ALTER TABLE assets ADD license_notes nvarchar(max) NULL;
ALTER TABLE assets ADD vendor_purchase_date nvarchar(40) NULL;
ALTER TABLE assets ADD vendor_invoice_no nvarchar(max) NULL;
ALTER TABLE assets ADD vendor_purchase_order_no nvarchar(max) NULL;
ALTER TABLE assets ADD vendor_price nvarchar(max) NULL;
ALTER TABLE assets ADD vendor_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE assets ADD vendor_serial_no nvarchar(max) NULL;
ALTER TABLE assets ADD vendor_warranty_expires nvarchar(40) NULL;
ALTER TABLE assets ADD warranty_expires nvarchar(40) NULL;
ALTER TABLE assets ADD user1 nvarchar(max) NULL;
ALTER TABLE assets ADD user2 nvarchar(max) NULL;
ALTER TABLE assets ADD user3 nvarchar(max) NULL;
ALTER TABLE assets ADD user4 nvarchar(max) NULL;
ALTER TABLE assets ADD user5 nvarchar(max) NULL;
ALTER TABLE assets ADD user_date1 nvarchar(40) NULL;
ALTER TABLE assets ADD user_number1 nvarchar(max) NULL;
ALTER TABLE history_notes ADD link_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE history_notes ADD worker_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE history_notes ADD contact_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE history_notes ADD document_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE history_notes ADD user1 nvarchar(max) NULL;
ALTER TABLE charges ADD source_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE charges ADD contract_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE charges ADD hours_amount nvarchar(max) NULL;
ALTER TABLE charges ADD adjust_amount nvarchar(max) NULL;
ALTER TABLE charges ADD adjust_percent nvarchar(max) NULL;
ALTER TABLE charges ADD start_time nvarchar(40) NULL;
ALTER TABLE charges ADD end_time nvarchar(40) NULL;
ALTER TABLE charges ADD stage nvarchar(max) NULL;
ALTER TABLE charges ADD user1 nvarchar(max) NULL;

-- The other five data kinds of the CRM's XML API. Links are checked when a transaction is applied.
CREATE TABLE opportunities (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  account_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT opportunities_account_fk REFERENCES accounts (id),
  contact_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  worker_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  name nvarchar(max) NOT NULL,
  description nvarchar(max) NULL,
  status nvarchar(max) NULL,
  stage nvarchar(max) NULL,
  probability nvarchar(max) NULL,
  amount nvarchar(max) NULL,
  open_date nvarchar(40) NULL,
  close_date nvarchar(40) NULL,
  source nvarchar(max) NULL,
  user1 nvarchar(max) NULL,
  created_by nvarchar(450) NULL,
  updated_by nvarchar(450) NULL,
  created_at nvarchar(40) NOT NULL,
  updated_at nvarchar(40) NOT NULL,
  CONSTRAINT opportunities_pk PRIMARY KEY (id)
);
CREATE INDEX opportunities_account ON opportunities (account_id);

-- Documents named by XML transactions; filed mail stays in the documents table.
CREATE TABLE document_records (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  account_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT document_records_account_fk REFERENCES accounts (id),
  contact_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  ticket_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  worker_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  description nvarchar(max) NOT NULL,
  date nvarchar(40) NOT NULL,
  file_name nvarchar(max) NULL,
  status nvarchar(max) NULL,
  user1 nvarchar(max) NULL,
  created_by nvarchar(450) NULL,
  updated_by nvarchar(450) NULL,
  created_at nvarchar(40) NOT NULL,
  updated_at nvarchar(40) NOT NULL,
  CONSTRAINT document_records_pk PRIMARY KEY (id)
);
CREATE INDEX document_records_account ON document_records (account_id);
CREATE INDEX document_records_ticket ON document_records (ticket_id);

CREATE TABLE appointments_tasks (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  family nvarchar(40) NOT NULL,
  account_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  contact_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  ticket_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  worker_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  description nvarchar(max) NOT NULL,
  date nvarchar(40) NULL,
  start_time nvarchar(40) NULL,
  end_time nvarchar(40) NULL,
  location nvarchar(max) NULL,
  status nvarchar(max) NULL,
  done bit NULL,
  user1 nvarchar(max) NULL,
  created_by nvarchar(450) NULL,
  updated_by nvarchar(450) NULL,
  created_at nvarchar(40) NOT NULL,
  updated_at nvarchar(40) NOT NULL,
  CONSTRAINT appointments_tasks_pk PRIMARY KEY (id)
);
CREATE INDEX appointments_tasks_account ON appointments_tasks (account_id);
CREATE INDEX appointments_tasks_ticket ON appointments_tasks (ticket_id);

CREATE TABLE items (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  type_group nvarchar(max) NULL,
  item_no nvarchar(450) NULL,
  name nvarchar(max) NOT NULL,
  price_source nvarchar(max) NULL,
  unit_is_hour bit NULL,
  unit_price nvarchar(max) NULL,
  standard_cost nvarchar(max) NULL,
  tax_code1 nvarchar(max) NULL,
  tax_code2 nvarchar(max) NULL,
  tax_code3 nvarchar(max) NULL,
  desc_by_name bit NULL,
  description nvarchar(max) NULL,
  suspended bit NULL,
  notes nvarchar(max) NULL,
  user1 nvarchar(max) NULL,
  created_by nvarchar(450) NULL,
  updated_by nvarchar(450) NULL,
  created_at nvarchar(40) NOT NULL,
  updated_at nvarchar(40) NOT NULL,
  CONSTRAINT items_pk PRIMARY KEY (id)
);
CREATE INDEX items_item_no ON items (item_no);

CREATE TABLE kb_articles (
  id nvarchar(450) COLLATE Latin1_General_100_BIN2 NOT NULL,
  title nvarchar(max) NOT NULL,
  problem nvarchar(max) NULL,
  solution nvarchar(max) NULL,
  category nvarchar(max) NULL,
  status nvarchar(max) NULL,
  date nvarchar(40) NULL,
  account_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  ticket_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  worker_id nvarchar(450) COLLATE Latin1_General_100_BIN2 NULL,
  user1 nvarchar(max) NULL,
  created_by nvarchar(450) NULL,
  updated_by nvarchar(450) NULL,
  created_at nvarchar(40) NOT NULL,
  updated_at nvarchar(40) NOT NULL,
  CONSTRAINT kb_articles_pk PRIMARY KEY (id)
);
`,
  },
  {
    version: 9,
    name: 'the support mailbox of each outcome',
    sql: `
-- Which support mailbox the message came to (several can be served); NULL for earlier outcomes and files.
ALTER TABLE outcomes ADD mailbox nvarchar(450) NULL;
`,
  },
  {
    version: 10,
    name: 'attachments read from the filed original',
    sql: `
-- Which attachment of the filed raw MIME this is (0 = first, in the order the connector reads them): its bytes
-- are there, stored once. NULL for earlier rows, whose bytes are stored with the row.
ALTER TABLE attachments ADD mime_position int NULL;
`,
  },
  {
    version: 11,
    name: 'the outbox keeps the original of an unfiled forward once',
    sql: `
-- The original of a forward whose message is not filed: the forward's MIME carries a placeholder for it, and the
-- outbox keeps it once, apart. NULL: no such original.
ALTER TABLE outbox ADD original varbinary(max) NULL;
`,
  },
];

/** The batches of a migration: its text split at lines that hold only `GO`, as sqlcmd and SSMS do. */
export function migrationBatches(sql: string): string[] {
  return sql
    .split(/^\s*GO\s*$/im)
    .map((batch) => batch.trim())
    .filter((batch) => batch.length > 0);
}
