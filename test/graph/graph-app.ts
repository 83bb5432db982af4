import { parseCrmImport } from '../../src/crm/crm-import.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App, type AppOptions } from '../../src/composition-root.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import type { Logger } from '../../src/log/logger.ts';
import { testCertificate } from '../graph-stand-in/certificate.ts';
import { GraphStandIn, type StandInOptions } from '../graph-stand-in/graph-stand-in.ts';
import { get, type PostResult } from '../graph-stand-in/https-post.ts';
import { freePort } from '../helpers/run-node.ts';
import { seedTestCrm, testEnv } from '../helpers/engine.ts';
import { capturedLogger, clientState, mailboxName, token } from './helpers.ts';

/**
 * The whole service as `createApp` builds it with SUPPORT_MAILBOX set, serving HTTPS with the test certificate on
 * 127.0.0.1, against the Graph stand-in; a real SQLite file (so a restart finds the same database), seeded with
 * test/fixtures/crm.json. Every log line of every app it starts is kept in `lines`.
 */
export interface GraphApp {
  readonly standIn: GraphStandIn;
  /** The running app; replaced by `restart()`. */
  readonly app: App;
  readonly config: Config;
  /** `https://127.0.0.1:<port>`, the PUBLIC_BASE_URL Graph is given. */
  readonly baseUrl: string;
  readonly lines: string[];
  readonly logger: Logger;
  /** Stops the app, runs `whileStopped`, then starts a new app on the same database, port and stand-in. */
  restart(whileStopped?: () => void | Promise<void>): Promise<App>;
  /** GET on the app over HTTPS, trusting the test certificate. */
  get(path: string): Promise<PostResult>;
  close(): Promise<void>;
}

export interface GraphAppOptions {
  standIn?: StandInOptions;
  /** Passed to createApp as `graph` (after the stand-in's credential and TLS dispatcher). */
  graph?: AppOptions['graph'];
  /** Environment overrides, on top of the test defaults below. */
  env?: Record<string, string>;
  /** The CRM to seed instead of test/fixtures/crm.json (an import file's content). */
  crm?: unknown;
}

export async function startGraphApp(options: GraphAppOptions = {}): Promise<GraphApp> {
  const standIn = await GraphStandIn.start({ token, ...options.standIn });
  const dir = mkdtempSync(join(tmpdir(), 'graph-app-'));
  const { logger, lines } = capturedLogger();
  const tls = testCertificate();
  const build = (config: Config): App =>
    createApp({
      config,
      logger,
      tls,
      graph: {
        credential: standIn.credential,
        fetchOptions: standIn.fetchOptions,
        requestTimeoutMs: 2_000,
        ...options.graph,
      },
    });

  // PUBLIC_BASE_URL must name the port before the app exists (the subscription is created on start): pick a free
  // port first. Another process may take it in between; then pick again.
  let config: Config | null = null;
  let app: App | null = null;
  let baseUrl = '';
  for (let attempt = 1; app === null; attempt += 1) {
    const port = await freePort();
    const candidate = loadConfig(
      testEnv(dir, {
        PORT: String(port),
        LOG_LEVEL: 'trace',
        GRAPH_TENANT_ID: '00000000-0000-0000-0000-000000000001',
        GRAPH_CLIENT_ID: '00000000-0000-0000-0000-000000000002',
        GRAPH_AUTH: 'client-secret',
        GRAPH_CLIENT_SECRET: 'unused-secret-value',
        SUPPORT_MAILBOX: mailboxName,
        PUBLIC_BASE_URL: `https://127.0.0.1:${port}`,
        GRAPH_CLIENT_STATE: clientState,
        GRAPH_BASE_URL: standIn.baseUrl,
        WORKER_CONCURRENCY: '8',
        POLL_INTERVAL_MS: '50',
        RETRY_BASE_MS: '20',
        MAX_ATTEMPTS: '20',
        LEASE_SECONDS: '30',
        AUTO_REPLY_LIMIT_PER_HOUR: '1000',
        ...options.env,
      }),
    );
    const built = build(candidate);
    if (attempt === 1)
      await (options.crm ? built.store.importCrm(parseCrmImport(options.crm)) : seedTestCrm(built.store));
    try {
      await built.start();
      config = candidate;
      app = built;
      baseUrl = `https://127.0.0.1:${port}`;
    } catch (error) {
      await built.stop();
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 3) {
        await standIn.close();
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const fixed = config as Config;
  let current: App = app;
  let stopped = false;
  return {
    standIn,
    get app() {
      return current;
    },
    config: fixed,
    baseUrl,
    lines,
    logger,
    async restart(whileStopped) {
      await current.stop();
      await whileStopped?.();
      current = build(fixed);
      await current.start();
      return current;
    },
    get: (path) => get(`${baseUrl}${path}`, { ca: tls.cert, timeoutMs: 5_000 }),
    async close() {
      if (stopped) return;
      stopped = true;
      try {
        await current.stop();
      } finally {
        await standIn.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A new customer mail: an unknown address at a customer's domain opens a ticket and gets an acknowledgment. */
export function customerMail(index: number, body = `Something is broken (${index}).`): string {
  return [
    `From: Customer ${index} <user${index}@acme.example>`,
    `To: ${mailboxName}`,
    `Subject: Problem number ${index}`,
    `Message-ID: <e2e-${index}-${Date.now()}@acme.example>`,
    'Date: Mon, 16 Nov 2026 09:01:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}
