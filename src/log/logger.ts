import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

const context = new AsyncLocalStorage<Record<string, string>>();

/** Runs `fn` with fields (e.g. a request id) added to every log line written inside it. */
export function withLogContext<T>(fields: Record<string, string>, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn);
}

/**
 * Runs `fn` outside any log context: background work it starts (timers, the worker woken by a request) logs
 * under its own fields, not under the request that happened to wake it.
 */
export function outsideLogContext<T>(fn: () => T): T {
  return context.exit(fn);
}

/**
 * Paths that must never be logged: tokens, secrets, clientState, SQL credentials and mail bodies.
 * Code logs ids, addresses and decisions, never bodies; this is the safety net.
 */
export const redactedPaths = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'clientState',
  '*.clientState',
  '*.*.clientState',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'accessToken',
  '*.accessToken',
  'connectionString',
  '*.connectionString',
  'body',
  '*.body',
  'raw',
  '*.raw',
  'mime',
  '*.mime',
  'text',
  '*.text',
  'html',
  '*.html',
  'validationToken',
  '*.validationToken',
];

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'email-connector' },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      // A copy: pino merges each line's own fields into the object the mixin returns, and the context
      // object must not collect them (every later line in the context would repeat them).
      mixin: () => ({ ...context.getStore() }),
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
