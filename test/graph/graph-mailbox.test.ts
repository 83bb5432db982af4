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
    expect(standIn.sentMail).toEqual([
      { mailbox: mailboxName, mime: message.toString('utf8'), raw: message },
    ]);
    expect(standIn.requests[0]?.contentType).toMatch(/^text\/plain/);

    standIn.injectFault({ path: /sendMail$/, status: 503 });
    await expect(mailbox.send(message, { outboxId: 'out-2' })).rejects.toMatchObject({ kind: 'transient' });
    expect(standIn.requestsMatching('POST', /sendMail$/)).toHaveLength(2);
    expect(standIn.sentMail).toHaveLength(1);
  });

  /** A forward of about `megabytes` MB: head, an original kept apart (read as it is sent), tail. */
  const largeForward = (megabytes: number) => {
    const head = Buffer.from(
      `From: ${mailboxName}\r\nTo: helpdesk@msp.example\r\nSubject: Forwarded\r\nMIME-Version: 1.0\r\n` +
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n',
    );
    const original = Buffer.alloc(megabytes * 1_048_576 + 1);
    for (let at = 0; at < original.length; at += 1) original[at] = (at * 13 + (at >> 10)) & 0xff;
    const tail = Buffer.from('\r\n--b--\r\n');
    const piece = {
      length: original.length,
      reads: 0,
      async *read(): AsyncGenerator<Buffer> {
        piece.reads += 1;
        for (let at = 0; at < original.length; at += 1_048_576) yield original.subarray(at, at + 1_048_576);
      },
    };
    return { pieces: [head, piece, tail], piece, bytes: Buffer.concat([head, original, tail]) };
  };

  it('streams a large mail given in pieces as base64 with its length announced, not chunked', async () => {
    const mail = largeForward(6);
    await mailbox.send(mail.pieces, { outboxId: 'out-large' });
    const [request] = standIn.requestsMatching('POST', /sendMail$/);
    const base64Bytes = 4 * Math.ceil(mail.bytes.length / 3);
    expect(request).toMatchObject({
      status: 202,
      authorized: true,
      prefer: 'IdType="ImmutableId"',
      contentLength: base64Bytes,
      transferEncoding: null,
      bodyBytes: base64Bytes,
    });
    expect(request!.bodyReads).toBeGreaterThan(10);
    expect(standIn.sentMail).toHaveLength(1);
    expect(standIn.sentMail[0]!.raw.equals(mail.bytes)).toBe(true);
    expect(mail.piece.reads).toBe(1);
    expect(standIn.requests).toHaveLength(1);
  });

  it('honours a 429 with Retry-After on a large sendMail answered before its body arrived, and sends the mail once', async () => {
    const mail = largeForward(4);
    standIn.injectFault({ path: /sendMail$/, status: 429, retryAfterSeconds: 1 });
    const error = await mailbox
      .send(mail.pieces, { outboxId: 'out-busy' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MailboxError);
    expect(error).toMatchObject({ name: 'GraphRequestError', kind: 'throttled', retryAfterMs: 1_000 });
    expect(standIn.sentMail).toEqual([]);
    const refused = standIn.requestsMatching('POST', /sendMail$/)[0]!;
    expect(refused.status).toBe(429);

    // sendMail is never repeated by the adapter; the next send waits for the gate Graph closed, then goes once.
    await mailbox.send(mail.pieces, { outboxId: 'out-busy' });
    const sends = standIn.requestsMatching('POST', /sendMail$/);
    expect(sends.map((request) => request.status)).toEqual([429, 202]);
    expect(sends[1]!.at).toBeGreaterThanOrEqual(refused.answeredAt! + 1_000);
    expect(standIn.sentMail).toHaveLength(1);
    expect(standIn.sentMail[0]!.raw.equals(mail.bytes)).toBe(true);
    // Each attempt read the original afresh from its start.
    expect(mail.piece.reads).toBe(2);
  });

  it('fails a sendMail that gets no answer while its body is under way as transient, and records nothing sent', async () => {
    const mail = largeForward(4);
    standIn.injectFault({ path: /sendMail$/, status: 'timeout' });
    await expect(
      adapter({ timeoutMs: 500 }).send(mail.pieces, { outboxId: 'out-lost' }),
    ).rejects.toMatchObject({
      name: 'GraphRequestError',
      kind: 'transient',
      status: null,
    });
    expect(standIn.sentMail).toEqual([]);
  });

  it('the stand-in takes only one block of base64 as a sendMail body, as Graph does', async () => {
    const api = new GraphApi({
      credential: standIn.credential,
      baseUrl: standIn.baseUrl,
      fetchOptions: standIn.fetchOptions,
    });
    const post = (body: string) =>
      api.call({
        method: 'POST',
        path: `/users/${mailboxName}/sendMail`,
        what: 'sendMail',
        body,
        contentType: 'text/plain',
      });
    for (const body of ['not base64!', 'QQ==QUJD', 'QUJDRA']) {
      await expect(post(body), body).rejects.toMatchObject({ status: 400, kind: 'permanent' });
    }
    await post('QUJDRA==');
    expect(standIn.sentMail.map((mail) => mail.mime)).toEqual(['ABCD']);
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
