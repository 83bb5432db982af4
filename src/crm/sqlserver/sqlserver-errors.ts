import { StoreError, type StoreErrorKind } from '../store-error.ts';

/**
 * SQL Server error numbers worth trying again: a deadlock, a lock timeout, and the faults Azure SQL reports while
 * it moves, scales, pauses or throttles a database (Microsoft's baseline transient list for SqlClient). 18456
 * (login failed) is deliberately absent: during a failover Azure answers 40613, 4060 or 40197 instead, and a
 * login that is refused stays refused until someone fixes it.
 */
export const transientErrorNumbers: ReadonlySet<number> = new Set([
  1204, // no lock resources left
  1205, // chosen as a deadlock victim
  1222, // lock request timed out
  233, // connection broken during login
  64, // the network name is no longer available
  10053, // connection aborted by the host
  10054, // connection reset by the peer
  10060, // connection attempt timed out
  4060, // cannot open the database (Azure: being moved)
  4221, // login to a read secondary failed while it caught up
  10928, // resource limit reached
  10929, // minimum guarantee not available
  40143, // the service could not process the request
  40197, // the service is reconfiguring (failover, upgrade)
  40501, // the service is busy
  40540, // the service could not process the request
  40613, // the database is not currently available
  42108, // a serverless database or pool is resuming
  42109, // a serverless database or pool is paused
  49918, // not enough resources: too many operations
  49919, // too many create or update operations
  49920, // too many operations
]);

/** Driver and socket codes of a lost, refused, closed or timed-out connection. */
const transientCodes: ReadonlySet<string> = new Set([
  'ETIMEOUT',
  'ESOCKET',
  'ECONNRESET',
  'ECONNCLOSED',
  'ECLOSE',
  'ENOTOPEN',
  'EINSTLOOKUP',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

const driverErrorNames = new Set([
  'ConnectionError',
  'RequestError',
  'TransactionError',
  'PreparedStatementError',
  'MSSQLError',
  // tarn, the driver's pool, when no connection could be had in time.
  'TimeoutError',
]);

interface ErrorFacts {
  codes: string[];
  numbers: number[];
  messages: string[];
}

/** Every code, SQL error number and message along the error's chain (cause, originalError, AggregateError). */
function factsOf(error: unknown): ErrorFacts {
  const facts: ErrorFacts = { codes: [], numbers: [], messages: [] };
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (!value || typeof value !== 'object' || seen.has(value) || depth > 8) return;
    seen.add(value);
    const record = value as {
      code?: unknown;
      number?: unknown;
      message?: unknown;
      originalError?: unknown;
      cause?: unknown;
      errors?: unknown;
      precedingErrors?: unknown;
    };
    if (typeof record.code === 'string') facts.codes.push(record.code);
    if (typeof record.number === 'number') facts.numbers.push(record.number);
    if (typeof record.message === 'string' && record.message) facts.messages.push(record.message);
    visit(record.originalError, depth + 1);
    visit(record.cause, depth + 1);
    for (const list of [record.errors, record.precedingErrors])
      if (Array.isArray(list)) for (const inner of list) visit(inner, depth + 1);
  };
  visit(error, 0);
  return facts;
}

/** Whether the error came from the driver (anything else is ours and keeps its meaning). */
export function isDriverError(error: unknown): boolean {
  return error instanceof Error && driverErrorNames.has(error.name);
}

/** What the caller should do about a driver error: try again later, or not. */
export function sqlServerErrorKind(error: unknown): StoreErrorKind {
  const { codes, numbers } = factsOf(error);
  if (numbers.some((number) => transientErrorNumbers.has(number))) return 'transient';
  // A statement the server refused (a constraint, a type, a permission): the same again fails the same way.
  if (numbers.length > 0) return 'permanent';
  if (codes.some((code) => transientCodes.has(code))) return 'transient';
  if (error instanceof Error && error.name === 'TimeoutError') return 'transient';
  return 'permanent';
}

/** Shorter secrets are left alone: replacing every `p` of a message would garble it and hide nothing. */
const redactableLength = 6;

/** The text with every secret replaced: driver and identity messages should not hold one, but must not. */
function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce(
    (result, secret) =>
      secret.length >= redactableLength ? result.split(secret).join('[redacted]') : result,
    text,
  );
}

