import type { Config } from '../config/config.ts';
import {
  GraphRequestError,
  openStore,
  type GraphApi,
  type GraphSubscription,
  type SubscriptionState,
} from '../composition-root.ts';
import type { CrmStore } from '../crm/crm-store.ts';
import { fail, ok, type Report } from './check.ts';

export const subscriptionCheck = 'subscription';

const fix = 'start the service (it creates one) or run email-connector graph resubscribe';
const dayMs = 86_400_000;

export interface SubscriptionCheckInput {
  config: Config;
  api: GraphApi;
  /** A migrated database to read the subscription the service recorded from; null when there is none. */
  databasePath: string | null;
  now: Date;
}

/**
 * Check 11: Graph's own list decides whether the inbox subscription exists (the database may be stale); the record
 * the service keeps picks which one is ours and remembers the expiry of one Graph already removed.
 */
export async function checkSubscription(input: SubscriptionCheckInput, report: Report): Promise<void> {
  const { config, now } = input;
  const mailbox = config.SUPPORT_MAILBOX as string;
  // What SubscriptionManager creates: the inbox of the support mailbox, notifications to our webhook.
  const resource = normalise(`users/${mailbox}/mailFolders('Inbox')/messages`);
  const notificationUrl = `${config.PUBLIC_BASE_URL}/webhooks/graph`;
  const stored = input.databasePath ? await readStored(config, mailbox) : null;

  let listed: GraphSubscription[];
  try {
    listed = await listSubscriptions(input.api);
  } catch (error) {
    if (!(error instanceof GraphRequestError)) throw error;
    report(
      fail(
        subscriptionCheck,
        `cannot list subscriptions (${error.message})`,
        "run doctor again; the service's GET /readyz shows the subscription it keeps",
      ),
    );
    return;
  }
  const ours = listed
    .filter(
      (entry) =>
        normalise(entry.resource) === resource &&
        entry.changeType.split(',').some((part) => part.trim() === 'created') &&
        entry.notificationUrl === notificationUrl,
    )
    .sort((a, b) => Date.parse(b.expirationDateTime) - Date.parse(a.expirationDateTime));
  const found = ours.find((entry) => entry.id === stored?.id) ?? ours[0];
  // Graph deletes a subscription when it expires; then only the service's record remembers it.
  const expiry = found?.expirationDateTime ?? stored?.expirationDateTime ?? null;
  if (!expiry) {
    report(
      fail(
        subscriptionCheck,
        `no subscription for the Inbox of ${mailbox} with notifications to ${notificationUrl}`,
        fix,
      ),
    );
    return;
  }
  const leftMs = Date.parse(expiry) - now.getTime();
  if (leftMs <= 0) {
    report(fail(subscriptionCheck, `expired at ${expiry} (${duration(-leftMs)} ago)`, fix));
  } else if (!found) {
    report(fail(subscriptionCheck, `no subscription: Graph no longer has the one the database records`, fix));
  } else if (leftMs < dayMs) {
    report(ok(subscriptionCheck, `expires in ${duration(leftMs)} (the service renews it)`));
  } else {
    report(ok(subscriptionCheck, `expires in ${duration(leftMs)}`));
  }
}

async function listSubscriptions(api: GraphApi): Promise<GraphSubscription[]> {
  const all: GraphSubscription[] = [];
  let path: string | undefined = '/subscriptions';
  for (let page = 0; path && page < 20; page += 1) {
    const answer: { value: GraphSubscription[]; '@odata.nextLink'?: string } = await api.call({
      method: 'GET',
      path,
      what: 'list subscriptions',
    });
    all.push(...answer.value);
    path = answer['@odata.nextLink'];
  }
  return all;
}

/** The record the service keeps (SubscriptionManager's state key); null when absent or unreadable. */
async function readStored(config: Config, mailbox: string): Promise<SubscriptionState | null> {
  let store: CrmStore | null = null;
  try {
    store = openStore(config, { readonly: true });
    const raw = await store.getState(`graph.subscription:${mailbox.toLowerCase()}`);
    return raw ? (JSON.parse(raw) as SubscriptionState) : null;
  } catch {
    // Graph's list still answers the question; the record only adds detail.
    return null;
  } finally {
    await store?.close();
  }
}

function normalise(resource: string): string {
  return resource.replace(/^\/+/, '').toLowerCase();
}

/** `2 d 23 h`, `5 h 12 min`, `12 min`. */
function duration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1_440);
  const hours = Math.floor((minutes % 1_440) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes % 60} min`;
  return `${minutes} min`;
}
