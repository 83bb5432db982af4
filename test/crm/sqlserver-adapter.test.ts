import { describe, expect, it } from 'vitest';
import { parseCrmImport } from '../../src/crm/crm-import.ts';
import type { ProcessingCommit } from '../../src/crm/crm-store.ts';
import { StoreError } from '../../src/crm/store-error.ts';
import { xmlDataKinds } from '../../src/domain/xml-api/data-kinds.ts';
import { migrationBatches, sqlServerMigrations } from '../../src/crm/sqlserver/migrations.ts';
import type { MssqlDriver, MssqlRequest, MssqlResult } from '../../src/crm/sqlserver/mssql-driver.ts';
import { SqlServerCrmStore } from '../../src/crm/sqlserver/sqlserver-crm-store.ts';
import { sqlStatements as s, xmlRecordById } from '../../src/crm/sqlserver/statements.ts';
import { exampleImport } from './crm-store.contract.ts';
import { dbCommand } from '../../src/cli/db-command.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';

/*
 * The adapter without a server: a driver that records every statement and answers from a script. It shows what
 * needs no database to show: every port method sends only catalogued statements, each bound with exactly its
 * declared parameters (the binder refuses any other), in a transaction where the port promises one; the store
 * connects on first use and migrates once. What the server does with the statements is the contract suite's
 * (test/crm/sqlserver-crm-store.test.ts, with MSSQL_CONNECTION_STRING).
 */

interface Sent {
  sql: string;
  inputs: Record<string, unknown>;
  transaction: number | null;
}

type Answer = Partial<MssqlResult> | ((inputs: Record<string, unknown>) => Partial<MssqlResult>);

