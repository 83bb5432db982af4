import type { CrmStore } from '../../crm/crm-store.ts';
import type { Logger } from '../../log/logger.ts';
import { clientStateFingerprint } from '../../http/client-state.ts';
import { GraphRequestError } from './graph-error.ts';
import type { GraphApi } from './graph-api.ts';

/** Graph's ceiling for message subscriptions without resource data is 10,080 minutes; stay well below. */
export const maxSubscriptionMinutes = 10_080;

export interface SubscriptionManagerOptions {
  api: GraphApi;
  store: CrmStore;
  logger: Logger;
  mailbox: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string;
  clientState: string;
  now: () => Date;
  /** Lifetime asked for on create and renew; default 4,320 minutes (3 days). */
  lifetimeMinutes?: number;
  /** Renew when less than this is left; default half the lifetime. */
  renewBeforeMs?: number;
}

export interface SubscriptionState {
  id: string;
  expirationDateTime: string;
  /** Fingerprint of the clientState it was created with (null when we found it without knowing). */
  clientStateFingerprint: string | null;
}

/** A subscription as Graph shows it. */
export interface GraphSubscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  expirationDateTime: string;
}

interface Page<T> {
  value: T[];
  '@odata.nextLink'?: string;
}

/** Keeps one Graph subscription for the inbox alive, its state in the CRM store's small state table. */
export class SubscriptionManager {
  readonly #o: SubscriptionManagerOptions;
  readonly #resource: string;
  readonly #stateKey: string;
  readonly #lifetimeMs: number;
  readonly #renewBeforeMs: number;
  #current: SubscriptionState | null = null;
  /** Ids we created or reused in this process: notifications for a just-replaced one are still genuine. */
  readonly #known = new Set<string>();
  #lastLoad = 0;

  constructor(options: SubscriptionManagerOptions) {
    this.#o = options;
    this.#resource = `users/${options.mailbox}/mailFolders('Inbox')/messages`;
    this.#stateKey = `graph.subscription:${options.mailbox.toLowerCase()}`;
    const minutes = Math.min(options.lifetimeMinutes ?? 4_320, maxSubscriptionMinutes - 60);
    this.#lifetimeMs = minutes * 60_000;
    this.#renewBeforeMs = options.renewBeforeMs ?? this.#lifetimeMs / 2;
  }

  get current(): SubscriptionState | null {
    return this.#current;
  }

  /** The inbox resource the subscription watches. */
  get resource(): string {
    return this.#resource;
  }

  /** Where Graph sends change notifications. */
  get notificationUrl(): string {
    return this.#o.notificationUrl;
  }

