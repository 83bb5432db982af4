import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import {
  createGraphIntake,
  type GraphIntake,
  type GraphIntakeOptions,
} from '../../src/mailbox/graph/graph-intake.ts';
import { testCertificate } from '../graph-stand-in/certificate.ts';
import { GraphStandIn, type StandInOptions } from '../graph-stand-in/graph-stand-in.ts';

export const mailboxName = 'support@msp.example';
export const clientState = 'cs-9f4e1b7a2c5d8e3f0a6b9c2d5e8f1a4b7c0d3e6f';
export const token = 'stand-in-token-7c1e5a9d';

/** A logger whose lines are kept, to assert that no secret was written. */
export function capturedLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'trace',
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { logger, lines };
}

export interface WebhookServer {
  baseUrl: string;
  mount(router: express.Router): void;
  close(): Promise<void>;
}

/** An HTTPS express app on 127.0.0.1 (Graph only calls https), with the router mounted later. */
export async function startWebhookServer(): Promise<WebhookServer> {
  const certificate = testCertificate();
  const app = express();
  let mounted: express.Router | null = null;
  app.use((req, res, next) => (mounted ? mounted(req, res, next) : next()));
  const server = https.createServer({ key: certificate.key, cert: certificate.cert }, app);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `https://127.0.0.1:${port}`,
    mount: (router) => (mounted = router),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function graphConfig(
  standIn: GraphStandIn,
  publicBaseUrl: string,
  extra: Record<string, string> = {},
): Config {
  return loadConfig({
    GRAPH_TENANT_ID: '00000000-0000-0000-0000-000000000001',
    GRAPH_CLIENT_ID: '00000000-0000-0000-0000-000000000002',
    GRAPH_AUTH: 'client-secret',
    GRAPH_CLIENT_SECRET: 'unused-secret-value',
    SUPPORT_MAILBOX: mailboxName,
    PUBLIC_BASE_URL: publicBaseUrl,
    GRAPH_CLIENT_STATE: clientState,
    GRAPH_BASE_URL: standIn.baseUrl,
    ...extra,
  });
}

export interface Harness {
  config: Config;
  standIn: GraphStandIn;
  store: SqliteCrmStore;
  webhook: WebhookServer;
  lines: string[];
  logger: Logger;
  intake: GraphIntake;
  /** A second intake on the same store and webhook (a restart or another instance). */
  newIntake(overrides?: Partial<GraphIntakeOptions>): GraphIntake;
  close(): Promise<void>;
}

export async function startHarness(
  options: {
    standIn?: StandInOptions;
    intake?: Partial<GraphIntakeOptions>;
    store?: SqliteCrmStore;
    config?: Record<string, string>;
  } = {},
): Promise<Harness> {
  const standIn = await GraphStandIn.start({ token, ...options.standIn });
  const store = options.store ?? SqliteCrmStore.open({ path: ':memory:' });
  const webhook = await startWebhookServer();
  const { logger, lines } = capturedLogger();
  const config = graphConfig(standIn, webhook.baseUrl, options.config);
  const intakes: GraphIntake[] = [];
  const newIntake = (overrides: Partial<GraphIntakeOptions> = {}): GraphIntake => {
    const intake = createGraphIntake({
      config,
      store,
      logger,
      credential: standIn.credential,
      fetchOptions: standIn.fetchOptions,
      requestTimeoutMs: 2_000,
      ...options.intake,
      ...overrides,
    });
    webhook.mount(intake.router);
    intakes.push(intake);
    return intake;
  };
  const intake = newIntake();
  return {
    config,
    standIn,
    store,
    webhook,
    lines,
    logger,
    intake,
    newIntake,
    close: async () => {
      for (const entry of intakes) await entry.stop();
      await webhook.close();
      await standIn.close();
      await store.close();
    },
  };
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function mime(subject: string, from = 'alice@acme.example'): string {
  return [
    `From: Alice <${from}>`,
    `To: ${mailboxName}`,
    `Subject: ${subject}`,
    `Message-ID: <${Math.random().toString(36).slice(2)}@acme.example>`,
    'Date: Mon, 06 Jan 2025 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'The printer on floor 2 does not print.',
    '',
  ].join('\r\n');
}
