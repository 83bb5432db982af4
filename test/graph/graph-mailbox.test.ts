import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MailboxError } from '../../src/mailbox/mailbox-error.ts';
import { GraphApi } from '../../src/mailbox/graph/graph-api.ts';
import { GraphMailbox } from '../../src/mailbox/graph/graph-mailbox.ts';
import { GraphStandIn } from '../graph-stand-in/graph-stand-in.ts';
import { mailboxName, mime, token } from './helpers.ts';

describe('Graph mailbox adapter against the HTTPS stand-in', () => {
  let standIn: GraphStandIn;
  let mailbox: GraphMailbox;

  const adapter = (options: { timeoutMs?: number } = {}) =>
    new GraphMailbox({
      api: new GraphApi({
        credential: standIn.credential,
        baseUrl: standIn.baseUrl,
        fetchOptions: standIn.fetchOptions,
        timeoutMs: options.timeoutMs ?? 2_000,
      }),
      mailbox: mailboxName,
    });

  beforeEach(async () => {
    standIn = await GraphStandIn.start({ token });
    mailbox = adapter();
  });
  afterEach(async () => {
    await standIn.close();
  });

  it('fetches the raw MIME with the bearer token and the immutable-id preference', async () => {
    const id = standIn.addMessage(mailboxName, mime('Printer broken'));
    const raw = await mailbox.fetchRaw(id);
    expect(raw.toString('utf8')).toContain('Subject: Printer broken');
    const [request] = standIn.requests;
    expect(request?.path).toBe(`/users/${mailboxName}/messages/${id}/$value`);
    expect(request?.authorized).toBe(true);
    expect(request?.prefer).toBe('IdType="ImmutableId"');
  });

  it('reports a message deleted before the fetch as not-found', async () => {
    const id = standIn.addMessage(mailboxName, mime('Gone soon'));
    standIn.mailbox(mailboxName).remove(id);
    await expect(mailbox.fetchRaw(id)).rejects.toMatchObject({
      name: 'GraphRequestError',
      kind: 'not-found',
    });
  });

  it('surfaces 429 with Retry-After as a throttled MailboxError carrying retryAfterMs', async () => {
    const id = standIn.addMessage(mailboxName, mime('Busy'));
    standIn.injectFault({ path: /\$value$/, status: 429, retryAfterSeconds: 7 });
    const error = await mailbox.fetchRaw(id).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MailboxError);
    expect(error).toMatchObject({ kind: 'throttled', retryAfterMs: 7_000, retryable: true });
    expect((error as MailboxError).cause).toBeDefined();
    expect(standIn.requests).toHaveLength(1); // the client's own retry is off: the worker decides
  });

  it('translates 503 and timeouts to transient, 403 to forbidden', async () => {
    const id = standIn.addMessage(mailboxName, mime('Flaky'));
    standIn.injectFault({ path: /\$value$/, status: 503 });
    await expect(mailbox.fetchRaw(id)).rejects.toMatchObject({ kind: 'transient' });
    standIn.injectFault({ path: /\$value$/, status: 'timeout' });
    const quick = adapter({ timeoutMs: 300 });
    await expect(quick.fetchRaw(id)).rejects.toMatchObject({ kind: 'transient' });
    const wrongToken = new GraphMailbox({
      api: new GraphApi({
        credential: { getToken: async () => ({ token: 'wrong', expiresOnTimestamp: Date.now() + 60_000 }) },
        baseUrl: standIn.baseUrl,
        fetchOptions: standIn.fetchOptions,
      }),
      mailbox: mailboxName,
    });
    await expect(wrongToken.fetchRaw(id)).rejects.toMatchObject({ kind: 'forbidden' });
  });

  it('sends MIME as base64 text/plain and does not retry sendMail after a 503', async () => {
    const message = Buffer.from(mime('Your ticket [Ticket#0000001]', mailboxName));
    await mailbox.send(message, { outboxId: 'out-1' });
    expect(standIn.sentMail).toEqual([{ mailbox: mailboxName, mime: message.toString('utf8') }]);
    expect(standIn.requests[0]?.contentType).toMatch(/^text\/plain/);

    standIn.injectFault({ path: /sendMail$/, status: 503 });
    await expect(mailbox.send(message, { outboxId: 'out-2' })).rejects.toMatchObject({ kind: 'transient' });
    expect(standIn.requestsMatching('POST', /sendMail$/)).toHaveLength(2);
    expect(standIn.sentMail).toHaveLength(1);
  });

  it('moves messages to Processed and Failed, creating each folder once', async () => {
    const first = standIn.addMessage(mailboxName, mime('One'));
    const second = standIn.addMessage(mailboxName, mime('Two'));
    const third = standIn.addMessage(mailboxName, mime('Three'));
    await mailbox.settle(first, 'processed');
    await mailbox.settle(second, 'processed');
    await mailbox.settle(third, 'failed');
    const box = standIn.mailbox(mailboxName);
    const processed = box.folderByName('Processed');
    const failed = box.folderByName('Failed');
    expect(box.messages.get(first)?.folderId).toBe(processed?.id);
    expect(box.messages.get(second)?.folderId).toBe(processed?.id);
    expect(box.messages.get(third)?.folderId).toBe(failed?.id);
    expect(standIn.requestsMatching('POST', /mailFolders$/)).toHaveLength(2);
    expect(standIn.requestsMatching('GET', /mailFolders$/)).toHaveLength(2);
    // A fresh adapter (another process) finds the existing folders instead of creating them again.
    await adapter().settle(standIn.addMessage(mailboxName, mime('Four')), 'processed');
    expect(standIn.requestsMatching('POST', /mailFolders$/)).toHaveLength(2);
  });

  it('treats a 404 on move (already moved or deleted) as done', async () => {
    const id = standIn.addMessage(mailboxName, mime('Moved twice'));
    standIn.mailbox(mailboxName).remove(id);
    await expect(mailbox.settle(id, 'processed')).resolves.toBeUndefined();
  });

  it('never has more than 4 requests in flight for the mailbox', async () => {
    await standIn.close();
    standIn = await GraphStandIn.start({ token, latencyMs: 40 });
    mailbox = adapter();
    const ids = Array.from({ length: 24 }, (_, i) => standIn.addMessage(mailboxName, mime(`Burst ${i}`)));
    await Promise.all(ids.map((id) => mailbox.fetchRaw(id)));
    expect(standIn.maxConcurrentFor(mailboxName)).toBe(4);
  });

  it('lists the inbox across pages', async () => {
    const ids = Array.from({ length: 23 }, (_, i) => standIn.addMessage(mailboxName, mime(`List ${i}`)));
    await mailbox.settle(ids[0] as string, 'processed');
    expect((await mailbox.listInbox()).sort()).toEqual(ids.slice(1).sort());
  });
});
