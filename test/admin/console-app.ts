import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { Agent, fetch as undiciFetch } from 'undici';
import { createApp, type App, type AppOptions } from '../../src/composition-root.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import type { AdminOverrides } from '../../src/http/admin/admin-router.ts';
import { testCertificate } from '../graph-stand-in/certificate.ts';
import { GraphStandIn, type StandInOptions } from '../graph-stand-in/graph-stand-in.ts';
import { capturedLogger, clientState, mailboxName, token } from '../graph/helpers.ts';
import { seedTestCrm, testEnv } from '../helpers/engine.ts';
import { freePort } from '../helpers/run-node.ts';

export { clientState, mailboxName, token };

export interface ConsoleAppOptions {
  /** Run on Microsoft Graph against the stand-in; default the local folder. */
  graph?: { standIn?: StandInOptions; overrides?: AppOptions['graph'] };
  /** Serve HTTPS with the test certificate (always with Graph). */
  tls?: boolean;
  env?: Record<string, string>;
  admin?: AdminOverrides;
}

/** The whole service as createApp builds it, with its admin console, on 127.0.0.1 and a real SQLite file. */
export interface ConsoleApp {
  readonly app: App;
  readonly config: Config;
  readonly baseUrl: string;
  readonly standIn: GraphStandIn | null;
  readonly lines: string[];
  readonly dir: string;
  close(): Promise<void>;
}

export async function startConsoleApp(options: ConsoleAppOptions = {}): Promise<ConsoleApp> {
  const standIn = options.graph ? await GraphStandIn.start({ token, ...options.graph.standIn }) : null;
  const tls = options.graph || options.tls ? testCertificate() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'admin-console-'));
  const { logger, lines } = capturedLogger();
  // PUBLIC_BASE_URL must name the port before the app exists: take a free one (retry if someone takes it first).
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const baseUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    const config = loadConfig(
      testEnv(dir, {
        PORT: String(port),
        LOG_LEVEL: 'debug',
        POLL_INTERVAL_MS: '50',
        RETRY_BASE_MS: '20',
        ...(tls ? { PUBLIC_BASE_URL: baseUrl } : {}),
        ...(standIn
          ? {
              GRAPH_TENANT_ID: '00000000-0000-0000-0000-000000000001',
              GRAPH_CLIENT_ID: '00000000-0000-0000-0000-000000000002',
              GRAPH_AUTH: 'client-secret',
              GRAPH_CLIENT_SECRET: 'unused-secret-value',
              SUPPORT_MAILBOX: mailboxName,
              GRAPH_CLIENT_STATE: clientState,
              GRAPH_BASE_URL: standIn.baseUrl,
            }
          : {}),
        ...options.env,
      }),
    );
    const app = createApp({
      config,
      logger,
      ...(tls ? { tls } : {}),
      ...(standIn
        ? {
            graph: {
              credential: standIn.credential,
              fetchOptions: standIn.fetchOptions,
              requestTimeoutMs: 2_000,
              ...options.graph?.overrides,
            },
          }
        : {}),
      admin: options.admin,
    });
    if (attempt === 1) await seedTestCrm(app.store);
    try {
      await app.start();
    } catch (error) {
      await app.stop();
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 3) continue;
      await standIn?.close();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    let closed = false;
    return {
      app,
      config,
      baseUrl,
      standIn,
      lines,
      dir,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await app.stop();
        } finally {
          await standIn?.close();
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  }
}

export const chromiumPath = '/usr/bin/chromium';

/**
 * Debian's Chromium, headless. A missing browser fails the test (never skips it): CI installs it (.ci/run).
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath))
    throw new Error(
      `${chromiumPath} is missing: apt-get install -y chromium (.ci/run does it before npm test)`,
    );
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Screenshots are written only on request, so that a test run leaves the tree as it found it. */
export const updateScreenshots = process.env.UPDATE_SCREENSHOTS === '1';

export interface HttpAnswer {
  status: number;
  text: string;
  location: string | null;
  headers: Headers;
}

/**
 * A client that keeps cookies like a browser (by name, for the hosts it talks to) and does not follow redirects,
 * trusting the test certificate.
 */
export class CookieClient {
  readonly cookies = new Map<string, string>();
  readonly setCookieHeaders: string[] = [];
  readonly #agent = new Agent({ connect: { ca: testCertificate().cert } });

  /** The fetch the app's sign-in uses to reach the stand-in. */
  readonly trustingFetch = ((url: string, init?: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher: this.#agent })) as unknown as typeof fetch;

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<HttpAnswer> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size > 0)
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const body = init.form ? new URLSearchParams(init.form).toString() : undefined;
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await undiciFetch(url, {
      method: init.method ?? 'GET',
      headers,
      body,
      redirect: 'manual',
      dispatcher: this.#agent,
    });
    for (const line of response.headers.getSetCookie()) {
      this.setCookieHeaders.push(line);
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return {
      status: response.status,
      text: await response.text(),
      location: response.headers.get('location'),
      headers: response.headers as unknown as Headers,
    };
  }

  /** Follows redirects from `url` until an answer that is not one, resolving relative locations. */
  async follow(url: string, limit = 10): Promise<HttpAnswer & { url: string }> {
    let current = url;
    for (let hop = 0; hop < limit; hop += 1) {
      const answer = await this.request(current);
      if (!answer.location || answer.status < 300 || answer.status >= 400) return { ...answer, url: current };
      current = new URL(answer.location, current).toString();
    }
    throw new Error(`more than ${limit} redirects from ${url}`);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
