import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { withLogContext, type Logger } from '../log/logger.ts';

/** A route the server answers itself, before the request reaches Express. */
export interface FastRoute {
  matches(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** The caller's X-Request-Id when it is a plain token, else a new one. */
function requestIdOf(req: IncomingMessage): string {
  const supplied = req.headers['x-request-id'];
  return typeof supplied === 'string' && /^[\w.-]{1,64}$/.test(supplied) ? supplied : randomUUID();
}

/**
 * Runs `handle` for a request with its request id: in the X-Request-Id answer header and on each log line it
 * causes, and one `request` line when it is answered (error for a 5xx, trace for /healthz, else debug).
 */
export function inRequestContext(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  handle: () => void,
): void {
  const requestId = requestIdOf(req);
  res.setHeader('X-Request-Id', requestId);
  const started = process.hrtime.bigint();
  withLogContext({ requestId }, () => {
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const path = (req.url ?? '').split('?')[0];
      const level = res.statusCode >= 500 ? 'error' : path === '/healthz' ? 'trace' : 'debug';
      logger[level](
        { method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 },
        'request',
      );
    });
    handle();
  });
}

/**
 * The server's request listener: the first fast route that matches answers, everything else goes to `app`.
 * Only routes whose cost per request matters (Graph's notifications, up to thousands a second) are fast routes;
 * each also stays mounted in `app`, where tests and other servers reach it. A fast route's request gets its
 * request id and request line as Express's routes do (`inRequestContext`).
 */
export function frontDoor(
  app: RequestListener,
  routes: readonly FastRoute[],
  logger: Logger,
): RequestListener {
  if (routes.length === 0) return app;
  return (req, res) => {
    const route = routes.find((candidate) => candidate.matches(req));
    if (!route) {
      app(req, res);
      return;
    }
    inRequestContext(logger, req, res, () => route.handle(req, res));
  };
}
