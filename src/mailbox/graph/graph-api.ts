import type { TokenCredential } from '@azure/identity';
import {
  Client,
  ResponseType,
  RetryHandlerOptions,
  type AuthenticationProvider,
  type FetchOptions,
  type GraphRequest,
} from '@microsoft/microsoft-graph-client';
import { graphScope } from './graph-credential.ts';
import { GraphRequestError, toGraphRequestError } from './graph-error.ts';
import { Semaphore } from '../../domain/semaphore.ts';

export const defaultGraphBaseUrl = 'https://graph.microsoft.com/v1.0';

export interface GraphApiOptions {
  credential: TokenCredential;
  /** Graph root including the version; default https://graph.microsoft.com/v1.0 (a stand-in in tests). */
  baseUrl?: string | null;
  /** Passed to every fetch, e.g. `{ dispatcher }` trusting a test certificate. Default none. */
  fetchOptions?: FetchOptions;
  /** Requests in flight at once for this mailbox; default 4 (the Exchange Online limit). */
  maxConcurrent?: number;
  /** Time limit of one request, token acquisition included; default 30 s. */
  timeoutMs?: number;
  /**
   * Longest wait inside one call: between two attempts, or for the throttling gate before one; default 30 s.
   * A longer Retry-After is never shortened: the call fails as throttled and its caller schedules it.
   */
  maxRetryWaitMs?: number;
}

export interface GraphCall {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to the base URL (`/users/…`), or an absolute link Graph returned (`@odata.nextLink`). */
  path: string;
  /** Names the operation in errors and logs; no secrets. */
  what: string;
  body?: unknown;
  /**
   * A body sent as a stream of known length instead of `body` (sendMail's base64 MIME): `open` gives a fresh
   * stream for each attempt, so that nothing is held in memory beyond the chunk being sent. The request carries
   * `Content-Length: length`; a stream that ends short or runs over fails the request.
   */
  stream?: { length: number; open: () => ReadableStream<Uint8Array> };
  contentType?: string;
  /** `bytes` returns a Buffer (raw MIME); default `json`. */
  responseType?: 'json' | 'bytes';
  /**
   * Further attempts after a throttled or transient failure, honouring Retry-After; default 0.
   * Keep 0 for calls that must not repeat (sendMail) and where a caller retries anyway (the intake worker).
   */
  retries?: number;
  signal?: AbortSignal;
  /** Time limit of one request; also the longest this call waits for the throttling gate. */
  timeoutMs?: number;
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Answers with HTTP 429 so far, over every mailbox of the process: /metrics counts per process. */
let throttledResponses = 0;

export function graphThrottledResponses(): number {
  return throttledResponses;
}

/**
 * Every Graph request goes through here: one concurrency slot per request, a timeout, the immutable-id preference,
 * the client's own retry switched off (this class or the caller decides), and errors translated to GraphRequestError.
 *
 * Graph throttles per app and mailbox, so a Retry-After on any answer closes a gate for every later request of
 * this instance (one instance serves one mailbox): nothing is sent before the time Graph asked for.
 */
export class GraphApi {
  readonly #client: Client;
  readonly #semaphore: Semaphore;
  readonly #timeoutMs: number;
  readonly #maxRetryWaitMs: number;
  #requests = 0;
  /** Epoch ms before which no request goes out (the latest Retry-After seen). */
  #notBefore = 0;

