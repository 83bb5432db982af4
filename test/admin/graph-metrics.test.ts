import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCertificate } from '../graph-stand-in/certificate.ts';
import { waitFor } from '../helpers/run-node.ts';
import { renderPrometheus } from '../../src/observability/prometheus-text.ts';
import { mailboxName, startConsoleApp, type ConsoleApp } from './console-app.ts';

describe('GET /metrics on Microsoft Graph', () => {
  let app: ConsoleApp;
  const agent = new Agent({ connect: { ca: testCertificate().cert } });
  const scrape = async () => (await undiciFetch(`${app.baseUrl}/metrics`, { dispatcher: agent })).text();
  const sample = (text: string, series: string) => {
    const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : null;
  };

  beforeAll(async () => {
    app = await startConsoleApp({ graph: {} });
  });
  afterAll(async () => {
    await app?.close();
    await agent.close();
  });

  it('counts Graph calls and throttled answers, and the seconds the subscription has left', async () => {
    const before = await scrape();
    const left = sample(before, `email_connector_subscription_seconds_left{mailbox="${mailboxName}"}`);
    // Created for 4,320 minutes.
    expect(left).toBeGreaterThan(4_300 * 60);
    expect(left).toBeLessThanOrEqual(4_320 * 60);
    const requests = sample(before, 'email_connector_graph_requests_total')!;
    expect(requests).toBeGreaterThan(0);
    const throttled = sample(before, 'email_connector_graph_throttled_total')!;

    const standIn = app.standIn!;
    standIn.injectFault({ method: 'GET', path: /\/\$value$/, status: 429, retryAfterSeconds: 0, times: 1 });
    const id = standIn.addMessage(
      mailboxName,
      'From: a@acme.example\r\nTo: support@msp.example\r\nSubject: Throttled once\r\nMessage-ID: <t1@acme.example>\r\n\r\nhi\r\n',
    );
    await standIn.notify(mailboxName, [id]);
    await waitFor(async () => ((await app.app.store.findIntake(id))?.state === 'done' ? true : null), 10_000);
    const after = await scrape();
    expect(sample(after, 'email_connector_graph_throttled_total')).toBe(throttled + 1);
    expect(sample(after, 'email_connector_graph_requests_total')).toBeGreaterThan(requests);
    expect(sample(after, 'email_connector_check_ok{check="graph-credential"}')).toBe(1);
  });

  it('escapes label values and help text as the text format requires', () => {
    const text = renderPrometheus([
      {
        name: 'x_total',
        help: 'line one\nback\\slash',
        type: 'counter',
        samples: [{ labels: { mailbox: 'a"b\\c\nd' }, value: 3 }],
      },
    ]);
    expect(text).toBe(
      '# HELP x_total line one\\nback\\\\slash\n# TYPE x_total counter\nx_total{mailbox="a\\"b\\\\c\\nd"} 3\n',
    );
  });
});
