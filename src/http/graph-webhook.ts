import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { CrmStore } from '../crm/crm-store.ts';
import type { Logger } from '../log/logger.ts';
import { clientStateCheck, clientStateMatches } from './client-state.ts';
import { EnqueueBatcher } from './enqueue-batcher.ts';
import type { FastRoute } from './front-door.ts';
import { RejectionLog, type RejectionReason } from './rejection-log.ts';

export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

/** One mailbox behind the webhook: its subscriptions, where its messages go, what its lifecycle events do. */
export interface WebhookTarget {
  /** Whether a subscription id is this mailbox's (the current one, or one replaced moments ago). */
  isKnownSubscription(subscriptionId: string): boolean | Promise<boolean>;
  /** The intake queue's id for a message this mailbox's subscription announced; default the message id. */
  queueIdOf?(messageId: string): string;
  /** Called after the reply for each valid lifecycle item; never awaited by the request. */
  onLifecycle(event: LifecycleEvent, subscriptionId: string): void;
  /** Called after the reply when valid notifications arrived; `created` counts new queue items. */
  onNotified?(info: { valid: number; created: number }): void;
}

interface WebhookCommon {
  store: CrmStore;
  logger: Logger;
  /** The secret every notification must carry (one for all mailboxes). */
  clientState: string;
  now?: () => Date;
  /** Largest accepted body in bytes; default 256 KiB (Graph batches stay far below). */
  bodyLimitBytes?: number;
  /** Counts what is refused and logs it once a minute; default one of its own. Its owner stops it on shutdown. */
  rejections?: RejectionLog;
}

/**
 * One mailbox, or several behind the one notification URL: each item then goes to the mailbox whose subscription
 * id it carries (a batch may mix them).
 */
export type GraphWebhookOptions = WebhookCommon & (WebhookTarget | { targets: readonly WebhookTarget[] });

/** The webhook's Express router, carrying the same handler for the server to call before Express. */
export type WebhookRouter = express.Router & { readonly fastRoute: FastRoute };

const maxIdLength = 512;

/** One item of a notification batch, as far as the webhook reads it (Graph's other fields are ignored). */
interface Item {
  subscriptionId: string;
  clientState?: string | null | undefined;
  changeType?: string | undefined;
  resource?: string | undefined;
  resourceData?: { id?: string | undefined } | null | undefined;
  lifecycleEvent?: string | undefined;
}

/** At most this many items in one request (Graph sends far fewer). */
const maxItems = 1000;

/**
 * The batch's items when the body is `{ "value": [...] }` with at most maxItems of them, else null. Checked by
 * hand rather than by a schema library: at a thousand requests a second a schema's generic walk cost more than the
 * rest of the webhook's own work.
 */
function itemsOf(body: unknown): unknown[] | null {
  if (!isRecord(body) || !Array.isArray(body.value) || body.value.length > maxItems) return null;
  return body.value as unknown[];
}

