import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { withLogContext, type Logger } from '../log/logger.ts';

/** A route the server answers itself, before the request reaches Express. */
export interface FastRoute {
  matches(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** The caller's X-Request-Id when it is a plain token, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const supplied = req.headers['x-request-id'];
  return typeof supplied === 'string' && /^[\w.-]{1,64}$/.test(supplied) ? supplied : randomUUID();
}

/**
 * The server's request listener: the first fast route that matches answers, everything else goes to `app`.
 * Only routes whose cost per request matters (Graph's notifications, up to thousands a second) are fast routes;
 * each also stays mounted in `app`, where tests and other servers reach it. A fast route's request gets its
 * request id and debug line as Express's routes do.
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
    const requestId = requestIdOf(req);
    res.setHeader('X-Request-Id', requestId);
    withLogContext({ requestId }, () => {
      if (logger.isLevelEnabled('debug')) {
        const started = process.hrtime.bigint();
        res.on('finish', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          const path = (req.url ?? '').split('?')[0];
          logger[res.statusCode >= 500 ? 'error' : 'debug'](
            { method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 },
            'request',
          );
        });
      }
      route.handle(req, res);
    });
  };
}

/** The fast route a router carries (the Graph webhook's does), if any. */
export function fastRouteOf(router: unknown): FastRoute | null {
  if (typeof router !== 'function' || !('fastRoute' in router)) return null;
  return (router as { fastRoute: FastRoute }).fastRoute;
}
