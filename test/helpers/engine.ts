import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { openStore, processDeps } from '../../src/composition-root.ts';
import { parseCrmImport } from '../../src/crm/crm-import.ts';
import type { CrmStore, OutcomeRecord } from '../../src/crm/crm-store.ts';
import type { FiledDocument, Ticket } from '../../src/domain/crm.ts';
import type { Logger } from '../../src/log/logger.ts';
import { LocalMailbox } from '../../src/mailbox/local/local-mailbox.ts';
import { OutboxSender } from '../../src/processing/outbox-sender.ts';
import {
  processMessage,
  type ProcessDeps,
  type ProcessResult,
} from '../../src/processing/process-message.ts';
import { fixturePath, readFixture } from './fixtures.ts';

export const supportAddress = 'support@msp.example';
export const internalSupport = 'helpdesk@msp.example';

/** A logger that writes nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A mail the connector wrote to `MAILBOX_DIR/sent/`, parsed back. */
export interface SentMail {
  file: string;
  raw: Buffer;
  /** `ack`, `forward`, … from the X-Email-Connector header. */
  kind: string;
  from: string[];
  to: string[];
  subject: string;
  messageId: string;
  inReplyTo: string | null;
  text: string;
  headers: Record<string, string>;
  /** The message/rfc822 attachment (a forward's original), byte for byte as decoded. */
  original: Buffer | null;
}

function addressList(value: AddressObject | AddressObject[] | undefined): string[] {
  const objects = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return objects.flatMap((object) => object.value.map((entry) => (entry.address ?? '').toLowerCase()));
}

/** Reads and parses every mail in a local mailbox's `sent/` folder. */
export async function readSentMail(mailboxDir: string): Promise<SentMail[]> {
  const folder = join(mailboxDir, 'sent');
  let names: string[];
  try {
    names = (await readdir(folder)).filter((name) => name.endsWith('.eml')).sort();
  } catch {
    return [];
  }
  const mails: SentMail[] = [];
  for (const name of names) {
    const raw = await readFile(join(folder, name));
    const parsed = await simpleParser(raw);
    const headers: Record<string, string> = {};
    for (const line of parsed.headerLines) {
      headers[line.key] ??= line.line.slice(line.line.indexOf(':') + 1).trim();
    }
    const original = parsed.attachments.find((attachment) => attachment.contentType === 'message/rfc822');
    mails.push({
      file: name,
      raw,
      kind: headers['x-email-connector'] ?? '',
      from: addressList(parsed.from),
      to: addressList(parsed.to),
      subject: parsed.subject ?? '',
      messageId: (parsed.messageId ?? '').replace(/^<|>$/g, ''),
      inReplyTo: parsed.inReplyTo ? parsed.inReplyTo.replace(/^<|>$/g, '') : null,
      text: parsed.text ?? '',
      headers,
      original: original ? original.content : null,
    });
  }
  return mails;
}

/** The settings every engine test shares; a test overrides what it is about. */
export function testEnv(dir: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: `sqlite:${join(dir, 'crm.sqlite')}`,
    MAILBOX_DIR: join(dir, 'mailbox'),
    SUPPORT_ADDRESS: supportAddress,
    INTERNAL_SUPPORT_ADDRESS: internalSupport,
    RULES_FILE: fixturePath('rules.json'),
    AUTO_ACK: 'true',
    LOG_LEVEL: 'silent',
    ...overrides,
  };
}

/** Seeds a store with `test/fixtures/crm.json`. */
export async function seedTestCrm(store: CrmStore): Promise<void> {
  await store.importCrm(parseCrmImport(JSON.parse(readFixture('crm.json').toString('utf8'))));
}

/**
 * The processing engine on its embedded defaults: a real SQLite file in a temp folder, seeded with the
 * test CRM, and the local mailbox whose `sent/` folder receives what the outbox sends.
 */
export interface Engine {
  dir: string;
  mailboxDir: string;
  config: Config;
  store: CrmStore;
  deps: ProcessDeps;
  /** Runs the pipeline on a fixture (by name) or on bytes, then sends what the outbox holds. */
  process(mail: string | Buffer, label?: string): Promise<ProcessResult>;
  sent(): Promise<SentMail[]>;
  ticket(number: string): Promise<Ticket>;
  documents(ticketNumber: string): Promise<FiledDocument[]>;
  outcomes(): Promise<OutcomeRecord[]>;
  close(): Promise<void>;
}

export async function openEngine(overrides: Record<string, string> = {}): Promise<Engine> {
  const dir = await mkdtemp(join(tmpdir(), 'email-connector-test-'));
  const config = loadConfig(testEnv(dir, overrides));
  const logger = silentLogger();
  const store = openStore(config);
  await seedTestCrm(store);
  const deps = processDeps(config, store, logger);
  const mailbox = new LocalMailbox(config.MAILBOX_DIR);
  await mailbox.ensureFolders();
  const outbox = new OutboxSender(store, mailbox, logger);

  const ticket = async (number: string): Promise<Ticket> => {
    const found = await store.findTicketByNumber(number);
    if (!found) throw new Error(`no ticket ${number}`);
    return found;
  };
  return {
    dir,
    mailboxDir: config.MAILBOX_DIR,
    config,
    store,
    deps,
    async process(mail, label) {
      const raw = typeof mail === 'string' ? readFixture(mail) : mail;
      const source = { label: label ?? (typeof mail === 'string' ? mail : 'test.eml'), intakeId: null };
      const result = await processMessage(raw, source, deps);
      await outbox.flush();
      return result;
    },
    sent: () => readSentMail(config.MAILBOX_DIR),
    ticket,
    async documents(ticketNumber) {
      return store.listDocuments((await ticket(ticketNumber)).id);
    },
    outcomes: () => store.listOutcomes({ limit: 1000 }),
    async close() {
      await deps.parser?.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
