import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Account, AccountMatch, Employee, FiledDocument, Ticket } from '../../domain/crm.ts';
import { classifyEmailField } from '../../domain/addresses.ts';
import { outcomeSupersedes } from '../../domain/outcomes.ts';
import { ticketSequenceOf } from '../../domain/ticket-numbers.ts';
import { formatTicketNumber } from '../../domain/ticket-tag.ts';
import type {
  ClaimOptions,
  CrmStore,
  EnqueuedItem,
  IntakeItem,
  IntakeState,
  MailFailure,
  NewOutgoingMail,
  OutcomeFilter,
  OutgoingCountFilter,
  OutcomeRecord,
  PendingMail,
  ProcessingCommit,
  StoreCounts,
  StoredOriginal,
} from '../crm-store.ts';
import { StoreOpenError } from '../crm-store.ts';
import type { CrmImport } from '../crm-import.ts';
import { CrmImportError, defaultTicketId, describeTicket, importedTicketId } from '../crm-import.ts';
import {
  str,
  strOrNull,
  ticketValues,
  toAccount,
  toEmployee,
  toIntake,
  toOutcome,
  toPendingOriginal,
  toTicket,
  type Row,
} from '../record-rows.ts';
import { SqliteCheckpointer } from './sqlite-checkpointer.ts';
import { sqliteMigrations } from './sqlite-migrations.ts';
import { translated } from './sqlite-errors.ts';
import { takeNextTicketSequence } from './sqlite-ticket-numbers.ts';
import { applyXmlTransactionSqlite } from './sqlite-xml-records.ts';
import type { ValidatedXmlTransaction, XmlTransactionResult } from '../../domain/xml-api/xml-transaction.ts';

/** The normalised match key of a CRM email field: a lower-case address or bare domain. */
function emailKey(value: string | null | undefined): string | null {
  return classifyEmailField(value)?.value ?? null;
}

const nowIso = (): string => new Date().toISOString();

const emptyBlob = Buffer.alloc(0);
const blobPartBytes = 1_048_576;

/** The look-ups on the hot path of every message; each must be an index seek (see `explainLookups`). */
const lookupSql = {
  accountsByAddress: `SELECT a.*, 'email1' AS via FROM accounts a WHERE a.email1_key = @key
    UNION ALL SELECT a.*, 'email2' AS via FROM accounts a WHERE a.email2_key = @key`,
  contactsByAddress: `SELECT a.*, c.id AS contact_row_id FROM contacts c JOIN accounts a ON a.id = c.account_id
    WHERE c.email_key = @key`,
  accountsByDomain: `SELECT a.* FROM accounts a WHERE a.id IN (
      SELECT id FROM accounts WHERE email1_key = @key
      UNION SELECT id FROM accounts WHERE email2_key = @key
      UNION SELECT account_id FROM contacts WHERE email_key = @key)
    ORDER BY a.id`,
  employeesByAddress: `SELECT * FROM employees WHERE email1_key = @key
    UNION SELECT * FROM employees WHERE email2_key = @key`,
  ticketByNumber: 'SELECT * FROM tickets WHERE seq = @key',
  threadRef:
    'SELECT t.*, r.kind AS ref_kind FROM thread_refs r JOIN tickets t ON t.id = r.ticket_id WHERE r.ref = @key',
} as const;

/**
 * `LIMIT n` with the number written into the statement's text, for limits the program chooses (a batch size, a
 * worker's free slots). SQLite's planner reads a bound LIMIT's value, and a statement whose plan read a bound value
 * is prepared again each time it is bound: with `LIMIT ?` every call of the outbox's and the queue's reads parsed
 * and planned its SQL anew, twice the cost of a small query. Each distinct number is one more cached statement, so
 * a limit an operator chooses stays a bound parameter.
 */
function limitClause(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new RangeError(`a limit must be a whole number of at least 0, not ${String(limit)}`);
  return `LIMIT ${String(limit)}`;
}

/**
 * The queue reads every claim makes: each follows an index in the order asked for, so that a backlog of any size
 * is read from its front and never sorted whole (see `explainQueue`).
 */
const queueSql = {
  dueIntake: (limit: number) => `SELECT id, next_attempt_at, rowid AS seq FROM intake
    WHERE state = 'pending' AND next_attempt_at <= @now ORDER BY next_attempt_at, rowid ${limitClause(limit)}`,
  expiredLeases: (limit: number) => `SELECT id, next_attempt_at, rowid AS seq FROM intake
    WHERE state = 'claimed' AND lease_until <= @now ORDER BY next_attempt_at, rowid ${limitClause(limit)}`,
} as const;

export interface SqliteCrmStoreOptions {
  /** File path, or `:memory:`. The folder is created when missing. */
  path: string;
  /** How long a writer waits for another process's lock before failing, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /** Open an existing file read-only and apply no migrations (diagnostics, e.g. `doctor`). Default false. */
  readonly?: boolean;
  /**
   * Copy the write-ahead log into the file from a thread of its own (see SqliteCheckpointer) instead of in the
   * committing call. Default true for a file.
   */
  backgroundCheckpoints?: boolean;
}

/**
 * The embedded CRM store: one SQLite file in WAL mode, migrated on open. Every port method does its database work
 * inside `translated`, so a driver failure leaves the adapter as a StoreError (transient or permanent).
 */
export class SqliteCrmStore implements CrmStore {
  readonly #db: Database.Database;

  readonly #statements = new Map<string, Database.Statement>();

  #checkpointer: SqliteCheckpointer | null = null;

  readonly #busyTimeoutMs: number;

  private constructor(db: Database.Database, busyTimeoutMs: number) {
    this.#db = db;
    this.#busyTimeoutMs = busyTimeoutMs;
  }

  /** `translated` with this connection's busy timeout, which SQLite does not always wait out (see there). */
  #translated<T>(work: () => T): T {
    return translated(work, this.#busyTimeoutMs);
  }

