import { afterEach, describe, expect, it } from 'vitest';
import { customerMail, startGraphApp, type GraphApp } from './graph-app.ts';
import { mailboxName, waitFor } from './helpers.ts';

describe('the service built by createApp on Microsoft Graph, under faults', () => {
  let g: GraphApp | null = null;
  afterEach(async () => {
    await g?.close();
    g = null;
  });

  it('gives 200 messages exactly one outcome, ticket, acknowledgment and move each through 20% failing Graph calls, duplicated and 30% dropped notifications', async () => {
    g = await startGraphApp({ standIn: { seed: 7 }, graph: { deltaIntervalMs: 250 } });
    const { standIn } = g;
    const store = g.app.store;
    const ticketsBefore = (await store.counts()).tickets;
    // About 20 % of the calls about the mailbox's messages and sendMail fail: 429 with Retry-After, or 503.
    const messages = /^\/users\/[^/]+\/(messages|sendMail)/;
    standIn.injectFault({
      path: messages,
      status: 429,
      retryAfterSeconds: 0,
      probability: 0.1,
      times: Infinity,
    });
    standIn.injectFault({ path: messages, status: 503, probability: 0.11, times: Infinity });

    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch += 1) {
      const fresh = Array.from({ length: 20 }, (_, i) =>
        standIn.addMessage(mailboxName, customerMail(batch * 20 + i)),
      );
      ids.push(...fresh);
      const deliveries = await standIn.notify(mailboxName, fresh, {
        duplicate: true,
        shuffle: true,
        dropRate: 0.3,
        batchSize: 3,
      });
      expect(deliveries.filter((delivery) => delivery.status !== 202)).toEqual([]);
    }

    const box = standIn.mailbox(mailboxName);
    const inFolder = (name: string) => {
      const folder = box.folderByName(name)?.id;
      return ids.filter((id) => box.messages.get(id)?.folderId === folder).length;
    };
    // Done when the queue and the outbox are empty and every message was moved by the service itself and recorded
    // as moved: by the worker's own move, or by its sweep of final-but-unmoved messages (which retries a failed move
    // after 5 s, e.g. when the answer to a move that Graph performed timed out).
    const farFuture = () => new Date(Date.now() + 3_600_000);
    await waitFor(async () => {
      if (inFolder('Processed') < ids.length) return false;
      const open =
        (await store.listIntake('pending', 1)).length + (await store.listIntake('claimed', 1)).length;
      // Any mail still pending, due now or waiting for its retry time.
      if (open > 0 || (await store.nextMailAttemptAt()) !== null) return false;
      return (await store.listUnsettledIntake(farFuture(), 1)).length === 0;
    }, 40_000);
    const outcomes = await store.listOutcomes({ limit: 1000 });
    expect(outcomes).toHaveLength(200);
    expect(
      outcomes
        .filter((outcome) => outcome.action !== 'ticket-created')
        .map(({ action, code }) => ({ action, code })),
    ).toEqual([]);
    expect(new Set(outcomes.map((outcome) => outcome.ticketNumber)).size).toBe(200);
    expect((await store.counts()).tickets).toBe(ticketsBefore + 200);
    const items = await Promise.all(ids.map((id) => store.findIntake(id)));
    expect(
      items
        .filter((item) => item?.state !== 'done' || item.settledAt === null)
        .map((item) => ({ state: item?.state, settledAt: item?.settledAt, lastError: item?.lastError })),
    ).toEqual([]);
    expect(await store.listIntake('quarantined', 10)).toEqual([]);

    // One acknowledgment per customer (the stand-in records a sendMail only when it answered 202).
    const acknowledged = standIn.sentMail.map(
      (mail) => /^To: .*?(user\d+@acme\.example)/im.exec(mail.mime)?.[1],
    );
    expect(acknowledged).toHaveLength(200);
    expect(new Set(acknowledged).size).toBe(200);
    expect(inFolder('Processed')).toBe(200);
    expect(inFolder('Inbox')).toBe(0);

    expect(standIn.maxConcurrentFor(mailboxName)).toBeGreaterThan(1);
    expect(standIn.maxConcurrentFor(mailboxName)).toBeLessThanOrEqual(4);
    expect(standIn.requestsMatching('POST', /^\/subscriptions$/)).toHaveLength(1);
    const faults = standIn.requests.filter((request) => request.status === 429 || request.status === 503);
    expect(faults.length).toBeGreaterThan(50);
    // Roughly 30 % of the messages were never announced: delta catch-up found them.
    const announced = standIn.deliveries.reduce((sum, delivery) => sum + delivery.items, 0) / 2;
    expect(announced).toBeLessThan(170);
  }, 60_000);
});
