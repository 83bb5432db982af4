#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { ConfigError, loadConfig, type Config } from './config/config.ts';
import { StoreError, StoreOpenError } from './crm/crm-store.ts';
import { MailboxError } from './mailbox/mailbox-error.ts';
import { createLogger } from './log/logger.ts';
import { createServices, type GraphOverrides, type Services } from './composition-root.ts';
import { IntakeWorker } from './processing/intake-worker.ts';
import { attachmentCommand, importCommand, ticketCommand } from './cli/crm-commands.ts';
import {
  outcomesCommand,
  processCommand,
  quarantineListCommand,
  reprocessCommand,
} from './cli/mail-commands.ts';
import { dbCommand, dbSubcommands, type DbSubcommand } from './cli/db-command.ts';
import { demoCommand } from './cli/demo-command.ts';
import { doctorCommand } from './cli/doctor-command.ts';
import { graphCommand, graphSubcommands, type GraphSubcommand } from './cli/graph-commands.ts';
import { sendTestCommand } from './cli/send-test-command.ts';
import { CliError, consoleOutput, type Output } from './cli/output.ts';

const usage = `usage: email-connector <command> [options]

commands:
  crm import FILE.json             load accounts (with contacts), employees and tickets
  ticket NUMBER [--json]           show a ticket, its account and its filed documents
  attachment NUMBER DOC ATT --out FILE
                                   save a filed attachment (DOC and ATT count from 1, as ticket lists them)
  process [--json] FILE.eml...     run the pipeline on files (they are not moved)
  outcomes [--action A] [--limit N] [--json]
                                   list recorded outcomes, newest first
  quarantine list [--json]         list quarantined messages
  reprocess ID... | --all          run quarantined messages again
  demo                             seed a demo CRM, drop demo mails and process them (local folder only)
  send-test --to ADDRESS           send a test mail through the configured mailbox
  graph status|renew|resubscribe [--mailbox ADDRESS]
                                   show, extend or re-create the Graph subscription of each support mailbox
  db status|migrate [--json]       show or apply the database schema's migrations
  doctor [--other-mailbox ADDRESS]  check configuration, database, Graph access, webhook and subscription

Every command uses the configured mailbox: Microsoft Graph when SUPPORT_MAILBOX is set, else MAILBOX_DIR.
Configuration comes from the environment (see .env.example).`;

export interface CliOptions {
  /** Overrides for the Graph intake (tests pass the stand-in's credential and TLS dispatcher). */
  graph?: GraphOverrides;
}

type Values = {
  json: boolean;
  all: boolean;
  action?: string;
  limit?: string;
  to?: string;
  out?: string;
  mailbox?: string;
};

/** Runs one CLI command; returns the exit code. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  output: Output,
  options: CliOptions = {},
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      action: { type: 'string' },
      limit: { type: 'string' },
      to: { type: 'string' },
      out: { type: 'string' },
      'other-mailbox': { type: 'string' },
      mailbox: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    output.out(usage);
    return command || values.help ? 0 : 2;
  }
  // The doctor reports configuration problems itself, so it runs before the configuration is loaded.
  if (command === 'doctor') {
    return doctorCommand({
      env,
      output,
      graph: options.graph,
      otherMailbox: values['other-mailbox'] ?? null,
    });
  }
  const config: Config = loadConfig(env);
  refuseOnThisMailbox(command, rest, config);
  const logger = createLogger({ level: env.LOG_LEVEL ?? 'warn', destination: process.stderr });
  const services = createServices({ config, logger, graph: options.graph });
  try {
    return await runCommand(command, rest, values, services, output);
  } finally {
    await services.close();
  }
}

/** Commands that make no sense on the configured mailbox stop before anything is opened. */
function refuseOnThisMailbox(command: string, rest: string[], config: Config): void {
  if (command === 'demo' && config.SUPPORT_MAILBOX) {
    // The demo drops its mails into the local inbox folder and processes them from there: Graph has no such folder.
    throw new CliError(
      'demo: runs on the local mailbox folder only, and SUPPORT_MAILBOX is set: run it without SUPPORT_MAILBOX (e.g. SUPPORT_MAILBOX= npm run demo)',
      2,
    );
  }
  if (command === 'graph') {
    if (!graphSubcommands.includes(rest[0] as GraphSubcommand))
      throw new CliError('usage: email-connector graph status|renew|resubscribe [--mailbox ADDRESS]', 2);
    if (!config.SUPPORT_MAILBOX)
      throw new CliError(
        'graph: Microsoft Graph is not configured (SUPPORT_MAILBOX is not set); the local mailbox folder has no subscription',
        2,
      );
  }
}

