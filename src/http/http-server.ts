import { createServer as createPlainServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';

/** Limits that keep slow or idle clients (slowloris) from holding the service's connections. */
export interface ServerLimits {
  /**
   * Time to receive a request's headers. Default 10 s: Graph and App Service's front end send them at once,
   * and Graph gives up after 3 s anyway; Node's own default is 60 s.
   */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included. Default 30 s: webhook bodies are at most 256 kb. */
  requestTimeoutMs: number;
  /**
   * How long an idle connection waits for its next request. Default 130 s (Kestrel's default): longer than the
   * idle timeout of the proxies in front, so a proxy never sends a request on a connection we are closing
   * (a 502 for the caller). Node's own default of 5 s is shorter than any of them.
   */
  keepAliveTimeoutMs: number;
  /** Headers read per request; the rest are ignored. Default 100 (Graph plus the front end send about 30). */
  maxHeadersCount: number;
  /**
   * How often the two request timeouts are enforced. Default 1 s: with Node's 30 s, a slow client could stay
   * up to 30 s past its timeout.
   */
  timeoutCheckIntervalMs: number;
}

export const defaultServerLimits: Readonly<ServerLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 130_000,
  maxHeadersCount: 100,
  timeoutCheckIntervalMs: 1_000,
});

export interface ServerOptions {
  /** Serve HTTPS with this key and certificate; default plain HTTP (App Service's front end terminates TLS). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Overrides of `defaultServerLimits`, e.g. short timeouts in tests. */
  limits?: Partial<ServerLimits>;
}

/** The service's HTTP(S) server for `handler`, with the limits against slow clients applied. */
export function createServer(handler: RequestListener, options: ServerOptions = {}): Server {
  const limits = { ...defaultServerLimits, ...options.limits };
  const settings = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
  };
  const server = options.tls
    ? createTlsServer({ ...options.tls, ...settings }, handler)
    : createPlainServer(settings, handler);
  server.maxHeadersCount = limits.maxHeadersCount;
  return server;
}
