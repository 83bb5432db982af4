import { xmlDataKinds, xmlLinkTargets } from '../../domain/xml-api/data-kinds.ts';
import type { XmlDataKindSpec } from '../../domain/xml-api/data-kinds.ts';
import { sql, type ParamKind, type SqlStatement } from './sql-statement.ts';

/*
 * Every statement the SQL Server adapter sends, in one place, each with the parameters it binds. Values always
 * go as parameters; the only text ever put together is the column list of an XML API write, and its column and
 * table names come from the domain's field tables (domain/xml-api/data-kinds.ts), never from a transaction.
 * test/crm/sqlserver-statements.test.ts parses each one with a T-SQL grammar.
 *
 * Conventions: `[key]` is bracketed (KEY is reserved); a list of values goes as one JSON array read with
 * OPENJSON, compared under the ids' binary collation; "oldest first" lists break ties by `rowid`, insertion
 * order, as SQLite does.
 */

const ids = 'SELECT value COLLATE Latin1_General_100_BIN2 FROM OPENJSON';

export const sqlStatements = {
  ping: sql('SELECT 1 AS ok'),

  // Schema migrations (see schema-migrator.ts).
  migrationsTableExists: sql(`SELECT OBJECT_ID(N'schema_migrations', N'U') AS id`),
  createMigrationsTable: sql(`
    IF OBJECT_ID(N'schema_migrations', N'U') IS NULL
      CREATE TABLE schema_migrations (
        version int NOT NULL,
        name nvarchar(200) NOT NULL,
        applied_at datetime2(3) NOT NULL,
        CONSTRAINT schema_migrations_pk PRIMARY KEY (version)
      )`),
  /** Held until the migration run's transaction ends: two instances starting at once migrate one after the other. */
  lockSchema: sql(
    `
    DECLARE @result int;
    EXEC @result = sp_getapplock N'email-connector:schema', 'Exclusive', 'Transaction', @timeoutMs;
    SELECT @result AS result`,
    { timeoutMs: 'int' },
  ),
  appliedMigrations: sql('SELECT version, name, applied_at FROM schema_migrations ORDER BY version'),
  recordMigration: sql(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @appliedAt)',
    { version: 'int', name: 'text', appliedAt: 'time' },
  ),

  // Look-ups for the decision: index seeks on the match keys, ticket sequence and thread references.
  accountsByAddress: sql(
    `SELECT a.*, 'email1' AS via FROM accounts a WHERE a.email1_key = @key
     UNION ALL SELECT a.*, 'email2' AS via FROM accounts a WHERE a.email2_key = @key`,
    { key: 'text' },
  ),
  contactsByAddress: sql(
    `SELECT a.*, c.id AS contact_row_id FROM contacts c JOIN accounts a ON a.id = c.account_id
     WHERE c.email_key = @key ORDER BY c.id`,
    { key: 'text' },
  ),
  accountsByDomain: sql(
    `SELECT a.* FROM accounts a WHERE a.id IN (
       SELECT id FROM accounts WHERE email1_key = @key
       UNION SELECT id FROM accounts WHERE email2_key = @key
       UNION SELECT account_id FROM contacts WHERE email_key = @key)
     ORDER BY a.id`,
    { key: 'text' },
  ),
  accountById: sql('SELECT * FROM accounts WHERE id = @id', { id: 'text' }),
  accountsByIds: sql(`SELECT * FROM accounts WHERE id IN (${ids}(@ids)) ORDER BY id`, { ids: 'text' }),
  /** file_as is case-insensitive by its collation, so this is a seek on accounts_file_as. */
  accountsByName: sql('SELECT * FROM accounts WHERE file_as = @name ORDER BY id', { name: 'text' }),
  /** A scan, used only by automated-email rules that name accounts without a subject pattern. */
  accountNameCandidates: sql(
    `SELECT * FROM accounts WHERE file_as <> N'' AND CHARINDEX(file_as, @text) > 0 ORDER BY id`,
    { text: 'text' },
  ),
  accountsByForeignId: sql(`SELECT * FROM accounts WHERE foreign_id IN (${ids}(@values)) ORDER BY id`, {
    values: 'text',
  }),
  /** `@path` is `$."field name"`, the custom field's JSON path (SQL Server 2017 and later take it as a parameter). */
  accountsByCustomField: sql(
    `SELECT * FROM accounts WHERE JSON_VALUE(custom_fields, @path) IN (${ids}(@values)) ORDER BY id`,
    { path: 'text', values: 'text' },
  ),
  employeesByAddress: sql(
    'SELECT * FROM employees WHERE email1_key = @key OR email2_key = @key ORDER BY id',
    { key: 'text' },
  ),
  ticketBySeq: sql('SELECT * FROM tickets WHERE seq = @seq', { seq: 'bigint' }),
  ticketByThreadRef: sql(
    `SELECT t.*, r.kind AS ref_kind FROM thread_refs r JOIN tickets t ON t.id = r.ticket_id WHERE r.ref = @ref`,
    { ref: 'text' },
  ),
  documentsOfTicket: sql(
    `SELECT id, ticket_id, account_id, sender, recipients, date, subject, message_id
       FROM documents WHERE ticket_id = @ticketId ORDER BY created_at, rowid`,
    { ticketId: 'text' },
  ),
  attachmentsOfTicket: sql(
    `SELECT a.document_id, a.filename, a.content_type, a.size, a.mime_position
       FROM attachments a JOIN documents d ON d.id = a.document_id
       WHERE d.ticket_id = @ticketId ORDER BY a.id`,
    { ticketId: 'text' },
  ),
  historyOfTicket: sql(
    'SELECT date, description FROM history_notes WHERE ticket_id = @ticketId ORDER BY date, rowid',
    { ticketId: 'text' },
  ),
  documentRaw: sql('SELECT raw FROM documents WHERE id = @id', { id: 'text' }),
  counts: sql(
    `SELECT (SELECT COUNT(*) FROM accounts) AS accounts, (SELECT COUNT(*) FROM contacts) AS contacts,
       (SELECT COUNT(*) FROM employees) AS employees, (SELECT COUNT(*) FROM tickets) AS tickets,
       (SELECT COUNT(*) FROM documents) AS documents, (SELECT COUNT(*) FROM outcomes) AS outcomes`,
  ),

  // Ticket numbers: the counter row is locked (UPDLOCK, HOLDLOCK) until the transaction ends, so instances
  // sharing the database take numbers one after the other and never the same one.
  ticketCounterLocked: sql(`SELECT value FROM counters WITH (UPDLOCK, HOLDLOCK) WHERE name = N'ticket'`),
  highestTicketSeq: sql('SELECT COALESCE(MAX(seq), 0) AS highest FROM tickets'),
  updateTicketCounter: sql(`UPDATE counters SET value = @value WHERE name = N'ticket'`, { value: 'bigint' }),
  insertTicketCounter: sql(`INSERT INTO counters (name, value) VALUES (N'ticket', @value)`, {
    value: 'bigint',
  }),

  // Import: update in place, insert when there was nothing to update (one transaction for the whole file).
  updateAccount: sql(
    `UPDATE accounts SET company = @company, file_as = @fileAs, email1 = @email1, email1_key = @email1Key,
       email2 = @email2, email2_key = @email2Key, account_number = @accountNumber, foreign_id = @foreignId,
       custom_fields = @customFields, contact = @contact, phone = @phone, address = @address, city = @city,
       zip = @zip, country = @country, updated_at = @now
     WHERE id = @id`,
    accountParams(),
  ),
  insertAccount: sql(
    `INSERT INTO accounts (id, company, file_as, email1, email1_key, email2, email2_key, account_number,
       foreign_id, custom_fields, contact, phone, address, city, zip, country, created_at, updated_at)
     VALUES (@id, @company, @fileAs, @email1, @email1Key, @email2, @email2Key, @accountNumber,
       @foreignId, @customFields, @contact, @phone, @address, @city, @zip, @country, @now, @now)`,
    accountParams(),
  ),
  updateContact: sql(
    `UPDATE contacts SET account_id = @accountId, name = @name, email = @email, email_key = @emailKey
     WHERE id = @id`,
    { id: 'text', accountId: 'text', name: 'text', email: 'text', emailKey: 'text' },
  ),
  insertContact: sql(
    `INSERT INTO contacts (id, account_id, name, email, email_key)
     VALUES (@id, @accountId, @name, @email, @emailKey)`,
    { id: 'text', accountId: 'text', name: 'text', email: 'text', emailKey: 'text' },
  ),
  updateEmployee: sql(
    `UPDATE employees SET name = @name, email1 = @email1, email1_key = @email1Key, email2 = @email2,
       email2_key = @email2Key, active = @active
     WHERE id = @id`,
    employeeParams(),
  ),
  insertEmployee: sql(
    `INSERT INTO employees (id, name, email1, email1_key, email2, email2_key, active)
     VALUES (@id, @name, @email1, @email1Key, @email2, @email2Key, @active)`,
    employeeParams(),
  ),
  accountExists: sql('SELECT 1 AS found FROM accounts WHERE id = @id', { id: 'text' }),
  contactOfAccount: sql('SELECT 1 AS found FROM contacts WHERE id = @id AND account_id = @accountId', {
    id: 'text',
    accountId: 'text',
  }),
  ticketIdBySeq: sql('SELECT id, number FROM tickets WHERE seq = @seq', { seq: 'bigint' }),
  ticketNumberById: sql('SELECT number FROM tickets WHERE id = @id', { id: 'text' }),
  updateImportedTicket: sql(
    `UPDATE tickets SET seq = @seq, number = @number, account_id = @accountId, contact_id = @contactId,
       subject = @subject, status = @status, priority = @priority, kind = @kind, source = @source,
       updated_at = @now
     WHERE id = @id`,
    importedTicketParams(),
  ),
  insertImportedTicket: sql(
    `INSERT INTO tickets (id, seq, number, account_id, contact_id, subject, status, priority, kind, source,
       created_by, created_at, updated_at)
     VALUES (@id, @seq, @number, @accountId, @contactId, @subject, @status, @priority, @kind, @source,
       N'import', @now, @now)`,
    importedTicketParams(),
  ),

  // One processed message (commitProcessing), all in one transaction.
  /** Locks the key (even when no outcome has it yet) so that two workers committing one message queue up. */
  outcomeLocked: sql('SELECT * FROM outcomes WITH (UPDLOCK, HOLDLOCK) WHERE [key] = @key', { key: 'text' }),
  deleteOutcome: sql('DELETE FROM outcomes WHERE [key] = @key', { key: 'text' }),
  intakeOutcomeKey: sql('SELECT outcome_key FROM intake WHERE id = @id', { id: 'text' }),
  insertTicket: sql(
    `INSERT INTO tickets (id, seq, number, account_id, contact_id, subject, status, priority, kind, source,
       follows_ticket_id, created_by, created_at, updated_at)
     VALUES (@id, @seq, @number, @accountId, @contactId, @subject, @status, @priority, @kind, @source,
       @followsTicketId, N'email-connector', @now, @now)`,
    {
      id: 'text',
      seq: 'bigint',
      number: 'text',
      accountId: 'text',
      contactId: 'text',
      subject: 'text',
      status: 'text',
      priority: 'text',
      kind: 'text',
      source: 'text',
      followsTicketId: 'text',
      now: 'text',
    },
  ),
  updateTicketStatus: sql(
    `UPDATE tickets SET status = @status, updated_at = @now, updated_by = N'email-connector' WHERE id = @id`,
    { id: 'text', status: 'text', now: 'text' },
  ),
  insertHistoryNote: sql(
    `INSERT INTO history_notes (id, account_id, ticket_id, date, description, kind, created_by, created_at,
       updated_at)
     VALUES (@id, @accountId, @ticketId, @now, @description, N'ticket', N'email-connector', @now, @now)`,
    { id: 'text', accountId: 'text', ticketId: 'text', description: 'text', now: 'text' },
  ),
  insertDocument: sql(
    `INSERT INTO documents (id, ticket_id, account_id, sender, recipients, date, subject, text_body, html_body,
       message_id, raw, created_at)
     VALUES (@id, @ticketId, @accountId, @sender, @recipients, @date, @subject, @textBody, @htmlBody,
       @messageId, @raw, @now)`,
    {
      id: 'text',
      ticketId: 'text',
      accountId: 'text',
      sender: 'text',
      recipients: 'text',
      date: 'text',
      subject: 'text',
      textBody: 'text',
      htmlBody: 'text',
      messageId: 'text',
      raw: 'binary',
      now: 'text',
    },
  ),
  /** The bytes stay in the document's raw MIME (mime_position): content is empty. */
  insertAttachment: sql(
    `INSERT INTO attachments (document_id, filename, content_type, size, content, mime_position)
     VALUES (@documentId, @filename, @contentType, @size, 0x, @position)`,
    { documentId: 'text', filename: 'text', contentType: 'text', size: 'bigint', position: 'int' },
  ),
  storedAttachment: sql(
    `SELECT content FROM attachments WHERE document_id = @documentId
       ORDER BY id OFFSET @index ROWS FETCH NEXT 1 ROWS ONLY`,
    { documentId: 'text', index: 'int' },
  ),
  touchTicket: sql('UPDATE tickets SET updated_at = @now WHERE id = @id', { id: 'text', now: 'text' }),
  /** A reference already known keeps its ticket (SQLite: ON CONFLICT DO NOTHING). */
  insertThreadRef: sql(
    `INSERT INTO thread_refs (ref, kind, ticket_id)
     SELECT @ref, @kind, @ticketId
     WHERE NOT EXISTS (SELECT 1 FROM thread_refs WITH (UPDLOCK, HOLDLOCK) WHERE ref = @ref)`,
    { ref: 'text', kind: 'text', ticketId: 'text' },
  ),
  insertOutboxMail: sql(
    `INSERT INTO outbox (id, outcome_key, kind, recipients, first_recipient, subject, message_id, mime,
       original_document_id, original, about_sender, created_at)
     VALUES (@id, @outcomeKey, @kind, @recipients, @firstRecipient, @subject, @messageId, @mime,
       @originalDocumentId, @original, @aboutSender, @now)`,
    {
      id: 'text',
      outcomeKey: 'text',
      kind: 'text',
      recipients: 'text',
      firstRecipient: 'text',
      subject: 'text',
      messageId: 'text',
      mime: 'binary',
      originalDocumentId: 'text',
      original: 'binary',
      aboutSender: 'text',
      now: 'time',
    },
  ),
  insertOutcome: sql(
    `INSERT INTO outcomes ([key], source, mailbox, message_id, from_address, subject, action, code, reason,
       ticket_number, account_id, flags, forwarded_to, sent, details, created_at)
     VALUES (@key, @source, @mailbox, @messageId, @from, @subject, @action, @code, @reason, @ticketNumber,
       @accountId, @flags, @forwardedTo, @sent, @details, @createdAt)`,
    {
      key: 'text',
      source: 'text',
      mailbox: 'text',
      messageId: 'text',
      from: 'text',
      subject: 'text',
      action: 'text',
      code: 'text',
      reason: 'text',
      ticketNumber: 'text',
      accountId: 'text',
      flags: 'text',
      forwardedTo: 'text',
      sent: 'text',
      details: 'text',
      createdAt: 'time',
    },
  ),
  finishIntake: sql(
    `UPDATE intake SET state = N'done', outcome_key = @outcomeKey, lease_owner = NULL, lease_until = NULL,
       updated_at = @now
     WHERE id = @id`,
    { id: 'text', outcomeKey: 'text', now: 'time' },
  ),

  // Outcomes read back.
  outcomeByKey: sql('SELECT * FROM outcomes WHERE [key] = @key', { key: 'text' }),
  outcomesByMessageId: sql(
    'SELECT TOP (@limit) * FROM outcomes WHERE message_id = @messageId ORDER BY created_at, rowid',
    { messageId: 'text', limit: 'int' },
  ),
  // Two statements rather than `@action IS NULL OR …`, so that each gets a plan of its own.
  latestOutcomes: sql('SELECT TOP (@limit) * FROM outcomes ORDER BY created_at DESC, rowid DESC', {
    limit: 'int',
  }),
  latestOutcomesByAction: sql(
    'SELECT TOP (@limit) * FROM outcomes WHERE action = @action ORDER BY created_at DESC, rowid DESC',
    { action: 'text', limit: 'int' },
  ),

  // Outbox.
  // The originals the mails refer to are read only when each mail is sent (mailOriginal), not for a whole batch.
  pendingMail: sql(
    `SELECT TOP (@limit) id, kind, recipients, subject, attempts, mime, original_document_id,
       CASE WHEN original IS NULL THEN 0 ELSE 1 END AS held
     FROM outbox
     WHERE state = N'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= @now)
     ORDER BY created_at, rowid`,
    { limit: 'int', now: 'time' },
  ),
  /** The length of the original a mail refers to (the copy the outbox keeps, or its filed document's raw MIME). */
  mailOriginalLength: sql(
    `SELECT DATALENGTH(COALESCE(o.original, d.raw)) AS length
     FROM outbox o LEFT JOIN documents d ON d.id = o.original_document_id
     WHERE o.id = @id`,
    { id: 'text' },
  ),
  /** That original itself, read while the mail is sent. */
  mailOriginal: sql(
    `SELECT COALESCE(o.original, d.raw) AS original
     FROM outbox o LEFT JOIN documents d ON d.id = o.original_document_id
     WHERE o.id = @id`,
    { id: 'text' },
  ),
  markMailSent: sql(
    `UPDATE outbox SET state = N'sent', sent_at = @sentAt, attempts = attempts + 1 WHERE id = @id`,
    { id: 'text', sentAt: 'time' },
  ),
  markMailFailed: sql(
    `UPDATE outbox SET attempts = attempts + 1, last_error = @error, next_attempt_at = @retryAt,
       state = CASE WHEN @final = 1 THEN N'failed' ELSE state END
     WHERE id = @id`,
    { id: 'text', error: 'text', retryAt: 'time', final: 'bit' },
  ),
  nextMailAttempt: sql(
    `SELECT MIN(COALESCE(next_attempt_at, created_at)) AS at FROM outbox WHERE state = N'pending'`,
  ),
  // One statement per combination of conditions, so that each seeks on its own index (recipient, sender, kind).
  countOutgoing: sql(
    'SELECT COUNT(*) AS n FROM outbox WHERE kind IN (SELECT value FROM OPENJSON(@kinds)) AND created_at >= @since',
    { kinds: 'text', since: 'time' },
  ),
  countOutgoingToRecipient: sql(
    `SELECT COUNT(*) AS n FROM outbox
     WHERE first_recipient = @recipient AND kind IN (SELECT value FROM OPENJSON(@kinds)) AND created_at >= @since`,
    { recipient: 'text', kinds: 'text', since: 'time' },
  ),
  countOutgoingAboutSender: sql(
    `SELECT COUNT(*) AS n FROM outbox
     WHERE about_sender = @aboutSender AND kind IN (SELECT value FROM OPENJSON(@kinds)) AND created_at >= @since`,
    { aboutSender: 'text', kinds: 'text', since: 'time' },
  ),
  countOutgoingToRecipientAboutSender: sql(
    `SELECT COUNT(*) AS n FROM outbox
     WHERE about_sender = @aboutSender AND first_recipient = @recipient
       AND kind IN (SELECT value FROM OPENJSON(@kinds)) AND created_at >= @since`,
    { aboutSender: 'text', recipient: 'text', kinds: 'text', since: 'time' },
  ),

  // Small state and leases.
  state: sql('SELECT value FROM app_state WHERE [key] = @key', { key: 'text' }),
  stateLocked: sql('SELECT value FROM app_state WITH (UPDLOCK, HOLDLOCK) WHERE [key] = @key', {
    key: 'text',
  }),
  updateState: sql('UPDATE app_state SET value = @value, updated_at = @now WHERE [key] = @key', {
    key: 'text',
    value: 'text',
    now: 'time',
  }),
  insertState: sql('INSERT INTO app_state ([key], value, updated_at) VALUES (@key, @value, @now)', {
    key: 'text',
    value: 'text',
    now: 'time',
  }),
  deleteState: sql('DELETE FROM app_state WHERE [key] = @key', { key: 'text' }),
  extendLease: sql(
    `UPDATE leases SET owner = @owner, until = @until
     WHERE name = @name AND (owner = @owner OR until <= @now)`,
    { name: 'text', owner: 'text', until: 'time', now: 'time' },
  ),
  /** Takes a lease nobody holds; the range lock keeps a second instance from inserting the same name meanwhile. */
  takeFreeLease: sql(
    `INSERT INTO leases (name, owner, until)
     SELECT @name, @owner, @until
     WHERE NOT EXISTS (SELECT 1 FROM leases WITH (UPDLOCK, HOLDLOCK) WHERE name = @name)`,
    { name: 'text', owner: 'text', until: 'time' },
  ),
  releaseLease: sql('DELETE FROM leases WHERE name = @name AND owner = @owner', {
    name: 'text',
    owner: 'text',
  }),

  // Intake queue.
  enqueue: sql(
    `INSERT INTO intake (id, mailbox_id, source, state, next_attempt_at, enqueued_at, updated_at)
     SELECT @id, @mailboxId, @source, N'pending', @now, @now, @now
     WHERE NOT EXISTS (SELECT 1 FROM intake WITH (UPDLOCK, HOLDLOCK) WHERE mailbox_id = @mailboxId)`,
    { id: 'text', mailboxId: 'text', source: 'text', now: 'time' },
  ),
  intakeByMailboxId: sql('SELECT * FROM intake WHERE mailbox_id = @mailboxId', { mailboxId: 'text' }),
  /**
   * Claims due items in one statement. UPDLOCK locks each row it reads, READPAST skips rows another claimer has
   * locked instead of waiting for them, ROWLOCK keeps it to rows: concurrent claimers each get other items and
   * none waits for another (the queue pattern of SQL Server's documentation for READPAST).
   */
  claimIntake: sql(
    `WITH due AS (
       SELECT TOP (@limit) *
         FROM intake WITH (UPDLOCK, READPAST, ROWLOCK)
         WHERE (state = N'pending' AND next_attempt_at <= @now) OR (state = N'claimed' AND lease_until <= @now)
         ORDER BY next_attempt_at, enqueued_at, rowid
     )
     UPDATE due SET state = N'claimed', lease_owner = @workerId, lease_until = @leaseUntil,
       attempts = attempts + 1, updated_at = @now
     OUTPUT inserted.*`,
    { limit: 'int', now: 'time', workerId: 'text', leaseUntil: 'time' },
  ),
  retryIntake: sql(
    `UPDATE intake SET state = N'pending', last_error = @error, next_attempt_at = @retryAt, lease_owner = NULL,
       lease_until = NULL, updated_at = @now
     WHERE id = @id AND lease_owner = @workerId AND state = N'claimed'`,
    { id: 'text', workerId: 'text', error: 'text', retryAt: 'time', now: 'time' },
  ),
  quarantineIntake: sql(
    `UPDATE intake SET state = N'quarantined', last_error = @error, outcome_key = COALESCE(@outcomeKey, outcome_key),
       lease_owner = NULL, lease_until = NULL, updated_at = @now
     WHERE id = @id AND lease_owner = @workerId`,
    { id: 'text', workerId: 'text', error: 'text', outcomeKey: 'text', now: 'time' },
  ),
  markIntakeSettled: sql('UPDATE intake SET settled_at = @at WHERE id = @id', { id: 'text', at: 'time' }),
  unsettledIntake: sql(
    `SELECT TOP (@limit) i.*,
       CASE WHEN i.state = N'quarantined' OR o.action = N'failed' THEN N'failed' ELSE N'processed' END AS folder
     FROM intake i LEFT JOIN outcomes o ON o.[key] = i.outcome_key
     WHERE i.settled_at IS NULL AND i.state IN (N'done', N'quarantined') AND i.updated_at < @before
     ORDER BY i.updated_at`,
    { limit: 'int', before: 'time' },
  ),
  findIntake: sql('SELECT TOP (1) * FROM intake WHERE id = @value OR mailbox_id = @value', { value: 'text' }),
  intakeByState: sql('SELECT TOP (@limit) * FROM intake WHERE state = @state ORDER BY enqueued_at, rowid', {
    state: 'text',
    limit: 'int',
  }),
  requeueAllQuarantined: sql(
    `UPDATE intake SET state = N'pending', attempts = 0, next_attempt_at = @now, updated_at = @now
     WHERE state = N'quarantined'`,
    { now: 'time' },
  ),
  requeueQuarantined: sql(
    `UPDATE intake SET state = N'pending', attempts = 0, next_attempt_at = @now, updated_at = @now
     WHERE state = N'quarantined' AND (id IN (${ids}(@ids)) OR mailbox_id IN (${ids}(@ids)))`,
    { now: 'time', ids: 'text' },
  ),

  // XML API (sqlserver-xml-records.ts); the writes are built by `xmlInsert` and `xmlUpdate` below.
  /** Locks the key so that a retry running at the same time waits for the first and returns its result. */
  apiResultLocked: sql('SELECT result FROM api_results WITH (UPDLOCK, HOLDLOCK) WHERE [key] = @key', {
    key: 'text',
  }),
  insertApiResult: sql('INSERT INTO api_results ([key], result, created_at) VALUES (@key, @result, @now)', {
    key: 'text',
    result: 'text',
    now: 'time',
  }),
  ticketSeqTaken: sql('SELECT 1 AS found FROM tickets WHERE seq = @seq', { seq: 'bigint' }),
} as const satisfies Record<string, SqlStatement>;

