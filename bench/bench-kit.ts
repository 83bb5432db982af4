import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.ts';
import { processDeps } from '../src/composition-root.ts';
import { parseCrmImport } from '../src/crm/crm-import.ts';
import { SqliteCrmStore } from '../src/crm/sqlite/sqlite-crm-store.ts';
import type { CrmStore } from '../src/crm/crm-store.ts';
import type { Mailbox } from '../src/mailbox/mailbox.ts';
import { base64Chunks, type MailPieces } from '../src/mailbox/mail-pieces.ts';
import { MailboxError } from '../src/mailbox/mailbox-error.ts';
import type { ProcessDeps } from '../src/processing/process-message.ts';
import { IntakeWorker } from '../src/processing/intake-worker.ts';
import { OutboxSender } from '../src/processing/outbox-sender.ts';
import { corpusCrm } from './corpus.ts';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  [context: string]: unknown;
}

/** A mailbox held in memory, so that the pipeline figure measures our code and the database, not the disk. */
export class MemoryMailbox implements Mailbox {
  readonly name = 'memory';
  readonly messages = new Map<string, Buffer>();
  sent = 0;
  sentBytes = 0;
  async fetchRaw(id: string): Promise<Buffer> {
    const raw = this.messages.get(id);
    if (!raw) throw new MailboxError('not-found', id);
    return raw;
  }
  /**
   * Encodes the mail as the Graph mailbox does for sendMail's body, piece by piece in chunks aligned to 3 bytes:
   * its time and memory are the service's. Counts the base64 bytes.
   */
  async send(mail: MailPieces): Promise<void> {
    for await (const chunk of base64Chunks(mail)) this.sentBytes += chunk.length;
    this.sent += 1;
  }
  async settle(id: string): Promise<void> {
    this.messages.delete(id);
  }
  async listInbox(): Promise<string[]> {
    return [...this.messages.keys()];
  }
}

/** A fresh SQLite file seeded with `accounts` accounts (five contacts each) and processing deps on it. */
export async function seededStore(
  accounts: number,
): Promise<{ store: SqliteCrmStore; deps: ProcessDeps; path: string }> {
  const path = join(mkdtempSync(join(tmpdir(), 'bench-')), 'crm.sqlite');
  const store = SqliteCrmStore.open({ path });
  await store.importCrm(parseCrmImport(corpusCrm(accounts)));
  const config = loadConfig({ DATABASE_URL: `sqlite:${path}`, AUTO_REPLY_LIMIT_PER_HOUR: '1000' });
  return { store, deps: processDeps(config, store, pino({ level: 'silent' })), path };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** The settings the service runs with when nothing is configured. */
const serviceDefaults = loadConfig({});

/** The service's worker and outbox on a store and an in-memory mailbox, as the benchmark drives them. */
export function benchWorker(
  store: CrmStore,
  deps: ProcessDeps,
  mailbox: MemoryMailbox,
  workerId: string,
  onFinal?: () => void,
): IntakeWorker {
  return new IntakeWorker(deps, mailbox, new OutboxSender(store, mailbox, deps.logger), {
    concurrency: serviceDefaults.WORKER_CONCURRENCY, // as the service runs by default
    maxAttempts: 3,
    retryBaseMs: 100,
    leaseMs: 300_000,
    pollIntervalMs: 1000,
    workerId,
    ...(onFinal ? { onFinal } : {}),
  });
}
