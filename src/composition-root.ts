import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import type { Router } from 'express';
import type { Config } from './config/config.ts';
import { ConfigError, supportMailboxes } from './config/config.ts';
import { loadRulesFile } from './config/rules-file.ts';
import type { CrmStore } from './crm/crm-store.ts';
import { SqliteCrmStore } from './crm/sqlite/sqlite-crm-store.ts';
import { isSqlServerUrl } from './crm/sqlserver/connection.ts';
import { SqlServerCrmStore } from './crm/sqlserver/sqlserver-crm-store.ts';
import { createAdminRouter, type AdminOverrides } from './http/admin/admin-router.ts';
import { createHttpApp } from './http/http-app.ts';
import { createServer, type ServerLimits } from './http/http-server.ts';
import { frontDoor } from './http/front-door.ts';
import { ParsePool } from './processing/parse-pool.ts';
import type { Logger } from './log/logger.ts';
import type { Mailbox } from './mailbox/mailbox.ts';
import { InboxWatcher } from './mailbox/local/inbox-watcher.ts';
import { LocalMailbox } from './mailbox/local/local-mailbox.ts';
import type { GraphIntake, GraphIntakeOptions } from './mailbox/graph/graph-intake.ts';
import { createGraphIntakes } from './mailbox/graph/graph-intakes.ts';
import { graphThrottledResponses } from './mailbox/graph/graph-api.ts';
import { createGraphCredential } from './mailbox/graph/graph-credential.ts';
import {
  checkServiceHealth,
  IntakeHealthMonitor,
  type IntakeHealthMonitorOptions,
} from './processing/intake-health-monitor.ts';
import { IntakeWorker } from './processing/intake-worker.ts';
import { OutboxSender } from './processing/outbox-sender.ts';
import type { ProcessDeps } from './processing/process-message.ts';
import { defaultAcknowledgmentBody, type ProcessingSettings } from './processing/processing-settings.ts';
import { handleXmlApiMail } from './processing/xml-api/handle-xml-api-mail.ts';
import { instrumentMailbox } from './observability/instrumented-mailbox.ts';
import { instrumentStore } from './observability/instrumented-store.ts';
import { MessageTraces } from './observability/message-traces.ts';
import { ServiceMetrics } from './observability/service-metrics.ts';

export interface OpenStoreOptions {
  /** Open an existing database to look at it: nothing is created or migrated (diagnostics). Default false. */
  readonly?: boolean;
}

/** Opens the CRM store named by DATABASE_URL. The only place that knows the adapters. */
export function openStore(config: Config, options: OpenStoreOptions = {}): CrmStore {
  const url = config.DATABASE_URL;
  if (url.startsWith('sqlite:'))
    return SqliteCrmStore.open({ path: url.slice('sqlite:'.length), readonly: options.readonly ?? false });
  // Connects on first use; a look (readonly) applies no migrations.
  if (isSqlServerUrl(url)) return SqlServerCrmStore.open({ url, migrateOnFirstUse: !options.readonly });
  throw new ConfigError('DATABASE_URL: must be sqlite:<path>, mssql://…, sqlserver://… or an ADO.NET string');
}

/**
 * The database DATABASE_URL names, looked at without migrating it (for `doctor`): where it is (a file path or a
 * server, never credentials), whether it exists yet, its schema version and the version this program needs.
 * Throws when the database cannot be reached or opened.
 */
export async function inspectDatabase(config: Config): Promise<{
  where: string;
  kind: 'sqlite' | 'sqlserver';
  schemaVersion: number;
  latestSchemaVersion: number;
}> {
  const url = config.DATABASE_URL;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    const store = SqliteCrmStore.open({ path, readonly: true });
    try {
      return {
        where: path,
        kind: 'sqlite',
        schemaVersion: store.schemaVersion,
        latestSchemaVersion: SqliteCrmStore.latestSchemaVersion,
      };
    } finally {
      await store.close();
    }
  }
  if (!isSqlServerUrl(url)) throw new ConfigError('DATABASE_URL: not a database this program knows');
  const store = SqlServerCrmStore.open({ url, migrateOnFirstUse: false });
  try {
    const report = await store.schemaStatus();
    const applied = Math.max(0, ...report.applied.map((migration) => migration.version));
    const latest = Math.max(applied, ...report.pending.map((migration) => migration.version));
    return {
      where: `SQL Server ${store.server}`,
      kind: 'sqlserver',
      schemaVersion: applied,
      latestSchemaVersion: latest,
    };
  } finally {
    await store.close();
  }
}

