import { afterEach, describe, expect, it } from 'vitest';
import { clientState, mailboxName, mime, startHarness, token, waitFor, type Harness } from './helpers.ts';

const subscriptionPosts = (h: Harness) => h.standIn.requestsMatching('POST', /^\/subscriptions$/);
const deltaCalls = (h: Harness) => h.standIn.requestsMatching('GET', /messages\/delta$/);

describe('Graph intake: subscription, webhook, lifecycle and delta against the stand-in', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('creates the subscription after passing validation, then receives a notification into the queue', async () => {
    h = await startHarness();
    const woken: number[] = [];
    h.intake.onEnqueued(() => woken.push(1));
    await h.intake.start();

    const [subscription] = [...h.standIn.subscriptions.values()];
    expect(subscription).toMatchObject({
      changeType: 'created',
      resource: `users/${mailboxName}/mailFolders('Inbox')/messages`,
      notificationUrl: `${h.webhook.baseUrl}/webhooks/graph`,
      lifecycleNotificationUrl: `${h.webhook.baseUrl}/webhooks/graph/lifecycle`,
      clientState,
      createdWithImmutableIds: true,
    });
    expect(h.standIn.validations).toEqual([
      { url: `${h.webhook.baseUrl}/webhooks/graph`, ok: true },
      { url: `${h.webhook.baseUrl}/webhooks/graph/lifecycle`, ok: true },
    ]);
    const minutes = (Date.parse(subscription?.expirationDateTime ?? '') - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(60);
    expect(minutes).toBeLessThan(10_080);
    expect(h.intake.status()).toMatchObject({
      subscriptionId: subscription?.id,
      holdsSubscriptionLease: true,
    });

    const id = h.standIn.addMessage(mailboxName, mime('Printer'));
    const [delivery] = await h.standIn.notify(mailboxName, [id]);
    expect(delivery?.status).toBe(202);
    expect((await h.store.findIntake(id))?.state).toBe('pending');
    expect(woken).toHaveLength(1);
    expect(h.intake.status().lastNotificationAt).not.toBeNull();
    // The webhook never fetches: no Graph call about the message yet.
    expect(h.standIn.requests.filter((request) => request.path.includes(id))).toEqual([]);
  });

  it('reuses the subscription on restart, with or without its stored state, and never POSTs twice', async () => {
    h = await startHarness();
    await h.intake.start();
    await h.intake.stop();
    const restarted = h.newIntake();
    await restarted.start();
    expect(subscriptionPosts(h)).toHaveLength(1);
    expect(restarted.status().subscriptionId).toBe([...h.standIn.subscriptions.keys()][0]);
    await restarted.stop();

    // A wiped database: the subscription is found by listing.
    await h.store.setState(`graph.subscription:${mailboxName}`, null);
    const fresh = h.newIntake();
    await fresh.start();
    expect(subscriptionPosts(h)).toHaveLength(1);
    expect(h.standIn.subscriptions.size).toBe(1);
    // Notifications to the reused subscription are accepted.
    const id = h.standIn.addMessage(mailboxName, mime('After restart'));
    expect((await h.standIn.notify(mailboxName, [id]))[0]?.status).toBe(202);
  });

  it('renews well before expiry under a fast clock', async () => {
    const started = Date.now();
    // One real millisecond is one minute: a 2-hour subscription lives 120 ms.
    const now = () => new Date(started + (Date.now() - started) * 60_000);
    h = await startHarness({
      standIn: { now },
      intake: { now, subscriptionLifetimeMinutes: 120, renewCheckIntervalMs: 10, deltaIntervalMs: 60_000 },
    });
    await h.intake.start();
    const [subscription] = [...h.standIn.subscriptions.values()];
    await waitFor(() => h!.standIn.requestsMatching('PATCH', /^\/subscriptions\//).length >= 3, 5_000);
    // Every renewal was accepted (the stand-in refuses expiries in the past) and it never lapsed.
    expect(
      h.standIn.requestsMatching('PATCH', /^\/subscriptions\//).every((request) => request.status === 200),
    ).toBe(true);
    expect(Date.parse(subscription?.expirationDateTime ?? '')).toBeGreaterThan(now().getTime());
    expect(subscriptionPosts(h)).toHaveLength(1);
  });

  it('recreates the subscription and runs delta after subscriptionRemoved', async () => {
    h = await startHarness();
    await h.intake.start();
    const first = [...h.standIn.subscriptions.keys()][0] as string;
    const missedWhileRemoved = h.standIn.addMessage(mailboxName, mime('Sent while no subscription'));
    const before = deltaCalls(h).length;
    expect((await h.standIn.sendLifecycle(first, 'subscriptionRemoved')).status).toBe(202);
    await waitFor(async () => (await h!.store.findIntake(missedWhileRemoved)) !== null);
    expect(subscriptionPosts(h)).toHaveLength(2);
    const second = [...h.standIn.subscriptions.keys()][0];
    expect(second).not.toBe(first);
    expect(h.intake.status().subscriptionId).toBe(second);
    expect(deltaCalls(h).length).toBeGreaterThan(before);
  });

  it('runs delta after missed and renews after reauthorizationRequired', async () => {
    h = await startHarness();
    await h.intake.start();
    const id = [...h.standIn.subscriptions.keys()][0] as string;
    const dropped = h.standIn.addMessage(mailboxName, mime('Notification never came'));
    await h.standIn.sendLifecycle(id, 'missed');
    await waitFor(async () => (await h!.store.findIntake(dropped)) !== null);

    expect(h.standIn.requestsMatching('PATCH', /^\/subscriptions\//)).toHaveLength(0);
    await h.standIn.sendLifecycle(id, 'reauthorizationRequired');
    await waitFor(() => h!.standIn.requestsMatching('PATCH', /^\/subscriptions\//).length === 1);
    expect(subscriptionPosts(h)).toHaveLength(1);
  });

  it('catches up with delta across pages, skips removed items, and restarts from a baseline after 410', async () => {
    h = await startHarness({ standIn: { pageSize: 3 } });
    const early = Array.from({ length: 7 }, (_, i) => h!.standIn.addMessage(mailboxName, mime(`Early ${i}`)));
    await h.intake.start();
    for (const id of early) expect(await h.store.findIntake(id)).not.toBeNull();
    expect(deltaCalls(h).length).toBe(3); // 3 + 3 + 1
    expect(deltaCalls(h)[0]?.query.$select).toBe('id');
    expect(deltaCalls(h).every((request) => request.prefer === 'IdType="ImmutableId"')).toBe(true);

    // A moved-out message shows up as @removed and is not enqueued; a new one is.
    const gone = h.standIn.addMessage(mailboxName, mime('Deleted by a person'));
    h.standIn.mailbox(mailboxName).remove(gone);
    const late = h.standIn.addMessage(mailboxName, mime('Late'));
    await h.standIn.sendLifecycle([...h.standIn.subscriptions.keys()][0] as string, 'missed');
    await waitFor(async () => (await h!.store.findIntake(late)) !== null);
    expect(await h.store.findIntake(gone)).toBeNull();

    h.standIn.invalidateDeltaTokens();
    const afterReset = h.standIn.addMessage(mailboxName, mime('After reset'));
    await h.standIn.sendLifecycle([...h.standIn.subscriptions.keys()][0] as string, 'missed');
    await waitFor(async () => (await h!.store.findIntake(afterReset)) !== null);
    const restart = deltaCalls(h).find((request) => request.query.$filter !== undefined);
    expect(restart?.query.$filter).toMatch(/^receivedDateTime ge \d{4}-\d\d-\d\dT/);
    expect(h.intake.status().lastDelta).toMatchObject({ restarted: true });
  });

  it('lets only the lease holder create and renew when two instances share the database', async () => {
    h = await startHarness();
    const second = h.newIntake({ instanceId: 'second' });
    await h.intake.start();
    await second.start();
    expect(subscriptionPosts(h)).toHaveLength(1);
    expect(h.intake.status().holdsSubscriptionLease).toBe(true);
    expect(second.status()).toMatchObject({
      holdsSubscriptionLease: false,
      subscriptionId: h.intake.status().subscriptionId,
    });
  });

  it('keeps secrets out of the logs', async () => {
    h = await startHarness();
    await h.intake.start();
    const id = h.standIn.addMessage(mailboxName, mime('Secret check'));
    await h.standIn.notify(mailboxName, [id]);
    await h.standIn.notify(mailboxName, [id], { clientState: 'forged-client-state' });
    await h.standIn.sendLifecycle([...h.standIn.subscriptions.keys()][0] as string, 'missed');
    await waitFor(() => h!.intake.status().lastDeltaAt !== null);
    const log = h.lines.join('\n');
    expect(h.lines.length).toBeGreaterThan(3);
    for (const secret of [clientState, token, 'forged-client-state', 'reachability', 'The printer']) {
      expect(log).not.toContain(secret);
    }
  });
});