  /** Prepared statements are compiled once per connection and reused. */
  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** The newest schema version this program knows; a database below it is not migrated yet. */
  static readonly latestSchemaVersion: number = sqliteMigrations.at(-1)?.version ?? 0;

  static open(options: SqliteCrmStoreOptions): SqliteCrmStore {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (options.readonly) {
      // A look that changes nothing: no folder or file created, no switch to WAL, no migration.
      const db = new Database(options.path, { readonly: true, fileMustExist: true });
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      return new SqliteCrmStore(db, busyTimeoutMs);
    }
    let db: Database.Database | null = null;
    try {
      if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
      db = new Database(options.path);
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      const store = new SqliteCrmStore(db, busyTimeoutMs);
      store.#migrate();
      if (options.path !== ':memory:' && options.backgroundCheckpoints !== false)
        store.#checkpointer = SqliteCheckpointer.start(db, options.path);
      return store;
    } catch (error) {
      db?.close();
      throw new StoreOpenError(describeOpenFailure(options.path, error), { cause: error });
    }
  }

  /** The schema version after migrations (for diagnostics and tests). */
  get schemaVersion(): number {
    return Number(this.#db.pragma('user_version', { simple: true }));
  }

  #migrate(): void {
    const apply = this.#db.transaction(() => {
      const current = Number(this.#db.pragma('user_version', { simple: true }));
      for (const migration of sqliteMigrations) {
        if (migration.version <= current) continue;
        this.#db.exec(migration.sql);
        this.#db.pragma(`user_version = ${migration.version}`);
      }
    });
    apply.immediate();
  }

  /** SQLite's query plan of each hot look-up, to show they are index seeks and never table scans. */
  explainLookups(): Record<keyof typeof lookupSql, string[]> {
    return this.#explain(lookupSql, { key: 'x' });
  }

  /** SQLite's query plan of each queue read (`queueSql`), to show none sorts the backlog. */
  explainQueue(): Record<keyof typeof queueSql, string[]> {
    const statements = {
      dueIntake: queueSql.dueIntake(1),
      expiredLeases: queueSql.expiredLeases(1),
    } satisfies Record<keyof typeof queueSql, string>;
    return this.#explain(statements, { now: 'x' });
  }

  /** EXPLAIN QUERY PLAN of each statement, its steps' details by the statement's name. */
  #explain<K extends string>(statements: Record<K, string>, parameters: object): Record<K, string[]> {
    const plans = {} as Record<K, string[]>;
    for (const [name, sql] of Object.entries(statements) as [K, string][]) {
      const rows = this.#db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(parameters) as Row[];
      plans[name] = rows.map((row) => str(row.detail));
    }
    return plans;
  }

  async ping(): Promise<void> {
    return this.#translated(() => {
      this.#prepare('SELECT 1').get();
    });
  }

  async close(): Promise<void> {
    await this.#checkpointer?.stop();
    this.#checkpointer = null;
    return this.#translated(() => {
      if (this.#db.open) this.#db.close();
    });
  }

  async findAccountsByAddress(address: string): Promise<AccountMatch[]> {
    return this.#translated(() => {
      const key = address.trim().toLowerCase();
      const matches: AccountMatch[] = [];
      const rows = this.#prepare(lookupSql.accountsByAddress).all({ key }) as Row[];
      for (const row of rows)
        matches.push({ account: toAccount(row), contactId: null, via: row.via as 'email1' });
      const contactRows = this.#prepare(lookupSql.contactsByAddress).all({ key }) as Row[];
      for (const row of contactRows) {
        matches.push({ account: toAccount(row), contactId: str(row.contact_row_id), via: 'contact' });
      }
      return matches;
    });
  }

  async findAccountsByDomain(domain: string): Promise<Account[]> {
    return this.#translated(() => {
      const rows = this.#prepare(lookupSql.accountsByDomain).all({
        key: domain.trim().toLowerCase(),
      }) as Row[];
      return rows.map(toAccount);
    });
  }

  async findAccountById(id: string): Promise<Account | null> {
    return this.#translated(() => {
      const row = this.#prepare('SELECT * FROM accounts WHERE id = ?').get(id) as Row | undefined;
      return row ? toAccount(row) : null;
    });
  }

  async findAccountsByIds(ids: readonly string[]): Promise<Account[]> {
    return this.#translated(() => {
      if (ids.length === 0) return [];
      const rows = this.#prepare(
        `SELECT * FROM accounts WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`,
      ).all(JSON.stringify(ids)) as Row[];
      return rows.map(toAccount);
    });
  }

  async findAccountsByName(name: string): Promise<Account[]> {
    return this.#translated(() => {
      const rows = this.#prepare('SELECT * FROM accounts WHERE file_as = ? COLLATE NOCASE ORDER BY id').all(
        name.trim(),
      ) as Row[];
      return rows.map(toAccount);
    });
  }

  async findAccountsNameCandidates(text: string): Promise<Account[]> {
    return this.#translated(() => {
      // A scan, used only by automated-email rules that name accounts without a subject pattern.
      const rows = this.#prepare(
        `SELECT * FROM accounts WHERE length(file_as) > 0 AND instr(lower(@text), lower(file_as)) > 0 ORDER BY id`,
      ).all({ text }) as Row[];
      return rows.map(toAccount);
    });
  }

  async findAccountsByForeignId(values: readonly string[], field: string | null): Promise<Account[]> {
    return this.#translated(() => {
      if (values.length === 0) return [];
      const json = JSON.stringify(values);
      const rows = field
        ? (this.#prepare(
            `SELECT * FROM accounts WHERE json_extract(custom_fields, '$.' || json_quote(@field)) IN
                 (SELECT value FROM json_each(@json)) ORDER BY id`,
          ).all({ field, json }) as Row[])
        : (this.#prepare(
            `SELECT * FROM accounts WHERE foreign_id IN (SELECT value FROM json_each(?)) ORDER BY id`,
          ).all(json) as Row[]);
      return rows.map(toAccount);
    });
  }

  async findEmployeesByAddress(address: string): Promise<Employee[]> {
    return this.#translated(() => {
      const rows = this.#prepare(lookupSql.employeesByAddress).all({
        key: address.trim().toLowerCase(),
      }) as Row[];
      return rows.map(toEmployee);
    });
  }

  async findTicketByNumber(number: string): Promise<Ticket | null> {
    return this.#translated(() => {
      const sequence = ticketSequenceOf(number);
      if (sequence === null) return null;
      const row = this.#prepare(lookupSql.ticketByNumber).get({ key: sequence }) as Row | undefined;
      return row ? toTicket(row) : null;
    });
  }

  async findTicketByThread(
    messageIds: readonly string[],
    tokens: readonly string[],
  ): Promise<{ ticket: Ticket; via: 'message-id' | 'reference-token' } | null> {
    return this.#translated(() => {
      const lookup = this.#prepare(lookupSql.threadRef);
      for (const [refs, kind, via] of [
        [messageIds, 'message-id', 'message-id'],
        [tokens, 'token', 'reference-token'],
      ] as const) {
        for (const ref of refs) {
          const row = lookup.get({ key: ref }) as Row | undefined;
          if (row && row.ref_kind === kind) return { ticket: toTicket(row), via };
        }
      }
      return null;
    });
  }

  async listDocuments(ticketId: string): Promise<FiledDocument[]> {
    return this.#translated(() => {
      const rows = this.#prepare(
        `SELECT id, ticket_id, account_id, sender, recipients, date, subject, message_id
           FROM documents WHERE ticket_id = ? ORDER BY created_at, rowid`,
      ).all(ticketId) as Row[];
      const attachments = this.#prepare(
        'SELECT filename, content_type, size, mime_position FROM attachments WHERE document_id = ? ORDER BY id',
      );
      return rows.map((row) => ({
        id: str(row.id),
        ticketId: str(row.ticket_id),
        accountId: str(row.account_id),
        sender: str(row.sender),
        recipients: JSON.parse(str(row.recipients)) as string[],
        date: str(row.date),
        subject: str(row.subject),
        messageId: strOrNull(row.message_id),
        attachments: (attachments.all(str(row.id)) as Row[]).map((attachment) => ({
          filename: str(attachment.filename),
          contentType: str(attachment.content_type),
          size: Number(attachment.size),
          position: attachment.mime_position == null ? null : Number(attachment.mime_position),
        })),
      }));
    });
  }

  async listTicketHistory(ticketId: string): Promise<{ date: string; description: string }[]> {
    return this.#translated(() => {
      const rows = this.#prepare(
        'SELECT date, description FROM history_notes WHERE ticket_id = ? ORDER BY date, rowid',
      ).all(ticketId) as Row[];
      return rows.map((row) => ({ date: str(row.date), description: str(row.description) }));
    });
  }

  async readStoredAttachment(documentId: string, index: number): Promise<Buffer | null> {
    return this.#translated(() => {
      const row = this.#prepare(
        'SELECT id, content FROM attachments WHERE document_id = ? ORDER BY id LIMIT 1 OFFSET ?',
      ).get(documentId, index) as Row | undefined;
      if (!row) return null;
      // Rows filed under schema 5 to 9 keep their bytes in 1 MiB parts, earlier ones in the row itself.
      const parts = this.#readBlob(`attachment:${String(row.id)}`);
      return parts.length > 0 ? parts : (row.content as Buffer);
    });
  }

  async readDocumentRaw(documentId: string): Promise<Buffer | null> {
    return this.#translated(() => {
      const row = this.#prepare('SELECT 1 FROM documents WHERE id = ?').get(documentId) as Row | undefined;
      return row ? this.#readBlob(`document:${documentId}`) : null;
    });
  }

  async countOutgoingSince(filter: OutgoingCountFilter): Promise<number> {
    return this.#translated(() => {
      if (filter.kinds.length === 0) return 0;
      // Only the conditions given, with literal placeholders: the planner then seeks on the recipient's or the
      // sender's index instead of reading every mail of those kinds in the window.
      const where = [`kind IN (${filter.kinds.map(() => '?').join(', ')})`, 'created_at >= ?'];
      const values: string[] = [...filter.kinds, filter.since.toISOString()];
      if (filter.recipient) {
        where.unshift('first_recipient = ?');
        values.unshift(filter.recipient.toLowerCase());
      }
      if (filter.aboutSender) {
        where.unshift('about_sender = ?');
        values.unshift(filter.aboutSender.toLowerCase());
      }
      const row = this.#prepare(`SELECT count(*) AS n FROM outbox WHERE ${where.join(' AND ')}`).get(
        ...values,
      ) as Row;
      return Number(row.n);
    });
  }

  async importCrm(data: CrmImport): Promise<StoreCounts> {
    return this.#translated(() => {
      const now = nowIso();
      const upsertAccount = this.#prepare(
        `INSERT INTO accounts (id, company, file_as, email1, email1_key, email2, email2_key, account_number,
           foreign_id, custom_fields, contact, phone, address, city, zip, country, created_at, updated_at)
         VALUES (@id, @company, @fileAs, @email1, @email1Key, @email2, @email2Key, @accountNumber,
           @foreignId, @customFields, @contact, @phone, @address, @city, @zip, @country, @now, @now)
         ON CONFLICT(id) DO UPDATE SET company = excluded.company, file_as = excluded.file_as,
           email1 = excluded.email1, email1_key = excluded.email1_key, email2 = excluded.email2,
           email2_key = excluded.email2_key, account_number = excluded.account_number,
           foreign_id = excluded.foreign_id, custom_fields = excluded.custom_fields, contact = excluded.contact,
           phone = excluded.phone, address = excluded.address, city = excluded.city, zip = excluded.zip,
           country = excluded.country, updated_at = excluded.updated_at`,
      );
      const upsertContact = this.#prepare(
        `INSERT INTO contacts (id, account_id, name, email, email_key) VALUES (@id, @accountId, @name, @email, @emailKey)
         ON CONFLICT(id) DO UPDATE SET account_id = excluded.account_id, name = excluded.name,
           email = excluded.email, email_key = excluded.email_key`,
      );
      const upsertEmployee = this.#prepare(
        `INSERT INTO employees (id, name, email1, email1_key, email2, email2_key, active)
         VALUES (@id, @name, @email1, @email1Key, @email2, @email2Key, @active)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, email1 = excluded.email1,
           email1_key = excluded.email1_key, email2 = excluded.email2, email2_key = excluded.email2_key,
           active = excluded.active`,
      );
      const ticketBySeq = this.#prepare('SELECT id, number FROM tickets WHERE seq = ?');
      const ticketById = this.#prepare('SELECT number FROM tickets WHERE id = ?');
      const upsertTicket = this.#prepare(
        `INSERT INTO tickets (id, seq, number, account_id, contact_id, subject, status, priority, kind, source,
           created_by, created_at, updated_at)
         VALUES (@id, @seq, @number, @accountId, @contactId, @subject, @status, @priority, @kind, @source,
           'import', @now, @now)
         ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, number = excluded.number, account_id = excluded.account_id,
           contact_id = excluded.contact_id, subject = excluded.subject, status = excluded.status,
           priority = excluded.priority, kind = excluded.kind, source = excluded.source,
           updated_at = excluded.updated_at`,
      );
      const accountExists = this.#prepare('SELECT 1 FROM accounts WHERE id = ?');
      const contactOfAccount = this.#prepare('SELECT 1 FROM contacts WHERE id = ? AND account_id = ?');

      const run = this.#db.transaction(() => {
        data.accounts.forEach((account) => {
          upsertAccount.run({
            id: account.id,
            company: account.company,
            fileAs: account.fileAs ?? account.company,
            email1: account.email1,
            email1Key: emailKey(account.email1),
            email2: account.email2,
            email2Key: emailKey(account.email2),
            accountNumber: account.accountNumber,
            foreignId: account.foreignId,
            customFields: JSON.stringify(account.customFields ?? {}),
            contact: account.contact,
            phone: account.phone,
            address: account.address,
            city: account.city,
            zip: account.zip,
            country: account.country,
            now,
          });
          (account.contacts ?? []).forEach((contact, index) => {
            upsertContact.run({
              // Contacts without an id are keyed by account and position, so a re-import updates them.
              id: contact.id ?? `${account.id}/${index + 1}`,
              accountId: account.id,
              name: contact.name,
              email: contact.email,
              emailKey: emailKey(contact.email),
            });
          });
        });
        for (const employee of data.employees) {
          upsertEmployee.run({
            id: employee.id,
            name: employee.name,
            email1: employee.email1,
            email1Key: emailKey(employee.email1),
            email2: employee.email2,
            email2Key: emailKey(employee.email2),
            active: employee.active ? 1 : 0,
          });
        }
        const idsInFile = new Map<string, number>();
        data.tickets.forEach((ticket, index) => {
          const where = describeTicket(data.tickets, index);
          if (!accountExists.get(ticket.accountId)) {
            throw new CrmImportError(
              `${where}.accountId: no account "${ticket.accountId}" in the file or the database`,
            );
          }
          if (ticket.contactId && !contactOfAccount.get(ticket.contactId, ticket.accountId)) {
            throw new CrmImportError(
              `${where}.contactId: no contact "${ticket.contactId}" on account "${ticket.accountId}"`,
            );
          }
          // Exact: the import refuses numbers above fifteen digits.
          const seq = Number(ticket.number);
          const found = ticketBySeq.get(seq) as Row | undefined;
          const existing = found ? { id: str(found.id), number: str(found.number) } : null;
          const holder =
            !existing && ticket.id === null
              ? (ticketById.get(defaultTicketId(ticket.number)) as Row | undefined)
              : undefined;
          const id = importedTicketId({
            tickets: data.tickets,
            index,
            existing,
            defaultIdHolder: holder ? { number: str(holder.number) } : null,
            idsInFile,
          });
          upsertTicket.run({ id, ...ticketValues(ticket), now });
        });
      });
      run.immediate();
      return this.counts();
    });
  }

  async counts(): Promise<StoreCounts> {
    return this.#translated(() => {
      const count = (table: string): number =>
        Number((this.#prepare(`SELECT count(*) AS n FROM ${table}`).get() as Row).n);
      return {
        accounts: count('accounts'),
        contacts: count('contacts'),
        employees: count('employees'),
        tickets: count('tickets'),
        documents: count('documents'),
        outcomes: count('outcomes'),
      };
    });
  }

  async reserveTicketNumber(digits: number): Promise<string> {
    return this.#translated(() => {
      const reserve = this.#db.transaction((): number =>
        takeNextTicketSequence({ prepare: (sql) => this.#prepare(sql) }),
      );
      return formatTicketNumber(reserve.immediate(), { digits });
    });
  }

  async commitProcessing(commit: ProcessingCommit): Promise<{ outcome: OutcomeRecord; duplicate: boolean }> {
    return this.#translated(() => {
      const now = nowIso();
      const run = this.#db.transaction((): { outcome: OutcomeRecord; duplicate: boolean } => {
        const findOutcome = this.#prepare('SELECT * FROM outcomes WHERE key = ?');
        const deleteOutcome = this.#prepare('DELETE FROM outcomes WHERE key = ?');
        const existing = findOutcome.get(commit.outcome.key) as Row | undefined;
        const recorded = existing ? toOutcome(existing) : null;
        if (recorded && !outcomeSupersedes(recorded, commit.outcome)) {
          if (commit.intakeId) this.#finishIntakeRow(commit.intakeId, commit.outcome.key, now);
          return { outcome: recorded, duplicate: true };
        }
        if (recorded) deleteOutcome.run(commit.outcome.key);
        if (commit.intakeId) {
          // A quarantined message recorded under a provisional key gives way to its outcome like any other.
          const intake = this.#prepare('SELECT outcome_key FROM intake WHERE id = ?').get(commit.intakeId) as
            Row | undefined;
          const provisionalKey = strOrNull(intake?.outcome_key);
          const provisional =
            provisionalKey && provisionalKey !== commit.outcome.key
              ? (findOutcome.get(provisionalKey) as Row | undefined)
              : undefined;
          if (provisional && outcomeSupersedes(toOutcome(provisional), commit.outcome))
            deleteOutcome.run(provisionalKey);
        }
        if (commit.ticket) {
          const ticket = commit.ticket;
          this.#prepare(
            `INSERT INTO tickets (id, seq, number, account_id, contact_id, subject, status, priority, kind, source,
                 follows_ticket_id, created_by, created_at, updated_at)
               VALUES (@id, @seq, @number, @accountId, @contactId, @subject, @status, @priority, @kind, @source,
                 @followsTicketId, 'email-connector', @now, @now)`,
          ).run({
            id: ticket.id,
            ...ticketValues(ticket),
            followsTicketId: ticket.followsTicketId ?? null,
            now,
          });
        }
        if (commit.ticketUpdate) {
          this.#prepare(
            `UPDATE tickets SET status = ?, updated_at = ?, updated_by = 'email-connector' WHERE id = ?`,
          ).run(commit.ticketUpdate.status, now, commit.ticketUpdate.id);
        }
        const insertNote = this.#prepare(
          `INSERT INTO history_notes (id, account_id, ticket_id, date, description, kind, created_by, created_at,
               updated_at)
             VALUES (?, ?, ?, ?, ?, 'ticket', 'email-connector', ?, ?)`,
        );
        for (const note of commit.history ?? []) {
          insertNote.run(randomUUID(), note.accountId, note.ticketId, now, note.description, now, now);
        }
        for (const document of commit.documents) this.#insertDocument(document, now);
        const insertRef = this.#prepare(
          'INSERT INTO thread_refs (ref, kind, ticket_id) VALUES (?, ?, ?) ON CONFLICT(ref) DO NOTHING',
        );
        for (const document of commit.documents) {
          if (document.messageId) insertRef.run(document.messageId, 'message-id', document.ticketId);
        }
        const insertMail = this.#prepare(
          `INSERT INTO outbox (id, outcome_key, kind, recipients, first_recipient, subject, message_id, mime,
             original_document_id, original, about_sender, created_at)
           VALUES (@id, @key, @kind, @recipients, @first, @subject, @messageId, @mime, @originalDocumentId,
             @original, @aboutSender, @now)`,
        );
        for (const mail of commit.outgoing) {
          insertMail.run({
            id: mail.id,
            key: commit.outcome.key,
            kind: mail.kind,
            recipients: JSON.stringify(mail.to),
            first: (mail.to[0] ?? '').toLowerCase(),
            subject: mail.subject,
            messageId: mail.messageId,
            mime: emptyBlob,
            originalDocumentId: mail.originalDocumentId ?? null,
            original: mail.heldOriginal ? emptyBlob : null,
            aboutSender: mail.aboutSender?.toLowerCase() ?? null,
            now,
          });
          this.#writeOutboxMail(mail);
          if (mail.ticketId) {
            insertRef.run(mail.messageId, 'message-id', mail.ticketId);
            if (mail.referenceToken) insertRef.run(mail.referenceToken, 'token', mail.ticketId);
          }
        }
        const outcome: OutcomeRecord = {
          ...commit.outcome,
          mailbox: commit.outcome.mailbox ?? null,
          createdAt: now,
        };
        this.#prepare(
          `INSERT INTO outcomes (key, source, mailbox, message_id, from_address, subject, action, code, reason,
               ticket_number, account_id, flags, forwarded_to, sent, details, created_at)
             VALUES (@key, @source, @mailbox, @messageId, @from, @subject, @action, @code, @reason, @ticketNumber,
               @accountId, @flags, @forwardedTo, @sent, @details, @createdAt)`,
        ).run({
          ...outcome,
          flags: JSON.stringify(outcome.flags),
          forwardedTo: JSON.stringify(outcome.forwardedTo),
          sent: JSON.stringify(outcome.sent),
          details: outcome.details ? JSON.stringify(outcome.details) : null,
        });
        if (commit.intakeId) this.#finishIntakeRow(commit.intakeId, commit.outcome.key, now);
        return { outcome, duplicate: false };
      });
      return run.immediate();
    });
  }

  #insertDocument(document: ProcessingCommit['documents'][number], now: string): void {
    this.#prepare(
      `INSERT INTO documents (id, ticket_id, account_id, sender, recipients, date, subject, text_body, html_body,
           message_id, raw, created_at)
         VALUES (@id, @ticketId, @accountId, @sender, @recipients, @date, @subject, @textBody, @htmlBody,
           @messageId, @raw, @now)`,
    ).run({ ...document, raw: emptyBlob, recipients: JSON.stringify(document.recipients), now });
    this.#writeBlob(`document:${document.id}`, document.raw);
    // The attachments' bytes are in the raw MIME just stored: each row says where (mime_position).
    const insertAttachment = this.#prepare(
      `INSERT INTO attachments (document_id, filename, content_type, size, content, mime_position)
         VALUES (?, ?, ?, ?, ?, ?)`,
    );
    for (const attachment of document.attachments)
      insertAttachment.run(
        document.id,
        attachment.filename,
        attachment.contentType,
        attachment.size,
        emptyBlob,
        attachment.position,
      );
    this.#prepare('UPDATE tickets SET updated_at = ? WHERE id = ?').run(now, document.ticketId);
  }

  /**
   * Large values (raw MIME, attachments) are stored in 1 MiB parts: SQLite builds each row in memory, so
   * one 35 MB row costs another 35 MB or more of peak memory, and parts cost 1 MiB.
   */
  #writeBlob(owner: string, value: Buffer): void {
    const insert = this.#prepare('INSERT INTO blob_parts (owner, part, data) VALUES (?, ?, ?)');
    for (let part = 0, offset = 0; offset < value.length || part === 0; part += 1, offset += blobPartBytes) {
      insert.run(owner, part, value.subarray(offset, offset + blobPartBytes));
    }
  }

  /** An outbox mail's MIME, and the original it holds (written from the buffer given, in parts, not copied). */
  #writeOutboxMail(mail: NewOutgoingMail): void {
    this.#writeBlob(`outbox:${mail.id}`, mail.mime);
    if (mail.heldOriginal) this.#writeBlob(`outbox-original:${mail.id}`, mail.heldOriginal);
  }

  /**
   * A large value read one part at a time, each when the caller asks for it (one query per part: better-sqlite3
   * allows no other statement while a cursor is open, and the caller awaits between parts). Sending a mail holds
   * one 1 MiB part of its original at a time instead of all of it.
   */
  async *#blobParts(owner: string): AsyncGenerator<Buffer> {
    for (let part = 0; ; part += 1) {
      const row = this.#translated(
        () =>
          this.#prepare('SELECT data FROM blob_parts WHERE owner = ? AND part = ?').get(owner, part) as
            Row | undefined,
      );
      if (!row) return;
      yield row.data as Buffer;
    }
  }

  /**
   * A large value read back into one buffer of its exact size, one part at a time: reading all parts and then
   * concatenating them held the value twice (70 MB for a 35 MB message). SQLite answers `length()` of a blob
   * from the record header, without reading the blob.
   */
  #readBlob(owner: string): Buffer {
    const size = Number(
      (
        this.#prepare('SELECT coalesce(sum(length(data)), 0) AS n FROM blob_parts WHERE owner = ?').get(
          owner,
        ) as Row
      ).n,
    );
    const value = Buffer.allocUnsafe(size);
    let at = 0;
    for (const row of this.#prepare('SELECT data FROM blob_parts WHERE owner = ? ORDER BY part').iterate(
      owner,
    ) as IterableIterator<Row>) {
      const data = row.data as Buffer;
      // Parts are written once, with their owner, and never changed: the size read above still holds.
      at += data.copy(value, at);
    }
    return at === size ? value : value.subarray(0, at);
  }

  #finishIntakeRow(id: string, outcomeKey: string, now: string): void {
    this.#prepare(
      `UPDATE intake SET state = 'done', outcome_key = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
         WHERE id = ?`,
    ).run(outcomeKey, now, id);
  }

  async findOutcome(key: string): Promise<OutcomeRecord | null> {
    return this.#translated(() => {
      const row = this.#prepare('SELECT * FROM outcomes WHERE key = ?').get(key) as Row | undefined;
      return row ? toOutcome(row) : null;
    });
  }

  async findOutcomesByMessageId(messageId: string, limit: number): Promise<OutcomeRecord[]> {
    return this.#translated(() => {
      const rows = this.#prepare(
        `SELECT * FROM outcomes WHERE message_id = ? ORDER BY created_at, rowid ${limitClause(limit)}`,
      ).all(messageId) as Row[];
      return rows.map(toOutcome);
    });
  }

  async listOutcomes(filter: OutcomeFilter = {}): Promise<OutcomeRecord[]> {
    return this.#translated(() => {
      const rows = this.#prepare(
        `SELECT * FROM outcomes WHERE (@action IS NULL OR action = @action)
           ORDER BY created_at DESC, rowid DESC LIMIT @limit`,
      ).all({ action: filter.action ?? null, limit: filter.limit ?? 100 }) as Row[];
      return rows.map(toOutcome);
    });
  }

  async listPendingMail(limit: number, now: Date): Promise<PendingMail[]> {
    return this.#translated(() => {
      // The originals the mails refer to are not read here (a batch of forwards would hold one each), only when
      // each mail is sent (openMailOriginal).
      const rows = this.#prepare(
        `SELECT id, kind, recipients, subject, attempts, original_document_id, original IS NOT NULL AS held
           FROM outbox
           WHERE state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
           ORDER BY created_at, rowid ${limitClause(limit)}`,
      ).all(now.toISOString()) as Row[];
      return rows.map((row) => ({
        id: str(row.id),
        kind: str(row.kind) as PendingMail['kind'],
        to: JSON.parse(str(row.recipients)) as string[],
        subject: str(row.subject),
        mime: this.#readBlob(`outbox:${str(row.id)}`),
        original: toPendingOriginal(row),
        attempts: Number(row.attempts),
      }));
    });
  }

  async openMailOriginal(mailId: string): Promise<StoredOriginal | null> {
    return this.#translated(() => {
      const row = this.#prepare(
        `SELECT o.original IS NOT NULL AS held, d.id AS document_id
           FROM outbox o LEFT JOIN documents d ON d.id = o.original_document_id WHERE o.id = ?`,
      ).get(mailId) as Row | undefined;
      const owner = !row
        ? null
        : Number(row.held) === 1
          ? `outbox-original:${mailId}`
          : row.document_id
            ? `document:${str(row.document_id)}`
            : null;
      if (!owner) return null;
      // SQLite answers length() of a blob from the record header, without reading the blob.
      const length = Number(
        (
          this.#prepare('SELECT coalesce(sum(length(data)), 0) AS n FROM blob_parts WHERE owner = ?').get(
            owner,
          ) as Row
        ).n,
      );
      return { length, read: () => this.#blobParts(owner) };
    });
  }

  async markMailSent(id: string, sentAt: Date): Promise<void> {
    return this.#translated(() => {
      this.#prepare(
        `UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?`,
      ).run(sentAt.toISOString(), id);
    });
  }

  async markMailFailed(id: string, error: string, options: MailFailure): Promise<void> {
    return this.#translated(() => {
      this.#prepare(
        `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
             state = CASE WHEN ? THEN 'failed' ELSE state END WHERE id = ?`,
      ).run(error, options.retryAt?.toISOString() ?? null, options.final ? 1 : 0, id);
    });
  }

  async nextMailAttemptAt(): Promise<Date | null> {
    return this.#translated(() => {
      const row = this.#prepare(
        `SELECT min(coalesce(next_attempt_at, created_at)) AS at FROM outbox WHERE state = 'pending'`,
      ).get() as Row;
      return row.at ? new Date(str(row.at)) : null;
    });
  }

  async queueNotice(
    mail: NewOutgoingMail,
    state?: { key: string; expected: string | null; value: string },
  ): Promise<boolean> {
    return this.#translated(() => {
      const now = nowIso();
      const run = this.#db.transaction((): boolean => {
        if (state) {
          const row = this.#prepare('SELECT value FROM app_state WHERE key = ?').get(state.key) as
            Row | undefined;
          if ((row ? str(row.value) : null) !== state.expected) return false;
          this.#prepare(
            `INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?)
               ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
          ).run(state.key, state.value, now);
        }
        // Not about a message: the outbox row names itself where other rows name their message's outcome.
        this.#prepare(
          `INSERT INTO outbox (id, outcome_key, kind, recipients, first_recipient, subject, message_id, mime,
             original, about_sender, created_at)
           VALUES (@id, @key, @kind, @recipients, @first, @subject, @messageId, @mime, @original, @aboutSender,
             @now)`,
        ).run({
          id: mail.id,
          key: `notice:${mail.id}`,
          kind: mail.kind,
          recipients: JSON.stringify(mail.to),
          first: (mail.to[0] ?? '').toLowerCase(),
          subject: mail.subject,
          messageId: mail.messageId,
          mime: emptyBlob,
          original: mail.heldOriginal ? emptyBlob : null,
          aboutSender: mail.aboutSender?.toLowerCase() ?? null,
          now,
        });
        this.#writeOutboxMail(mail);
        return true;
      });
      return run.immediate();
    });
  }

  async enqueue(item: {
    mailboxId: string;
    source: string;
    now: Date;
  }): Promise<{ item: IntakeItem; created: boolean }> {
    return this.#translated(() => {
      const now = item.now.toISOString();
      const result = this.#prepare(
        `INSERT INTO intake (id, mailbox_id, source, state, next_attempt_at, enqueued_at, updated_at)
           VALUES (?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT(mailbox_id) DO NOTHING`,
      ).run(randomUUID(), item.mailboxId, item.source, now, now, now);
      const row = this.#prepare('SELECT * FROM intake WHERE mailbox_id = ?').get(item.mailboxId) as Row;
      return { item: toIntake(row), created: result.changes === 1 };
    });
  }

  async enqueueMany(
    items: readonly { mailboxId: string; source: string }[],
    now: Date,
  ): Promise<EnqueuedItem[]> {
    return this.#translated(() => {
      const at = now.toISOString();
      const insert = this.#prepare(
        `INSERT INTO intake (id, mailbox_id, source, state, next_attempt_at, enqueued_at, updated_at)
           VALUES (?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT(mailbox_id) DO NOTHING`,
      );
      const existing = this.#prepare('SELECT id FROM intake WHERE mailbox_id = ?');
      const run = this.#db.transaction((): EnqueuedItem[] =>
        items.map((item) => {
          const id = randomUUID();
          if (insert.run(id, item.mailboxId, item.source, at, at, at).changes === 1)
            return { id, created: true };
          return { id: str((existing.get(item.mailboxId) as Row).id), created: false };
        }),
      );
      return run.immediate();
    });
  }

  async claimIntake(options: ClaimOptions): Promise<IntakeItem[]> {
    return this.#translated(() => {
      const now = options.now.toISOString();
      const leaseUntil = new Date(options.now.getTime() + options.leaseMs).toISOString();
      const claim = this.#db.transaction((): IntakeItem[] => {
        // Due items in the order of the intake_due index (next attempt, then enqueue order); leases that ran out
        // are few (at most one per message in flight) and merged in here.
        const due = this.#prepare(queueSql.dueIntake(options.limit)).all({ now }) as Row[];
        const expired = this.#prepare(queueSql.expiredLeases(options.limit)).all({ now }) as Row[];
        const rows =
          expired.length === 0
            ? due
            : [...due, ...expired]
                .sort((a, b) => {
                  const [x, y] = [str(a.next_attempt_at), str(b.next_attempt_at)];
                  return x < y ? -1 : x > y ? 1 : Number(a.seq) - Number(b.seq);
                })
                .slice(0, options.limit);
        const update = this.#prepare(
          `UPDATE intake SET state = 'claimed', lease_owner = ?, lease_until = ?, attempts = attempts + 1,
             updated_at = ? WHERE id = ?`,
        );
        const read = this.#prepare('SELECT * FROM intake WHERE id = ?');
        return rows.map((row) => {
          update.run(options.workerId, leaseUntil, now, row.id);
          return toIntake(read.get(row.id) as Row);
        });
      });
      return claim.immediate();
    });
  }

  async retryIntake(id: string, workerId: string, error: string, retryAt: Date): Promise<void> {
    return this.#translated(() => {
      this.#prepare(
        `UPDATE intake SET state = 'pending', last_error = ?, next_attempt_at = ?, lease_owner = NULL,
             lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ? AND state = 'claimed'`,
      ).run(error, retryAt.toISOString(), nowIso(), id, workerId);
    });
  }

  async quarantineIntake(
    id: string,
    workerId: string,
    error: string,
    outcomeKey: string | null,
  ): Promise<void> {
    return this.#translated(() => {
      this.#prepare(
        `UPDATE intake SET state = 'quarantined', last_error = ?, outcome_key = coalesce(?, outcome_key),
             lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ?`,
      ).run(error, outcomeKey, nowIso(), id, workerId);
    });
  }

  async markIntakeSettled(id: string, at: Date): Promise<void> {
    return this.#translated(() => {
      this.#prepare('UPDATE intake SET settled_at = ? WHERE id = ?').run(at.toISOString(), id);
    });
  }

  async listUnsettledIntake(
    before: Date,
    limit: number,
  ): Promise<{ item: IntakeItem; folder: 'processed' | 'failed' }[]> {
    return this.#translated(() => {
      const rows = this.#prepare(
        `SELECT i.*, CASE WHEN i.state = 'quarantined' OR o.action = 'failed' THEN 'failed' ELSE 'processed' END AS folder
         FROM intake i LEFT JOIN outcomes o ON o.key = i.outcome_key
         WHERE i.settled_at IS NULL AND i.state IN ('done', 'quarantined') AND i.updated_at < ?
         ORDER BY i.updated_at ${limitClause(limit)}`,
      ).all(before.toISOString()) as Row[];
      return rows.map((row) => ({
        item: toIntake(row),
        folder: row.folder === 'failed' ? 'failed' : 'processed',
      }));
    });
  }

  async findIntake(idOrMailboxId: string): Promise<IntakeItem | null> {
    return this.#translated(() => {
      const row = this.#prepare('SELECT * FROM intake WHERE id = ? OR mailbox_id = ? LIMIT 1').get(
        idOrMailboxId,
        idOrMailboxId,
      ) as Row | undefined;
      return row ? toIntake(row) : null;
    });
  }

  async listIntake(state: IntakeState, limit: number): Promise<IntakeItem[]> {
    return this.#translated(() => {
      const rows = this.#prepare(
        'SELECT * FROM intake WHERE state = ? ORDER BY enqueued_at, rowid LIMIT ?',
      ).all(state, limit) as Row[];
      return rows.map(toIntake);
    });
  }

  async requeueQuarantined(ids: readonly string[] | 'all', now: Date): Promise<number> {
    return this.#translated(() => {
      const at = now.toISOString();
      const result =
        ids === 'all'
          ? this.#prepare(
              `UPDATE intake SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
                 WHERE state = 'quarantined'`,
            ).run(at, at)
          : this.#prepare(
              `UPDATE intake SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
                 WHERE state = 'quarantined' AND (id IN (SELECT value FROM json_each(?))
                   OR mailbox_id IN (SELECT value FROM json_each(?)))`,
            ).run(at, at, JSON.stringify(ids), JSON.stringify(ids));
      return result.changes;
    });
  }

  async getState(key: string): Promise<string | null> {
    return this.#translated(() => {
      const row = this.#prepare('SELECT value FROM app_state WHERE key = ?').get(key) as Row | undefined;
      return row ? str(row.value) : null;
    });
  }

  async setState(key: string, value: string | null): Promise<void> {
    return this.#translated(() => {
      if (value === null) {
        this.#prepare('DELETE FROM app_state WHERE key = ?').run(key);
        return;
      }
      this.#prepare(
        `INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?)
           ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ).run(key, value, nowIso());
    });
  }

  async acquireLease(name: string, owner: string, ttlMs: number, now: Date): Promise<boolean> {
    return this.#translated(() => {
      const until = new Date(now.getTime() + ttlMs).toISOString();
      const result = this.#prepare(
        `INSERT INTO leases (name, owner, until) VALUES (@name, @owner, @until)
           ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, until = excluded.until
           WHERE leases.owner = excluded.owner OR leases.until <= @now`,
      ).run({ name, owner, until, now: now.toISOString() });
      return result.changes === 1;
    });
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    return this.#translated(() => {
      this.#prepare('DELETE FROM leases WHERE name = ? AND owner = ?').run(name, owner);
    });
  }

  async applyXmlTransaction(
    key: string,
    transaction: ValidatedXmlTransaction,
    author: string,
  ): Promise<XmlTransactionResult> {
    return this.#translated(() => {
      return applyXmlTransactionSqlite(this.#db, key, transaction, author, new Date());
    });
  }
}