function recordingDriver(answers: Map<string, Answer>): { driver: MssqlDriver; sent: Sent[]; pools: number } {
  const sent: Sent[] = [];
  const state = { pools: 0, transactions: 0 };
  const request = (transaction: number | null): MssqlRequest => {
    const inputs: Record<string, unknown> = {};
    const self: MssqlRequest = {
      input(name, _type, value) {
        inputs[name] = value;
        return self;
      },
      async query(sql) {
        sent.push({ sql, inputs, transaction });
        const answer = answers.get(sql);
        const result = typeof answer === 'function' ? answer(inputs) : answer;
        return { recordset: [], rowsAffected: [1], ...result };
      },
    };
    return self;
  };
  class ConnectionPool {
    constructor() {
      state.pools += 1;
    }
    async connect(): Promise<void> {}
    async close(): Promise<void> {}
    request(): MssqlRequest {
      return request(null);
    }
    on(): this {
      return this;
    }
  }
  class Transaction {
    readonly #id = (state.transactions += 1);
    async begin(): Promise<void> {}
    async commit(): Promise<void> {}
    async rollback(): Promise<void> {}
    request(): MssqlRequest {
      return request(this.#id);
    }
  }
  const type = (name: string) => (length?: number) => ({ name, length });
  const driver = {
    ConnectionPool,
    Transaction,
    MSSQLError: class extends Error {},
    ISOLATION_LEVEL: { READ_COMMITTED: 2 },
    MAX: 65_535,
    NVarChar: type('nvarchar'),
    VarBinary: type('varbinary'),
    DateTime2: type('datetime2'),
    Int: { name: 'int' },
    BigInt: { name: 'bigint' },
    Bit: { name: 'bit' },
  } as unknown as MssqlDriver;
  return {
    driver,
    sent,
    get pools() {
      return state.pools;
    },
  };
}

const now = new Date('2026-11-27T10:00:00.000Z');
const intakeRow = (mailboxId: string, minutes: number) => ({
  id: `id-${mailboxId}`,
  mailbox_id: mailboxId,
  source: 'test',
  state: 'claimed',
  attempts: 1,
  last_error: null,
  outcome_key: null,
  next_attempt_at: new Date(now.getTime() + minutes * 60_000),
  enqueued_at: now,
  settled_at: null,
  rowid: String(minutes),
});

/** What the script answers: enough rows for every method to take its whole path. */
function script(): Map<string, Answer> {
  return new Map<string, Answer>([
    [s.lockSchema.sql, { recordset: [{ result: 0 }] }],
    [s.intakeByMailboxId.sql, { recordset: [intakeRow('m1', 0)] }],
    [s.ticketCounterLocked.sql, { recordset: [{ value: '44' }] }],
    [s.highestTicketSeq.sql, { recordset: [{ highest: '42' }] }],
    [s.accountExists.sql, { recordset: [{ found: 1 }] }],
    [
      s.counts.sql,
      { recordset: [{ accounts: 1, contacts: 1, employees: 1, tickets: 1, documents: 0, outcomes: 0 }] },
    ],
    [s.claimIntake.sql, { recordset: [intakeRow('late', 5), intakeRow('early', 1)] }],
    [xmlRecordById.accounts!.sql, (inputs) => ({ recordset: inputs.id === 'ACME' ? [{ id: 'ACME' }] : [] })],
    [
      xmlRecordById.tickets!.sql,
      (inputs) => ({
        recordset: inputs.id === 'TKT-0000042' ? [{ id: 'TKT-0000042', account_id: 'ACME' }] : [],
      }),
    ],
    [
      s.pendingMail.sql,
      {
        recordset: [
          {
            id: 'M1',
            kind: 'forward',
            recipients: '["helpdesk@msp.example"]',
            subject: 's',
            attempts: 0,
            mime: Buffer.from('mime'),
            original_document_id: 'D1',
            held: 0,
          },
          {
            id: 'M2',
            kind: 'forward',
            recipients: '["helpdesk@msp.example"]',
            subject: 's',
            attempts: 0,
            mime: Buffer.from('mime'),
            original_document_id: null,
            held: true,
          },
        ],
      },
    ],
    [s.mailOriginalLength.sql, (inputs) => ({ recordset: inputs.id === 'M1' ? [{ length: 3 }] : [] })],
    [
      s.mailOriginal.sql,
      (inputs) => ({ recordset: inputs.id === 'M1' ? [{ original: Buffer.from('raw') }] : [] }),
    ],
  ]);
}

const catalogued = new Set([
  ...Object.values(s).map((statement) => statement.sql),
  ...Object.values(xmlRecordById).map((statement) => statement.sql),
  ...sqlServerMigrations.flatMap((migration) => migrationBatches(migration.sql)),
]);
const xmlTables = Object.values(xmlDataKinds).map((spec) => spec.table);
/** The XML writes are built from the field tables (statements.ts `xmlInsert`, `xmlUpdate`). */
const isXmlWrite = (sql: string): boolean =>
  new RegExp(`^(INSERT INTO|UPDATE) (${xmlTables.join('|')}) (\\(|SET )`).test(sql);

const commit: ProcessingCommit = {
  outcome: {
    key: 'mid:a@b#1',
    source: 'test',
    messageId: 'a@b',
    from: 'jane@acme.example',
    subject: 'Printer on fire',
    action: 'ticket-created',
    code: 'new-ticket',
    reason: 'test',
    ticketNumber: '0000043',
    accountId: 'ACME',
    flags: [],
    forwardedTo: [],
    sent: [],
    details: null,
  },
  ticket: {
    id: 'T1',
    number: '0000043',
    accountId: 'ACME',
    contactId: null,
    subject: 'Printer on fire',
    status: 'open',
    priority: null,
    kind: null,
    source: 'email',
  },
  ticketUpdate: { id: 'T0', status: 'reopened' },
  history: [{ ticketId: 'T0', accountId: 'ACME', description: 'Reopened' }],
  documents: [
    {
      id: 'D1',
      ticketId: 'T1',
      accountId: 'ACME',
      sender: 'jane@acme.example',
      recipients: ['support@msp.example'],
      date: now.toISOString(),
      subject: 'Printer on fire',
      textBody: 'help',
      htmlBody: null,
      messageId: 'a@b',
      attachments: [
        {
          filename: 'a.jpg',
          contentType: 'image/jpeg',
          size: 3,
          content: null,
          position: 0,
          contentId: null,
          inline: false,
        },
      ],
      raw: Buffer.from('raw'),
    },
  ],
  outgoing: [
    {
      id: 'M1',
      kind: 'acknowledgment',
      to: ['Jane@acme.example'],
      subject: '[Ticket#0000043] Printer on fire',
      messageId: 'ack@msp.example',
      referenceToken: 'ECR-00000000000000000001',
      ticketId: 'T1',
      mime: Buffer.from('ack'),
    },
  ],
  intakeId: 'id-m1',
};

describe('SQL Server adapter, statement by statement', () => {
  it('connects on first use, migrates once, and sends only catalogued statements with their declared parameters', async () => {
    const recorder = recordingDriver(script());
    const store = SqlServerCrmStore.open({ url: 'mssql://u:p@db.example/crm', driver: recorder.driver });
    expect(recorder.pools).toBe(0);

    await store.ping();
    const migrationsSent = recorder.sent.filter((entry) => !entry.sql.startsWith('SELECT 1')).length;
    expect(migrationsSent).toBeGreaterThan(sqlServerMigrations.length);
    await store.ping();
    expect(recorder.sent.length).toBe(migrationsSent + 2);
    expect(recorder.pools).toBe(1);

    await store.findAccountsByAddress('Jane@Acme.example');
    await store.findAccountsByDomain('acme.example');
    await store.findAccountById('ACME');
    await store.findAccountsByIds(['ACME', 'GLOBEX']);
    await store.findAccountsByName('Acme');
    await store.findAccountsNameCandidates('alert for Acme');
    await store.findAccountsByForeignId(['RMM-77'], null);
    await store.findAccountsByForeignId(['site-9'], 'RMM Site');
    await store.findEmployeesByAddress('tom@msp.example');
    await store.findTicketByNumber('0000042');
    await store.findTicketByThread(['a@b', 'x'.repeat(600)], ['ECR-1']);
    await store.listDocuments('T1');
    await store.listTicketHistory('T1');
    await store.readDocumentRaw('D1');
    await store.importCrm(parseCrmImport(exampleImport));
    await store.counts();
    expect(await store.reserveTicketNumber(7)).toBe('0000045');
    await store.commitProcessing(commit);
    await store.findOutcome('mid:a@b#1');
    await store.findOutcomesByMessageId('a@b', 5);
    await store.listOutcomes();
    await store.listOutcomes({ action: 'failed', limit: 3 });
    expect(await store.listPendingMail(10, now)).toMatchObject([
      { id: 'M1', to: ['helpdesk@msp.example'], original: { kind: 'document', documentId: 'D1' } },
      { id: 'M2', original: { kind: 'held' } },
    ]);
    const original = await store.openMailOriginal('M1');
    expect(original?.length).toBe(3);
    const parts: Buffer[] = [];
    for await (const part of original!.read()) parts.push(part);
    expect(parts).toEqual([Buffer.from('raw')]);
    expect(await store.openMailOriginal('M3')).toBeNull();
    await store.markMailSent('M1', now);
    await store.markMailFailed('M1', 'refused', { final: true });
    await store.markMailFailed('M1', 'throttled', { final: false, retryAt: now });
    await store.nextMailAttemptAt();
    for (const filter of [
      { kinds: ['forward' as const], since: now },
      { kinds: ['forward' as const], recipient: 'A@b.example', since: now },
      { kinds: ['forward' as const], aboutSender: 'C@d.example', since: now },
      { kinds: ['forward' as const], recipient: 'a@b.example', aboutSender: 'c@d.example', since: now },
    ])
      await store.countOutgoingSince(filter);
    await store.queueNotice(commit.outgoing[0]!, { key: 'notice.state', expected: null, value: 'down' });
    await store.queueNotice({ ...commit.outgoing[0]!, id: 'M9', heldOriginal: Buffer.from('original') });
    // The original a mail holds goes into its own column, once, as given.
    const held = recorder.sent.filter((entry) => entry.sql === s.insertOutboxMail.sql).at(-1)!;
    expect(held.inputs).toMatchObject({ id: 'M9', original: Buffer.from('original') });
    expect(await store.enqueue({ mailboxId: 'm1', source: 'test', now })).toMatchObject({ created: true });
    expect(
      (await store.claimIntake({ workerId: 'w', leaseMs: 60_000, now, limit: 5 })).map((i) => i.mailboxId),
    ).toEqual(['early', 'late']);
    await store.retryIntake('id-m1', 'w', 'busy', now);
    await store.quarantineIntake('id-m1', 'w', 'failing', 'intake:x');
    await store.markIntakeSettled('id-m1', now);
    await store.listUnsettledIntake(now, 10);
    await store.findIntake('m1');
    await store.listIntake('quarantined', 10);
    await store.requeueQuarantined(['m1'], now);
    await store.requeueQuarantined('all', now);
    await store.getState('k');
    await store.setState('k', 'v');
    await store.setState('k', null);
    await store.acquireLease('renewal', 'a', 30_000, now);
    await store.releaseLease('renewal', 'a');
    expect(
      await store.applyXmlTransaction(
        'xml:1',
        {
          dataKind: 'CHARGE',
          operation: 'insert',
          recordId: 'C1',
          values: { ticket_id: 'TKT-0000042', description: 'Remote work', billable: 1 },
          ticketNumberDigits: 7,
        },
        'Web form',
      ),
    ).toMatchObject({ status: 'success', accountId: 'ACME' });
    await store.close();

    const strays = recorder.sent.filter((entry) => !catalogued.has(entry.sql) && !isXmlWrite(entry.sql));
    expect(strays.map((entry) => entry.sql)).toEqual([]);
  });

  it('writes one processed message in one transaction, and folds an over-long key the same way everywhere', async () => {
    const recorder = recordingDriver(script());
    const store = SqlServerCrmStore.open({ url: 'mssql://u:p@db.example/crm', driver: recorder.driver });
    await store.ping();
    const before = recorder.sent.length;
    const longKey = `mid:${'x'.repeat(600)}@example#digest`;
    await store.commitProcessing({ ...commit, outcome: { ...commit.outcome, key: longKey } });
    const written = recorder.sent.slice(before);
    expect(new Set(written.map((entry) => entry.transaction)).size).toBe(1);
    expect(written[0]!.transaction).not.toBeNull();
    const keys = written.filter((entry) => 'key' in entry.inputs || 'outcomeKey' in entry.inputs);
    const stored = keys.map((entry) => String(entry.inputs.key ?? entry.inputs.outcomeKey));
    expect(new Set(stored).size).toBe(1);
    expect(stored[0]).toMatch(/^sha256-of-long-key:[0-9a-f]{64}$/);
    await store.findOutcome(longKey);
    expect(recorder.sent.at(-1)!.inputs.key).toBe(stored[0]);
    await store.close();
  });

  it('passes its own errors through and turns the driver’s into StoreError', async () => {
    const answers = script();
    answers.set(s.accountById.sql, () => {
      throw Object.assign(new Error('Transaction (Process ID 61) was deadlocked'), {
        name: 'RequestError',
        code: 'EREQUEST',
        number: 1205,
      });
    });
    const recorder = recordingDriver(answers);
    const store = SqlServerCrmStore.open({ url: 'mssql://u:p@db.example/crm', driver: recorder.driver });
    const failure = await store.findAccountById('ACME').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreError);
    expect(failure).toMatchObject({
      kind: 'transient',
      message: expect.stringMatching(/^SQL Server db\.example:1433: .*\(error 1205\)$/),
    });
    const bad = parseCrmImport({ tickets: [{ number: '7', accountId: 'NOPE', subject: 'x' }] });
    answers.set(s.accountExists.sql, { recordset: [] });
    await expect(store.importCrm(bad)).rejects.toThrow(/tickets\[0\].*accountId: no account/);
    await store.close();
  });

  it('db status lists the migrations a database still needs, without applying any; for SQLite, its version', async () => {
    const recorder = recordingDriver(script());
    const store = SqlServerCrmStore.open({ url: 'mssql://u:p@db.example/crm', driver: recorder.driver });
    const lines: string[] = [];
    const output = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(line) };
    expect(await dbCommand(store, 'status', false, output)).toBe(0);
    expect(lines.at(-1)).toBe(
      `${sqlServerMigrations.length} migration(s) pending: run email-connector db migrate`,
    );
    expect(lines.join('\n')).toContain('crm data model');
    expect(recorder.sent.map((entry) => entry.sql)).toEqual([s.migrationsTableExists.sql]);
    await store.close();

    const sqlite = SqliteCrmStore.open({ path: ':memory:' });
    lines.length = 0;
    expect(await dbCommand(sqlite, 'migrate', false, output)).toBe(0);
    expect(lines).toEqual([
      `schema version ${SqliteCrmStore.latestSchemaVersion}, nothing pending: SQLite applies its migrations whenever it opens`,
    ]);
    await sqlite.close();
  });
});
