import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import type { FetchOptions } from '@microsoft/microsoft-graph-client';
import { supportMailboxes, type Config } from '../../config/config.ts';
import type { CrmStore } from '../../crm/crm-store.ts';
import { outsideLogContext, type Logger } from '../../log/logger.ts';
import {
  createGraphWebhookRouter,
  type LifecycleEvent,
  type WebhookRouter,
  type WebhookTarget,
} from '../../http/graph-webhook.ts';
import { RejectionLog } from '../../http/rejection-log.ts';
import type { Mailbox } from '../mailbox.ts';
import { CoalescingTask } from './coalescing-task.ts';
import { GraphApi } from './graph-api.ts';
import {
  createGraphCredential,
  graphScope,
  ObservedCredential,
  type TokenOutcome,
} from './graph-credential.ts';
import { InboxDelta } from './graph-delta.ts';
import { GraphMailbox } from './graph-mailbox.ts';
import { SubscriptionManager, type SubscriptionState } from './graph-subscriptions.ts';

export interface GraphIntakeOptions {
  config: Config;
  store: CrmStore;
  logger: Logger;
  /** Default: chosen by GRAPH_AUTH. Tests inject a fake (@azure/identity refuses non-HTTPS authorities). */
  credential?: TokenCredential;
  /** The mailbox to watch; default the only one SUPPORT_MAILBOX names (graph-intakes.ts passes each of several). */
  mailbox?: string;
  /** The intake queue's id for one of its messages; default the Graph id (several mailboxes: it names the mailbox). */
  queueIdOf?: (messageId: string) => string;
  now?: () => Date;
  /** Passed to every Graph fetch, e.g. `{ dispatcher }` trusting a stand-in's certificate. Default none. */
  fetchOptions?: FetchOptions;
  /** How often the subscription is checked (and renewed when due); default 5 minutes. */
  renewCheckIntervalMs?: number;
  /** Delta catch-up interval; default GRAPH_DELTA_INTERVAL_SECONDS. */
  deltaIntervalMs?: number;
  /** Subscription lifetime on create/renew; default 4,320 minutes. */
  subscriptionLifetimeMinutes?: number;
  /** Renew when less than this is left; default half the lifetime. */
  renewBeforeExpiryMs?: number;
  /** Identifies this instance in leases; default a random id. */
  instanceId?: string;
  /** Graph requests in flight at once for the mailbox; default 4. */
  maxConcurrentRequests?: number;
  /** Time limit of one Graph request; default 30 s. */
  requestTimeoutMs?: number;
  /**
   * How long the credential's last token request answers `health()` before it asks for a token itself; default
   * 10 s, so a readiness probe every few seconds does not keep calling the identity endpoint.
   */
  healthCacheMs?: number;
}

/** Whether intake can work; `checks` maps each check's name to `ok` or the problem (never a secret). */
export interface IntakeHealth {
  ok: boolean;
  checks: Record<string, string>;
}

export interface GraphIntake {
  mailbox: Mailbox;
  /**
   * Serves POST /webhooks/graph and POST /webhooks/graph/lifecycle; mount at '/'. Its `fastRoute` is the same
   * handler for the server to call before Express.
   */
  router: WebhookRouter;
  /** Ensures the subscription, runs a first delta, starts the timers. Graph failures are logged, not thrown. */
  start(): Promise<void>;
  /** Stops the timers, waits for running work, releases the leases. */
  stop(): Promise<void>;
  status(): Record<string, unknown>;
  /** Checks the credential (gets a token when the last attempt is older than `healthCacheMs`) and the subscription. */
  health(): Promise<IntakeHealth>;
  /** Registers a callback run whenever a new message was enqueued (webhook or delta). */
  onEnqueued(cb: () => void): void;
  /** Graph requests sent so far (every attempt). */
  readonly graphRequests: number;
  /**
   * Every mailbox's inbox subscription, in SUPPORT_MAILBOX's order, for operators (`email-connector graph …`);
   * using them starts no timer.
   */
  readonly subscriptions: readonly MailboxSubscription[];
  /** When a delta catch-up last completed (on any instance), as the store has it; null if never. */
  lastDeltaCompletedAt(): Promise<string | null>;
}

/** One mailbox's inbox subscription and delta catch-up, as operators see them. */
export interface MailboxSubscription {
  /** The mailbox, as SUPPORT_MAILBOX names it. */
  readonly address: string;
  readonly manager: SubscriptionManager;
  /** When this mailbox's delta catch-up last completed (on any instance); null if never. */
  lastDeltaCompletedAt(): Promise<string | null>;
}