export function processingSettingsFrom(config: Config): ProcessingSettings {
  let bodyTemplate = defaultAcknowledgmentBody;
  if (config.ACK_BODY_FILE) {
    try {
      bodyTemplate = readFileSync(config.ACK_BODY_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `ACK_BODY_FILE: cannot read ${config.ACK_BODY_FILE}: ${(error as Error).message}`,
      );
    }
  }
  return {
    supportAddress: config.SUPPORT_ADDRESS,
    // A mailbox named by its object id has no address to compare with.
    supportAddresses: [
      ...new Set([
        config.SUPPORT_ADDRESS,
        ...supportMailboxes(config)
          .filter((mailbox) => mailbox.includes('@'))
          .map((mailbox) => mailbox.toLowerCase()),
      ]),
    ],
    internalSupportAddress: config.INTERNAL_SUPPORT_ADDRESS,
    ticketTag: { prefix: config.TICKET_TAG_PREFIX, digits: config.TICKET_NUMBER_DIGITS },
    decision: {
      autoAcknowledge: config.AUTO_ACK,
      bulkMailOpensTicket: config.BULK_MAIL_OPENS_TICKET,
      unthreadedMachineMail: config.UNTHREADED_MACHINE_MAIL,
      autoReplyLimit: config.AUTO_REPLY_LIMIT_PER_HOUR,
      autoReplyGlobalLimit: config.AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR,
      unknownSenders: config.UNKNOWN_SENDERS,
      replyToClosedTicket: config.REPLY_TO_CLOSED_TICKET,
      closedTicketStatuses: config.CLOSED_TICKET_STATUSES,
    },
    rules: loadRulesFile(config.RULES_FILE),
    acknowledgment: { subjectTemplate: config.ACK_SUBJECT_TEMPLATE, bodyTemplate },
    maxMessageBytes: config.MAX_MESSAGE_MB * 1_048_576,
    autoReplyGlobalLimit: config.AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR,
    forwardLimitPerSender: config.FORWARD_LIMIT_PER_SENDER_PER_HOUR,
    staffTrust: config.STAFF_TRUST || (config.SUPPORT_MAILBOX ? 'exchange' : 'none'),
    reopenedTicketStatus: config.REOPENED_TICKET_STATUS,
    catchAllAccountId: config.UNKNOWN_SENDERS === 'catch-all' ? config.CATCH_ALL_ACCOUNT_ID : null,
    xmlApi: {
      enabled: config.XML_API_ENABLED,
      password: config.XML_API_PASSWORD,
      sendResponses: config.XML_API_SEND_RESPONSES,
      responseBcc: config.XML_API_RESPONSE_BCC,
      responseLimitPerRecipient: config.XML_API_RESPONSE_LIMIT_PER_HOUR,
    },
  };
}

/** The processing dependencies for a store: shared by the service and the CLI. */
export function processDeps(config: Config, store: CrmStore, logger: Logger): ProcessDeps {
  const settings = processingSettingsFrom(config);
  const now = (): Date => new Date();
  return {
    store,
    settings,
    logger,
    newId: randomUUID,
    now,
    // Threads start with the first message parsed, so commands that parse nothing start none.
    parser: new ParsePool({ threads: config.PARSE_THREADS, logger }),
    xmlApi: (email, messageKey, current) =>
      handleXmlApiMail(email, {
        store,
        settings: {
          ...current.xmlApi,
          autoReplyGlobalLimit: current.autoReplyGlobalLimit,
          supportAddress: current.supportAddress,
          ownAddresses: [current.supportAddress, current.internalSupportAddress, ...current.supportAddresses],
          ticketDigits: current.ticketTag.digits,
        },
        processingSettings: current,
        messageKey,
        newId: randomUUID,
        now,
      }),
  };
}

/** Overrides for the Graph intake (tests inject a credential and a TLS dispatcher for the stand-in). */
export type GraphOverrides = Partial<
  Omit<GraphIntakeOptions, 'config' | 'store' | 'logger' | 'mailbox' | 'queueIdOf'>