/** Why the database could not be opened, and what to do, in the operator's terms instead of SQLite's. */
function describeOpenFailure(path: string, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const where = (error as { path?: unknown }).path;
  const folder = typeof where === 'string' ? where : dirname(path);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `cannot create the folder ${folder} (permission denied); give the service write access to its parent folder, or choose another path`;
    case 'EROFS':
      return `cannot create the folder ${folder}: the file system is read-only; choose a path on a writable one`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `${folder} is in the way: it is a file, not a folder; move it away, or choose another path`;
    case 'SQLITE_CANTOPEN':
      return isFolder(path)
        ? `${path} is a folder; name a file inside it, e.g. sqlite:${join(path, 'crm.sqlite')}`
        : `cannot open ${path} for reading and writing; give the service read and write access to the file and its folder (SQLite writes -wal and -shm files beside it), or choose another path`;
    case 'SQLITE_NOTADB':
      return `${path} is not a SQLite database; point to the connector's database file, or to a path where a new one can be created`;
    case 'SQLITE_CORRUPT':
      return `${path} is damaged (SQLite reports it corrupt); restore it from a backup`;
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return `${path} is locked by another process; stop that process, or choose another path`;
    default:
      if (typeof code === 'string' && code.startsWith('SQLITE_READONLY'))
        return `${path} is read-only; give the service write access to the file and its folder`;
      return `cannot open ${path}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
