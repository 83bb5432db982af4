import { createHash, timingSafeEqual } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Config } from '../../config/config.ts';
import type { CrmStore } from '../../crm/crm-store.ts';
import type { Logger } from '../../log/logger.ts';
import { collectMetrics } from '../../observability/collect-metrics.ts';
import { prometheusContentType, renderPrometheus } from '../../observability/prometheus-text.ts';
import type { ServiceMetrics } from '../../observability/service-metrics.ts';
import type { HealthReport } from '../../processing/intake-health-monitor.ts';
import { adminScript, adminStylesheet } from './admin-assets.ts';
import { AdminSessions, csrfMatches, type AdminSession } from './admin-session.ts';
import {
  consentCallbackPath,
  permissionsPage,
  permissionsSection,
  readConsentAnswer,
  readTokenPermissions,
} from './consent.ts';
import { EntraSignIn } from './entra-sign-in.ts';
import { messagePage } from './layout.ts';
import { expectedOrigin, hasLoopbackHost, isLocalRequest, isSameOrigin } from './request-origin.ts';
import { CookieSealer } from './sealed-cookie.ts';
import { statusPage } from './status-page.ts';
import { readStatus, type StatusSources } from './status-snapshot.ts';

/** What tests (and unusual hosting) may change. */
export interface AdminOverrides {
  /** The fetch for Entra ID requests, e.g. one trusting a local OpenID Connect stand-in's certificate. */
  entraFetch?: typeof fetch;
  /** Seconds between the page's live refreshes; default 15. */
  refreshSeconds?: number;
}

export interface AdminRouterOptions {
  config: Config;
  logger: Logger;
  store: CrmStore;
  /** The mailbox's short name (`local`, `graph`). */
  mailboxName: string;
  graph:
    (StatusSources['graph'] & { status(): Record<string, unknown>; readonly graphRequests: number }) | null;
  /** The readiness checks (database, Graph credential and subscription). */
  health: () => Promise<HealthReport>;
  /** Lets the running worker take requeued messages at once. */
  wakeWorker: () => void;
  metrics: ServiceMetrics;
  /** A new Graph credential as GRAPH_AUTH names it (a fresh token shows new grants); null on the local folder. */
  graphCredential: (() => TokenCredential) | null;
  /** Graph answers with HTTP 429 so far in this process. */
  graphThrottles: () => number;
  overrides?: AdminOverrides;
  now?: () => Date;
}

const securityHeaders: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/**
 * The admin console (docs/admin-console.md): the status page at `/`, reprocessing, consent, sign-in with Entra
 * ID, and /metrics. ADMIN_AUTH=none serves the console to this machine only; entra to members of the configured
 * role or group.
 */