export type SqlStatementName = keyof typeof sqlStatements;

function accountParams(): Record<string, ParamKind> {
  const text = [
    'id',
    'company',
    'fileAs',
    'email1',
    'email1Key',
    'email2',
    'email2Key',
    'accountNumber',
    'foreignId',
    'customFields',
    'contact',
    'phone',
    'address',
    'city',
    'zip',
    'country',
    'now',
  ];
  return Object.fromEntries(text.map((name) => [name, 'text' as const]));
}

function employeeParams(): Record<string, ParamKind> {
  return {
    id: 'text',
    name: 'text',
    email1: 'text',
    email1Key: 'text',
    email2: 'text',
    email2Key: 'text',
    active: 'bit',
  };
}

function importedTicketParams(): Record<string, ParamKind> {
  return {
    id: 'text',
    seq: 'bigint',
    number: 'text',
    accountId: 'text',
    contactId: 'text',
    subject: 'text',
    status: 'text',
    priority: 'text',
    kind: 'text',
    source: 'text',
    now: 'text',
  };
}

/** The tables an XML transaction reads by id: its own data kinds' and those its links point to. */
export const xmlRecordTables: readonly string[] = [
  ...new Set([
    ...Object.values(xmlDataKinds).map((spec) => spec.table),
    ...Object.values(xmlLinkTargets).map((target) => target.table),
  ]),
];

