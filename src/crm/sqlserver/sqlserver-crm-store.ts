import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import type { Account, AccountMatch, Employee, FiledDocument, Ticket } from '../../domain/crm.ts';
import { classifyEmailField } from '../../domain/addresses.ts';
import { outcomeSupersedes } from '../../domain/outcomes.ts';
import { ticketSequenceOf } from '../../domain/ticket-numbers.ts';
import { formatTicketNumber } from '../../domain/ticket-tag.ts';
import type { ValidatedXmlTransaction, XmlTransactionResult } from '../../domain/xml-api/xml-transaction.ts';
import type {
  ClaimOptions,
  CrmStore,
  EnqueuedItem,
  IntakeItem,
  IntakeState,
  MailFailure,
  NewDocument,
  NewOutgoingMail,
  OutcomeFilter,
  OutcomeRecord,
  OutgoingCountFilter,
  PendingMail,
  ProcessingCommit,
  StoreCounts,
  StoredOriginal,
} from '../crm-store.ts';
import type { CrmImport } from '../crm-import.ts';
import { CrmImportError, defaultTicketId, describeTicket, importedTicketId } from '../crm-import.ts';
import { StoreError } from '../store-error.ts';
import {
  describeServer,
  parseSqlServerUrl,
  secretsOf,
  toPoolConfig,
  type SqlServerSettings,
} from './connection.ts';
import { createEntraCredential, RefreshingTokenCredential } from './entra-credential.ts';
import { mssqlDriver, type MssqlDriver, type MssqlPool } from './mssql-driver.ts';
import {
  isoOrNull,
  storedKey,
  str,
  strOrNull,
  ticketValues,
  toAccount,
  toEmployee,
  toIntake,
  toOutcome,
  toPendingOriginal,
  toTicket,
} from './rows.ts';
import { migrateSchema, schemaStatus, type SchemaStatus } from './schema-migrator.ts';
import { SqlDatabase, type Row, type SqlExecutor } from './sql-database.ts';
import type { SqlStatement } from './sql-statement.ts';
import { describeConnectionFailure, sqlServerErrorKind, toStoreError } from './sqlserver-errors.ts';
import { applyXmlTransactionSqlServer } from './sqlserver-xml-records.ts';
import { sqlStatements as s } from './statements.ts';
import { takeNextTicketSequence } from './ticket-numbers.ts';

/** The normalised match key of a CRM email field: a lower-case address or bare domain. */
function emailKey(value: string | null | undefined): string | null {
  return classifyEmailField(value)?.value ?? null;
}

const json = (value: unknown): string => JSON.stringify(value);

export interface SqlServerCrmStoreOptions {
  /** DATABASE_URL: `mssql://…`, `sqlserver://…` or an ADO.NET string (see connection.ts). */
  url: string;
  /** Where a service principal's AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET are read. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The Microsoft Entra credential to use instead of the one the URL names (tests). */
  credential?: TokenCredential;
  /** Apply pending migrations on first use. Default true; `db status` looks without migrating. */
  migrateOnFirstUse?: boolean;
  /** The driver; tests give one that records statements instead of sending them. Default `mssql`. */
  driver?: MssqlDriver;
}

/**
 * The CRM store on SQL Server or Azure SQL. Opening it only reads the connection string: it connects on first
 * use (the composition root opens stores synchronously), then applies pending migrations once. Every statement
 * is in statements.ts; every driver failure leaves as a StoreError naming the server and never a secret.
 */
export class SqlServerCrmStore implements CrmStore {
  readonly #settings: SqlServerSettings;
  readonly #credential: TokenCredential | null;
  readonly #migrateOnFirstUse: boolean;
  readonly #loadDriver: () => MssqlDriver;
  readonly #secrets: readonly string[];
  #connecting: Promise<SqlDatabase> | null = null;
  #migrating: Promise<void> | null = null;
  #pool: MssqlPool | null = null;
  #closed = false;

  private constructor(
    settings: SqlServerSettings,
    credential: TokenCredential | null,
    migrate: boolean,
    loadDriver: () => MssqlDriver,
  ) {
    this.#settings = settings;
    this.#credential = credential;
    this.#migrateOnFirstUse = migrate;
    this.#loadDriver = loadDriver;
    this.#secrets = secretsOf(settings);
  }