async function runCommand(
  command: string,
  rest: string[],
  values: Values,
  services: Services,
  output: Output,
): Promise<number> {
  const { config, store, deps, mailbox, outbox } = services;
  switch (command) {
    case 'crm':
      if (rest[0] !== 'import' || !rest[1])
        throw new CliError('usage: email-connector crm import FILE.json', 2);
      await importCommand(store, rest[1], output);
      return 0;
    case 'ticket':
      if (!rest[0]) throw new CliError('usage: email-connector ticket NUMBER [--json]', 2);
      await ticketCommand(store, rest[0], values.json, output);
      return 0;
    case 'attachment':
      if (!rest[0] || !rest[1] || !rest[2] || !values.out)
        throw new CliError('usage: email-connector attachment NUMBER DOC ATT --out FILE', 2);
      await attachmentCommand(
        store,
        { number: rest[0], document: rest[1], attachment: rest[2] },
        values.out,
        output,
      );
      return 0;
    case 'process':
      return await processCommand(deps, outbox, rest, values.json, output);
    case 'outcomes':
      await outcomesCommand(store, { action: values.action, limit: values.limit, json: values.json }, output);
      return 0;
    case 'quarantine':
      if (rest[0] !== 'list') throw new CliError('usage: email-connector quarantine list [--json]', 2);
      await quarantineListCommand(store, values.json, output);
      return 0;
    case 'reprocess': {
      const progress = { done: 0 };
      const worker = new IntakeWorker(deps, mailbox, outbox, {
        concurrency: 1,
        maxAttempts: 1,
        retryBaseMs: config.RETRY_BASE_MS,
        leaseMs: config.LEASE_SECONDS * 1000,
        pollIntervalMs: config.POLL_INTERVAL_MS,
        workerId: `cli:${process.pid}:${randomUUID().slice(0, 8)}`,
        onFinal: (item, result) => {
          progress.done += 1;
          const ticket = result.ticketNumber ? ` ticket ${result.ticketNumber}` : '';
          output.err(`[${progress.done}] ${item.mailboxId} → ${result.action}${ticket}`);
        },
      });
      return await reprocessCommand(store, worker, progress, values.all ? 'all' : rest, output);
    }
    case 'demo':
      // refuseOnThisMailbox let only the local folder through.
      await demoCommand(config, store, deps, services.local!, outbox, output);
      return 0;
    case 'send-test':
      await sendTestCommand(services, values.to, output);
      return 0;
    case 'db':
      if (!dbSubcommands.includes(rest[0] as DbSubcommand))
        throw new CliError('usage: email-connector db status|migrate [--json]', 2);
      return await dbCommand(store, rest[0] as DbSubcommand, values.json, output);
    case 'graph':
      // refuseOnThisMailbox let only a Graph configuration and a known subcommand through.
      return await graphCommand(rest[0] as GraphSubcommand, {
        intake: services.graph!,
        config,
        now: deps.now,
        output,
        mailbox: values.mailbox ?? null,
      });
    default:
      throw new CliError(`unknown command "${command}"\n\n${usage}`, 2);
  }
}

async function main(): Promise<void> {
  try {
    process.exitCode = await runCli(process.argv.slice(2), process.env, consoleOutput);
  } catch (error) {
    if (error instanceof CliError) {
      consoleOutput.err(`email-connector: ${error.message}`);
      process.exitCode = error.exitCode;
    } else if (
      error instanceof ConfigError ||
      error instanceof StoreOpenError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      consoleOutput.err(`email-connector: ${(error as Error).message}`);
      process.exitCode = 2;
    } else if (error instanceof StoreError) {
      // The database could not be reached or refused a statement: the message names the server and the cause.
      consoleOutput.err(`email-connector: ${error.message}`);
      process.exitCode = 1;
    } else if (error instanceof MailboxError) {
      // The mailbox said no or did not answer: what it said is the message; a stack trace would add nothing.
      consoleOutput.err(`email-connector: ${error.message}`);
      process.exitCode = 1;
    } else {
      consoleOutput.err(`email-connector: ${(error as Error).stack ?? String(error)}`);
      process.exitCode = 1;
    }
  }
}

/** True when this file is the program being run (`node src/cli.ts`, the npm bin link), not an import. */
function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

// Importing the module (tests call runCli) must not run the CLI on the importer's argv and exit code.
if (isEntryPoint()) await main();