const firstLine = (text: string): string => {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
};

const tlsCodes =
  /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_.*)$/;

/**
 * One line saying why a connection to the server could not be opened, naming the server and the cause and
 * never a secret: "cannot reach SQL Server db.example:1433: connection refused (ECONNREFUSED)".
 */
export function describeConnectionFailure(
  error: unknown,
  server: string,
  secrets: readonly string[] = [],
): string {
  const { codes, numbers, messages } = factsOf(error);
  const has = (code: string): boolean => codes.includes(code);
  // The outermost message: the driver repeats the server's words there, and adds where it was connecting to.
  const serverSaid = messages[0] ?? String(error);
  const tls = codes.find((code) => tlsCodes.test(code));
  let line: string;
  if (tls)
    line = `cannot connect securely to SQL Server ${server}: its TLS certificate is not trusted (${tls}); install a certificate this machine trusts, or add TrustServerCertificate=true for a server you trust`;
  else if (has('ECONNREFUSED')) line = `cannot reach SQL Server ${server}: connection refused (ECONNREFUSED)`;
  else if (has('ENOTFOUND') || has('EAI_AGAIN'))
    line = `cannot reach SQL Server ${server}: host name not found (${has('ENOTFOUND') ? 'ENOTFOUND' : 'EAI_AGAIN'})`;
  else if (has('EHOSTUNREACH') || has('ENETUNREACH'))
    line = `cannot reach SQL Server ${server}: no route to the host (${has('EHOSTUNREACH') ? 'EHOSTUNREACH' : 'ENETUNREACH'})`;
  else if (has('ECONNRESET'))
    line = `cannot reach SQL Server ${server}: the connection was reset (ECONNRESET)`;
  else if (has('ETIMEOUT') || has('ETIMEDOUT'))
    line = `cannot reach SQL Server ${server}: no answer in time (ETIMEOUT)`;
  else if (has('EINSTLOOKUP'))
    line = `cannot reach SQL Server ${server}: the SQL Server Browser (UDP 1434) did not name the instance's port (EINSTLOOKUP); give the port instead`;
  else if (has('EFEDAUTH'))
    line = `cannot sign in to SQL Server ${server} with Microsoft Entra ID: no token (${firstLine(messages.find((m) => !/Security token could not be authenticated/.test(m)) ?? serverSaid)})`;
  else if (has('ELOGIN') || numbers.includes(18456))
    line = `SQL Server ${server} refused the login: ${firstLine(serverSaid)}`;
  else if (numbers.length > 0)
    line = `cannot open the database on SQL Server ${server}: ${firstLine(serverSaid)} (error ${numbers[0]})`;
  else line = `cannot reach SQL Server ${server}: ${firstLine(serverSaid)}`;
  return redact(line, secrets);
}

/**
 * A driver failure as a StoreError (the driver's error kept as `cause`); anything else unchanged, so that our own
 * errors (a refused import) and programming errors keep their meaning.
 */
export function toStoreError(error: unknown, server: string, secrets: readonly string[] = []): unknown {
  if (error instanceof StoreError || !isDriverError(error)) return error;
  const kind = sqlServerErrorKind(error);
  const { numbers, codes } = factsOf(error);
  const lost = numbers.length === 0 && codes.some((code) => transientCodes.has(code));
  const message = lost
    ? describeConnectionFailure(error, server, secrets)
    : redact(
        `SQL Server ${server}: ${firstLine((error as Error).message)}${numbers.length > 0 ? ` (error ${numbers[0]})` : ''}`,
        secrets,
      );
  return new StoreError(kind, message, { cause: error });
}
