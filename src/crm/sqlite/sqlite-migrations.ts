/** Versioned schema; each entry runs once, in order, inside a transaction. Never edit a shipped entry. */
export const sqliteMigrations: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'crm data model',
    sql: `
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        company TEXT NOT NULL,
        file_as TEXT NOT NULL,
        email1 TEXT, email1_key TEXT,
        email2 TEXT, email2_key TEXT,
        account_number TEXT,
        foreign_id TEXT,
        custom_fields TEXT NOT NULL DEFAULT '{}',
        contact TEXT, phone TEXT, address TEXT, city TEXT, zip TEXT, country TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX accounts_email1_key ON accounts(email1_key);
      CREATE INDEX accounts_email2_key ON accounts(email2_key);
      CREATE INDEX accounts_file_as ON accounts(file_as COLLATE NOCASE);
      CREATE INDEX accounts_foreign_id ON accounts(foreign_id);

      CREATE TABLE contacts (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        email TEXT, email_key TEXT
      );
      CREATE INDEX contacts_email_key ON contacts(email_key);
      CREATE INDEX contacts_account ON contacts(account_id);

      CREATE TABLE employees (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        email1 TEXT, email1_key TEXT,
        email2 TEXT, email2_key TEXT,
        active INTEGER NOT NULL DEFAULT 1
      );
      CREATE INDEX employees_email1_key ON employees(email1_key);
      CREATE INDEX employees_email2_key ON employees(email2_key);

      CREATE TABLE tickets (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        number TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        contact_id TEXT REFERENCES contacts(id),
        subject TEXT NOT NULL,
        status TEXT NOT NULL,
        priority TEXT, kind TEXT, source TEXT,
        created_by TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX tickets_account ON tickets(account_id);

      CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        ticket_id TEXT NOT NULL REFERENCES tickets(id),
        account_id TEXT NOT NULL REFERENCES accounts(id),
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL,
        date TEXT NOT NULL,
        subject TEXT NOT NULL,
        text_body TEXT NOT NULL,
        html_body TEXT,
        message_id TEXT,
        raw BLOB NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX documents_ticket ON documents(ticket_id);

      CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        document_id TEXT NOT NULL REFERENCES documents(id),
        filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        content BLOB NOT NULL
      );
      CREATE INDEX attachments_document ON attachments(document_id);

      CREATE TABLE assets (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        asset_type TEXT, status TEXT, serial_no TEXT, code TEXT, description TEXT,
        created_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX assets_account ON assets(account_id);

      CREATE TABLE history_notes (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        date TEXT NOT NULL,
        description TEXT NOT NULL,
        kind TEXT,
        created_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX history_notes_account ON history_notes(account_id);

      CREATE TABLE charges (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        ticket_id TEXT REFERENCES tickets(id),
        employee_id TEXT,
        item TEXT, description TEXT,
        quantity TEXT, price TEXT, date TEXT,
        billable INTEGER,
        created_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX charges_ticket ON charges(ticket_id);

      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `,
  },
  {
    version: 2,
    name: 'processing: outcomes, outbox, thread references, intake queue',
    sql: `
      CREATE TABLE thread_refs (
        ref TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        ticket_id TEXT NOT NULL REFERENCES tickets(id)
      );

      CREATE TABLE outcomes (
        key TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        message_id TEXT,
        from_address TEXT,
        subject TEXT NOT NULL,
        action TEXT NOT NULL,
        code TEXT NOT NULL,
        reason TEXT NOT NULL,
        ticket_number TEXT,
        account_id TEXT,
        flags TEXT NOT NULL,
        forwarded_to TEXT NOT NULL,
        sent TEXT NOT NULL,
        details TEXT,
        created_at TEXT NOT NULL
      );
      CREATE INDEX outcomes_created ON outcomes(created_at);

      CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        outcome_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        recipients TEXT NOT NULL,
        first_recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        message_id TEXT NOT NULL,
        mime BLOB NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
      );
      CREATE INDEX outbox_state ON outbox(state, created_at);
      CREATE INDEX outbox_recipient ON outbox(first_recipient, kind, created_at);

      CREATE TABLE intake (
        id TEXT PRIMARY KEY,
        mailbox_id TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        outcome_key TEXT,
        lease_owner TEXT,
        lease_until TEXT,
        next_attempt_at TEXT NOT NULL,
        enqueued_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        settled_at TEXT
      );
      CREATE INDEX intake_due ON intake(state, next_attempt_at);
    `,
  },
  {
    version: 3,
    name: 'adapter state and leases',
    sql: `
      CREATE TABLE app_state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until TEXT NOT NULL);
    `,
  },
  {
    version: 4,
    name: 'xml api: fields of the FLD tables, authors, idempotent transaction results',
    sql: `
      ALTER TABLE accounts ADD COLUMN phone2 TEXT;
      ALTER TABLE accounts ADD COLUMN address2 TEXT;
      ALTER TABLE accounts ADD COLUMN state TEXT;
      ALTER TABLE accounts ADD COLUMN notes TEXT;
      ALTER TABLE accounts ADD COLUMN created_by TEXT;
      ALTER TABLE accounts ADD COLUMN updated_by TEXT;
      ALTER TABLE tickets ADD COLUMN due_at TEXT;
      ALTER TABLE tickets ADD COLUMN worker_id TEXT;
      ALTER TABLE tickets ADD COLUMN notes TEXT;
      ALTER TABLE tickets ADD COLUMN updated_by TEXT;
      ALTER TABLE assets ADD COLUMN updated_by TEXT;
      ALTER TABLE history_notes ADD COLUMN updated_by TEXT;
      ALTER TABLE charges ADD COLUMN updated_by TEXT;

      -- One row per applied XML transaction (message key + index): a retry returns it, writing nothing.
      CREATE TABLE api_results (key TEXT PRIMARY KEY, result TEXT NOT NULL, created_at TEXT NOT NULL);
    `,
  },
  {
    version: 5,
    name: 'large values in parts',
    sql: `
      -- Raw MIME, attachment content and outbox MIME, in 1 MiB parts (the old columns stay empty).
      CREATE TABLE blob_parts (
        owner TEXT NOT NULL,
        part INTEGER NOT NULL,
        data BLOB NOT NULL
      );
      CREATE UNIQUE INDEX blob_parts_owner ON blob_parts(owner, part);
      CREATE INDEX intake_unsettled ON intake(settled_at, state, updated_at);
      -- A forward of a filed message refers to the document's original instead of holding a second copy.
      ALTER TABLE outbox ADD COLUMN original_document_id TEXT REFERENCES documents(id);
    `,
  },
  {
    version: 6,
    name: 'send times, flood counts, outcomes by Message-ID',
    sql: `
      -- A mail the mailbox refused (or throttled) is not sent again before this time; NULL = at once.
      ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
      -- Forwards and notices: the sender of the mail they are about, for the per-sender flood limit.
      ALTER TABLE outbox ADD COLUMN about_sender TEXT;
      CREATE INDEX outbox_about_sender ON outbox(about_sender, kind, created_at);
      CREATE INDEX outbox_kind_created ON outbox(kind, created_at);
      CREATE INDEX outcomes_message_id ON outcomes(message_id);
    `,
  },
  {
    version: 7,
    name: 'ticket history notes and follow-up tickets',
    sql: `
      -- A history note may belong to a ticket (what happened to it: reopened, followed up).
      ALTER TABLE history_notes ADD COLUMN ticket_id TEXT REFERENCES tickets(id);
      CREATE INDEX history_notes_ticket ON history_notes(ticket_id);
      -- A ticket opened for a reply to a closed ticket names the ticket it follows.
      ALTER TABLE tickets ADD COLUMN follows_ticket_id TEXT REFERENCES tickets(id);
    `,
  },
  {
    version: 8,
    name: 'xml api: every field code of the reference, and the other five data kinds',
    sql: `
      -- A column for every field the CRM's reference lists for these data kinds (docs/xml-api.md).
      ALTER TABLE accounts ADD COLUMN manager_id TEXT;
      ALTER TABLE accounts ADD COLUMN sub_contact_status TEXT;
      ALTER TABLE accounts ADD COLUMN contract_id TEXT;
      ALTER TABLE accounts ADD COLUMN assistant TEXT;
      ALTER TABLE accounts ADD COLUMN last_name TEXT;
      ALTER TABLE accounts ADD COLUMN dear TEXT;
      ALTER TABLE accounts ADD COLUMN suffix TEXT;
      ALTER TABLE accounts ADD COLUMN title TEXT;
      ALTER TABLE accounts ADD COLUMN department TEXT;
      ALTER TABLE accounts ADD COLUMN card_id3 TEXT;
      ALTER TABLE accounts ADD COLUMN person_id TEXT;
      ALTER TABLE accounts ADD COLUMN sub_code TEXT;
      ALTER TABLE accounts ADD COLUMN entity_kind TEXT;
      ALTER TABLE accounts ADD COLUMN kind TEXT;
      ALTER TABLE accounts ADD COLUMN region_code TEXT;
      ALTER TABLE accounts ADD COLUMN tax_code1 TEXT;
      ALTER TABLE accounts ADD COLUMN tax_code2 TEXT;
      ALTER TABLE accounts ADD COLUMN account_status TEXT;
      ALTER TABLE accounts ADD COLUMN popup_message TEXT;
      ALTER TABLE accounts ADD COLUMN show_popup_message INTEGER;
      ALTER TABLE accounts ADD COLUMN address3 TEXT;
      ALTER TABLE accounts ADD COLUMN phone3 TEXT;
      ALTER TABLE accounts ADD COLUMN phone4 TEXT;
      ALTER TABLE accounts ADD COLUMN phone1_desc TEXT;
      ALTER TABLE accounts ADD COLUMN phone2_desc TEXT;
      ALTER TABLE accounts ADD COLUMN phone3_desc TEXT;
      ALTER TABLE accounts ADD COLUMN phone4_desc TEXT;
      ALTER TABLE accounts ADD COLUMN fax TEXT;
      ALTER TABLE accounts ADD COLUMN fax_desc TEXT;
      ALTER TABLE accounts ADD COLUMN url1 TEXT;
      ALTER TABLE accounts ADD COLUMN url2 TEXT;
      ALTER TABLE accounts ADD COLUMN user1 TEXT;
      ALTER TABLE accounts ADD COLUMN user2 TEXT;
      ALTER TABLE accounts ADD COLUMN user3 TEXT;
      ALTER TABLE accounts ADD COLUMN user4 TEXT;
      ALTER TABLE accounts ADD COLUMN user5 TEXT;
      ALTER TABLE accounts ADD COLUMN docs_folder TEXT;
      ALTER TABLE tickets ADD COLUMN contract_id TEXT;
      ALTER TABLE tickets ADD COLUMN asset_id TEXT;
      ALTER TABLE tickets ADD COLUMN estimated_duration TEXT;
      ALTER TABLE tickets ADD COLUMN for_dispatch INTEGER;
      ALTER TABLE tickets ADD COLUMN solution TEXT;
      ALTER TABLE tickets ADD COLUMN user1 TEXT;
      ALTER TABLE assets ADD COLUMN contact_id TEXT;
      ALTER TABLE assets ADD COLUMN location TEXT;
      ALTER TABLE assets ADD COLUMN notes TEXT;
      ALTER TABLE assets ADD COLUMN quantity TEXT;
      ALTER TABLE assets ADD COLUMN version TEXT;
      ALTER TABLE assets ADD COLUMN manufacturer TEXT;
      ALTER TABLE assets ADD COLUMN manufacturer_serial_no TEXT;
      ALTER TABLE assets ADD COLUMN model TEXT;
      ALTER TABLE assets ADD COLUMN purchase_date TEXT;
      ALTER TABLE assets ADD COLUMN purchased_from_us INTEGER;
      ALTER TABLE assets ADD COLUMN purchase_invoice_no TEXT;
      ALTER TABLE assets ADD COLUMN purchase_order_no TEXT;
      ALTER TABLE assets ADD COLUMN purchase_price TEXT;
      ALTER TABLE assets ADD COLUMN delivered_date TEXT;
      ALTER TABLE assets ADD COLUMN installed_by TEXT;
      ALTER TABLE assets ADD COLUMN installed_date TEXT;
      ALTER TABLE assets ADD COLUMN license_code TEXT;
      ALTER TABLE assets ADD COLUMN license_keys TEXT;
      ALTER TABLE assets ADD COLUMN license_notes TEXT;
      ALTER TABLE assets ADD COLUMN vendor_purchase_date TEXT;
      ALTER TABLE assets ADD COLUMN vendor_invoice_no TEXT;
      ALTER TABLE assets ADD COLUMN vendor_purchase_order_no TEXT;
      ALTER TABLE assets ADD COLUMN vendor_price TEXT;
      ALTER TABLE assets ADD COLUMN vendor_id TEXT;
      ALTER TABLE assets ADD COLUMN vendor_serial_no TEXT;
      ALTER TABLE assets ADD COLUMN vendor_warranty_expires TEXT;
      ALTER TABLE assets ADD COLUMN warranty_expires TEXT;
      ALTER TABLE assets ADD COLUMN user1 TEXT;
      ALTER TABLE assets ADD COLUMN user2 TEXT;
      ALTER TABLE assets ADD COLUMN user3 TEXT;
      ALTER TABLE assets ADD COLUMN user4 TEXT;
      ALTER TABLE assets ADD COLUMN user5 TEXT;
      ALTER TABLE assets ADD COLUMN user_date1 TEXT;
      ALTER TABLE assets ADD COLUMN user_number1 TEXT;
      ALTER TABLE history_notes ADD COLUMN link_id TEXT;
      ALTER TABLE history_notes ADD COLUMN worker_id TEXT;
      ALTER TABLE history_notes ADD COLUMN contact_id TEXT;
      ALTER TABLE history_notes ADD COLUMN document_id TEXT;
      ALTER TABLE history_notes ADD COLUMN user1 TEXT;
      ALTER TABLE charges ADD COLUMN source_id TEXT;
      ALTER TABLE charges ADD COLUMN contract_id TEXT;
      ALTER TABLE charges ADD COLUMN hours_amount TEXT;
      ALTER TABLE charges ADD COLUMN adjust_amount TEXT;
      ALTER TABLE charges ADD COLUMN adjust_percent TEXT;
      ALTER TABLE charges ADD COLUMN start_time TEXT;
      ALTER TABLE charges ADD COLUMN end_time TEXT;
      ALTER TABLE charges ADD COLUMN stage TEXT;
      ALTER TABLE charges ADD COLUMN user1 TEXT;

      -- The other five data kinds of the CRM's XML API. Links are checked when a transaction is applied.
      CREATE TABLE opportunities (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        contact_id TEXT, worker_id TEXT,
        name TEXT NOT NULL,
        description TEXT, status TEXT, stage TEXT, probability TEXT, amount TEXT,
        open_date TEXT, close_date TEXT, source TEXT, user1 TEXT,
        created_by TEXT, updated_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX opportunities_account ON opportunities(account_id);

      -- Documents named by XML transactions; filed mail stays in the documents table.
      CREATE TABLE document_records (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        contact_id TEXT, ticket_id TEXT, worker_id TEXT,
        description TEXT NOT NULL,
        date TEXT NOT NULL,
        file_name TEXT, status TEXT, user1 TEXT,
        created_by TEXT, updated_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX document_records_account ON document_records(account_id);
      CREATE INDEX document_records_ticket ON document_records(ticket_id);

      CREATE TABLE appointments_tasks (
        id TEXT PRIMARY KEY,
        family TEXT NOT NULL,
        account_id TEXT, contact_id TEXT, ticket_id TEXT, worker_id TEXT,
        description TEXT NOT NULL,
        date TEXT, start_time TEXT, end_time TEXT, location TEXT, status TEXT, done INTEGER, user1 TEXT,
        created_by TEXT, updated_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX appointments_tasks_account ON appointments_tasks(account_id);
      CREATE INDEX appointments_tasks_ticket ON appointments_tasks(ticket_id);

      CREATE TABLE items (
        id TEXT PRIMARY KEY,
        type_group TEXT, item_no TEXT,
        name TEXT NOT NULL,
        price_source TEXT, unit_is_hour INTEGER, unit_price TEXT, standard_cost TEXT,
        tax_code1 TEXT, tax_code2 TEXT, tax_code3 TEXT,
        desc_by_name INTEGER, description TEXT, suspended INTEGER, notes TEXT, user1 TEXT,
        created_by TEXT, updated_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX items_item_no ON items(item_no);

      CREATE TABLE kb_articles (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        problem TEXT, solution TEXT, category TEXT, status TEXT, date TEXT,
        account_id TEXT, ticket_id TEXT, worker_id TEXT, user1 TEXT,
        created_by TEXT, updated_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'the support mailbox of each outcome',
    sql: `
      -- Which support mailbox the message came to (several can be served); NULL for earlier outcomes and files.
      ALTER TABLE outcomes ADD COLUMN mailbox TEXT;
    `,
  },
  {
    version: 10,
    name: 'attachments read from the filed original',
    sql: `
      -- Which attachment of the filed raw MIME this is (0 = first, in the order the connector reads them): its bytes
      -- are there, stored once. NULL for earlier rows, whose bytes are stored with the row.
      ALTER TABLE attachments ADD COLUMN mime_position INTEGER;
    `,
  },
  {
    version: 11,
    name: 'the outbox keeps the original of an unfiled forward once',
    sql: `
      -- The original of a forward whose message is not filed: the forward's MIME carries a placeholder for it, and
      -- the outbox keeps it once, apart. NULL: no such original; here it is an empty value and the original is in
      -- blob_parts under the owner outbox-original:<outbox id>.
      ALTER TABLE outbox ADD COLUMN original BLOB;
    `,
  },
];