>;

export interface ServicesOptions {
  config: Config;
  logger: Logger;
  graph?: GraphOverrides;
}

/** What the service and the command line share: the store, the configured mailbox and its outbox. */
export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: CrmStore;
  readonly deps: ProcessDeps;
  /**
   * The configured mailbox: Graph when SUPPORT_MAILBOX is set (several mailboxes: one Mailbox over them all,
   * sending each mail through the mailbox its From names), else the local folder.
   */
  readonly mailbox: Mailbox;
  /** The local folder when Graph is not configured, else null. */
  readonly local: LocalMailbox | null;
  readonly outbox: OutboxSender;
  /**
   * The Graph intake when SUPPORT_MAILBOX is set (one subscription per mailbox), else null. Built idle: nothing runs
   * until its start().
   */
  readonly graph: GraphIntake | null;
  /** What this process counted (outcomes, sends), for /metrics. */
  readonly metrics: ServiceMetrics;
  /** Stops the Graph intake (if any) and closes the database; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Builds the adapters from configuration: the local folder by default, Microsoft Graph when SUPPORT_MAILBOX is
 * set. The service and every CLI command go through here, so no command can miss the configured mailbox.
 */
export function createServices(options: ServicesOptions): Services {
  const { config, logger } = options;
  // Store and mailbox are traced and counted as decorators (src/observability): the pipeline knows nothing of it.
  const metrics = new ServiceMetrics();
  const traces = new MessageTraces();
  const store = instrumentStore(openStore(config), traces, metrics);
  try {
    const deps = processDeps(config, store, logger);
    const graph = config.SUPPORT_MAILBOX
      ? createGraphIntakes({ config, store, logger, ...options.graph })
      : null;
    const local = graph ? null : new LocalMailbox(config.MAILBOX_DIR);
    const mailbox: Mailbox = instrumentMailbox(graph?.mailbox ?? local!, traces, metrics);
    const outbox = new OutboxSender(store, mailbox, logger, {
      now: deps.now,
      retryBaseMs: config.RETRY_BASE_MS,
    });
    let closing: Promise<void> | null = null;
    return {
      config,
      logger,
      store,
      deps,
      mailbox,
      local,
      outbox,
      graph,
      metrics,
      close() {
        closing ??= (async () => {
          try {
            await graph?.stop();
          } finally {
            await deps.parser?.close();
            await store.close();
          }
        })();
        return closing;
      },
    };
  } catch (error) {
    // A bad RULES_FILE or ACK_BODY_FILE is found after the database was opened: do not leave it open.
    void store.close().catch(() => undefined);
    throw error;
  }
}

export interface AppOptions {
  config: Config;
  logger: Logger;
  /** Overrides for the Graph intake (tests inject a credential and a TLS dispatcher for the stand-in). */
  graph?: GraphOverrides;
  /** Serve HTTPS directly, where no front end terminates TLS (App Service does; the Graph tests do not). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Overrides of the server's limits against slow clients (tests shorten the timeouts). */
  serverLimits?: Partial<ServerLimits>;
  /** Overrides for the intake health monitor (tests shorten the interval). */
  healthMonitor?: Pick<IntakeHealthMonitorOptions, 'intervalMs'>;
  /** Overrides for the admin console (tests: a fetch trusting the sign-in stand-in, the refresh interval). */
  admin?: AdminOverrides;
}

export interface App {
  readonly config: Config;
  readonly store: CrmStore;
  readonly mailbox: Mailbox;
  readonly worker: IntakeWorker;
  readonly outbox: OutboxSender;
  /** The Graph intake when SUPPORT_MAILBOX is set, else null (the local folder). */
  readonly graph: GraphIntake | null;
  /** Listens on PORT (0 = any free port), then starts intake. Resolves with the port. */
  start(): Promise<number>;
  /** Stops intake, waits for messages in flight, closes the server and the database. */
  stop(): Promise<void>;
}

/**
 * Builds the whole service from configuration: the local folder by default, Microsoft Graph when
 * SUPPORT_MAILBOX is set. Both feed the same durable queue and worker.
 */
