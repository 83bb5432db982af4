import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { OutcomeAction } from '../domain/decision.ts';
import type { CrmStore, OutcomeRecord } from '../crm/crm-store.ts';
import type { IntakeWorker } from '../processing/intake-worker.ts';
import type { OutboxSender } from '../processing/outbox-sender.ts';
import { processMessage, type ProcessDeps } from '../processing/process-message.ts';
import { CliError, table, type Output } from './output.ts';

/** The line `process --json` prints per message (docs/outcomes.md). */
export function outcomeLine(
  file: string | null,
  outcome: OutcomeRecord,
  duplicate: boolean,
): Record<string, unknown> {
  return {
    file,
    mailbox: outcome.mailbox,
    messageId: outcome.messageId,
    action: outcome.action,
    reason: outcome.reason,
    ticketNumber: outcome.ticketNumber,
    accountId: outcome.accountId,
    forwardedTo: outcome.forwardedTo,
    sent: outcome.sent.map((mail) => ({ to: mail.to, subject: mail.subject })),
    code: outcome.code,
    flags: outcome.flags,
    duplicate,
  };
}

/** `process [--json] FILE.eml...`: the same pipeline on files, which stay where they are. */
export async function processCommand(
  deps: ProcessDeps,
  outbox: OutboxSender,
  files: string[],
  json: boolean,
  output: Output,
): Promise<number> {
  if (files.length === 0) throw new CliError('process: name at least one .eml file', 2);
  let failures = 0;
  for (const file of files) {
    let raw: Buffer;
    try {
      raw = await readFile(file);
    } catch (error) {
      failures += 1;
      output.err(`${file}: cannot read: ${(error as Error).message}`);
      continue;
    }
    const { outcome, duplicate } = await processMessage(raw, { label: basename(file), intakeId: null }, deps);
    await outbox.flush();
    if (outcome.action === 'failed') failures += 1;
    if (json) output.out(JSON.stringify(outcomeLine(file, outcome, duplicate)));
    else {
      const ticket = outcome.ticketNumber ? ` ticket ${outcome.ticketNumber}` : '';
      output.out(
        `${file}: ${outcome.action}${ticket}${duplicate ? ' (already processed)' : ''} — ${outcome.reason}`,
      );
    }
  }
  return failures > 0 ? 1 : 0;
}

const actions: OutcomeAction[] = ['ticket-created', 'filed', 'forwarded', 'ignored', 'failed', 'api'];

/** `outcomes [--action A] [--limit N] [--json]`: the most recent outcomes first. */
export async function outcomesCommand(
  store: CrmStore,
  options: { action?: string; limit?: string; json: boolean },
  output: Output,
): Promise<void> {
  if (options.action && !actions.includes(options.action as OutcomeAction)) {
    throw new CliError(`--action must be one of ${actions.join(', ')}`, 2);
  }
  const limit = options.limit ? Number(options.limit) : 50;
  if (!Number.isInteger(limit) || limit < 1) throw new CliError('--limit must be a positive whole number', 2);
  const outcomes = await store.listOutcomes({ action: options.action as OutcomeAction | undefined, limit });
  if (options.json) {
    for (const outcome of outcomes) output.out(JSON.stringify(outcome));
    return;
  }
  const rows = outcomes.map((outcome) => [
    outcome.createdAt.slice(0, 19).replace('T', ' '),
    outcome.action,
    outcome.ticketNumber ?? '',
    outcome.from ?? '',
    outcome.subject.slice(0, 40),
    outcome.reason.slice(0, 80),
  ]);
  for (const line of table(['when', 'action', 'ticket', 'from', 'subject', 'reason'], rows)) output.out(line);
}

/** `quarantine list [--json]`. */
export async function quarantineListCommand(store: CrmStore, json: boolean, output: Output): Promise<void> {
  const items = await store.listIntake('quarantined', 1000);
  if (json) {
    for (const item of items) output.out(JSON.stringify(item));
    return;
  }
  if (items.length === 0) {
    output.out('quarantine is empty');
    return;
  }
  const rows = items.map((item) => [
    item.id,
    item.mailboxId,
    String(item.attempts),
    (item.lastError ?? '').slice(0, 90),
  ]);
  for (const line of table(['id', 'message', 'attempts', 'last error'], rows)) output.out(line);
}

/** `reprocess ID...|--all`: quarantined messages go through the pipeline again, with progress. */
export async function reprocessCommand(
  store: CrmStore,
  worker: IntakeWorker,
  progress: { done: number },
  target: string[] | 'all',
  output: Output,
): Promise<number> {
  if (target !== 'all' && target.length === 0) throw new CliError('reprocess: name an id or use --all', 2);
  const count = await store.requeueQuarantined(target, new Date());
  if (count === 0) {
    throw new CliError(target === 'all' ? 'quarantine is empty' : `not in quarantine: ${target.join(', ')}`);
  }
  output.err(`reprocessing ${count} message(s)…`);
  await worker.runUntilIdle();
  const left = await store.listIntake('quarantined', 1000);
  output.err(`done: ${progress.done} processed, ${left.length} in quarantine`);
  return left.length > 0 && target === 'all' ? 1 : 0;
}
