import { copyFileSync, mkdirSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isLocalPeer } from '../../src/http/admin/request-origin.ts';
import { fixturePath } from '../helpers/fixtures.ts';
import { waitFor } from '../helpers/run-node.ts';
import { startConsoleApp, type ConsoleApp } from './console-app.ts';

describe('who may open the console with ADMIN_AUTH=none (the embedded default)', () => {
  let app: ConsoleApp | null = null;
  afterEach(async () => {
    await app?.close();
    app = null;
  });

  it('serves the page to this machine without sign-in', async () => {
    app = await startConsoleApp();
    const response = await fetch(`${app.baseUrl}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(text).toContain('Local console (this machine only)');
    expect(text).toContain('Local folder');
  });

  it('answers 403 with one line to a request a proxy forwarded, and to a foreign Host (DNS rebinding)', async () => {
    app = await startConsoleApp();
    const proxied: Record<string, string>[] = [
      { 'x-forwarded-for': '203.0.113.7' },
      { forwarded: 'for=203.0.113.7' },
    ];
    for (const headers of proxied) {
      const response = await fetch(`${app.baseUrl}/`, { headers });
      expect(response.status).toBe(403);
      const text = await response.text();
      expect(text).toBe(
        'The admin console answers only on this machine (localhost) while ADMIN_AUTH=none; set ADMIN_AUTH=entra to sign in with Microsoft Entra ID (docs/admin-console.md).\n',
      );
    }
    // fetch will not send another Host: a plain request does, as a browser on a rebound name would.
    const rebound = await new Promise<number>((resolve, reject) => {
      get(`${app!.baseUrl}/`, { headers: { host: 'attacker.example:80' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(rebound).toBe(403);
  });

  it('counts only a loopback peer that no proxy stands in for as this machine', () => {
    expect(isLocalPeer('127.0.0.1', {})).toBe(true);
    expect(isLocalPeer('::1', {})).toBe(true);
    expect(isLocalPeer('::ffff:127.0.0.1', {})).toBe(true);
    expect(isLocalPeer('10.0.0.5', {})).toBe(false);
    expect(isLocalPeer('203.0.113.7', {})).toBe(false);
    expect(isLocalPeer('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' })).toBe(false);
  });

  it('shows the settings in effect with every secret masked', async () => {
    app = await startConsoleApp({
      env: {
        XML_API_ENABLED: 'true',
        XML_API_PASSWORD: 'xml-password-value',
        METRICS_TOKEN: 'metrics-token-value',
      },
    });
    const text = await (await fetch(`${app.baseUrl}/`)).text();
    expect(text).toContain('XML_API_PASSWORD');
    expect(text).not.toContain('xml-password-value');
    expect(text).not.toContain('metrics-token-value');
    expect(text).toContain('[redacted]');
  });
});

describe('GET /metrics', () => {
  let app: ConsoleApp | null = null;
  afterEach(async () => {
    await app?.close();
    app = null;
  });

  /** One sample's value from the exposition text. */
  function sample(text: string, series: string): number | null {
    const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : null;
  }

  it('exposes outcomes by action, queue depth, oldest age and sends in the Prometheus text format', async () => {
    app = await startConsoleApp();
    const inbox = join(app.config.MAILBOX_DIR, 'inbox');
    mkdirSync(inbox, { recursive: true });
    copyFileSync(fixturePath('new-from-unknown-address-known-domain.eml'), join(inbox, 'new.eml'));
    copyFileSync(fixturePath('unknown-sender.eml'), join(inbox, 'unknown.eml'));
    const text = await waitFor(async () => {
      const body = await (await fetch(`${app!.baseUrl}/metrics`)).text();
      return sample(body, 'email_connector_mail_sent_total')! >= 2 ? body : null;
    }, 10_000);
    const response = await fetch(`${app.baseUrl}/metrics`);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text).toContain('# TYPE email_connector_messages_total counter');
    expect(sample(text, 'email_connector_messages_total{action="ticket-created"}')).toBe(1);
    expect(sample(text, 'email_connector_messages_total{action="forwarded"}')).toBe(1);
    expect(sample(text, 'email_connector_messages_total{action="failed"}')).toBe(0);
    expect(sample(text, 'email_connector_queue_depth{state="pending"}')).toBe(0);
    expect(sample(text, 'email_connector_queue_oldest_age_seconds')).toBe(0);
    expect(sample(text, 'email_connector_mail_send_failures_total')).toBe(0);
    expect(sample(text, 'email_connector_ready')).toBe(1);
    expect(sample(text, 'email_connector_check_ok{check="database"}')).toBe(1);
    // Every line is a comment or `name{labels} value`.
    for (const line of text.trimEnd().split('\n'))
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{(\w+="[^"]*",?)+\})? -?[\d.e+]+)$/);
  });

  it('answers other machines only with the bearer token METRICS_TOKEN names', async () => {
    app = await startConsoleApp({ env: { METRICS_TOKEN: 'scrape-token-123' } });
    const proxied = { 'x-forwarded-for': '203.0.113.7' };
    expect((await fetch(`${app.baseUrl}/metrics`, { headers: proxied })).status).toBe(401);
    const wrong = await fetch(`${app.baseUrl}/metrics`, {
      headers: { ...proxied, authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${app.baseUrl}/metrics`, {
      headers: { ...proxied, authorization: 'Bearer scrape-token-123' },
    });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('email_connector_queue_depth');
  });

  it('answers other machines 403 when no token is configured', async () => {
    app = await startConsoleApp();
    const response = await fetch(`${app.baseUrl}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(response.status).toBe(403);
  });
});