export function createApp(options: AppOptions): App {
  const services = createServices(options);
  const { config, logger, store, deps, graph, local, mailbox, outbox, metrics } = services;
  const worker = new IntakeWorker(deps, mailbox, outbox, {
    concurrency: config.WORKER_CONCURRENCY,
    maxAttempts: config.MAX_ATTEMPTS,
    retryBaseMs: config.RETRY_BASE_MS,
    leaseMs: config.LEASE_SECONDS * 1000,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    workerId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
  });
  const watcher = local
    ? new InboxWatcher({
        mailbox: local,
        store,
        logger,
        intervalMs: config.POLL_INTERVAL_MS,
        onEnqueued: () => worker.wake(),
      })
    : null;
  graph?.onEnqueued(() => worker.wake());
  const monitor = new IntakeHealthMonitor({
    store,
    logger,
    check: () => checkServiceHealth(store, graph),
    supportAddress: deps.settings.supportAddress,
    internalSupportAddress: deps.settings.internalSupportAddress,
    onNoticeQueued: () => worker.wake(),
    ...options.healthMonitor,
  });
  const routers: Router[] = graph ? [graph.router] : [];
  const graphCredential = options.graph?.credential;
  routers.push(
    createAdminRouter({
      config,
      logger,
      store,
      mailboxName: mailbox.name,
      graph,
      health: () => checkServiceHealth(store, graph),
      wakeWorker: () => worker.wake(),
      metrics,
      // A new credential per look: a cached token would not show permissions granted a moment ago.
      graphCredential: graph ? () => graphCredential ?? createGraphCredential(config) : null,
      graphThrottles: graphThrottledResponses,
      overrides: options.admin,
    }),
  );
  const http = createHttpApp({
    logger,
    routers,
    readiness: async () => {
      const { checks } = await checkServiceHealth(store, graph);
      return graph
        ? { checks, mailbox: mailbox.name, graph: graph.status() }
        : { checks, mailbox: mailbox.name };
    },
  });
  let server: Server | null = null;
  let stopping: Promise<void> | null = null;

  return {
    config,
    store,
    mailbox,
    worker,
    outbox,
    graph,
    async start() {
      // Graph's notifications are answered before Express (see front-door.ts); everything else goes through it.
      const listening = createServer(frontDoor(http, graph ? [graph.router.fastRoute] : [], logger), {
        tls: options.tls,
        limits: options.serverLimits,
      });
      server = listening;
      const port = await new Promise<number>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(config.PORT, () => {
          const address = listening.address();
          resolve(typeof address === 'object' && address ? address.port : config.PORT);
        });
      });
      worker.start();
      // Graph validates the notification URL while the subscription is created: the server listens first.
      if (graph) await graph.start();
      if (watcher) await watcher.start();
      monitor.start();
      logger.info(
        { port, mailbox: mailbox.name, ...(local ? { mailboxDir: config.MAILBOX_DIR } : {}) },
        'email connector started',
      );
      return port;
    },
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };

  async function stopAll(): Promise<void> {
    await monitor.stop();
    await watcher?.stop();
    await graph?.stop();
    await worker.stop();
    await outbox.flush().catch(() => 0);
    if (server) {
      const closing = server;
      await new Promise<void>((resolve) => closing.close(() => resolve()));
      closing.closeAllConnections?.();
    }
    await services.close();
  }
}

/** One pass over the local inbox folder: every finished file in it is enqueued (the demo's; the service watches). */
export function scanLocalInbox(local: LocalMailbox, store: CrmStore, logger: Logger): Promise<number> {
  return new InboxWatcher({
    mailbox: local,
    store,
    logger,
    intervalMs: 1000,
    onEnqueued: () => undefined,
  }).scan();
}

// Operations tools work on one adapter by nature (the doctor's Graph checks, the `graph` and `demo` commands): they
// reach it through here, so that which adapters exist and what they are made of stays this file's business.
export type { LocalMailbox } from './mailbox/local/local-mailbox.ts';
export type { GraphIntake, MailboxSubscription } from './mailbox/graph/graph-intake.ts';
export { GraphApi, segment } from './mailbox/graph/graph-api.ts';
export { createGraphCredential, graphScope } from './mailbox/graph/graph-credential.ts';
export { GraphRequestError } from './mailbox/graph/graph-error.ts';
export type { GraphSubscription, SubscriptionState } from './mailbox/graph/graph-subscriptions.ts';
