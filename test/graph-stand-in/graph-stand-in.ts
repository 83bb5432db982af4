import { randomBytes, randomUUID } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TokenCredential } from '@azure/identity';
import type { FetchOptions } from '@microsoft/microsoft-graph-client';
import { Agent } from 'undici';
import { testCertificate } from './certificate.ts';
import { post, type PostResult } from './https-post.ts';
import { newId, StandInMailbox, type DeltaItem } from './stand-in-mailbox.ts';

export interface RecordedRequest {
  method: string;
  /** Decoded path after the version, e.g. `/users/support@msp.example/messages/AAMk…/$value`. */
  path: string;
  query: Record<string, string>;
  prefer: string | null;
  contentType: string | null;
  authorized: boolean;
  /** The body as text (sendMail's base64, kept as it arrives while it is decoded: see `sentMail`). */
  body: string;
  /** The Content-Length the client announced, or null (a chunked body). */
  contentLength: number | null;
  transferEncoding: string | null;
  /** Bytes of the body that arrived, and in how many reads (sendMail). */
  bodyBytes: number;
  bodyReads: number;
  status: number;
  /** The mailbox the request was about, if any (lower case). */
  mailbox: string | null;
  /** When it arrived (epoch ms, the system clock): throttling tests compare it with Retry-After. */
  at: number;
  /** When it was answered (epoch ms), or null while it is open. */
  answeredAt: number | null;
}

export interface FaultRule {
  method?: string;
  /** Matched against the decoded path. */
  path?: RegExp;
  status: 429 | 500 | 503 | 504 | 404 | 403 | 'timeout';
  retryAfterSeconds?: number;
  /** How many requests it hits; default 1. */
  times?: number;
  /** Chance that a matching request is hit; default 1. Uses the stand-in's seeded random numbers. */
  probability?: number;
}

/** How the stand-in answers requests about one mailbox (see `setMailboxAccess`). */
export type MailboxAccess = 'ok' | 'forbidden' | 'missing';

export interface StandInSubscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expirationDateTime: string;
  createdWithImmutableIds: boolean;
}

export interface StandInOptions {
  /** The bearer token every request must carry; default `stand-in-token`. */
  token?: string;
  /** Delta and list page size; default 10. */
  pageSize?: number;
  /** The stand-in's clock (subscription expiry checks). */
  now?: () => Date;
  /** Added to every answer, to make concurrency observable. */
  latencyMs?: number;
  /** Seed of the random numbers used by probabilistic faults and dropped notifications. */
  seed?: number;
  /** Real Graph requires https notification URLs; the end-to-end test may serve plain http. */
  allowHttpNotificationUrl?: boolean;
}

export interface NotifyOptions {
  /** Items per POST; default 1. */
  batchSize?: number;
  /** Send every item twice (in separate POSTs). */
  duplicate?: boolean;
  /** Deliver in random order. */
  shuffle?: boolean;
  /** Chance that an item is never sent. */
  dropRate?: number;
  /** Override what the items carry (forgery tests). */
  clientState?: string;
  subscriptionId?: string;
}

interface DeltaToken {
  mailbox: string;
  kind: 'page' | 'delta';
  items: DeltaItem[];
  offset: number;
  endSeq: number;
}

const maxSubscriptionMinutes = 10_080;

/**
 * A local HTTPS Microsoft Graph: just what the connector calls, with fault injection, and every request recorded.
 * Its certificate is generated at test time; clients trust it through `fetchOptions` (an undici Agent with the CA).
 */
export class GraphStandIn {
  readonly requests: RecordedRequest[] = [];
  /** Each mail sendMail accepted: its MIME as text, and as the exact bytes decoded from the base64 body. */
  readonly sentMail: { mailbox: string; mime: string; raw: Buffer }[] = [];
  readonly subscriptions = new Map<string, StandInSubscription>();
  readonly deliveries: { url: string; status: number; items: number }[] = [];
  readonly validations: { url: string; ok: boolean }[] = [];
  readonly maxConcurrent = new Map<string, number>();
  readonly ca: string;
  readonly fetchOptions: FetchOptions;
  readonly credential: TokenCredential;
  readonly #options: StandInOptions;
  readonly #server: https.Server;
  readonly #mailboxes = new Map<string, StandInMailbox>();
  readonly #inFlight = new Map<string, number>();
  readonly #faults: (FaultRule & { left: number })[] = [];
  readonly #mailboxAccess = new Map<string, MailboxAccess>();
  readonly #deltaTokens = new Map<string, DeltaToken>();
  readonly #agent: Agent;
  readonly #sockets = new Set<Socket>();
  #random: () => number;
  #port = 0;