  constructor(options: GraphApiOptions) {
    const base = new URL(options.baseUrl ?? defaultGraphBaseUrl);
    const authProvider: AuthenticationProvider = {
      getAccessToken: async () => {
        const token = await options.credential.getToken(graphScope);
        if (!token) throw new Error('the credential returned no token for Microsoft Graph');
        return token.token;
      },
    };
    this.#client = Client.initWithMiddleware({
      authProvider,
      baseUrl: base.origin,
      defaultVersion: base.pathname.replace(/^\/+|\/+$/g, ''),
      // The client only sends the Authorization header to Graph hosts and these; a stand-in host must be listed.
      customHosts: new Set([base.hostname]),
      ...(options.fetchOptions ? { fetchOptions: options.fetchOptions } : {}),
    });
    this.#semaphore = new Semaphore(options.maxConcurrent ?? 4);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxRetryWaitMs = options.maxRetryWaitMs ?? 30_000;
  }

  /** Requests sent so far (every attempt counts), for benchmarks and status. */
  get requestCount(): number {
    return this.#requests;
  }

  async call<T>(call: GraphCall): Promise<T> {
    const retries = call.retries ?? 0;
    const gateWaitMs = Math.min(this.#maxRetryWaitMs, call.timeoutMs ?? this.#timeoutMs);
    let earliest = 0;
    for (let attempt = 0; ; attempt += 1) {
      const deadline = Math.max(earliest, Date.now() + gateWaitMs);
      const result = await this.#whenOpen<T>(call, earliest, deadline);
      if (result.ok) return result.value;
      const failure = toGraphRequestError(result.error, call.what);
      if (failure.status === 429) throttledResponses += 1;
      if (failure.retryAfterMs !== null) this.#holdUntil(Date.now() + failure.retryAfterMs);
      if (!failure.retryable || attempt >= retries || call.signal?.aborted) throw failure;
      // Retrying sooner than asked is what gets an app throttled harder: the caller schedules the longer wait.
      if (failure.retryAfterMs !== null && failure.retryAfterMs > this.#maxRetryWaitMs) throw failure;
      const backoff = Math.min(500 * 2 ** attempt, this.#maxRetryWaitMs);
      earliest = Date.now() + (failure.retryAfterMs ?? backoff);
    }
  }

  #holdUntil(at: number): void {
    this.#notBefore = Math.max(this.#notBefore, at);
  }

  /**
   * Sends one attempt once `earliest` has passed and the gate is open, waiting outside the concurrency slot so
   * that a waiting call holds no slot. Throws (throttled, with the remaining wait) instead of waiting past
   * `deadline`, and when the call's signal aborts the wait; the request's own failure is returned, not thrown.
   */
  async #whenOpen<T>(call: GraphCall, earliest: number, deadline: number): Promise<Attempt<T>> {
    for (;;) {
      if (this.#notBefore > deadline) throw this.#heldBack(call);
      const waitMs = Math.max(earliest, this.#notBefore) - Date.now();
      if (waitMs > 0) {
        await sleep(waitMs, call.signal).catch((error: unknown) => {
          throw toGraphRequestError(error, call.what);
        });
        continue; // the gate may have moved meanwhile, and timers may fire a millisecond early
      }
      const attempt = await this.#semaphore.run(async (): Promise<Attempt<T> | null> => {
        // Another answer closed the gate while this call waited for a slot.
        if (this.#notBefore > Date.now()) return null;
        try {
          return { ok: true, value: await this.#once<T>(call) };
        } catch (error) {
          return { ok: false, error };
        }
      });
      if (attempt) return attempt;
    }
  }

  #heldBack(call: GraphCall): GraphRequestError {
    const retryAfterMs = Math.max(0, this.#notBefore - Date.now());
    return new GraphRequestError(
      'throttled',
      `Graph ${call.what} held back: Microsoft Graph asked to wait ${Math.ceil(retryAfterMs / 1000)} s more`,
      { status: null, code: null, retryAfterMs, cause: null },
    );
  }

  async #once<T>(call: GraphCall): Promise<T> {
    this.#requests += 1;
    const timeout = AbortSignal.timeout(call.timeoutMs ?? this.#timeoutMs);
    const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
    let request: GraphRequest = this.#client
      .api(call.path)
      // Without it, message ids change when a message moves between folders.
      .header('Prefer', 'IdType="ImmutableId"')
      .option('signal', signal)
      // The built-in retry handler would also repeat POSTs (a sendMail twice); retries are decided in `call`.
      .middlewareOptions([new RetryHandlerOptions(0, 0)]);
    if (call.contentType) request = request.header('Content-Type', call.contentType);
    if (call.stream) {
      // The client sends a request option named `body` in place of the content it serialises (which takes no
      // stream); fetch streams it with the length given, instead of in chunked transfer encoding.
      request = request
        .header('Content-Length', String(call.stream.length))
        .option('body', call.stream.open())
        .option('duplex', 'half');
    }
    // Raw for bytes: with ARRAYBUFFER the client drops the status headers (Retry-After) and error code of a failure.
    if (call.responseType === 'bytes') request = request.responseType(ResponseType.RAW);
    // The signal aborts the fetch; the race also bounds token acquisition, which the signal does not reach.
    const result = await raceAbort(send(request, call), signal);
    if (call.responseType !== 'bytes') return result as T;
    const response = result as Response;
    if (!response.ok) throw await failedResponse(response);
    return Buffer.from(await raceAbort(response.arrayBuffer(), signal)) as T;
  }
}

function send(request: GraphRequest, call: GraphCall): Promise<unknown> {
  switch (call.method) {
    case 'GET':
      return request.get();
    case 'POST':
      return request.post(call.stream ? undefined : call.body);
    case 'PATCH':
      return request.patch(call.stream ? undefined : call.body);
    case 'DELETE':
      return request.delete();
  }
}

/** The shape of the client's GraphError, built from a raw response. */
async function failedResponse(
  response: Response,
): Promise<{ statusCode: number; code: string | null; headers: Headers }> {
  let code: string | null = null;
  try {
    const body = (await response.json()) as { error?: { code?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
  } catch {
    // Not JSON: the status says enough.
  }
  return { statusCode: response.status, code, headers: response.headers };
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Encodes one path segment (a mailbox UPN, a message id) for a Graph URL. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