  /** Reads the connection string; throws StoreOpenError when it cannot be used. Connects on first use. */
  static open(options: SqlServerCrmStoreOptions): SqlServerCrmStore {
    const settings = parseSqlServerUrl(options.url, options.env ?? process.env);
    const credential =
      settings.authentication.kind === 'sql-login'
        ? null
        : new RefreshingTokenCredential(options.credential ?? createEntraCredential(settings.authentication));
    const { driver } = options;
    return new SqlServerCrmStore(
      settings,
      credential,
      options.migrateOnFirstUse ?? true,
      driver ? () => driver : mssqlDriver,
    );
  }

  /** The server as messages name it (`host:port`). */
  get server(): string {
    return describeServer(this.#settings);
  }

  /** The schema's migrations, applied and pending, without applying any. */
  async schemaStatus(): Promise<SchemaStatus> {
    return this.#translated(async () => schemaStatus(await this.#database()));
  }

  /** Applies pending migrations now (`email-connector db migrate`). */
  async migrate(): Promise<SchemaStatus> {
    return this.#translated(async () => {
      const status = await migrateSchema(await this.#database(), {
        lockTimeoutMs: this.#schemaLockTimeoutMs,
      });
      this.#migrating = Promise.resolve();
      return status;
    });
  }

  /**
   * How long to wait for another instance that is migrating: within the statement's own time limit, so that the
   * wait ends with "another instance is migrating" rather than a timeout.
   */
  get #schemaLockTimeoutMs(): number {
    const limit = this.#settings.requestTimeoutMs;
    return limit === 0 ? 60_000 : Math.max(1_000, limit - 2_000);
  }

  /** The pool, opened once: a probe connection proves the server, the login and the database. */
  #database(): Promise<SqlDatabase> {
    if (this.#closed) {
      return Promise.reject(
        new StoreError('permanent', `the connection to SQL Server ${this.server} is closed`),
      );
    }
    this.#connecting ??= this.#connect().catch((error: unknown) => {
      // The next use tries again: a server that was down at start-up may be back.
      this.#connecting = null;
      throw error;
    });
    return this.#connecting;
  }

  async #connect(): Promise<SqlDatabase> {
    const driver = this.#loadDriver();
    const pool = new driver.ConnectionPool(toPoolConfig(this.#settings, this.#credential));
    // A broken pooled connection also fails the request that meets it; unheard, this event would end the process.
    pool.on('error', () => undefined);
    try {
      await pool.connect();
    } catch (error) {
      await pool.close().catch(() => undefined);
      throw new StoreError(
        sqlServerErrorKind(error),
        describeConnectionFailure(error, this.server, this.#secrets),
        { cause: error },
      );
    }
    if (this.#closed) {
      await pool.close().catch(() => undefined);
      throw new StoreError('permanent', `the connection to SQL Server ${this.server} is closed`);
    }
    this.#pool = pool;
    return new SqlDatabase(driver, pool);
  }

  /** The pool, with the schema migrated (once per process, unless `migrateOnFirstUse` is off). */
  async #ready(): Promise<SqlDatabase> {
    const db = await this.#database();
    if (this.#migrateOnFirstUse) {
      this.#migrating ??= migrateSchema(db, { lockTimeoutMs: this.#schemaLockTimeoutMs }).then(
        () => undefined,
        (error: unknown) => {
          this.#migrating = null;
          throw error;
        },
      );
      await this.#migrating;
    }
    return db;
  }

  async #translated<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw toStoreError(error, this.server, this.#secrets);
    }
  }

  /** Runs database work on the ready pool, translating driver failures at the adapter's boundary. */
  #use<T>(work: (db: SqlDatabase) => Promise<T>): Promise<T> {
    return this.#translated(async () => work(await this.#ready()));
  }

  async ping(): Promise<void> {
    await this.#use((db) => db.run(s.ping));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connecting = this.#connecting;
    this.#connecting = null;
    await connecting?.catch(() => undefined);
    const pool = this.#pool;
    this.#pool = null;
    await pool?.close().catch(() => undefined);
  }

  // CrmRecords: look-ups.

  async findAccountsByAddress(address: string): Promise<AccountMatch[]> {
    const key = address.trim().toLowerCase();
    return this.#use(async (db) => {
      const [direct, contacts] = await Promise.all([
        db.rows(s.accountsByAddress, { key }),
        db.rows(s.contactsByAddress, { key }),
      ]);
      return [
        ...direct.map((row) => ({
          account: toAccount(row),
          contactId: null,
          via: str(row.via) as 'email1' | 'email2',
        })),
        ...contacts.map((row) => ({
          account: toAccount(row),
          contactId: str(row.contact_row_id),
          via: 'contact' as const,
        })),
      ];
    });
  }

  async findAccountsByDomain(domain: string): Promise<Account[]> {
    return this.#use(async (db) =>
      (await db.rows(s.accountsByDomain, { key: domain.trim().toLowerCase() })).map(toAccount),
    );
  }

  async findAccountById(id: string): Promise<Account | null> {
    return this.#use(async (db) => {
      const row = await db.row(s.accountById, { id });
      return row ? toAccount(row) : null;
    });
  }

  async findAccountsByIds(ids: readonly string[]): Promise<Account[]> {
    if (ids.length === 0) return [];
    return this.#use(async (db) => (await db.rows(s.accountsByIds, { ids: json(ids) })).map(toAccount));
  }

  async findAccountsByName(name: string): Promise<Account[]> {
    return this.#use(async (db) => (await db.rows(s.accountsByName, { name: name.trim() })).map(toAccount));
  }

  async findAccountsNameCandidates(text: string): Promise<Account[]> {
    return this.#use(async (db) => (await db.rows(s.accountNameCandidates, { text })).map(toAccount));
  }

  async findAccountsByForeignId(values: readonly string[], field: string | null): Promise<Account[]> {
    if (values.length === 0) return [];
    return this.#use(async (db) => {
      const rows = field
        ? // A JSON path names the key in quotes, escaped as a JSON string: `$."RMM Site"`.
          await db.rows(s.accountsByCustomField, { path: `$.${json(field)}`, values: json(values) })
        : await db.rows(s.accountsByForeignId, { values: json(values) });
      return rows.map(toAccount);
    });
  }

  async findEmployeesByAddress(address: string): Promise<Employee[]> {
    return this.#use(async (db) =>
      (await db.rows(s.employeesByAddress, { key: address.trim().toLowerCase() })).map(toEmployee),
    );
  }

  async findTicketByNumber(number: string): Promise<Ticket | null> {
    const sequence = ticketSequenceOf(number);
    if (sequence === null) return null;
    return this.#use(async (db) => {
      const row = await db.row(s.ticketBySeq, { seq: sequence });
      return row ? toTicket(row) : null;
    });
  }

  async findTicketByThread(
    messageIds: readonly string[],
    tokens: readonly string[],
  ): Promise<{ ticket: Ticket; via: 'message-id' | 'reference-token' } | null> {
    return this.#use(async (db) => {
      for (const [refs, kind, via] of [
        [messageIds, 'message-id', 'message-id'],
        [tokens, 'token', 'reference-token'],
      ] as const) {
        for (const ref of refs) {
          const row = await db.row(s.ticketByThreadRef, { ref: storedKey(ref) });
          if (row && row.ref_kind === kind) return { ticket: toTicket(row), via };
        }
      }
      return null;
    });
  }

  async listDocuments(ticketId: string): Promise<FiledDocument[]> {
    return this.#use(async (db) => {
      const [documents, attachments] = await Promise.all([
        db.rows(s.documentsOfTicket, { ticketId }),
        db.rows(s.attachmentsOfTicket, { ticketId }),
      ]);
      return documents.map((row) => ({
        id: str(row.id),
        ticketId: str(row.ticket_id),
        accountId: str(row.account_id),
        sender: str(row.sender),
        recipients: JSON.parse(str(row.recipients)) as string[],
        date: str(row.date),
        subject: str(row.subject),
        messageId: strOrNull(row.message_id),
        attachments: attachments
          .filter((attachment) => attachment.document_id === row.id)
          .map((attachment) => ({
            filename: str(attachment.filename),
            contentType: str(attachment.content_type),
            size: Number(attachment.size),
            position: attachment.mime_position == null ? null : Number(attachment.mime_position),
          })),
      }));
    });
  }

  async readStoredAttachment(documentId: string, index: number): Promise<Buffer | null> {
    return this.#use(async (db) => {
      const row = await db.row(s.storedAttachment, { documentId, index });
      return row ? (row.content as Buffer) : null;
    });
  }

  async listTicketHistory(ticketId: string): Promise<{ date: string; description: string }[]> {
    return this.#use(async (db) =>
      (await db.rows(s.historyOfTicket, { ticketId })).map((row) => ({
        date: str(row.date),
        description: str(row.description),
      })),
    );
  }

  async readDocumentRaw(documentId: string): Promise<Buffer | null> {
    return this.#use(async (db) => {
      const row = await db.row(s.documentRaw, { id: documentId });
      return row ? Buffer.from(row.raw as Buffer) : null;
    });
  }

  // CrmRecords: import, counts, ticket numbers, XML API.

  async importCrm(data: CrmImport): Promise<StoreCounts> {
    return this.#use(async (db) => {
      const now = new Date().toISOString();
      await db.transaction(async (tx) => {
        for (const account of data.accounts) {
          await upsert(tx, s.updateAccount, s.insertAccount, {
            id: account.id,
            company: account.company,
            fileAs: account.fileAs ?? account.company,
            email1: account.email1,
            email1Key: emailKey(account.email1),
            email2: account.email2,
            email2Key: emailKey(account.email2),
            accountNumber: account.accountNumber,
            foreignId: account.foreignId,
            customFields: json(account.customFields ?? {}),
            contact: account.contact,
            phone: account.phone,
            address: account.address,
            city: account.city,
            zip: account.zip,
            country: account.country,
            now,
          });
          for (const [index, contact] of (account.contacts ?? []).entries()) {
            await upsert(tx, s.updateContact, s.insertContact, {
              // Contacts without an id are keyed by account and position, so a re-import updates them.
              id: contact.id ?? `${account.id}/${index + 1}`,
              accountId: account.id,
              name: contact.name,
              email: contact.email,
              emailKey: emailKey(contact.email),
            });
          }
        }
        for (const employee of data.employees) {
          await upsert(tx, s.updateEmployee, s.insertEmployee, {
            id: employee.id,
            name: employee.name,
            email1: employee.email1,
            email1Key: emailKey(employee.email1),
            email2: employee.email2,
            email2Key: emailKey(employee.email2),
            active: employee.active,
          });
        }
        const idsInFile = new Map<string, number>();
        for (const [index, ticket] of data.tickets.entries()) {
          const where = describeTicket(data.tickets, index);
          if (!(await tx.row(s.accountExists, { id: ticket.accountId }))) {
            throw new CrmImportError(
              `${where}.accountId: no account "${ticket.accountId}" in the file or the database`,
            );
          }
          if (
            ticket.contactId &&
            !(await tx.row(s.contactOfAccount, { id: ticket.contactId, accountId: ticket.accountId }))
          ) {
            throw new CrmImportError(
              `${where}.contactId: no contact "${ticket.contactId}" on account "${ticket.accountId}"`,
            );
          }
          // Exact: the import refuses numbers above fifteen digits.
          const seq = Number(ticket.number);
          const found = await tx.row(s.ticketIdBySeq, { seq });
          const existing = found ? { id: str(found.id), number: str(found.number) } : null;
          const holder =
            !existing && ticket.id === null
              ? await tx.row(s.ticketNumberById, { id: defaultTicketId(ticket.number) })
              : null;
          const id = importedTicketId({
            tickets: data.tickets,
            index,
            existing,
            defaultIdHolder: holder ? { number: str(holder.number) } : null,
            idsInFile,
          });
          await upsert(tx, s.updateImportedTicket, s.insertImportedTicket, {
            id,
            ...ticketValues(ticket),
            now,
          });
        }
      });
      return countsOf(db);
    });
  }

  async counts(): Promise<StoreCounts> {
    return this.#use(countsOf);
  }

  async reserveTicketNumber(digits: number): Promise<string> {
    return this.#use(async (db) =>
      formatTicketNumber(await db.transaction((tx) => takeNextTicketSequence(tx)), { digits }),
    );
  }

  async applyXmlTransaction(
    key: string,
    transaction: ValidatedXmlTransaction,
    author: string,
  ): Promise<XmlTransactionResult> {
    return this.#use((db) => applyXmlTransactionSqlServer(db, key, transaction, author, new Date()));
  }

  // UnitOfWork.

  async commitProcessing(commit: ProcessingCommit): Promise<{ outcome: OutcomeRecord; duplicate: boolean }> {
    return this.#use((db) => {
      const at = new Date();
      const now = at.toISOString();
      const key = storedKey(commit.outcome.key);
      return db.transaction(async (tx) => {
        // Locked until the commit: a second worker committing the same message waits here, then sees this one.
        const existing = await tx.row(s.outcomeLocked, { key });
        const recorded = existing ? toOutcome(existing) : null;
        if (recorded && !outcomeSupersedes(recorded, commit.outcome)) {
          if (commit.intakeId)
            await tx.run(s.finishIntake, { id: commit.intakeId, outcomeKey: key, now: at });
          return { outcome: recorded, duplicate: true };
        }
        if (recorded) await tx.run(s.deleteOutcome, { key });
        if (commit.intakeId) {
          // A quarantined message recorded under a provisional key gives way to its outcome like any other.
          const intake = await tx.row(s.intakeOutcomeKey, { id: commit.intakeId });
          const provisionalKey = strOrNull(intake?.outcome_key);
          const provisional =
            provisionalKey && provisionalKey !== key
              ? await tx.row(s.outcomeLocked, { key: provisionalKey })
              : null;
          if (provisional && provisionalKey && outcomeSupersedes(toOutcome(provisional), commit.outcome))
            await tx.run(s.deleteOutcome, { key: provisionalKey });
        }
        if (commit.ticket) {
          const ticket = commit.ticket;
          await tx.run(s.insertTicket, {
            id: ticket.id,
            ...ticketValues(ticket),
            followsTicketId: ticket.followsTicketId ?? null,
            now,
          });
        }
        if (commit.ticketUpdate) {
          await tx.run(s.updateTicketStatus, {
            id: commit.ticketUpdate.id,
            status: commit.ticketUpdate.status,
            now,
          });
        }
        for (const note of commit.history ?? []) {
          await tx.run(s.insertHistoryNote, {
            id: randomUUID(),
            accountId: note.accountId,
            ticketId: note.ticketId,
            description: note.description,
            now,
          });
        }
        for (const document of commit.documents) await insertDocument(tx, document, now);
        for (const document of commit.documents) {
          if (document.messageId)
            await insertThreadRef(tx, document.messageId, 'message-id', document.ticketId);
        }
        for (const mail of commit.outgoing) {
          await insertOutboxMail(tx, mail, key, at);
          if (mail.ticketId) {
            await insertThreadRef(tx, mail.messageId, 'message-id', mail.ticketId);
            if (mail.referenceToken) await insertThreadRef(tx, mail.referenceToken, 'token', mail.ticketId);
          }
        }
        const outcome: OutcomeRecord = {
          ...commit.outcome,
          mailbox: commit.outcome.mailbox ?? null,
          createdAt: now,
        };
        await tx.run(s.insertOutcome, {
          key,
          source: outcome.source,
          mailbox: outcome.mailbox,
          messageId: storedKey(outcome.messageId),
          from: outcome.from,
          subject: outcome.subject,
          action: outcome.action,
          code: outcome.code,
          reason: outcome.reason,
          ticketNumber: outcome.ticketNumber,
          accountId: outcome.accountId,
          flags: json(outcome.flags),
          forwardedTo: json(outcome.forwardedTo),
          sent: json(outcome.sent),
          details: outcome.details ? json(outcome.details) : null,
          createdAt: at,
        });
        if (commit.intakeId) await tx.run(s.finishIntake, { id: commit.intakeId, outcomeKey: key, now: at });
        return { outcome, duplicate: false };
      });
    });
  }

  // OutcomeLog.

  async findOutcome(key: string): Promise<OutcomeRecord | null> {
    return this.#use(async (db) => {
      const row = await db.row(s.outcomeByKey, { key: storedKey(key) });
      return row ? toOutcome(row) : null;
    });
  }

  async findOutcomesByMessageId(messageId: string, limit: number): Promise<OutcomeRecord[]> {
    return this.#use(async (db) =>
      (await db.rows(s.outcomesByMessageId, { messageId: storedKey(messageId), limit })).map(toOutcome),
    );
  }

  async listOutcomes(filter: OutcomeFilter = {}): Promise<OutcomeRecord[]> {
    const limit = filter.limit ?? 100;
    return this.#use(async (db) =>
      (filter.action
        ? await db.rows(s.latestOutcomesByAction, { action: filter.action, limit })
        : await db.rows(s.latestOutcomes, { limit })
      ).map(toOutcome),
    );
  }

  // Outbox.

  async listPendingMail(limit: number, now: Date): Promise<PendingMail[]> {
    return this.#use(async (db) =>
      (await db.rows(s.pendingMail, { limit, now })).map((row) => ({
        id: str(row.id),
        kind: str(row.kind) as PendingMail['kind'],
        to: JSON.parse(str(row.recipients)) as string[],
        subject: str(row.subject),
        mime: Buffer.from(row.mime as Buffer),
        original: toPendingOriginal(row),
        attempts: Number(row.attempts),
      })),
    );
  }

  async openMailOriginal(mailId: string): Promise<StoredOriginal | null> {
    return this.#use(async (db) => {
      const row = await db.row(s.mailOriginalLength, { id: mailId });
      if (row?.length === null || row?.length === undefined) return null;
      return { length: Number(row.length), read: () => this.#mailOriginal(mailId) };
    });
  }

  /**
   * A mail's original, read when sending asks for it: in one piece, the driver's buffer as it is (the driver
   * streams varbinary(max) from the server, but hands the value over whole).
   */
  async *#mailOriginal(mailId: string): AsyncGenerator<Buffer> {
    const row = await this.#use((db) => db.row(s.mailOriginal, { id: mailId }));
    const value = (row?.original ?? null) as Uint8Array | null;
    if (value !== null) yield Buffer.isBuffer(value) ? value : Buffer.from(value);
  }

  async markMailSent(id: string, sentAt: Date): Promise<void> {
    await this.#use((db) => db.run(s.markMailSent, { id, sentAt }));
  }

  async markMailFailed(id: string, error: string, failure: MailFailure): Promise<void> {
    await this.#use((db) =>
      db.run(s.markMailFailed, { id, error, retryAt: failure.retryAt ?? null, final: failure.final }),
    );
  }

  async nextMailAttemptAt(): Promise<Date | null> {
    return this.#use(async (db) => {
      const at = isoOrNull((await db.row(s.nextMailAttempt))?.at);
      return at ? new Date(at) : null;
    });
  }

  async countOutgoingSince(filter: OutgoingCountFilter): Promise<number> {
    if (filter.kinds.length === 0) return 0;
    const base = { kinds: json(filter.kinds), since: filter.since };
    const recipient = filter.recipient?.toLowerCase() || null;
    const aboutSender = filter.aboutSender?.toLowerCase() || null;
    return this.#use(async (db) => {
      const row =
        recipient && aboutSender
          ? await db.row(s.countOutgoingToRecipientAboutSender, { ...base, recipient, aboutSender })
          : recipient
            ? await db.row(s.countOutgoingToRecipient, { ...base, recipient })
            : aboutSender
              ? await db.row(s.countOutgoingAboutSender, { ...base, aboutSender })
              : await db.row(s.countOutgoing, base);
      return Number(row?.n ?? 0);
    });
  }

  async queueNotice(
    mail: NewOutgoingMail,
    state?: { key: string; expected: string | null; value: string },
  ): Promise<boolean> {
    return this.#use((db) => {
      const at = new Date();
      return db.transaction(async (tx) => {
        if (state) {
          const row = await tx.row(s.stateLocked, { key: state.key });
          if ((row ? str(row.value) : null) !== state.expected) return false;
          const values = { key: state.key, value: state.value, now: at };
          await tx.run(row ? s.updateState : s.insertState, values);
        }
        // Not about a message: the outbox row names itself where other rows name their message's outcome.
        await insertOutboxMail(tx, mail, `notice:${mail.id}`, at);
        return true;
      });
    });
  }

  // WorkQueue.

  async enqueue(item: {
    mailboxId: string;
    source: string;
    now: Date;
  }): Promise<{ item: IntakeItem; created: boolean }> {
    return this.#use(async (db) => {
      const created = await db.changed(s.enqueue, {
        id: randomUUID(),
        mailboxId: item.mailboxId,
        source: item.source,
        now: item.now,
      });
      const row = await db.row(s.intakeByMailboxId, { mailboxId: item.mailboxId });
      if (!row) throw new Error(`intake item ${item.mailboxId} vanished after it was enqueued`);
      return { item: toIntake(row), created: created === 1 };
    });
  }

  async enqueueMany(
    items: readonly { mailboxId: string; source: string }[],
    now: Date,
  ): Promise<EnqueuedItem[]> {
    return this.#use((db) =>
      db.transaction(async (tx) => {
        const results: EnqueuedItem[] = [];
        for (const item of items) {
          const id = randomUUID();
          const created = await tx.changed(s.enqueue, {
            id,
            mailboxId: item.mailboxId,
            source: item.source,
            now,
          });
          if (created === 1) {
            results.push({ id, created: true });
            continue;
          }
          const row = await tx.row(s.intakeByMailboxId, { mailboxId: item.mailboxId });
          if (!row) throw new Error(`intake item ${item.mailboxId} vanished after it was enqueued`);
          results.push({ id: String(row.id), created: false });
        }
        return results;
      }),
    );
  }

  async claimIntake(options: ClaimOptions): Promise<IntakeItem[]> {
    return this.#use(async (db) => {
      const rows = await db.rows(s.claimIntake, {
        limit: options.limit,
        now: options.now,
        workerId: options.workerId,
        leaseUntil: new Date(options.now.getTime() + options.leaseMs),
      });
      // OUTPUT returns rows in no particular order: due first, as the claim chose them.
      const order = (row: Row): [number, number, number] => [
        (row.next_attempt_at as Date).getTime(),
        (row.enqueued_at as Date).getTime(),
        Number(row.rowid),
      ];
      return rows
        .sort((a, b) => {
          const [x, y] = [order(a), order(b)];
          return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
        })
        .map(toIntake);
    });
  }

  async retryIntake(id: string, workerId: string, error: string, retryAt: Date): Promise<void> {
    await this.#use((db) => db.run(s.retryIntake, { id, workerId, error, retryAt, now: new Date() }));
  }

  async quarantineIntake(
    id: string,
    workerId: string,
    error: string,
    outcomeKey: string | null,
  ): Promise<void> {
    await this.#use((db) =>
      db.run(s.quarantineIntake, { id, workerId, error, outcomeKey: storedKey(outcomeKey), now: new Date() }),
    );
  }

  async markIntakeSettled(id: string, at: Date): Promise<void> {
    await this.#use((db) => db.run(s.markIntakeSettled, { id, at }));
  }

  async listUnsettledIntake(
    before: Date,
    limit: number,
  ): Promise<{ item: IntakeItem; folder: 'processed' | 'failed' }[]> {
    return this.#use(async (db) =>
      (await db.rows(s.unsettledIntake, { before, limit })).map((row) => ({
        item: toIntake(row),
        folder: row.folder === 'failed' ? ('failed' as const) : ('processed' as const),
      })),
    );
  }

  async findIntake(idOrMailboxId: string): Promise<IntakeItem | null> {
    return this.#use(async (db) => {
      const row = await db.row(s.findIntake, { value: idOrMailboxId });
      return row ? toIntake(row) : null;
    });
  }

  async listIntake(state: IntakeState, limit: number): Promise<IntakeItem[]> {
    return this.#use(async (db) => (await db.rows(s.intakeByState, { state, limit })).map(toIntake));
  }

  async requeueQuarantined(ids: readonly string[] | 'all', now: Date): Promise<number> {
    if (ids !== 'all' && ids.length === 0) return 0;
    return this.#use((db) =>
      ids === 'all'
        ? db.changed(s.requeueAllQuarantined, { now })
        : db.changed(s.requeueQuarantined, { now, ids: json(ids) }),
    );
  }

  async getState(key: string): Promise<string | null> {
    return this.#use(async (db) => strOrNull((await db.row(s.state, { key }))?.value));
  }

  async setState(key: string, value: string | null): Promise<void> {
    await this.#use(async (db) => {
      if (value === null) {
        await db.run(s.deleteState, { key });
        return;
      }
      const now = new Date();
      await db.transaction(async (tx) => {
        // The lock covers a key nobody has yet, so two instances setting it at once do not both insert it.
        const row = await tx.row(s.stateLocked, { key });
        await tx.run(row ? s.updateState : s.insertState, { key, value, now });
      });
    });
  }

  async acquireLease(name: string, owner: string, ttlMs: number, now: Date): Promise<boolean> {
    const until = new Date(now.getTime() + ttlMs);
    return this.#use(async (db) => {
      if ((await db.changed(s.extendLease, { name, owner, until, now })) === 1) return true;
      return (await db.changed(s.takeFreeLease, { name, owner, until })) === 1;
    });
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    await this.#use((db) => db.run(s.releaseLease, { name, owner }));
  }
}