  private constructor(options: StandInOptions) {
    const certificate = testCertificate();
    this.#options = options;
    this.ca = certificate.cert;
    this.#agent = new Agent({ connect: { ca: certificate.cert } });
    // undici's Agent and Node's bundled fetch share the dispatcher protocol; only their type declarations differ.
    this.fetchOptions = { dispatcher: this.#agent as unknown as FetchOptions['dispatcher'] };
    const token = options.token ?? 'stand-in-token';
    this.credential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
    this.#random = seeded(options.seed ?? 42);
    this.#server = https.createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent)
          this.#json(res, 500, { error: { code: 'standInError', message: String(error) } });
      });
    });
  }

  static async start(options: StandInOptions = {}): Promise<GraphStandIn> {
    const standIn = new GraphStandIn(options);
    standIn.#server.on('connection', (socket: Socket) => {
      standIn.#sockets.add(socket);
      socket.on('close', () => standIn.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => standIn.#server.listen(0, '127.0.0.1', resolve));
    standIn.#port = (standIn.#server.address() as AddressInfo).port;
    return standIn;
  }

  /** The GRAPH_BASE_URL to configure. */
  get baseUrl(): string {
    return `https://127.0.0.1:${this.#port}/v1.0`;
  }

  async close(): Promise<void> {
    // closeAllConnections misses a TLS socket whose request the client aborted; destroying the raw sockets does not.
    for (const socket of this.#sockets) socket.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.#agent.destroy();
  }

  mailbox(name: string): StandInMailbox {
    const key = name.toLowerCase();
    let mailbox = this.#mailboxes.get(key);
    if (!mailbox) {
      mailbox = new StandInMailbox();
      this.#mailboxes.set(key, mailbox);
    }
    return mailbox;
  }

  /** A new message in the inbox (no notification: call `notify`). */
  addMessage(mailbox: string, mime: string | Buffer, receivedDateTime?: string): string {
    const at = receivedDateTime ?? this.#now().toISOString();
    return this.mailbox(mailbox).add(Buffer.isBuffer(mime) ? mime : Buffer.from(mime), at).id;
  }

  injectFault(rule: FaultRule): void {
    this.#faults.push({ ...rule, left: rule.times ?? 1 });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /**
   * How Graph answers every request about a mailbox: `forbidden` (403, outside the app's RBAC scope), `missing`
   * (404, no such mailbox in the tenant), or `ok` (the default).
   */
  setMailboxAccess(name: string, access: MailboxAccess): void {
    if (access === 'ok') this.#mailboxAccess.delete(name.toLowerCase());
    else this.#mailboxAccess.set(name.toLowerCase(), access);
  }

  /** Makes every delta link stale: the next delta call with one answers 410 syncStateNotFound. */
  invalidateDeltaTokens(): void {
    this.#deltaTokens.clear();
  }

  /** The highest number of requests about one mailbox that were in flight at once. */
  maxConcurrentFor(mailbox: string): number {
    return this.maxConcurrent.get(mailbox.toLowerCase()) ?? 0;
  }

  requestsMatching(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((request) => request.method === method && path.test(request.path));
  }

  /** Sends change notifications for these messages to every subscription on the mailbox's inbox. */
  async notify(
    mailbox: string,
    messageIds: readonly string[],
    options: NotifyOptions = {},
  ): Promise<PostResult[]> {
    const results: PostResult[] = [];
    for (const subscription of this.#subscriptionsFor(mailbox)) {
      let items = messageIds
        .filter(() => !(options.dropRate && this.#random() < options.dropRate))
        .map((id) => ({
          subscriptionId: options.subscriptionId ?? subscription.id,
          subscriptionExpirationDateTime: subscription.expirationDateTime,
          clientState: options.clientState ?? subscription.clientState,
          changeType: 'created',
          resource: `Users/${mailbox}/Messages/${id}`,
          resourceData: {
            '@odata.type': '#Microsoft.Graph.Message',
            '@odata.id': `Users/${mailbox}/Messages/${id}`,
            id,
          },
          tenantId: 'stand-in-tenant',
        }));
      if (options.duplicate) items = items.flatMap((item) => [item, { ...item }]);
      if (options.shuffle) items = this.#shuffle(items);
      const size = options.batchSize ?? 1;
      for (let start = 0; start < items.length; start += size) {
        const batch = items.slice(start, start + size);
        results.push(await this.#deliver(subscription.notificationUrl, { value: batch }));
      }
    }
    return results;
  }

  /** Sends a lifecycle event; `subscriptionRemoved` also deletes the subscription, as Graph would have. */
  async sendLifecycle(
    subscriptionId: string,
    lifecycleEvent: 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed',
  ): Promise<PostResult> {
    const subscription = this.subscriptions.get(subscriptionId);
    if (!subscription) throw new Error(`no subscription ${subscriptionId}`);
    if (lifecycleEvent === 'subscriptionRemoved') this.subscriptions.delete(subscriptionId);
    const url = subscription.lifecycleNotificationUrl ?? subscription.notificationUrl;
    return this.#deliver(url, {
      value: [
        {
          subscriptionId,
          subscriptionExpirationDateTime: subscription.expirationDateTime,
          tenantId: 'stand-in-tenant',
          clientState: subscription.clientState,
          lifecycleEvent,
        },
      ],
    });
  }

  /** Posts any body to a URL (forgery and size tests). */
  async postTo(url: string, body: string): Promise<PostResult> {
    return post(url, body, { ca: this.ca, contentType: 'application/json', timeoutMs: 10_000 });
  }

  async #deliver(url: string, body: { value: unknown[] }): Promise<PostResult> {
    const result = await post(url, JSON.stringify(body), {
      ca: this.ca,
      contentType: 'application/json; charset=utf-8',
      timeoutMs: 10_000,
    });
    this.deliveries.push({ url, status: result.status, items: body.value.length });
    return result;
  }

  #subscriptionsFor(mailbox: string): StandInSubscription[] {
    const resource = `users/${mailbox}/mailfolders('inbox')/messages`.toLowerCase();
    return [...this.subscriptions.values()].filter(
      (entry) => entry.resource.toLowerCase().replace(/^\//, '') === resource,
    );
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  #shuffle<T>(items: T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.#random() * (i + 1));
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivedAt = Date.now();
    const url = new URL(req.url ?? '/', `https://127.0.0.1:${this.#port}`);
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments[0] === 'v1.0') segments.shift();
    const path = `/${segments.join('/')}`;
    const mailbox = segments[0] === 'users' && segments[1] ? segments[1].toLowerCase() : null;
    // sendMail's body (base64 MIME, up to tens of MB) is read and decoded as it arrives, after the checks below: a
    // throttled or failing sendMail is answered before its body has arrived, as Graph may.
    const streamed = req.method === 'POST' && segments[0] === 'users' && segments[2] === 'sendMail';
    const body = streamed ? '' : await readBody(req);
    const announced = header(req, 'content-length');
    const record: RecordedRequest = {
      at: arrivedAt,
      answeredAt: null,
      method: req.method ?? 'GET',
      path,
      query: Object.fromEntries(url.searchParams),
      prefer: header(req, 'prefer'),
      contentType: header(req, 'content-type'),
      authorized: header(req, 'authorization') === `Bearer ${this.#options.token ?? 'stand-in-token'}`,
      body,
      contentLength: announced === null ? null : Number(announced),
      transferEncoding: header(req, 'transfer-encoding'),
      bodyBytes: Buffer.byteLength(body),
      bodyReads: 0,
      status: 0,
      mailbox,
    };
    this.requests.push(record);
    const key = mailbox ?? '*';
    const inFlight = (this.#inFlight.get(key) ?? 0) + 1;
    this.#inFlight.set(key, inFlight);
    this.maxConcurrent.set(key, Math.max(inFlight, this.maxConcurrent.get(key) ?? 0));
    res.on('close', () => this.#inFlight.set(key, (this.#inFlight.get(key) ?? 1) - 1));
    res.on('finish', () => {
      record.status = res.statusCode;
      record.answeredAt = Date.now();
    });

    if (this.#options.latencyMs) await delay(this.#options.latencyMs);
    if (!record.authorized)
      return this.#error(res, 401, 'InvalidAuthenticationToken', 'Access token is empty.');
    const fault = this.#fault(record);
    if (fault) {
      if (fault.status === 'timeout') return; // never answer; the client's timeout ends it
      if (fault.retryAfterSeconds !== undefined)
        res.setHeader('Retry-After', String(fault.retryAfterSeconds));
      const code =
        fault.status === 429
          ? 'TooManyRequests'
          : fault.status === 404
            ? 'ErrorItemNotFound'
            : fault.status === 403
              ? 'ErrorAccessDenied'
              : 'ServiceUnavailable';
      return this.#error(res, fault.status, code, 'injected fault');
    }
    const access = mailbox ? this.#mailboxAccess.get(mailbox) : undefined;
    if (access === 'forbidden')
      return this.#error(res, 403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
    if (access === 'missing')
      return this.#error(res, 404, 'ErrorInvalidUser', `The requested user '${mailbox}' is invalid.`);
    await this.#route(record, segments, url, req, res);
  }

  #fault(record: RecordedRequest): FaultRule | null {
    for (const rule of this.#faults) {
      if (rule.left <= 0) continue;
      if (rule.method && rule.method !== record.method) continue;
      if (rule.path && !rule.path.test(record.path)) continue;
      if (rule.probability !== undefined && this.#random() >= rule.probability) continue;
      rule.left -= 1;
      return rule;
    }
    return null;
  }

  async #route(
    record: RecordedRequest,
    s: string[],
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const m = record.method;
    if (s[0] === 'subscriptions') {
      if (s.length === 1 && m === 'POST') return this.#createSubscription(record, res);
      if (s.length === 1 && m === 'GET') {
        const value = [...this.subscriptions.values()].map((entry) => ({ ...entry, clientState: null }));
        return this.#json(res, 200, { value });
      }
      const subscription = s[1] ? this.subscriptions.get(s[1]) : undefined;
      if (!subscription) return this.#error(res, 404, 'ResourceNotFound', 'subscription not found');
      if (m === 'GET') return this.#json(res, 200, { ...subscription, clientState: null });
      if (m === 'PATCH') {
        const patch = JSON.parse(record.body) as { expirationDateTime?: string };
        const problem = this.#expiryProblem(patch.expirationDateTime);
        if (problem) return this.#error(res, 400, 'InvalidRequest', problem);
        subscription.expirationDateTime = new Date(patch.expirationDateTime as string).toISOString();
        return this.#json(res, 200, { ...subscription, clientState: null });
      }
      if (m === 'DELETE') {
        this.subscriptions.delete(subscription.id);
        res.writeHead(204).end();
        return;
      }
    }
    if (s[0] === 'users' && s[1]) {
      const box = this.mailbox(s[1]);
      const rest = s.slice(2);
      if (rest[0] === 'sendMail' && m === 'POST') {
        if (!record.contentType?.startsWith('text/plain'))
          return this.#error(res, 400, 'ErrorMimeContentInvalid', 'expected text/plain');
        const decoded = await decodeBase64Body(req, record);
        if (typeof decoded === 'string')
          return this.#error(res, 400, 'ErrorMimeContentInvalidBase64String', decoded);
        this.sentMail.push({ mailbox: s[1].toLowerCase(), mime: decoded.toString('utf8'), raw: decoded });
        res.writeHead(202).end();
        return;
      }
      if (rest[0] === 'messages' && rest[1]) {
        const message = box.messages.get(rest[1]);
        if (!message)
          return this.#error(
            res,
            404,
            'ErrorItemNotFound',
            'The specified object was not found in the store.',
          );
        if (rest[2] === '$value' && m === 'GET') {
          res.writeHead(200, { 'content-type': 'text/plain' }).end(message.mime);
          return;
        }
        if (rest[2] === 'move' && m === 'POST') {
          const { destinationId } = JSON.parse(record.body) as { destinationId: string };
          const moved = box.move(message.id, destinationId);
          if (!moved) return this.#error(res, 400, 'ErrorInvalidIdMalformed', 'bad destination');
          return this.#json(res, 201, { id: moved.id, parentFolderId: moved.folderId });
        }
      }
      if (rest[0] === 'mailFolders' && rest.length === 1) {
        if (m === 'GET') {
          const name = /displayName eq '(.*)'/
            .exec(url.searchParams.get('$filter') ?? '')?.[1]
            ?.replace(/''/g, "'");
          const value = [...box.folders.values()].filter(
            (folder) => !name || folder.displayName.toLowerCase() === name.toLowerCase(),
          );
          return this.#json(res, 200, { value });
        }
        if (m === 'POST') {
          const { displayName } = JSON.parse(record.body) as { displayName: string };
          if (box.folderByName(displayName))
            return this.#error(
              res,
              409,
              'ErrorFolderExists',
              'A folder with the specified name already exists.',
            );
          const folder = { id: newId('AQMk'), displayName };
          box.folders.set(folder.id, folder);
          return this.#json(res, 201, folder);
        }
      }
      const isInbox =
        rest[0] === "mailFolders('Inbox')" || (rest[0] === 'mailFolders' && rest[1] === box.inbox.id);
      const tail = rest[0] === 'mailFolders' ? rest.slice(2) : rest.slice(1);
      if (isInbox && tail.length === 0 && m === 'GET') {
        const totalItemCount = box.inboxMessages(null).length;
        return this.#json(res, 200, { id: box.inbox.id, displayName: box.inbox.displayName, totalItemCount });
      }
      if (isInbox && tail[0] === 'messages' && tail[1] === 'delta' && m === 'GET')
        return this.#delta(s[1], box, url, res);
      if (isInbox && tail[0] === 'messages' && tail.length === 1 && m === 'GET') {
        const all = box.inboxMessages(null);
        const skip = Number(url.searchParams.get('$skip') ?? 0);
        const top = Number(url.searchParams.get('$top') ?? this.#pageSize());
        const value = all.slice(skip, skip + top).map((message) => ({ id: message.id }));
        const next =
          skip + top < all.length
            ? `${this.#link(s[1], "mailFolders('Inbox')/messages")}?$select=id&$top=${top}&$skip=${skip + top}`
            : undefined;
        return this.#json(res, 200, { value, ...(next ? { '@odata.nextLink': next } : {}) });
      }
    }
    this.#error(res, 400, 'BadRequest', `stand-in does not implement ${m} ${record.path}`);
  }

  async #createSubscription(record: RecordedRequest, res: ServerResponse): Promise<void> {
    const body = JSON.parse(record.body) as Partial<StandInSubscription>;
    const required = ['changeType', 'resource', 'notificationUrl', 'expirationDateTime'] as const;
    for (const name of required)
      if (!body[name]) return this.#error(res, 400, 'InvalidRequest', `${name} is required`);
    const problem = this.#expiryProblem(body.expirationDateTime);
    if (problem) return this.#error(res, 400, 'InvalidRequest', problem);
    if ((body.clientState ?? '').length > 128)
      return this.#error(res, 400, 'InvalidRequest', 'clientState too long');
    const urls = [
      body.notificationUrl as string,
      ...(body.lifecycleNotificationUrl ? [body.lifecycleNotificationUrl] : []),
    ];
    if (!this.#options.allowHttpNotificationUrl && urls.some((entry) => !entry.startsWith('https://'))) {
      return this.#error(res, 400, 'InvalidRequest', 'notificationUrl must be https');
    }
    const duplicate = [...this.subscriptions.values()].find(
      (entry) =>
        entry.resource.toLowerCase() === (body.resource as string).toLowerCase() &&
        entry.changeType === body.changeType &&
        entry.notificationUrl === body.notificationUrl,
    );
    if (duplicate)
      return this.#error(
        res,
        409,
        'Conflict',
        'A subscription with the same resource and change type exists.',
      );
    for (const target of urls) {
      if (!(await this.#validate(target))) {
        return this.#error(
          res,
          400,
          'ValidationError',
          'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
        );
      }
    }
    const subscription: StandInSubscription = {
      id: randomUUID(),
      resource: body.resource as string,
      changeType: body.changeType as string,
      notificationUrl: body.notificationUrl as string,
      lifecycleNotificationUrl: body.lifecycleNotificationUrl ?? null,
      clientState: body.clientState ?? null,
      expirationDateTime: new Date(body.expirationDateTime as string).toISOString(),
      createdWithImmutableIds: /IdType="ImmutableId"/.test(record.prefer ?? ''),
    };
    this.subscriptions.set(subscription.id, subscription);
    this.#json(res, 201, subscription);
  }

  /** Graph's reachability check: POST ?validationToken=…, expects 200 text/plain with the token, within 10 s. */
  async #validate(target: string): Promise<boolean> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()} & more=${randomBytes(4).toString('hex')}`;
    const url = new URL(target);
    url.searchParams.set('validationToken', token);
    try {
      const result = await post(url.toString(), '', {
        ca: this.ca,
        contentType: 'text/plain; charset=utf-8',
        timeoutMs: 10_000,
      });
      const ok =
        result.status === 200 && (result.contentType ?? '').startsWith('text/plain') && result.body === token;
      this.validations.push({ url: target, ok });
      return ok;
    } catch {
      this.validations.push({ url: target, ok: false });
      return false;
    }
  }

  #expiryProblem(value: string | undefined): string | null {
    const at = Date.parse(value ?? '');
    if (Number.isNaN(at)) return 'expirationDateTime is invalid';
    const now = this.#now().getTime();
    if (at <= now) return 'expirationDateTime is in the past';
    if (at > now + maxSubscriptionMinutes * 60_000) return 'expirationDateTime is beyond 10080 minutes';
    return null;
  }

  #delta(mailbox: string, box: StandInMailbox, url: URL, res: ServerResponse): void {
    const skipToken = url.searchParams.get('$skiptoken');
    const deltaToken = url.searchParams.get('$deltatoken');
    let state: DeltaToken;
    if (skipToken || deltaToken) {
      const found = this.#deltaTokens.get((skipToken ?? deltaToken) as string);
      if (!found)
        return this.#error(res, 410, 'syncStateNotFound', 'The sync state generation is not found.');
      state =
        found.kind === 'delta'
          ? { mailbox, kind: 'page', items: box.changesSince(found.endSeq), offset: 0, endSeq: box.seq }
          : found;
    } else {
      const since = /receivedDateTime ge (\S+)/.exec(url.searchParams.get('$filter') ?? '')?.[1] ?? null;
      const items = box.inboxMessages(since).map((message) => ({ id: message.id }));
      state = { mailbox, kind: 'page', items, offset: 0, endSeq: box.seq };
    }
    const size = this.#pageSize();
    const value = state.items.slice(state.offset, state.offset + size);
    const token = randomBytes(12).toString('hex');
    const base = this.#link(mailbox, "mailFolders('Inbox')/messages/delta");
    if (state.offset + size < state.items.length) {
      this.#deltaTokens.set(token, { ...state, offset: state.offset + size });
      return this.#json(res, 200, { value, '@odata.nextLink': `${base}?$skiptoken=${token}` });
    }
    this.#deltaTokens.set(token, { ...state, kind: 'delta', items: [], offset: 0 });
    this.#json(res, 200, { value, '@odata.deltaLink': `${base}?$deltatoken=${token}` });
  }

  #link(mailbox: string, rest: string): string {
    return `${this.baseUrl}/users/${encodeURIComponent(mailbox)}/${rest}`;
  }

  #pageSize(): number {
    return this.#options.pageSize ?? 10;
  }

  #json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  #error(res: ServerResponse, status: number, code: string, message: string): void {
    this.#json(res, status, { error: { code, message, innerError: { 'request-id': randomUUID() } } });
  }
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