/** An item whose fields have the kinds and lengths Graph sends, else null (counted as malformed). */
function itemOf(raw: unknown): Item | null {
  if (!isRecord(raw)) return null;
  const { subscriptionId, clientState, changeType, resource, resourceData, lifecycleEvent } = raw;
  if (typeof subscriptionId !== 'string' || subscriptionId.length === 0 || subscriptionId.length > 200)
    return null;
  const text = (value: unknown, max: number, nullable: boolean): boolean =>
    value === undefined || (nullable && value === null) || (typeof value === 'string' && value.length <= max);
  if (!text(clientState, 256, true) || !text(changeType, 64, false) || !text(resource, 2048, false))
    return null;
  if (!text(lifecycleEvent, 64, false)) return null;
  if (resourceData !== undefined && resourceData !== null) {
    if (!isRecord(resourceData) || !text(resourceData.id, maxIdLength, false)) return null;
  }
  return {
    subscriptionId,
    clientState: clientState as Item['clientState'],
    changeType: changeType as Item['changeType'],
    resource: resource as Item['resource'],
    resourceData: resourceData as Item['resourceData'],
    lifecycleEvent: lifecycleEvent as Item['lifecycleEvent'],
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const lifecycleEvents: readonly string[] = ['reauthorizationRequired', 'subscriptionRemoved', 'missed'];

/**
 * Graph's change-notification endpoint: validates, enqueues durably, answers. Nothing is fetched or processed here:
 * Graph expects an answer within 3 s and delays or drops notifications to slow endpoints.
 * Serves POST /webhooks/graph (notifications) and POST /webhooks/graph/lifecycle (lifecycle events).
 *
 * The handler works on Node's own request and response, so that the service's server can answer these two
 * routes before Express (`fastRoute`, see front-door.ts): at a thousand notifications a second Express's own
 * per-request work would cost more than the webhook's. The router serves the same handler for everything else
 * that mounts it.
 */
export function createGraphWebhookRouter(options: GraphWebhookOptions): WebhookRouter {
  const router = express.Router();
  const now = options.now ?? (() => new Date());
  const log = options.logger.child({ component: 'graph-webhook' });
  // A forger can send thousands of items a second: one log line each would bury everything else.
  const rejections = options.rejections ?? new RejectionLog(log);
  const targets: readonly WebhookTarget[] = 'targets' in options ? options.targets : [options];
  const limit = options.bodyLimitBytes ?? 256 * 1024;
  const batcher = new EnqueueBatcher(options.store, { now });
  const expectedState = clientStateCheck(options.clientState);

  const serve = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    // Graph validates both URLs with a POST carrying ?validationToken=; the token must come back as is, decoded.
    const query = req.url?.includes('?')
      ? new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1))
      : null;
    const tokens = query?.getAll('validationToken') ?? [];
    if (tokens.length > 0) {
      const token = tokens[0]!;
      if (tokens.length > 1 || token.length === 0 || token.length > 4096) {
        reply(res, 400, 'bad validation token', 'text/plain; charset=utf-8');
        return;
      }
      res.setHeader('X-Content-Type-Options', 'nosniff');
      reply(res, 200, token, 'text/plain; charset=utf-8');
      log.info({ path }, 'answered Graph validation request');
      return;
    }
    const body = await readJsonBody(req, limit);
    if (!body.ok) {
      rejections.record('bad-request', { path });
      reply(res, body.status, { error: body.error });
      return;
    }
    const items = itemsOf(body.value);
    if (items === null) {
      rejections.record('bad-request', { path });
      reply(res, 400, { error: 'expected { value: [...] }' });
      return;
    }

    const notifications = new Map<WebhookTarget, string[]>();
    const lifecycle: { event: LifecycleEvent; subscriptionId: string; target: WebhookTarget }[] = [];
    let rejected = 0;
    for (const raw of items) {
      const item = itemOf(raw);
      const checked = item ? await check(item) : { reason: 'malformed' as const, target: null };
      const { reason, target } = checked;
      if (reason !== null || target === null || item === null) {
        rejected += 1;
        // Never the clientState itself.
        const subscriptionId = item?.subscriptionId ?? null;
        rejections.record(reason ?? 'malformed', { subscriptionId, path });
        continue;
      }
      if (item.lifecycleEvent !== undefined) {
        if (lifecycleEvents.includes(item.lifecycleEvent)) {
          lifecycle.push({
            event: item.lifecycleEvent as LifecycleEvent,
            subscriptionId: item.subscriptionId,
            target,
          });
        } else
          log.info({ lifecycleEvent: item.lifecycleEvent.slice(0, 64) }, 'ignored unknown lifecycle event');
        continue;
      }
      const id = messageIdOf(item);
      if (id === null) {
        rejected += 1;
        rejections.record('no-message-id', { subscriptionId: item.subscriptionId, path });
        continue;
      }
      if (item.changeType === undefined || item.changeType.split(',').includes('created')) {
        const ids = notifications.get(target) ?? [];
        ids.push(id);
        notifications.set(target, ids);
      }
    }

    const notified = [...notifications.values()].reduce((sum, ids) => sum + ids.length, 0);
    const valid = notified + lifecycle.length;
    if (valid === 0 && rejected > 0) {
      // Nothing genuine in the batch: Graph never sends a forged item, so the answer only reaches a forger.
      reply(res, 403, { error: 'forbidden' });
      return;
    }
    // Durable before the answer: once Graph has its 202 it will not send this notification again. The batcher
    // commits these together with those of other requests that arrive meanwhile.
    const createdFor = new Map<WebhookTarget, number>();
    await Promise.all(
      [...notifications].map(async ([target, ids]) => {
        const results = await Promise.all(
          [...new Set(ids)].map((messageId) =>
            batcher.enqueue({ mailboxId: target.queueIdOf?.(messageId) ?? messageId, source: 'graph' }),
          ),
        );
        createdFor.set(target, results.filter((result) => result.created).length);
      }),
    );
    const created = [...createdFor.values()].reduce((sum, count) => sum + count, 0);
    reply(res, 202);
    log.debug({ notifications: notified, created, lifecycle: lifecycle.length, rejected }, 'accepted');
    for (const [target, ids] of notifications)
      target.onNotified?.({ valid: ids.length, created: createdFor.get(target) ?? 0 });
    for (const { target, ...entry } of lifecycle) {
      log.info(entry, 'received Graph lifecycle event');
      setImmediate(() => target.onLifecycle(entry.event, entry.subscriptionId));
    }
  };

  /** Whose the item is; a reason when it is nobody's or its clientState is wrong. */
  async function check(
    item: Item,
  ): Promise<{ reason: RejectionReason | null; target: WebhookTarget | null }> {
    // Both checks always run, so timing does not tell a forger which one failed.
    const stateOk = clientStateMatches(item.clientState, expectedState);
    let target: WebhookTarget | null = null;
    for (const candidate of targets) {
      if (await candidate.isKnownSubscription(item.subscriptionId)) {
        target = candidate;
        break;
      }
    }
    if (!target) return { reason: 'unknown-subscription', target };
    return { reason: stateOk ? null : 'client-state-mismatch', target };
  }

  const handle = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    serve(req, res, path).catch((error: unknown) => {
      // The queue could not take the notification: 503 makes Graph send it again later.
      log.error(
        { err: { name: (error as Error).name, message: (error as Error).message } },
        'enqueue failed',
      );
      if (!res.headersSent) reply(res, 503, { error: 'unavailable' });
      else res.destroy();
    });
  };

  router.post(webhookPaths, (req, res) => handle(req, res, req.path));
  const fastRoute: FastRoute = {
    matches: (req) => req.method === 'POST' && webhookPathOf(req.url) !== null,
    handle: (req, res) => handle(req, res, webhookPathOf(req.url) ?? '/webhooks/graph'),
  };
  return Object.assign(router, { fastRoute });
}