/** One mailbox's intake, which a webhook serving several mailboxes routes to (graph-intakes.ts). */
export interface MailboxIntake extends GraphIntake {
  /** What the webhook does with this mailbox's notifications and lifecycle events. */
  readonly webhookTarget: WebhookTarget;
}

type PendingAction = 'renew' | 'replace';

/** Builds the Graph mailbox adapter, its webhook routes, the subscription manager and the delta catch-up. */
export function createGraphIntake(options: GraphIntakeOptions): MailboxIntake {
  const { config, store } = options;
  const configured = supportMailboxes(config);
  if (configured.length === 0) throw new Error('SUPPORT_MAILBOX is required for the Graph intake');
  if (!options.mailbox && configured.length > 1)
    throw new Error('SUPPORT_MAILBOX names several mailboxes: createGraphIntakes builds an intake for each');
  const mailboxName = options.mailbox ?? (configured[0] as string);
  if (!config.PUBLIC_BASE_URL) throw new Error('PUBLIC_BASE_URL is required for the Graph intake');
  if (!config.GRAPH_CLIENT_STATE) throw new Error('GRAPH_CLIENT_STATE is required for the Graph intake');
  const clientState = config.GRAPH_CLIENT_STATE;
  const now = options.now ?? (() => new Date());
  const logger = options.logger.child({ component: 'graph-intake', mailbox: mailboxName });
  const owner = options.instanceId ?? randomUUID();
  const renewEveryMs = options.renewCheckIntervalMs ?? 5 * 60_000;
  const deltaEveryMs = options.deltaIntervalMs ?? config.GRAPH_DELTA_INTERVAL_SECONDS * 1000;
  const leaseKey = mailboxName.toLowerCase();
  const leases = {
    subscription: { name: `graph-subscription:${leaseKey}`, ttlMs: Math.max(3 * renewEveryMs, 60_000) },
    delta: { name: `graph-delta:${leaseKey}`, ttlMs: Math.max(3 * deltaEveryMs, 60_000) },
  };
  const pendingKey = `graph.pending-actions:${leaseKey}`;

  const credential = new ObservedCredential(options.credential ?? createGraphCredential(config), now);
  const healthCacheMs = options.healthCacheMs ?? 10_000;
  const tokenCheckTimeoutMs = Math.min(options.requestTimeoutMs ?? 30_000, 5_000);
  const api = new GraphApi({
    credential,
    baseUrl: config.GRAPH_BASE_URL,
    ...(options.fetchOptions ? { fetchOptions: options.fetchOptions } : {}),
    ...(options.maxConcurrentRequests ? { maxConcurrent: options.maxConcurrentRequests } : {}),
    ...(options.requestTimeoutMs ? { timeoutMs: options.requestTimeoutMs } : {}),
  });
  const mailbox = new GraphMailbox({ api, mailbox: mailboxName });
  const subscriptions = new SubscriptionManager({
    api,
    store,
    logger,
    mailbox: mailboxName,
    notificationUrl: `${config.PUBLIC_BASE_URL}/webhooks/graph`,
    lifecycleNotificationUrl: `${config.PUBLIC_BASE_URL}/webhooks/graph/lifecycle`,
    clientState,
    now,
    ...(options.subscriptionLifetimeMinutes ? { lifetimeMinutes: options.subscriptionLifetimeMinutes } : {}),
    ...(options.renewBeforeExpiryMs ? { renewBeforeMs: options.renewBeforeExpiryMs } : {}),
  });
  const delta = new InboxDelta({
    api,
    store,
    logger,
    mailbox: mailboxName,
    now,
    queueIdOf: options.queueIdOf,
  });

  const listeners: (() => void)[] = [];
  const notifyEnqueued = () => {
    for (const listener of listeners) listener();
  };
  const state = {
    started: false,
    lastNotificationAt: null as string | null,
    lastDeltaAt: null as string | null,
    lastDelta: null as { seen: number; created: number; restarted: boolean } | null,
    lastRenewalAt: null as string | null,
    lastError: null as { at: string; operation: string; message: string } | null,
    holdsSubscriptionLease: false,
    holdsDeltaLease: false,
  };
  const timers = new Set<NodeJS.Timeout>();

  const fail = (operation: string, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    state.lastError = { at: now().toISOString(), operation, message };
    logger.error({ operation, err: error }, `Graph ${operation} failed`);
  };

  const deltaTask = new CoalescingTask(async () => {
    try {
      state.holdsDeltaLease = await store.acquireLease(leases.delta.name, owner, leases.delta.ttlMs, now());
      if (!state.holdsDeltaLease) return;
      const result = await delta.run(notifyEnqueued);
      state.lastDeltaAt = now().toISOString();
      state.lastDelta = result;
      if (result.created > 0) logger.info(result, 'delta catch-up found unannounced messages');
    } catch (error) {
      fail('delta', error);
    }
  });

  /** Subscription upkeep: pending lifecycle actions first, then create or renew when due. Lease holder only. */
  const subscriptionTask = new CoalescingTask(async () => {
    try {
      state.holdsSubscriptionLease = await store.acquireLease(
        leases.subscription.name,
        owner,
        leases.subscription.ttlMs,
        now(),
      );
      if (!state.holdsSubscriptionLease) {
        await subscriptions.load();
        return;
      }
      const pending = await readPending();
      if (pending.has('replace')) {
        await subscriptions.replace();
        await store.setState(pendingKey, null);
        void deltaTask.trigger();
      } else if (pending.has('renew') || subscriptions.isDue()) {
        const outcome = subscriptions.current ? await subscriptions.renew() : await subscriptions.ensure();
        await store.setState(pendingKey, null);
        state.lastRenewalAt = now().toISOString();
        if (outcome === 'recreated' || outcome === 'created') void deltaTask.trigger();
      }
    } catch (error) {
      fail('subscription', error);
    }
  });

  async function readPending(): Promise<Set<PendingAction>> {
    const raw = await store.getState(pendingKey);
    return new Set(raw ? (JSON.parse(raw) as PendingAction[]) : []);
  }

  /** Lifecycle actions go through the store so that the lease holder performs them even if another instance got the event. */
  async function requestAction(action: PendingAction): Promise<void> {
    const pending = await readPending();
    pending.add(action);
    await store.setState(pendingKey, JSON.stringify([...pending]));
    await subscriptionTask.trigger();
  }

  const onLifecycle = (event: LifecycleEvent): void => {
    const run = async () => {
      if (event === 'missed') await deltaTask.trigger();
      else await requestAction(event === 'subscriptionRemoved' ? 'replace' : 'renew');
    };
    // The webhook request only announced it: the work is the intake's own, not part of that request.
    outsideLogContext(() => run().catch((error: unknown) => fail(`lifecycle ${event}`, error)));
  };

  // Forged notifications are counted, not logged one by one; the count's timer stops with the intake.
  const rejections = new RejectionLog(options.logger.child({ component: 'graph-webhook' }));
  const webhookTarget: WebhookTarget = {
    isKnownSubscription: (id) => subscriptions.isKnown(id),
    queueIdOf: options.queueIdOf,
    onLifecycle,
    onNotified: ({ created }) => {
      state.lastNotificationAt = now().toISOString();
      if (created > 0) notifyEnqueued();
    },
  };
  const router = createGraphWebhookRouter({
    store,
    logger: options.logger,
    rejections,
    clientState,
    now,
    ...webhookTarget,
  });

  const every = (ms: number, task: CoalescingTask) => {
    const tick = () => {
      timers.delete(timer);
      void task.trigger().finally(() => {
        if (state.started) schedule();
      });
    };
    let timer: NodeJS.Timeout;
    const schedule = () => {
      timer = setTimeout(tick, ms);
      timer.unref();
      timers.add(timer);
    };
    schedule();
  };

  // Health answers may reach an unauthenticated probe: no configured secret may appear in them.
  const secrets = [clientState, config.GRAPH_CLIENT_SECRET].filter((value): value is string => !!value);
  const redact = (text: string): string =>
    secrets.reduce((result, secret) => result.split(secret).join('[redacted]'), text);
  const describeToken = (outcome: TokenOutcome): string =>
    outcome.error === null
      ? 'ok'
      : `cannot get a token for Microsoft Graph since ${(outcome.failingSince ?? outcome.at).toISOString()}: ${redact(outcome.error)}`;
  let credentialCheck: { at: number; result: string } | null = null;
  let tokenRequest: Promise<string> | null = null;

  /** The credential's state: from its last token request when recent (the intake's own count), else from a new one. */
  async function checkCredential(): Promise<string> {
    const at = now().getTime();
    const last = credential.last;
    if (last && at - last.at.getTime() < healthCacheMs) return describeToken(last);
    if (credentialCheck && at - credentialCheck.at < healthCacheMs) return credentialCheck.result;
    // Probes arriving while a request runs share it.
    tokenRequest ??= requestToken().finally(() => (tokenRequest = null));
    return tokenRequest;
  }

  async function requestToken(): Promise<string> {
    const signal = AbortSignal.timeout(tokenCheckTimeoutMs);
    const timedOut = new Promise<'timeout'>((resolve) =>
      signal.addEventListener('abort', () => resolve('timeout'), { once: true }),
    );
    // The credential records its own outcome; the race only ends a wait the credential does not cut short.
    const answer = await Promise.race([
      credential.getToken(graphScope, { abortSignal: signal }).then(
        () => 'answered' as const,
        () => 'answered' as const,
      ),
      timedOut,
    ]);
    const result =
      answer === 'timeout' || !credential.last
        ? `cannot get a token for Microsoft Graph: no answer within ${tokenCheckTimeoutMs / 1000} s`
        : describeToken(credential.last);
    credentialCheck = { at: now().getTime(), result };
    return result;
  }

  async function checkSubscription(): Promise<string> {
    const live = (entry: SubscriptionState | null): boolean =>
      entry !== null && Date.parse(entry.expirationDateTime) > now().getTime();
    let current = subscriptions.current;
    // Another instance may have created or renewed it since this one last read the store.
    if (!live(current)) current = await subscriptions.load().catch(() => current);
    const cause =
      state.lastError?.operation === 'subscription'
        ? ` (last error: ${redact(state.lastError.message)})`
        : '';
    if (!current) return `missing: Graph has no subscription of ours, so it announces no new mail${cause}`;
    if (!live(current))
      return `expired at ${current.expirationDateTime}: not renewed, so Graph announces no new mail${cause}`;
    return 'ok';
  }

  const lastDeltaCompletedAt = (): Promise<string | null> =>
    store.getState(`graph.delta-completed:${leaseKey}:inbox`);
  return {
    mailbox,
    router,
    webhookTarget,
    get graphRequests() {
      return api.requestCount;
    },
    subscriptions: [{ address: mailboxName, manager: subscriptions, lastDeltaCompletedAt }],
    // The key InboxDelta writes when a catch-up completes.
    lastDeltaCompletedAt,
    async start() {
      if (state.started) return;
      state.started = true;
      await subscriptions.load();
      // First start: the holder creates or reuses the subscription; every instance then catches up with delta.
      await subscriptionTask.trigger();
      // Creating the subscription already started a delta; a second run right after it would find nothing.
      await (deltaTask.running ? deltaTask.idle : deltaTask.trigger());
      every(renewEveryMs, subscriptionTask);
      every(deltaEveryMs, deltaTask);
      logger.info({ subscriptionId: subscriptions.current?.id ?? null }, 'Graph intake started');
    },
    async stop() {
      state.started = false;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      rejections.stop();
      await Promise.all([subscriptionTask.idle, deltaTask.idle]);
      await store.releaseLease(leases.subscription.name, owner);
      await store.releaseLease(leases.delta.name, owner);
      state.holdsSubscriptionLease = false;
      state.holdsDeltaLease = false;
    },
    status() {
      return {
        mailbox: mailboxName,
        started: state.started,
        subscriptionId: subscriptions.current?.id ?? null,
        subscriptionExpiresAt: subscriptions.current?.expirationDateTime ?? null,
        lastRenewalAt: state.lastRenewalAt,
        lastNotificationAt: state.lastNotificationAt,
        lastDeltaAt: state.lastDeltaAt,
        lastDelta: state.lastDelta,
        lastError: state.lastError,
        holdsSubscriptionLease: state.holdsSubscriptionLease,
        holdsDeltaLease: state.holdsDeltaLease,
        graphRequests: api.requestCount,
        lastTokenAt: credential.last?.at.toISOString() ?? null,
        tokenError: credential.last?.error ? redact(credential.last.error) : null,
      };
    },
    async health() {
      const checks = {
        'graph-credential': await checkCredential(),
        'graph-subscription': await checkSubscription(),
      };
      return { ok: Object.values(checks).every((result) => result === 'ok'), checks };
    },
    onEnqueued(cb) {
      listeners.push(cb);
    },
  };
}