/** `SELECT * FROM <table> WHERE id = @id` for each of `xmlRecordTables`. */
export const xmlRecordById: Readonly<Record<string, SqlStatement>> = Object.freeze(
  Object.fromEntries(
    xmlRecordTables.map((table) => [table, sql(`SELECT * FROM ${table} WHERE id = @id`, { id: 'text' })]),
  ),
);

/** Columns an XML write may set besides the data kind's fields. */
const xmlExtraColumns: Readonly<Record<string, ParamKind>> = {
  id: 'text',
  seq: 'bigint',
  email1_key: 'text',
  email2_key: 'text',
  created_by: 'text',
  created_at: 'text',
  updated_by: 'text',
  updated_at: 'text',
};

/** How a column of a data kind's table is sent: flags (and the billable choice, stored 0/1) as bit. */
export function xmlColumnKind(spec: XmlDataKindSpec, column: string): ParamKind {
  const field = spec.fields.find((candidate) => candidate.column === column);
  if (field) {
    if (field.type === 'flag') return 'bit';
    if (
      field.type === 'choice' &&
      Object.values(field.choices ?? {}).every((value) => typeof value === 'number')
    )
      return 'bit';
    return 'text';
  }
  const extra = xmlExtraColumns[column];
  if (!extra) throw new Error(`column ${column} is not one an XML transaction writes in ${spec.table}`);
  return extra;
}

