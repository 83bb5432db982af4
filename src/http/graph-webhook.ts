import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { CrmStore } from '../crm/crm-store.ts';
import type { Logger } from '../log/logger.ts';
import { clientStateMatches } from './client-state.ts';
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
  /** Largest accepted body; default 256kb (Graph batches stay far below). */
  bodyLimit?: string;
  /** Counts what is refused and logs it once a minute; default one of its own. Its owner stops it on shutdown. */
  rejections?: RejectionLog;
}

/**
 * One mailbox, or several behind the one notification URL: each item then goes to the mailbox whose subscription
 * id it carries (a batch may mix them).
 */
export type GraphWebhookOptions = WebhookCommon & (WebhookTarget | { targets: readonly WebhookTarget[] });

const maxIdLength = 512;

const itemSchema = z.looseObject({
  subscriptionId: z.string().min(1).max(200),
  clientState: z.string().max(256).nullish(),
  changeType: z.string().max(64).optional(),
  resource: z.string().max(2048).optional(),
  resourceData: z.looseObject({ id: z.string().max(maxIdLength).optional() }).nullish(),
  lifecycleEvent: z.string().max(64).optional(),
});

const bodySchema = z.object({ value: z.array(z.unknown()).max(1000) });

type Item = z.output<typeof itemSchema>;

const lifecycleEvents: readonly string[] = ['reauthorizationRequired', 'subscriptionRemoved', 'missed'];

/**
 * Graph's change-notification endpoint: validates, enqueues durably, answers. Nothing is fetched or processed here:
 * Graph expects an answer within 3 s and delays or drops notifications to slow endpoints.
 * Serves POST /webhooks/graph (notifications) and POST /webhooks/graph/lifecycle (lifecycle events).
 */
export function createGraphWebhookRouter(options: GraphWebhookOptions): express.Router {
  const router = express.Router();
  const now = options.now ?? (() => new Date());
  const log = options.logger.child({ component: 'graph-webhook' });
  // A forger can send thousands of items a second: one log line each would bury everything else.
  const rejections = options.rejections ?? new RejectionLog(log);
  const targets: readonly WebhookTarget[] = 'targets' in options ? options.targets : [options];
  const json = express.json({
    limit: options.bodyLimit ?? '256kb',
    type: ['application/json', 'application/*+json'],
  });

  const handler = async (req: Request, res: Response): Promise<void> => {
    // Graph validates both URLs with a POST carrying ?validationToken=; the token must come back as is, decoded.
    const token = req.query.validationToken;
    if (token !== undefined) {
      if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
        res.status(400).type('text/plain').send('bad validation token');
        return;
      }
      res.status(200).set('X-Content-Type-Options', 'nosniff').type('text/plain').send(token);
      log.info({ path: req.path }, 'answered Graph validation request');
      return;
    }
    const parsed = bodySchema.safeParse(req.body);
    if (!parsed.success) {
      rejections.record('bad-request', { path: req.path });
      res.status(400).json({ error: 'expected { value: [...] }' });
      return;
    }

    const notifications = new Map<WebhookTarget, string[]>();
    const lifecycle: { event: LifecycleEvent; subscriptionId: string; target: WebhookTarget }[] = [];
    let rejected = 0;
    for (const raw of parsed.data.value) {
      const item = itemSchema.safeParse(raw);
      const checked = item.success ? await check(item.data) : { reason: 'malformed' as const, target: null };
      const { reason, target } = checked;
      if (reason !== null || target === null || !item.success) {
        rejected += 1;
        // Never the clientState itself.
        const subscriptionId = item.success ? item.data.subscriptionId : null;
        rejections.record(reason ?? 'malformed', { subscriptionId, path: req.path });
        continue;
      }
      if (item.data.lifecycleEvent !== undefined) {
        if (lifecycleEvents.includes(item.data.lifecycleEvent)) {
          lifecycle.push({
            event: item.data.lifecycleEvent as LifecycleEvent,
            subscriptionId: item.data.subscriptionId,
            target,
          });
        } else
          log.info(
            { lifecycleEvent: item.data.lifecycleEvent.slice(0, 64) },
            'ignored unknown lifecycle event',
          );
        continue;
      }
      const id = messageIdOf(item.data);
      if (id === null) {
        rejected += 1;
        rejections.record('no-message-id', { subscriptionId: item.data.subscriptionId, path: req.path });
        continue;
      }
      if (item.data.changeType === undefined || item.data.changeType.split(',').includes('created')) {
        const ids = notifications.get(target) ?? [];
        ids.push(id);
        notifications.set(target, ids);
      }
    }

    const notified = [...notifications.values()].reduce((sum, ids) => sum + ids.length, 0);
    const valid = notified + lifecycle.length;
    if (valid === 0 && rejected > 0) {
      // Nothing genuine in the batch: Graph never sends a forged item, so the answer only reaches a forger.
      res.status(403).json({ error: 'forbidden' });
      return;
    }
    // Durable before the answer: once Graph has its 202 it will not send this notification again.
    let created = 0;
    const createdFor = new Map<WebhookTarget, number>();
    const at = now();
    for (const [target, ids] of notifications) {
      let count = 0;
      for (const messageId of new Set(ids)) {
        const mailboxId = target.queueIdOf?.(messageId) ?? messageId;
        const result = await options.store.enqueue({ mailboxId, source: 'graph', now: at });
        if (result.created) count += 1;
      }
      createdFor.set(target, count);
      created += count;
    }
    res.status(202).end();
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
    const stateOk = clientStateMatches(item.clientState, options.clientState);
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

  router.post(['/webhooks/graph', '/webhooks/graph/lifecycle'], json, handler);
  router.use(['/webhooks/graph', '/webhooks/graph/lifecycle'], webhookErrors(rejections));
  return router;
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

/** Body-parser failures answered here so their details (and the body) never reach a generic error handler. */
function webhookErrors(rejections: RejectionLog) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    const status =
      typeof error === 'object' && error !== null && 'status' in error ? Number(error.status) : 500;
    if (res.headersSent || !(status >= 400 && status < 500)) {
      next(error);
      return;
    }
    rejections.record('bad-request', { path: req.path });
    res.status(status).json({ error: status === 413 ? 'payload too large' : 'bad request' });
  };
}
