import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config/config.ts';
import { processingSettingsFrom } from '../../src/composition-root.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { parseCrmImport } from '../../src/crm/crm-import.ts';
import type { NewOutgoingMail } from '../../src/crm/crm-store.ts';
import { messageKey } from '../../src/processing/message-key.ts';
import type { ParsedEmail } from '../../src/domain/email.ts';
import { escapeXml } from '../../src/domain/xml-api/build-response.ts';
import { parseEmail } from '../../src/processing/parse-email.ts';
import type {
  XmlApiDeps,
  XmlApiHandling,
  XmlApiSettings,
} from '../../src/processing/xml-api/handle-xml-api-mail.ts';

export const fixturesDir = new URL('../fixtures/xml-api/', import.meta.url);

export async function loadFixture(name: string): Promise<ParsedEmail> {
  return parseEmail(readFileSync(new URL(name, fixturesDir)));
}

export const internalSupport = 'helpdesk@msp.example';

export const apiSettings: XmlApiSettings = {
  enabled: true,
  password: 's3cret-api',
  sendResponses: true,
  responseBcc: null,
  responseLimitPerRecipient: 60,
  autoReplyGlobalLimit: 200,
  supportAddress: 'support@msp.example',
  ownAddresses: ['support@msp.example', internalSupport],
  ticketDigits: 7,
};

/** The processing settings the forward to internal support is composed with. */
export const processingSettings = processingSettingsFrom(
  loadConfig({ SUPPORT_ADDRESS: 'support@msp.example', INTERNAL_SUPPORT_ADDRESS: internalSupport }),
);

/** A one-transaction mail (a HISTORY-NOTE on ACME-001, with the password) answered at `sendResponseToEmail`. */
export async function transactionMail(options: {
  id: string;
  sendResponseToEmail: string;
}): Promise<ParsedEmail> {
  const element = (name: string, value: string): string => `  <${name}>${escapeXml(value)}</${name}>\n`;
  return parseEmail(
    Buffer.from(
      'From: Partner Web Form <webform@partner.example>\nTo: support@msp.example\n' +
        `Subject: Transaction ${options.id}\nMessage-ID: <${options.id}@partner.example>\n` +
        'Content-Type: text/plain; charset=utf-8\n\n<CommitCRMTransaction>\n' +
        element('SendResponseToEmail', options.sendResponseToEmail) +
        element('Password', apiSettings.password!) +
        element('ReturnTransactionID', options.id) +
        '  <DataKind>HISTORY-NOTE</DataKind>\n  <RecordData>\n    <FLDHISCARDID>ACME-001</FLDHISCARDID>\n' +
        '    <FLDHISDESCRIPTION>A note</FLDHISDESCRIPTION>\n  </RecordData>\n</CommitCRMTransaction>\n',
    ),
  );
}

/** The CRM the fixtures talk about: Acme (with a contact and ticket 0000007) and two accounts with numeric ids. */
export const seed = {
  accounts: [
    {
      id: 'ACME-001',
      company: 'Acme Ltd',
      fileAs: 'Acme',
      email1: 'info@acme.example',
      email2: 'acme.example',
      contacts: [{ name: 'Alice Admin', email: 'alice@acme.example' }],
    },
    { id: '00123', company: 'Zero Corp', email1: 'it@zero.example' },
    { id: '12345678901234567890', company: 'Longid GmbH', email1: 'it@longid.example' },
  ],
  employees: [{ id: 'EMP-1', name: 'Tom Tech', email1: 'tom@msp.example' }],
  tickets: [{ id: 'TKT-7', number: '0000007', accountId: 'ACME-001', subject: 'Old printer issue' }],
};

const crmTables = [
  'accounts',
  'contacts',
  'employees',
  'tickets',
  'assets',
  'history_notes',
  'charges',
  'opportunities',
  'document_records',
  'appointments_tasks',
  'items',
  'kb_articles',
  'counters',
];

export interface TestCrm {
  store: SqliteCrmStore;
  /** A second, read-only connection for looking at rows the port has no reader for. */
  db: Database.Database;
  /** Deps for one mail; `now` is the clock the handler is given (default: a fixed morning in 2025). */
  deps(overrides?: Partial<XmlApiSettings>, now?: Date): (email: ParsedEmail) => XmlApiDeps;
  /** Records a handled mail's outcome and outbox mails, as the processing pipeline does. */
  commit(email: ParsedEmail, handling: XmlApiHandling): Promise<void>;
  /** Puts an acknowledgment to `to` in the outbox (the global cap counts them with responses). */
  acknowledge(to: string): Promise<void>;
  /** Every CRM row, for "nothing changed" comparisons (the api_results bookkeeping is left out). */
  snapshot(): string;
  close(): Promise<void>;
}

export async function openTestCrm(): Promise<TestCrm> {
  const dir = mkdtempSync(join(tmpdir(), 'xml-api-'));
  const path = join(dir, 'crm.sqlite');
  const store = SqliteCrmStore.open({ path });
  await store.importCrm(parseCrmImport(seed));
  const db = new Database(path, { readonly: true });
  let counter = 0;
  const record = async (
    key: string,
    outgoing: NewOutgoingMail[],
    details: Record<string, unknown> | null,
  ) => {
    await store.commitProcessing({
      outcome: {
        key,
        source: 'test',
        messageId: null,
        from: null,
        subject: '',
        action: 'api',
        code: 'test',
        reason: 'test',
        ticketNumber: null,
        accountId: null,
        flags: [],
        forwardedTo: [],
        sent: [],
        details,
      },
      ticket: null,
      documents: [],
      outgoing,
      intakeId: null,
    });
  };
  return {
    store,
    db,
    deps:
      (overrides = {}, now = new Date('2025-03-04T10:20:00Z')) =>
      (email) => ({
        store,
        settings: { ...apiSettings, ...overrides },
        processingSettings,
        messageKey: messageKey(email),
        newId: () => `XMLREC-${++counter}`,
        now: () => now,
      }),
    commit: (email, handling) => record(messageKey(email), handling.outgoing, handling.details),
    acknowledge: (to) =>
      record(
        `ack:${++counter}`,
        [
          {
            id: `ACK-${counter}`,
            kind: 'acknowledgment',
            to: [to],
            subject: 'We received your mail',
            messageId: `ack-${counter}@msp.example`,
            referenceToken: null,
            ticketId: null,
            mime: Buffer.from('acknowledgment'),
          },
        ],
        null,
      ),
    snapshot: () =>
      JSON.stringify(crmTables.map((table) => db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all())),
    close: async () => {
      db.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