  /** The subscription as Graph has it now; null when Graph no longer knows it (deleted or expired). */
  async lookUp(id: string): Promise<GraphSubscription | null> {
    try {
      return await this.#o.api.call<GraphSubscription>({
        method: 'GET',
        path: `/subscriptions/${encodeURIComponent(id)}`,
        what: 'read subscription',
        retries: 2,
      });
    } catch (error) {
      if (error instanceof GraphRequestError && error.kind === 'not-found') return null;
      throw error;
    }
  }

  /** Deletes the stored subscription and every other one of ours Graph lists; returns the ids Graph deleted. */
  async deleteOurs(): Promise<string[]> {
    const stored = await this.load();
    const ids = new Set<string>(stored ? [stored.id] : []);
    for (const found of await this.#listOurs()) ids.add(found.id);
    const deleted: string[] = [];
    for (const id of ids) if (await this.#delete(id)) deleted.push(id);
    await this.#save(null);
    return deleted;
  }

  /** Creates a subscription (Graph validates the notification URL meanwhile) and stores it. */
  async create(): Promise<SubscriptionState> {
    await this.#create();
    return this.#current as SubscriptionState;
  }

  /** Reads the subscription other instances may have created or renewed. */
  async load(): Promise<SubscriptionState | null> {
    const raw = await this.#o.store.getState(this.#stateKey);
    this.#lastLoad = Date.now();
    this.#current = raw ? (JSON.parse(raw) as SubscriptionState) : null;
    if (this.#current) this.#known.add(this.#current.id);
    return this.#current;
  }

  /** Whether notifications for this id are ours; re-reads the store (at most every 2 s) for ids another instance made. */
  async isKnown(subscriptionId: string): Promise<boolean> {
    if (this.#known.has(subscriptionId)) return true;
    if (Date.now() - this.#lastLoad < 2_000) return false;
    await this.load();
    return this.#known.has(subscriptionId);
  }

  /** Reuses the subscription Graph already has for our inbox and URL, else creates one. Returns whether it created. */
  async ensure(): Promise<'reused' | 'created'> {
    const stored = await this.load();
    const fingerprint = clientStateFingerprint(this.#o.clientState);
    for (const found of await this.#listOurs()) {
      if (
        stored?.id === found.id &&
        stored.clientStateFingerprint !== null &&
        stored.clientStateFingerprint !== fingerprint
      ) {
        // Graph never returns clientState, so only our record tells that the secret changed: replace the subscription.
        this.#o.logger.info(
          { subscriptionId: found.id },
          'GRAPH_CLIENT_STATE changed: replacing the subscription',
        );
        await this.#delete(found.id);
        continue;
      }
      const known = stored?.id === found.id ? stored.clientStateFingerprint : null;
      await this.#save({
        id: found.id,
        expirationDateTime: found.expirationDateTime,
        clientStateFingerprint: known,
      });
      this.#o.logger.info(
        { subscriptionId: found.id, expires: found.expirationDateTime },
        'reusing Graph subscription',
      );
      if (this.isDue()) await this.renew();
      return 'reused';
    }
    await this.#create();
    return 'created';
  }

  /** True when the subscription is missing or expires within the renewal margin. */
  isDue(): boolean {
    if (!this.#current) return true;
    return Date.parse(this.#current.expirationDateTime) - this.#o.now().getTime() < this.#renewBeforeMs;
  }

  /** Extends the subscription; a subscription Graph no longer knows is created again (`recreated`). */
  async renew(): Promise<'renewed' | 'recreated'> {
    const current = this.#current ?? (await this.load());
    if (!current) {
      await this.#create();
      return 'recreated';
    }
    const expirationDateTime = this.#expiry();
    try {
      const updated = await this.#o.api.call<GraphSubscription>({
        method: 'PATCH',
        path: `/subscriptions/${encodeURIComponent(current.id)}`,
        what: 'renew subscription',
        body: { expirationDateTime },
        retries: 2,
      });
      await this.#save({ ...current, expirationDateTime: updated?.expirationDateTime ?? expirationDateTime });
      this.#o.logger.info(
        { subscriptionId: current.id, expires: this.#current?.expirationDateTime },
        'renewed Graph subscription',
      );
      return 'renewed';
    } catch (error) {
      if (!(error instanceof GraphRequestError && error.kind === 'not-found')) throw error;
      this.#o.logger.warn({ subscriptionId: current.id }, 'Graph subscription is gone: creating a new one');
      await this.#save(null);
      await this.ensure();
      return 'recreated';
    }
  }

  /** After `subscriptionRemoved`: forget the old one and make sure a live one exists. */
  async replace(): Promise<void> {
    await this.#save(null);
    await this.ensure();
  }

  async #create(): Promise<void> {
    try {
      const created = await this.#o.api.call<GraphSubscription>({
        method: 'POST',
        path: '/subscriptions',
        what: 'create subscription',
        body: {
          changeType: 'created',
          resource: this.#resource,
          notificationUrl: this.#o.notificationUrl,
          lifecycleNotificationUrl: this.#o.lifecycleNotificationUrl,
          clientState: this.#o.clientState,
          expirationDateTime: this.#expiry(),
        },
        // Graph validates our endpoint during this call, which therefore takes a while.
        timeoutMs: 60_000,
        retries: 2,
      });
      await this.#save({
        id: created.id,
        expirationDateTime: created.expirationDateTime,
        clientStateFingerprint: clientStateFingerprint(this.#o.clientState),
      });
      this.#o.logger.info(
        { subscriptionId: created.id, expires: created.expirationDateTime },
        'created Graph subscription',
      );
    } catch (error) {
      // Someone (another instance) created it first: reuse theirs.
      if (!(error instanceof GraphRequestError && error.status === 409)) throw error;
      const found = (await this.#listOurs())[0];
      if (!found) throw error;
      await this.#save({
        id: found.id,
        expirationDateTime: found.expirationDateTime,
        clientStateFingerprint: null,
      });
    }
  }

  /** False when Graph no longer knew it. */
  async #delete(id: string): Promise<boolean> {
    try {
      await this.#o.api.call({
        method: 'DELETE',
        path: `/subscriptions/${encodeURIComponent(id)}`,
        what: 'delete subscription',
        retries: 2,
      });
      return true;
    } catch (error) {
      if (!(error instanceof GraphRequestError && error.kind === 'not-found')) throw error;
      return false;
    }
  }

  async #listOurs(): Promise<GraphSubscription[]> {
    const ours: GraphSubscription[] = [];
    let path: string | undefined = '/subscriptions';
    while (path) {
      const page: Page<GraphSubscription> = await this.#o.api.call({
        method: 'GET',
        path,
        what: 'list subscriptions',
        retries: 3,
      });
      for (const entry of page.value) {
        const sameResource = normalise(entry.resource) === normalise(this.#resource);
        const created = entry.changeType
          .split(',')
          .map((part) => part.trim())
          .includes('created');
        if (sameResource && created && entry.notificationUrl === this.#o.notificationUrl) ours.push(entry);
      }
      path = page['@odata.nextLink'];
    }
    // The one that lives longest first.
    return ours.sort((a, b) => Date.parse(b.expirationDateTime) - Date.parse(a.expirationDateTime));
  }

  #expiry(): string {
    return new Date(this.#o.now().getTime() + this.#lifetimeMs).toISOString();
  }

  async #save(state: SubscriptionState | null): Promise<void> {
    this.#current = state;
    if (state) this.#known.add(state.id);
    await this.#o.store.setState(this.#stateKey, state ? JSON.stringify(state) : null);
  }
}

function normalise(resource: string): string {
  return resource.replace(/^\/+/, '').toLowerCase();
}
