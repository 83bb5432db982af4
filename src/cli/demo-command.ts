import { readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.ts';
import { parseRules } from '../config/rules-file.ts';
import type { CrmStore } from '../crm/crm-store.ts';
import { parseCrmImport } from '../crm/crm-import.ts';
import { scanLocalInbox, type LocalMailbox } from '../composition-root.ts';
import { IntakeWorker } from '../processing/intake-worker.ts';
import type { OutboxSender } from '../processing/outbox-sender.ts';
import type { ProcessDeps } from '../processing/process-message.ts';
import { table, type Output } from './output.ts';

/** The demo folder ships beside src/ and dist/. */
const demoDir = fileURLToPath(new URL('../../demo/', import.meta.url));

/** The XML API password of the demo run; demo/mail/11-xml-api-ticket.eml carries it. */
const demoXmlApiPassword = 'demo-xml-api-password';

/**
 * `demo`: seeds a small CRM (accounts with contacts and domains, active and inactive employees, an open
 * ticket), drops one mail per decision path into the inbox folder and processes them through the queue,
 * exactly as the running service would. Each run gives the mails new Message-IDs so that it can be repeated.
 */
export async function demoCommand(
  config: Config,
  store: CrmStore,
  deps: ProcessDeps,
  mailbox: LocalMailbox,
  outbox: OutboxSender,
  output: Output,
): Promise<void> {
  const crm = parseCrmImport(JSON.parse(await readFile(join(demoDir, 'crm.json'), 'utf8')));
  const counts = await store.importCrm(crm);
  output.out(
    `demo CRM: ${counts.accounts} accounts, ${counts.contacts} contacts, ${counts.employees} employees, ${counts.tickets} tickets`,
  );

  // The demo shows every path: its own rules unless RULES_FILE names some, and the XML API switched on
  // with the password its API mail carries (never without one: see XML_API_ALLOW_NO_PASSWORD).
  const rules = config.RULES_FILE
    ? deps.settings.rules
    : parseRules(JSON.parse(await readFile(join(demoDir, 'rules.json'), 'utf8')));
  const xmlApi = { ...deps.settings.xmlApi, enabled: true, password: demoXmlApiPassword };
  const settings = { ...deps.settings, rules, xmlApi };
  const runId = randomUUID().slice(0, 8);
  await mailbox.ensureFolders();
  const files = (await readdir(join(demoDir, 'mail'))).filter((name) => name.endsWith('.eml')).sort();
  for (const file of files) {
    const text = await readFile(join(demoDir, 'mail', file), 'utf8');
    const unique = text.replace(
      /^Message-ID: <([^@>]+)@/im,
      (_whole, local: string) => `Message-ID: <${local}.${runId}@`,
    );
    const path = join(mailbox.root, 'inbox', `demo-${runId}-${file}`);
    await writeFile(path, unique);
    // Written whole: dated a moment back, so the inbox scan does not wait for a copy to finish.
    const finished = new Date(Date.now() - 1000);
    await utimes(path, finished, finished);
  }
  output.out(`dropped ${files.length} demo mails into ${join(mailbox.root, 'inbox')}`);

  const demoDeps = { ...deps, settings };
  const worker = new IntakeWorker(demoDeps, mailbox, outbox, {
    concurrency: 1,
    maxAttempts: config.MAX_ATTEMPTS,
    retryBaseMs: config.RETRY_BASE_MS,
    leaseMs: config.LEASE_SECONDS * 1000,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    workerId: `demo:${runId}`,
  });
  await scanLocalInbox(mailbox, store, deps.logger);
  await worker.runUntilIdle();

  const outcomes = (await store.listOutcomes({ limit: 200 }))
    .filter((outcome) => outcome.messageId?.includes(`.${runId}@`))
    .reverse();
  const rows = outcomes.map((outcome) => [
    outcome.action,
    outcome.ticketNumber ?? '',
    outcome.from ?? '',
    outcome.subject.slice(0, 44),
    outcome.reason.slice(0, 70),
  ]);
  for (const line of table(['action', 'ticket', 'from', 'subject', 'reason'], rows)) output.out(line);
  output.out(
    `mail sent by the connector is in ${join(mailbox.root, 'sent')}; processed mail in ${join(mailbox.root, 'processed')}`,
  );
}
