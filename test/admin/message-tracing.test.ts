import { trace } from '@opentelemetry/api';
import { logs, type LogRecord } from '@opentelemetry/api-logs';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { telemetryLogDestination } from '../../src/observability/log-bridge.ts';
import { intakeIdAttribute } from '../../src/observability/message-traces.ts';
import { redactingSpanProcessor } from '../../src/observability/redacting-span-processor.ts';
import { waitFor } from '../helpers/run-node.ts';
import { mailboxName, startConsoleApp, type ConsoleApp } from './console-app.ts';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  spanProcessors: [redactingSpanProcessor(), new SimpleSpanProcessor(exporter)],
});

describe('one trace per message, from notification to outcome', () => {
  let app: ConsoleApp;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    app = await startConsoleApp({ graph: {} });
  });
  afterAll(async () => {
    await app?.close();
    trace.disable();
  });

  it('links enqueue, claim, fetch, process, commit and send by one trace id and the intake id', async () => {
    const standIn = app.standIn!;
    const sentBefore = standIn.sentMail.length;
    const id = standIn.addMessage(
      mailboxName,
      'From: Pat <pat@acme.example>\r\nTo: support@msp.example\r\nSubject: Traced\r\nMessage-ID: <traced-1@acme.example>\r\n\r\nhi\r\n',
    );
    await standIn.notify(mailboxName, [id]);
    const item = await waitFor(async () => {
      const found = await app.app.store.findIntake(id);
      return found?.state === 'done' && found.settledAt && standIn.sentMail.length > sentBefore
        ? found
        : null;
    }, 10_000);
    // The send span ends right after the mailbox accepted the mail.
    await waitFor(
      async () => (exporter.getFinishedSpans().some((span) => span.name === 'mail send') ? true : null),
      5_000,
    );

    const spans = exporter.getFinishedSpans();
    const root = spans.find(
      (span) => span.name === 'intake enqueue' && span.attributes[intakeIdAttribute] === item.id,
    ) as ReadableSpan;
    expect(root).toBeDefined();
    const inTrace = spans.filter((span) => span.spanContext().traceId === root.spanContext().traceId);
    const names = inTrace.map((span) => span.name);
    for (const name of [
      'intake claim',
      'message fetch',
      'message process',
      'outcome commit',
      'mail send',
      'message settle',
    ])
      expect(names, name).toContain(name);
    const byName = (name: string) => inTrace.find((span) => span.name === name) as ReadableSpan;
    const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
    expect(parentOf(byName('intake claim'))).toBe(root.spanContext().spanId);
    expect(parentOf(byName('outcome commit'))).toBe(byName('message process').spanContext().spanId);
    expect(byName('outcome commit').attributes['email_connector.outcome.action']).toBe('ticket-created');
    for (const name of ['intake claim', 'message fetch', 'message process', 'outcome commit'])
      expect(byName(name).attributes[intakeIdAttribute], name).toBe(item.id);
  });

  it('keeps query strings (validation tokens, sign-in codes) out of exported spans', () => {
    const span = provider.getTracer('test').startSpan('POST', {
      attributes: {
        'url.full': 'https://connector.example/webhooks/graph?validationToken=secret-token',
        'url.query': 'validationToken=secret-token',
        'http.target': '/auth/callback?code=secret-code&state=s',
      },
    });
    span.end();
    const exported = exporter.getFinishedSpans().find((entry) => entry.name === 'POST')!;
    expect(JSON.stringify(exported.attributes)).not.toMatch(/secret-(token|code)/);
    expect(exported.attributes['url.full']).toBe('https://connector.example/webhooks/graph?[redacted]');
  });
});

describe('log lines as OpenTelemetry log records', () => {
  it('writes each line as before and emits it with its severity, message and fields (already redacted)', () => {
    const records: LogRecord[] = [];
    logs.setGlobalLoggerProvider({
      getLogger: () => ({ emit: (record: LogRecord) => void records.push(record), enabled: () => true }),
    });
    try {
      const written: string[] = [];
      const logger = createLogger({
        level: 'info',
        destination: telemetryLogDestination({ write: (line: string) => void written.push(line) }),
      });
      logger.warn(
        { intakeId: 'i-1', token: 'must-not-appear', nested: { a: 1 } },
        'processing failed; will retry',
      );
      expect(written).toHaveLength(1);
      expect(records).toHaveLength(1);
      const record = records[0]!;
      expect(record.severityText).toBe('WARN');
      expect(record.body).toBe('processing failed; will retry');
      expect(record.attributes).toMatchObject({ intakeId: 'i-1', token: '[redacted]', nested: '{"a":1}' });
    } finally {
      logs.disable();
    }
  });
});
