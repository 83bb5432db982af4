import type { AzureMonitorOpenTelemetryOptions } from '@azure/monitor-opentelemetry';

type SpanProcessor = NonNullable<AzureMonitorOpenTelemetryOptions['spanProcessors']>[number];

/** Attributes of HTTP spans that hold a whole URL or its query. */
const urlAttributes = ['url.full', 'http.url', 'http.target'];

/**
 * Query strings leave no trace: Graph's validationToken, the sign-in callback's code and state, and search terms
 * (sender addresses) all travel there. Runs when a span starts, before any exporter sees it.
 */
export function redactingSpanProcessor(): SpanProcessor {
  return {
    onStart(span) {
      const attributes = (span as unknown as { attributes?: Record<string, unknown> }).attributes ?? {};
      for (const name of urlAttributes) {
        const value = attributes[name];
        if (typeof value === 'string' && value.includes('?')) span.setAttribute(name, stripQuery(value));
      }
      if (typeof attributes['url.query'] === 'string') span.setAttribute('url.query', '[redacted]');
    },
    onEnd() {},
    forceFlush: async () => {},
    shutdown: async () => {},
  };
}

export function stripQuery(url: string): string {
  const at = url.indexOf('?');
  return at === -1 ? url : `${url.slice(0, at)}?[redacted]`;
}