/** Every column an XML write of the data kind may name (for the statement check). */
export function xmlWritableColumns(spec: XmlDataKindSpec): string[] {
  const columns = new Set(spec.fields.map((field) => field.column));
  for (const column of ['id', 'created_by', 'created_at', 'updated_by', 'updated_at']) columns.add(column);
  if (spec.dataKind === 'TICKET') columns.add('seq');
  if (spec.dataKind === 'ACCOUNT') for (const column of ['email1_key', 'email2_key']) columns.add(column);
  return [...columns];
}

/** Parameters are numbered (`@p0`, `@p1`, …) in the order of `columns`. */
function xmlParams(spec: XmlDataKindSpec, columns: readonly string[]): Record<string, ParamKind> {
  const known = new Set(xmlWritableColumns(spec));
  for (const column of columns) {
    if (!known.has(column))
      throw new Error(`column ${column} is not one an XML transaction writes in ${spec.table}`);
  }
  return Object.fromEntries(columns.map((column, i) => [`p${i}`, xmlColumnKind(spec, column)]));
}

/** `INSERT INTO <table> (<columns>) VALUES (@p0, …)`: columns checked against the data kind's field table. */
export function xmlInsert(spec: XmlDataKindSpec, columns: readonly string[]): SqlStatement {
  const params = xmlParams(spec, columns);
  return sql(
    `INSERT INTO ${spec.table} (${columns.map((column) => `[${column}]`).join(', ')}) VALUES (${columns.map((_, i) => `@p${i}`).join(', ')})`,
    params,
  );
}

/** `UPDATE <table> SET <column> = @p0, … WHERE id = @id`: columns checked as for `xmlInsert`. */
export function xmlUpdate(spec: XmlDataKindSpec, columns: readonly string[]): SqlStatement {
  const params = xmlParams(spec, columns);
  return sql(
    `UPDATE ${spec.table} SET ${columns.map((column, i) => `[${column}] = @p${i}`).join(', ')} WHERE id = @id`,
    { ...params, id: 'text' },
  );
}
