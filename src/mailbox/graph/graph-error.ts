import { MailboxError, type MailboxErrorKind } from '../mailbox-error.ts';

/** A failed Graph call: a MailboxError that also keeps the HTTP status and Graph error code for callers that care. */
export class GraphRequestError extends MailboxError {
  override name = 'GraphRequestError';
  /** HTTP status, or null when no response arrived (timeout, network). */
  readonly status: number | null;
  /** Graph's error code, e.g. `syncStateNotFound`, `ErrorFolderExists`. */
  readonly code: string | null;

  constructor(
    kind: MailboxErrorKind,
    message: string,
    details: { status: number | null; code: string | null; retryAfterMs?: number; cause: unknown },
  ) {
    super(kind, message, {
      cause: details.cause,
      ...(details.retryAfterMs === undefined ? {} : { retryAfterMs: details.retryAfterMs }),
    });
    this.status = details.status;
    this.code = details.code;
  }
}

interface GraphErrorLike {
  statusCode?: unknown;
  code?: unknown;
  message?: unknown;
  headers?: { get(name: string): string | null } | undefined;
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function kindOf(status: number | null): MailboxErrorKind {
  if (status === null) return 'transient';
  if (status === 429) return 'throttled';
  if (status === 502 || status === 503 || status === 504) return 'transient';
  if (status === 404) return 'not-found';
  if (status === 401 || status === 403) return 'forbidden';
  return 'permanent';
}

/**
 * Translates whatever the Graph client threw into a GraphRequestError. `what` names the operation for the message;
 * it must not contain secrets (ids and folder names are fine).
 */
export function toGraphRequestError(error: unknown, what: string): GraphRequestError {
  if (error instanceof GraphRequestError) return error;
  const like = (typeof error === 'object' && error !== null ? error : {}) as GraphErrorLike;
  const rawStatus = typeof like.statusCode === 'number' ? like.statusCode : null;
  // The client reports "no response" (network error, abort, timeout) as statusCode -1.
  const status = rawStatus !== null && rawStatus > 0 ? rawStatus : null;
  const code = typeof like.code === 'string' && like.code !== '' ? like.code : null;
  const kind = kindOf(status);
  // Graph sends Retry-After with 429 and with 503 (and may with other answers): whatever carries it is honoured.
  const retryAfterMs = status === null ? undefined : parseRetryAfter(like.headers?.get('retry-after'));
  const name = error instanceof Error ? error.name : null;
  const reason =
    status === null
      ? `no response (${code ?? name ?? 'unknown'})`
      : `HTTP ${status}${code ? ` ${code}` : ''}`;
  return new GraphRequestError(kind, `Graph ${what} failed: ${reason}`, {
    status,
    code,
    cause: error,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}
