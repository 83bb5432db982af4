#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { ConfigError, loadConfig, type Config } from './config/config.ts';
import { createLogger } from './log/logger.ts';
import { openStore, processDeps } from './composition-root.ts';
import { LocalMailbox } from './mailbox/local/local-mailbox.ts';
import { OutboxSender } from './processing/outbox-sender.ts';
import { IntakeWorker } from './processing/intake-worker.ts';
import { importCommand, ticketCommand } from './cli/crm-commands.ts';
import {
  outcomesCommand,
  processCommand,
  quarantineListCommand,
  reprocessCommand,
} from './cli/mail-commands.ts';
import { demoCommand } from './cli/demo-command.ts';
import { CliError, consoleOutput, type Output } from './cli/output.ts';

const usage = `usage: email-connector <command> [options]

commands:
  crm import FILE.json             load accounts (with contacts), employees and tickets
  ticket NUMBER [--json]           show a ticket, its account and its filed documents
  process [--json] FILE.eml...     run the pipeline on files (they are not moved)
  outcomes [--action A] [--limit N] [--json]
                                   list recorded outcomes, newest first
  quarantine list [--json]         list quarantined messages
  reprocess ID... | --all          run quarantined messages again
  demo                             seed a demo CRM, drop demo mails and process them

Configuration comes from the environment (see .env.example).`;

/** Runs one CLI command; returns the exit code. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  output: Output,
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
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    output.out(usage);
    return command || values.help ? 0 : 2;
  }
  const config: Config = loadConfig(env);
  const logger = createLogger({ level: env.LOG_LEVEL ?? 'warn', destination: process.stderr });
  const store = openStore(config);
  try {
    const mailbox = new LocalMailbox(config.MAILBOX_DIR);
    const deps = processDeps(config, store, logger);
    const outbox = new OutboxSender(store, mailbox, logger, {
      now: deps.now,
      retryBaseMs: config.RETRY_BASE_MS,
    });
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
      case 'process':
        return await processCommand(deps, outbox, rest, values.json, output);
      case 'outcomes':
        await outcomesCommand(
          store,
          { action: values.action, limit: values.limit, json: values.json },
          output,
        );
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
        await demoCommand(config, store, deps, mailbox, outbox, output);
        return 0;
      default:
        throw new CliError(`unknown command "${command}"\n\n${usage}`, 2);
    }
  } finally {
    await store.close();
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
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      consoleOutput.err(`email-connector: ${(error as Error).message}`);
      process.exitCode = 2;
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
