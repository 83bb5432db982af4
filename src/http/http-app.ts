import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import type { Logger } from '../log/logger.ts';
import { inRequestContext } from './front-door.ts';

export interface HttpAppOptions {
  logger: Logger;
  /**
   * What /readyz shows. A `checks` entry maps each check's name to `ok` or its problem: any problem answers 503,
   * and so does a throw.
   */
  readiness: () => Promise<Record<string, unknown> & { checks?: Record<string, string> }>;
  /** Extra routes, e.g. the Microsoft Graph webhook. */
  routers?: Router[];
}

/** Every request gets an id (or keeps the caller's X-Request-Id) that appears on each log line it causes. */
function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => inRequestContext(logger, req, res, next);
}

/** One place maps errors to JSON responses and logs them once. */
function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const failure = error as {
      status?: number;
      statusCode?: number;
      type?: string;
      expose?: boolean;
      message?: string;
    };
    const status = failure.status ?? failure.statusCode ?? 500;
    const requestId = String(res.getHeader('X-Request-Id') ?? '');
    if (status >= 500) {
      logger.error(
        { path: req.path, err: { name: (error as Error).name, message: failure.message } },
        'request failed',
      );
    } else {
      logger.warn({ path: req.path, status, type: failure.type }, 'request refused');
    }
    const message =
      failure.type === 'entity.too.large'
        ? 'request body too large'
        : status < 500 && failure.expose !== false
          ? (failure.message ?? 'bad request')
          : 'internal error';
    if (!res.headersSent) res.status(status).json({ error: message, requestId });
  };
}

export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.use(requestContext(options.logger));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    try {
      const details = await options.readiness();
      const failing = Object.entries(details.checks ?? {}).filter(([, result]) => result !== 'ok');
      if (failing.length === 0) {
        res.json({ status: 'ready', ...details });
        return;
      }
      options.logger.warn({ checks: Object.fromEntries(failing) }, 'not ready');
      res.status(503).json({ status: 'not ready', ...details });
    } catch (error) {
      options.logger.warn({ err: { message: (error as Error).message } }, 'not ready');
      res.status(503).json({ status: 'not ready', error: (error as Error).message });
    }
  });

  for (const router of options.routers ?? []) app.use(router);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(errorHandler(options.logger));
  return app;
}