/**
 * sendMail's body decoded as it arrives, 4 characters of base64 to 3 bytes, the 0–3 characters that do not fill a
 * group carried to the next read; or what is wrong with it. Graph takes only one block of base64 (padding at its
 * very end), and the body must be as long as its Content-Length said.
 */
async function decodeBase64Body(req: IncomingMessage, record: RecordedRequest): Promise<Buffer | string> {
  const parts: Buffer[] = [];
  let carry = '';
  let padded = false;
  // The whole body is read even once it is known to be wrong, so that the answer reaches a client still sending.
  let problem: string | null = null;
  for await (const chunk of req) {
    const text = (chunk as Buffer).toString('latin1');
    record.body += text;
    record.bodyBytes += text.length;
    record.bodyReads += 1;
    if (problem) continue;
    if (!/^[A-Za-z0-9+/=]*$/.test(text)) problem = 'the body is not base64';
    else if (padded && text.length > 0) problem = 'base64 goes on after its padding';
    if (problem) continue;
    const all = carry + text;
    const whole = all.length - (all.length % 4);
    const groups = all.slice(0, whole);
    if (/=[^=]|=.*=.*=/.test(groups)) problem = 'padding inside the base64';
    if (groups.includes('=')) padded = true;
    parts.push(Buffer.from(groups, 'base64'));
    carry = all.slice(whole);
  }
  if (problem) return problem;
  if (carry.length > 0) return `the base64 ends with ${carry.length} character(s) that do not fill a group`;
  if (record.contentLength !== null && record.bodyBytes !== record.contentLength)
    return `the body has ${record.bodyBytes} bytes, Content-Length said ${record.contentLength}`;
  return Buffer.concat(parts);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** mulberry32: small, seeded, good enough to make fault patterns repeatable. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
