import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { customerMail, startGraphApp, type GraphApp } from './graph-app.ts';
import { clientState, mailboxName, token, waitFor } from './helpers.ts';

const subscriptionPosts = (g: GraphApp) => g.standIn.requestsMatching('POST', /^\/subscriptions$/);
const renewals = (g: GraphApp) => g.standIn.requestsMatching('PATCH', /^\/subscriptions\//);
const deltaCalls = (g: GraphApp) => g.standIn.requestsMatching('GET', /messages\/delta$/);
const subscriptionIds = (g: GraphApp) => [...g.standIn.subscriptions.keys()];

/** Waits until the message's outcome is recorded and the message was moved (the intake item is settled). */
async function settled(g: GraphApp, messageId: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => (await g.app.store.findIntake(messageId))?.settledAt != null, timeoutMs);
}

function folderOf(g: GraphApp, messageId: string): string | undefined {
  const box = g.standIn.mailbox(mailboxName);
  const folderId = box.messages.get(messageId)?.folderId;
  return [...box.folders.values()].find((folder) => folder.id === folderId)?.displayName;
}

async function readyz(
  g: GraphApp,
): Promise<{ status: number; text: string; graph: Record<string, unknown> }> {
  const response = await g.get('/readyz');
  const parsed = JSON.parse(response.body) as { graph?: Record<string, unknown> };
  return { status: response.status, text: response.body, graph: parsed.graph ?? {} };
}