/** Updates the row in place, or inserts it when there was none (within the caller's transaction). */
async function upsert(
  tx: SqlExecutor,
  update: SqlStatement,
  insert: SqlStatement,
  values: Record<string, unknown>,
): Promise<void> {
  if ((await tx.changed(update, values)) === 0) await tx.run(insert, values);
}

async function countsOf(db: SqlExecutor): Promise<StoreCounts> {
  const row = (await db.row(s.counts)) ?? {};
  return {
    accounts: Number(row.accounts ?? 0),
    contacts: Number(row.contacts ?? 0),
    employees: Number(row.employees ?? 0),
    tickets: Number(row.tickets ?? 0),
    documents: Number(row.documents ?? 0),
    outcomes: Number(row.outcomes ?? 0),
  };
}

/**
 * A filed document with its original in one varbinary(max) value (the driver streams it; SQLite's 1 MiB parts,
 * which spare SQLite building a whole row in memory, would only add round trips here). Its attachments are rows
 * of metadata: their bytes are in the original, at `mime_position`.
 */
async function insertDocument(tx: SqlExecutor, document: NewDocument, now: string): Promise<void> {
  await tx.run(s.insertDocument, {
    id: document.id,
    ticketId: document.ticketId,
    accountId: document.accountId,
    sender: document.sender,
    recipients: json(document.recipients),
    date: document.date,
    subject: document.subject,
    textBody: document.textBody,
    htmlBody: document.htmlBody,
    messageId: document.messageId,
    raw: document.raw,
    now,
  });
  for (const attachment of document.attachments) {
    await tx.run(s.insertAttachment, {
      documentId: document.id,
      filename: attachment.filename,
      contentType: attachment.contentType,
      size: attachment.size,
      position: attachment.position,
    });
  }
  await tx.run(s.touchTicket, { id: document.ticketId, now });
}

async function insertThreadRef(
  tx: SqlExecutor,
  ref: string,
  kind: 'message-id' | 'token',
  ticketId: string,
): Promise<void> {
  await tx.run(s.insertThreadRef, { ref: storedKey(ref), kind, ticketId });
}

async function insertOutboxMail(
  tx: SqlExecutor,
  mail: NewOutgoingMail,
  outcomeKey: string,
  at: Date,
): Promise<void> {
  await tx.run(s.insertOutboxMail, {
    id: mail.id,
    outcomeKey,
    kind: mail.kind,
    recipients: json(mail.to),
    firstRecipient: (mail.to[0] ?? '').toLowerCase(),
    subject: mail.subject,
    messageId: mail.messageId,
    mime: mail.mime,
    originalDocumentId: mail.originalDocumentId ?? null,
    original: mail.heldOriginal ?? null,
    aboutSender: mail.aboutSender?.toLowerCase() ?? null,
    now: at,
  });
}
