import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { parseCrmImport } from '../../src/crm/crm-import.ts';
import { messageKey } from '../../src/domain/email.ts';
import type { ParsedEmail } from '../../src/domain/email.ts';
import { parseEmail } from '../../src/processing/parse-email.ts';
import type { XmlApiDeps, XmlApiSettings } from '../../src/processing/xml-api/handle-xml-api-mail.ts';

export const fixturesDir = new URL('../fixtures/xml-api/', import.meta.url);

export async function loadFixture(name: string): Promise<ParsedEmail> {
  return parseEmail(readFileSync(new URL(name, fixturesDir)));
}

export const apiSettings: XmlApiSettings = {
  enabled: true,
  password: 's3cret-api',
  sendResponses: true,
  responseBcc: null,
  supportAddress: 'support@msp.example',
  ticketDigits: 7,
};

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
  'counters',
];

export interface TestCrm {
  store: SqliteCrmStore;
  /** A second, read-only connection for looking at rows the port has no reader for. */
  db: Database.Database;
  deps(overrides?: Partial<XmlApiSettings>): (email: ParsedEmail) => XmlApiDeps;
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
  return {
    store,
    db,
    deps:
      (overrides = {}) =>
      (email) => ({
        store,
        settings: { ...apiSettings, ...overrides },
        messageKey: messageKey(email),
        newId: () => `XMLREC-${++counter}`,
        now: () => new Date('2025-03-04T10:20:00Z'),
      }),
    snapshot: () =>
      JSON.stringify(crmTables.map((table) => db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all())),
    close: async () => {
      db.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