describe('the service built by createApp on Microsoft Graph, over HTTPS, against the stand-in', () => {
  let g: GraphApp | null = null;
  afterEach(async () => {
    await g?.close();
    g = null;
  });

  it('creates a validated subscription, turns a notified message into a ticket, acknowledges through sendMail and moves it to Processed', async () => {
    g = await startGraphApp();
    expect(g.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ticketsBefore = (await g.app.store.counts()).tickets;

    // The subscription was created during start, after Graph's validation calls reached the HTTPS webhook.
    expect(subscriptionPosts(g)).toHaveLength(1);
    expect(g.standIn.validations).toEqual([
      { url: `${g.baseUrl}/webhooks/graph`, ok: true },
      { url: `${g.baseUrl}/webhooks/graph/lifecycle`, ok: true },
    ]);
    const [subscription] = [...g.standIn.subscriptions.values()];
    expect(subscription).toMatchObject({
      notificationUrl: `${g.baseUrl}/webhooks/graph`,
      lifecycleNotificationUrl: `${g.baseUrl}/webhooks/graph/lifecycle`,
      clientState,
      createdWithImmutableIds: true,
    });

    const id = g.standIn.addMessage(mailboxName, customerMail(1));
    const [delivery] = await g.standIn.notify(mailboxName, [id]);
    expect(delivery?.status).toBe(202);
    await settled(g, id);
    // Sending does not wait for the move, nor the move for sending.
    await waitFor(() => g!.standIn.requestsMatching('POST', /\/sendMail$/).length > 0);

    const outcomes = await g.app.store.listOutcomes();
    expect(outcomes).toHaveLength(1);
    const [outcome] = outcomes;
    expect(outcome).toMatchObject({ action: 'ticket-created', accountId: 'ACME' });
    expect(outcome?.ticketNumber).toMatch(/^\d+$/);
    expect((await g.app.store.counts()).tickets).toBe(ticketsBefore + 1);
    const ticket = await g.app.store.findTicketByNumber(outcome?.ticketNumber ?? '');
    expect(ticket?.accountId).toBe('ACME');

    // The acknowledgment went out through POST /users/{mailbox}/sendMail as base64 MIME, once.
    const sends = g.standIn.requestsMatching('POST', /\/sendMail$/);
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({ status: 202, mailbox: mailboxName });
    expect(sends[0]?.contentType).toMatch(/^text\/plain/);
    expect(g.standIn.sentMail).toHaveLength(1);
    const ack = await simpleParser(Buffer.from(sends[0]?.body ?? '', 'base64'));
    expect(ack.subject).toBe(`[Ticket#${outcome?.ticketNumber}] Problem number 1`);
    expect(ack.to && !Array.isArray(ack.to) ? ack.to.value[0]?.address : null).toBe('user1@acme.example');

    // Fetched once as MIME, moved once, and now in Processed.
    expect(g.standIn.requestsMatching('GET', new RegExp(`/messages/${id}/\\$value$`))).toHaveLength(1);
    expect(g.standIn.requestsMatching('POST', new RegExp(`/messages/${id}/move$`))).toHaveLength(1);
    expect(folderOf(g, id)).toBe('Processed');

    const ready = await readyz(g);
    expect(ready.status).toBe(200);
    expect(ready.graph).toMatchObject({
      started: true,
      subscriptionId: subscription?.id,
      subscriptionExpiresAt: subscription?.expirationDateTime,
    });
    expect(ready.graph.lastNotificationAt).toEqual(expect.any(String));
    expect(ready.text).not.toContain(clientState);
  });

  it('reuses the subscription after a restart on the same database and catches up on mail that arrived meanwhile', async () => {
    g = await startGraphApp();
    const [first] = subscriptionIds(g);
    const before = g.standIn.requestsMatching('GET', /^\/subscriptions$/).length;
    // Mail arriving while the service is down announces itself to nobody (Graph would retry, then drop it).
    let whileDown = '';
    await g.restart(() => {
      whileDown = g!.standIn.addMessage(mailboxName, customerMail(2));
    });
    expect(subscriptionPosts(g)).toHaveLength(1);
    expect(renewals(g)).toHaveLength(0);
    expect(subscriptionIds(g)).toEqual([first]);
    // The second app found the subscription in the database; it did not need to list Graph's.
    expect(g.standIn.requestsMatching('GET', /^\/subscriptions$/).length).toBe(before);
    expect((await readyz(g)).graph.subscriptionId).toBe(first);

    // The start-up delta found the unannounced message; a notification to the reused subscription is accepted.
    await settled(g, whileDown);
    const notified = g.standIn.addMessage(mailboxName, customerMail(3));
    expect((await g.standIn.notify(mailboxName, [notified]))[0]?.status).toBe(202);
    await settled(g, notified);
    expect((await g.app.store.listOutcomes()).map((outcome) => outcome.action)).toEqual([
      'ticket-created',
      'ticket-created',
    ]);
    expect([folderOf(g, whileDown), folderOf(g, notified)]).toEqual(['Processed', 'Processed']);
  });

  it('moves a processed message whose move kept failing later, through the worker sweep, without processing it again', async () => {
    g = await startGraphApp();
    const id = g.standIn.addMessage(mailboxName, customerMail(10));
    const moves = () => g!.standIn.requestsMatching('POST', new RegExp(`/messages/${id}/move$`));
    // Five throttled answers in a row: the adapter's own move retries (4) are used up.
    g.standIn.injectFault({ path: /\/move$/, status: 429, retryAfterSeconds: 0, times: 5 });
    await g.standIn.notify(mailboxName, [id]);

    await waitFor(() => moves().length === 5);
    await waitFor(async () => (await g!.app.store.findIntake(id))?.state === 'done');
    expect((await g.app.store.findIntake(id))?.settledAt).toBeNull();
    expect(folderOf(g, id)).toBe('Inbox');

    // The sweep retries moves of final messages left in the inbox after a 5 s grace period.
    await settled(g, id, 15_000);
    expect(folderOf(g, id)).toBe('Processed');
    expect(moves().map((request) => request.status)).toEqual([429, 429, 429, 429, 429, 201]);
    expect(await g.app.store.listOutcomes()).toHaveLength(1);
    expect(g.standIn.requestsMatching('GET', new RegExp(`/messages/${id}/\\$value$`))).toHaveLength(1);
    expect(g.standIn.sentMail).toHaveLength(1);
  });

  it('after subscriptionRemoved creates a new subscription and runs delta, which finds the mail sent in between', async () => {
    g = await startGraphApp();
    const [first] = subscriptionIds(g);
    const deltasBefore = deltaCalls(g).length;
    const lost = g.standIn.addMessage(mailboxName, customerMail(4));

    expect((await g.standIn.sendLifecycle(first ?? '', 'subscriptionRemoved')).status).toBe(202);
    await settled(g, lost);

    expect(subscriptionPosts(g)).toHaveLength(2);
    const [second] = subscriptionIds(g);
    expect(second).not.toBe(first);
    expect(deltaCalls(g).length).toBeGreaterThan(deltasBefore);
    expect((await readyz(g)).graph.subscriptionId).toBe(second);
    expect(folderOf(g, lost)).toBe('Processed');
    // Notifications on the new subscription are accepted and processed.
    const next = g.standIn.addMessage(mailboxName, customerMail(5));
    expect((await g.standIn.notify(mailboxName, [next]))[0]?.status).toBe(202);
    await settled(g, next);
    expect(await g.app.store.listOutcomes()).toHaveLength(2);
  });

  it('runs delta after missed and renews the subscription after reauthorizationRequired', async () => {
    g = await startGraphApp();
    const [id] = subscriptionIds(g);
    const dropped = g.standIn.addMessage(mailboxName, customerMail(6));
    const deltasBefore = deltaCalls(g).length;

    expect((await g.standIn.sendLifecycle(id ?? '', 'missed')).status).toBe(202);
    await settled(g, dropped);
    expect(deltaCalls(g).length).toBeGreaterThan(deltasBefore);
    expect(renewals(g)).toHaveLength(0);

    const expiryBefore = g.standIn.subscriptions.get(id ?? '')?.expirationDateTime;
    expect((await g.standIn.sendLifecycle(id ?? '', 'reauthorizationRequired')).status).toBe(202);
    await waitFor(() => renewals(g!).length === 1);
    await waitFor(async () => (await readyz(g!)).graph.lastRenewalAt != null);
    expect(renewals(g)[0]).toMatchObject({ path: `/subscriptions/${id}`, status: 200 });
    expect(subscriptionPosts(g)).toHaveLength(1);
    expect(
      Date.parse(g.standIn.subscriptions.get(id ?? '')?.expirationDateTime ?? ''),
    ).toBeGreaterThanOrEqual(Date.parse(expiryBefore ?? ''));
  });

  it('refuses forged, unknown and oversized notifications without enqueueing, and keeps secrets and mail text out of a whole run of trace logs', async () => {
    const secretBody = 'The vault code is 4711-PLUTO, please reset it.';
    g = await startGraphApp();
    const url = `${g.baseUrl}/webhooks/graph`;
    const [subscriptionId] = subscriptionIds(g);
    const item = (id: string, overrides: Record<string, unknown> = {}) => ({
      subscriptionId,
      clientState,
      changeType: 'created',
      resource: `Users/${mailboxName}/Messages/${id}`,
      resourceData: { id },
      ...overrides,
    });
    // Real messages in the inbox, so a forged notification would lead somewhere if it were accepted. The periodic
    // delta (every 300 s by default) does not run during the test: only notifications could enqueue them.
    const forgedTarget = g.standIn.addMessage(mailboxName, customerMail(7, secretBody));
    const unknownTarget = g.standIn.addMessage(mailboxName, customerMail(8, secretBody));
    const genuine = g.standIn.addMessage(mailboxName, customerMail(9, secretBody));
    const deltasBefore = deltaCalls(g).length;

    const wrongState = await g.standIn.notify(mailboxName, [forgedTarget], { clientState: 'forged-state-1' });
    expect(wrongState.map((result) => result.status)).toEqual([403]);
    const unknown = await g.standIn.notify(mailboxName, [unknownTarget], {
      subscriptionId: '0badc0de-0000-4000-8000-000000000000',
    });
    expect(unknown.map((result) => result.status)).toEqual([403]);
    const noState = await g.standIn.postTo(
      url,
      JSON.stringify({ value: [item(forgedTarget, { clientState: null })] }),
    );
    expect(noState.status).toBe(403);
    // A partly forged batch: 202 (so Graph does not resend the genuine item), only the genuine item enqueued.
    const mixed = await g.standIn.postTo(
      url,
      JSON.stringify({ value: [item(genuine), item(forgedTarget, { clientState: 'forged-state-2' })] }),
    );
    expect(mixed.status).toBe(202);
    const oversized = await g.standIn.postTo(
      url,
      JSON.stringify({ value: [item(unknownTarget, { padding: 'x'.repeat(300 * 1024) })] }),
    );
    expect(oversized.status).toBe(413);

    await settled(g, genuine);
    expect(await g.app.store.findIntake(forgedTarget)).toBeNull();
    expect(await g.app.store.findIntake(unknownTarget)).toBeNull();
    expect(deltaCalls(g).length).toBe(deltasBefore);
    expect(await g.app.store.listOutcomes()).toHaveLength(1);
    expect(folderOf(g, forgedTarget)).toBe('Inbox');
    expect(folderOf(g, unknownTarget)).toBe('Inbox');
    expect(folderOf(g, genuine)).toBe('Processed');

    // The rest of a run: lifecycle events, readiness, a restart, a stop.
    await g.standIn.sendLifecycle(subscriptionId ?? '', 'reauthorizationRequired');
    await waitFor(() => renewals(g!).length === 1);
    const ready = await readyz(g);
    expect(ready.text).not.toContain(clientState);
    await g.restart();
    await g.close();

    const log = g.lines.join('\n');
    // The logs were really captured at trace level, with the events this run caused.
    expect(log).toContain('Graph intake started');
    expect(log).toContain('answered Graph validation request');
    expect(log).toContain('message processed');
    expect(log).toContain('client-state-mismatch');
    expect(log).toContain('unknown-subscription');
    expect(log).toContain('"level":20');
    const secrets = {
      clientState,
      token,
      clientSecret: 'unused-secret-value',
      forgedState: 'forged-state-1',
      forgedState2: 'forged-state-2',
      validationToken: 'Testing client application reachability',
      mailBody: '4711-PLUTO',
      ackBody: 'so that your message is added to the ticket',
    };
    for (const [name, secret] of Object.entries(secrets)) expect(log, name).not.toContain(secret);
  });
});
