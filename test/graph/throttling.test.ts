import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { GraphApi, type GraphApiOptions } from '../../src/mailbox/graph/graph-api.ts';
import { InboxDelta } from '../../src/mailbox/graph/graph-delta.ts';
import { GraphMailbox } from '../../src/mailbox/graph/graph-mailbox.ts';
import { GraphStandIn, type RecordedRequest } from '../graph-stand-in/graph-stand-in.ts';
import { mailboxName, mime, token } from './helpers.ts';

const silent = pino({ level: 'silent' });

/** The moment Graph's throttled answer reached us: Retry-After counts from here. */
function answered(request: RecordedRequest | undefined): number {
  if (!request?.answeredAt) throw new Error('the request was not answered');
  return request.answeredAt;
}

describe('Graph throttling: no request goes out sooner than Retry-After asked', () => {
  let standIn: GraphStandIn;

  const graph = (options: Partial<GraphApiOptions> = {}) => {
    const api = new GraphApi({
      credential: standIn.credential,
      baseUrl: standIn.baseUrl,
      fetchOptions: standIn.fetchOptions,
      timeoutMs: 5_000,
      ...options,
    });
    return { api, mailbox: new GraphMailbox({ api, mailbox: mailboxName }) };
  };
  const folderOf = (id: string) => {
    const box = standIn.mailbox(mailboxName);
    return box.folders.get(box.messages.get(id)?.folderId ?? '')?.displayName ?? null;
  };

  beforeEach(async () => {
    standIn = await GraphStandIn.start({ token });
  });
  afterEach(async () => {
    await standIn.close();
  });

  it.each([429, 503] as const)(
    'holds every other call to the mailbox (fetch, list, move) until the Retry-After of a %i has passed',
    async (status) => {
      const { mailbox } = graph();
      const throttled = standIn.addMessage(mailboxName, mime('Throttled'));
      const other = standIn.addMessage(mailboxName, mime('Other'));
      const moved = standIn.addMessage(mailboxName, mime('Moved'));
      await mailbox.settle(moved, 'processed'); // folder look-up and creation out of the way
      standIn.addMessage(mailboxName, mime('Stays'));
      standIn.injectFault({ path: new RegExp(`${throttled}/\\$value$`), status, retryAfterSeconds: 1 });

      await expect(mailbox.fetchRaw(throttled)).rejects.toMatchObject({ retryAfterMs: 1_000 });
      const refused = standIn.requests.at(-1);
      expect(refused?.status).toBe(status);
      const before = standIn.requests.length;
      const [raw, inbox] = await Promise.all([
        mailbox.fetchRaw(other),
        mailbox.listInbox(),
        mailbox.settle(throttled, 'failed'),
      ]);

      expect(raw.toString('utf8')).toContain('Subject: Other');
      expect(inbox).toContain(other);
      expect(folderOf(throttled)).toBe('Failed');
      const later = standIn.requests.slice(before);
      expect(later.length).toBeGreaterThanOrEqual(3);
      for (const request of later) expect(request.at).toBeGreaterThanOrEqual(answered(refused) + 1_000);
    },
  );

  it('does not shorten a Retry-After longer than the in-line retry cap: the call fails as throttled and nothing is sent before it', async () => {
    const { mailbox } = graph({ maxRetryWaitMs: 300 });
    standIn.addMessage(mailboxName, mime('Waiting'));
    standIn.injectFault({ method: 'GET', path: /messages$/, status: 429, retryAfterSeconds: 2 });

    // listInbox retries in line, but not after 300 ms when Graph asked for 2 s.
    await expect(mailbox.listInbox()).rejects.toMatchObject({
      kind: 'throttled',
      status: 429,
      retryAfterMs: 2_000,
    });
    expect(standIn.requests).toHaveLength(1);
    const refused = standIn.requests[0];

    // A call made meanwhile is not sent either: it fails at once with what is left of the wait.
    const held = await mailbox.listInbox().catch((error: unknown) => error);
    expect(held).toMatchObject({ kind: 'throttled', status: null });
    expect((held as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(1_000);
    expect((held as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(2_000);
    expect(standIn.requests).toHaveLength(1);

    await new Promise((resolve) => setTimeout(resolve, answered(refused) + 2_000 - Date.now()));
    expect(await mailbox.listInbox()).toHaveLength(1);
    expect(standIn.requests[1]?.at).toBeGreaterThanOrEqual(answered(refused) + 2_000);
  });

  it('fails a call whose own time limit ends before the gate opens as throttled with the remaining wait, without sending it', async () => {
    const { mailbox } = graph({ timeoutMs: 500 });
    const first = standIn.addMessage(mailboxName, mime('First'));
    const second = standIn.addMessage(mailboxName, mime('Second'));
    standIn.injectFault({ path: /\$value$/, status: 429, retryAfterSeconds: 2 });
    await expect(mailbox.fetchRaw(first)).rejects.toMatchObject({ kind: 'throttled' });

    const started = Date.now();
    const error = await mailbox.fetchRaw(second).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toMatchObject({ kind: 'throttled', retryable: true });
    expect((error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(1_000);
    expect(standIn.requests).toHaveLength(1);
  });

  it('stops waiting for the gate when the caller aborts, without sending the request', async () => {
    const { mailbox } = graph();
    const first = standIn.addMessage(mailboxName, mime('First'));
    const second = standIn.addMessage(mailboxName, mime('Second'));
    standIn.injectFault({ path: /\$value$/, status: 429, retryAfterSeconds: 2 });
    await expect(mailbox.fetchRaw(first)).rejects.toMatchObject({ kind: 'throttled' });

    const started = Date.now();
    await expect(mailbox.fetchRaw(second, { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({
      name: 'GraphRequestError',
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(standIn.requests).toHaveLength(1);
  });

  it('retries creating the Processed folder after its Retry-After, then moves the message', async () => {
    const { mailbox } = graph();
    const id = standIn.addMessage(mailboxName, mime('First of the day'));
    standIn.injectFault({ method: 'POST', path: /mailFolders$/, status: 429, retryAfterSeconds: 1 });

    await mailbox.settle(id, 'processed');

    const creates = standIn.requestsMatching('POST', /mailFolders$/);
    expect(creates.map((request) => request.status)).toEqual([429, 201]);
    expect(creates[1]?.at).toBeGreaterThanOrEqual(answered(creates[0]) + 1_000);
    expect(folderOf(id)).toBe('Processed');
  });

  it('retries a delta page answered 503 with Retry-After no sooner than asked', async () => {
    const { api } = graph();
    const store = SqliteCrmStore.open({ path: ':memory:' });
    try {
      const id = standIn.addMessage(mailboxName, mime('Unannounced'));
      standIn.injectFault({ path: /delta$/, status: 503, retryAfterSeconds: 1 });
      const delta = new InboxDelta({
        api,
        store,
        logger: silent,
        mailbox: mailboxName,
        now: () => new Date(),
      });

      expect(await delta.run()).toMatchObject({ seen: 1, created: 1 });

      const pages = standIn.requestsMatching('GET', /delta$/);
      expect(pages.map((request) => request.status)).toEqual([503, 200]);
      expect(pages[1]?.at).toBeGreaterThanOrEqual(answered(pages[0]) + 1_000);
      expect((await store.findIntake(id))?.state).toBe('pending');
    } finally {
      await store.close();
    }
  });
});