export function createAdminRouter(options: AdminRouterOptions): Router {
  const { config, logger: baseLogger, store } = options;
  const logger = baseLogger.child({ component: 'admin-console' });
  const now = options.now ?? (() => new Date());
  const sessions = new AdminSessions({
    sealer: new CookieSealer(config.SESSION_SECRET),
    lifetimeMs: config.SESSION_HOURS * 3_600_000,
    now: () => now().getTime(),
  });
  const entra =
    config.ADMIN_AUTH === 'entra'
      ? new EntraSignIn({
          config,
          ...(options.overrides?.entraFetch ? { fetch: options.overrides.entraFetch } : {}),
          now,
        })
      : null;
  const refreshSeconds = options.overrides?.refreshSeconds ?? 15;
  const router = express.Router();
  const forms = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });

  const send = (res: Response, status: number, body: string) => {
    res.status(status).set(securityHeaders).type('html').send(body);
  };
  /** Async handlers answer an HTML page when they fail, and log once. */
  const handle =
    (work: (req: Request, res: Response) => Promise<void>): RequestHandler =>
    (req, res) => {
      work(req, res).catch((error: unknown) => {
        logger.error(
          { path: req.path, err: { name: (error as Error).name, message: (error as Error).message } },
          'admin console request failed',
        );
        if (!res.headersSent)
          send(
            res,
            500,
            messagePage('Something went wrong', 'The console could not answer. The log has the cause.', {
              href: '/',
              label: 'Back to the status page',
            }),
          );
      });
    };

  router.get('/admin/assets/admin.css', (_req, res) => {
    res
      .set({ 'Cache-Control': 'public, max-age=300', 'X-Content-Type-Options': 'nosniff' })
      .type('css')
      .send(adminStylesheet);
  });
  router.get('/admin/assets/admin.js', (_req, res) => {
    res
      .set({ 'Cache-Control': 'public, max-age=300', 'X-Content-Type-Options': 'nosniff' })
      .type('js')
      .send(adminScript);
  });

  router.get(
    '/metrics',
    handle(async (req, res) => {
      if (!metricsAllowed(req, config.METRICS_TOKEN)) {
        res
          .status(config.METRICS_TOKEN ? 401 : 403)
          .set(config.METRICS_TOKEN ? { 'WWW-Authenticate': 'Bearer' } : {})
          .type('text')
          .send(
            config.METRICS_TOKEN
              ? 'GET /metrics needs the bearer token METRICS_TOKEN names.\n'
              : 'GET /metrics answers only on this machine (localhost); set METRICS_TOKEN to let a scraper elsewhere in.\n',
          );
        return;
      }
      const families = await collectMetrics({
        metrics: options.metrics,
        queue: store,
        graph: options.graph,
        graphThrottles: options.graphThrottles,
        health: options.health,
        now,
      });
      res.set('Cache-Control', 'no-store').type(prometheusContentType).send(renderPrometheus(families));
    }),
  );

  /** Who may see the console: this machine (ADMIN_AUTH=none), or a signed-in member (entra). */
  const requireConsole: RequestHandler = (req, res, next) => {
    if (!entra) {
      if (!isLocalRequest(req) || !hasLoopbackHost(req)) {
        res
          .status(403)
          .set(securityHeaders)
          .type('text')
          .send(
            'The admin console answers only on this machine (localhost) while ADMIN_AUTH=none; set ADMIN_AUTH=entra to sign in with Microsoft Entra ID (docs/admin-console.md).\n',
          );
        return;
      }
      const found = sessions.read(req);
      res.locals.session = found.state === 'valid' ? found.session : sessions.create(req, res, null);
      next();
      return;
    }
    const found = sessions.read(req);
    if (found.state === 'valid') {
      res.locals.session = found.session;
      next();
      return;
    }
    if (found.state === 'invalid') {
      logger.warn(
        { path: req.path },
        'admin console refused a session cookie it did not seal (tampered, foreign or expired)',
      );
      sessions.clear(req, res);
      send(
        res,
        401,
        messagePage(
          'Sign in again',
          'Your session is not valid (expired, or changed on the way). Sign in again.',
          { href: '/auth/sign-in', label: 'Sign in with Microsoft' },
        ),
      );
      return;
    }
    if (req.method === 'GET') {
      res.redirect(302, `/auth/sign-in?returnTo=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    send(
      res,
      401,
      messagePage('Sign in first', 'This action needs a signed-in administrator.', {
        href: '/auth/sign-in',
        label: 'Sign in with Microsoft',
      }),
    );
  };

  /** Every POST: the session's anti-forgery token, and a browser's Origin naming us. */
  const requireForm: RequestHandler = (req, res, next) => {
    const session = res.locals.session as AdminSession;
    const origin = expectedOrigin(req, entra ? config.PUBLIC_BASE_URL : null);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!isSameOrigin(req, origin) || !csrfMatches(session, body._csrf)) {
      logger.warn(
        { path: req.path, origin: req.headers.origin ?? null },
        'admin console refused a form without a valid anti-forgery token',
      );
      send(
        res,
        403,
        messagePage(
          'Action refused',
          'This form is stale or was sent from another site. Reload the page and try again.',
          { href: '/', label: 'Reload the status page' },
        ),
      );
      return;
    }
    next();
  };

  router.get(
    '/',
    requireConsole,
    handle(async (req, res) => {
      const session = res.locals.session as AdminSession;
      const search = typeof req.query.q === 'string' ? req.query.q.slice(0, 200) : '';
      const snapshot = await readStatus(
        {
          config,
          store,
          mailboxName: options.mailboxName,
          graph: options.graph,
          health: options.health,
          now,
        },
        search,
      );
      const requeued = typeof req.query.requeued === 'string' ? Number(req.query.requeued) : null;
      const notice =
        requeued === null || !Number.isInteger(requeued)
          ? null
          : requeued === 0
            ? 'Nothing was queued again: the message is no longer in quarantine.'
            : `${requeued} message${requeued === 1 ? '' : 's'} queued again; the worker takes ${requeued === 1 ? 'it' : 'them'} now.`;
      send(
        res,
        200,
        statusPage(snapshot, {
          session,
          refreshSeconds,
          notice,
          permissions: permissionsSection(config, sessions.consentState(session)),
        }),
      );
    }),
  );

  router.post(
    '/admin/reprocess',
    requireConsole,
    forms,
    requireForm,
    handle(async (req, res) => {
      const session = res.locals.session as AdminSession;
      const body = req.body as Record<string, unknown>;
      const target =
        body.all === '1' ? 'all' : typeof body.id === 'string' && body.id !== '' ? [body.id] : null;
      if (!target) {
        send(
          res,
          400,
          messagePage('Nothing to reprocess', 'Name a quarantined message, or reprocess all.', {
            href: '/#quarantine',
            label: 'Back to the quarantine',
          }),
        );
        return;
      }
      // What `email-connector reprocess` does: requeue, then let the running worker take them.
      const count = await store.requeueQuarantined(target, now());
      options.wakeWorker();
      logger.info(
        {
          count,
          target: target === 'all' ? 'all' : target,
          by: session.user?.username ?? session.user?.id ?? 'localhost',
        },
        'quarantined messages queued again from the admin console',
      );
      res.redirect(303, `/?requeued=${count}#quarantine`);
    }),
  );

  router.get(
    '/admin/permissions',
    requireConsole,
    handle(async (_req, res) => {
      const permissions = await readTokenPermissions(options.graphCredential);
      send(res, 200, permissionsPage(res.locals.session as AdminSession, permissions, null));
    }),
  );

  router.get(
    consentCallbackPath,
    requireConsole,
    handle(async (req, res) => {
      const session = res.locals.session as AdminSession;
      if (req.query.state !== sessions.consentState(session)) {
        logger.warn('admin consent answer refused: its state belongs to no session of this browser');
        send(
          res,
          400,
          messagePage(
            'Consent answer not recognised',
            'This answer does not belong to a consent started from this console in this browser. Start it again from the status page.',
            { href: '/#permissions', label: 'Back to Permissions' },
          ),
        );
        return;
      }
      const consent = readConsentAnswer(req.query as Record<string, unknown>);
      logger.info({ granted: consent.granted }, 'admin consent answer received');
      const permissions = consent.granted
        ? await readTokenPermissions(options.graphCredential)
        : { roles: null, problem: 'no consent, so no new permissions to show' };
      send(res, 200, permissionsPage(session, permissions, consent));
    }),
  );

  if (entra) {
    router.get(
      '/auth/sign-in',
      handle(async (req, res) => {
        const returnTo = safeReturnTo(req.query.returnTo);
        const found = sessions.read(req);
        if (found.state === 'valid') {
          res.redirect(303, returnTo);
          return;
        }
        const { url, pending } = await entra.start(returnTo);
        sessions.createPending(req, res, pending);
        res.set(securityHeaders).redirect(302, url);
      }),
    );
    router.get(
      '/auth/callback',
      handle(async (req, res) => {
        const pending = sessions.readPending(req);
        sessions.clearPending(req, res);
        const result = await entra.finish(req.query as Record<string, unknown>, pending);
        if (!result.ok) {
          logger.warn(
            { status: result.status, reason: result.message, user: result.user?.username ?? null },
            'admin sign-in refused',
          );
          send(
            res,
            result.status,
            messagePage(result.status === 403 ? 'Not admitted' : 'Sign-in failed', result.message, {
              href: '/auth/sign-in',
              label: 'Sign in again',
            }),
          );
          return;
        }
        sessions.create(req, res, result.user);
        logger.info({ user: result.user.username ?? result.user.id }, 'admin signed in');
        res.redirect(303, pending?.returnTo ?? '/');
      }),
    );
    router.post('/auth/sign-out', requireConsole, forms, requireForm, (req, res) => {
      sessions.clear(req, res);
      res.redirect(303, '/auth/signed-out');
    });
    router.get('/auth/signed-out', (_req, res) => {
      send(
        res,
        200,
        messagePage('Signed out', 'You are signed out of the Email Connector console.', {
          href: '/auth/sign-in',
          label: 'Sign in again',
        }),
      );
    });
  }
  return router;
}

/** Only a path of ours: never another site, never a protocol-relative `//host`. */
function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/';
}

function metricsAllowed(req: Request, token: string | null): boolean {
  if (isLocalRequest(req)) return true;
  if (!token) return false;
  const header = req.headers.authorization ?? '';
  const sent = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  // Digests make the comparison constant-time whatever the lengths.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return sent !== '' && timingSafeEqual(digest(sent), digest(token));
}