const webhookPaths = ['/webhooks/graph', '/webhooks/graph/lifecycle'];

/** The webhook path a request URL names (as Express would match it: any case, one trailing slash), or null. */
function webhookPathOf(url: string | undefined): string | null {
  if (!url) return null;
  const query = url.indexOf('?');
  let path = (query >= 0 ? url.slice(0, query) : url).toLowerCase();
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return webhookPaths.includes(path) ? path : null;
}

/** Answers with a JSON body, a text body, or none. */
function reply(res: ServerResponse, status: number, body?: unknown, contentType?: string): void {
  if (body === undefined) {
    res.writeHead(status, { 'content-length': 0 });
    res.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType ?? 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

type JsonBody = { ok: true; value: unknown } | { ok: false; status: number; error: string };

/**
 * The request's JSON body, read up to `limit` bytes. Only JSON media types (`application/json`,
 * `application/*+json`) are read, in UTF-8 and without content coding, as Graph sends them; anything else is
 * refused without reading it all.
 */
function readJsonBody(req: IncomingMessage, limit: number): Promise<JsonBody> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const mediaType = type.split(';')[0]!.trim();
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/.exec(type)?.[1];
  const coding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const refuse = (status: number, error: string): Promise<JsonBody> => {
    // The rest of the body is read and dropped, so that the connection can carry the next request.
    req.resume();
    return Promise.resolve({ ok: false, status, error });
  };
  if (mediaType !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(mediaType))
    return refuse(400, 'expected { value: [...] }');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    return refuse(415, 'unsupported charset');
  if (coding !== 'identity') return refuse(415, 'unsupported content encoding');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return refuse(413, 'payload too large');
  return new Promise<JsonBody>((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    const finish = (result: JsonBody): void => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      length += chunk.length;
      if (length > limit) {
        finish({ ok: false, status: 413, error: 'payload too large' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks, length).toString('utf8');
      // Like Express's JSON parser: an empty body is an empty object; only an object or array at the top.
      if (text.trim() === '') return finish({ ok: true, value: {} });
      if (!/^[\s\uFEFF]*[[{]/.test(text)) return finish({ ok: false, status: 400, error: 'bad request' });
      try {
        finish({ ok: true, value: JSON.parse(text) as unknown });
      } catch {
        finish({ ok: false, status: 400, error: 'bad request' });
      }
    });
    req.on('error', () => finish({ ok: false, status: 400, error: 'bad request' }));
  });
}

/**
 * The message id: `resourceData.id`, else the last segment of `resource` (`Users/{u}/Messages/{id}`).
 * Graph REST ids are URL-safe base64; anything else is refused before it reaches the queue or a URL.
 */
function messageIdOf(item: Item): string | null {
  const fromData = item.resourceData?.id;
  const fromResource = item.resource?.match(/\/messages\/([^/]+)$/i)?.[1];
  const id = fromData ?? (fromResource ? safeDecode(fromResource) : undefined);
  if (!id || id.length > maxIdLength || !/^[A-Za-z0-9=_-]+$/.test(id)) return null;
  return id;
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
