import type { TokenCredential } from '@azure/identity';
import { StoreOpenError } from '../crm-store.ts';
import type { EntraAuthentication } from './entra-credential.ts';
import type { MssqlPoolConfig } from './mssql-driver.ts';

/** How the connector signs in: SQL Server's own login, or Microsoft Entra ID. */
export type SqlServerAuthentication =
  { kind: 'sql-login'; user: string; password: string } | EntraAuthentication;

/** Everything needed to reach one database, read from DATABASE_URL. Frozen. */
export interface SqlServerSettings {
  /** Host name or address. */
  readonly server: string;
  /** TCP port; null with a named instance (found through the SQL Server Browser). Default 1433. */
  readonly port: number | null;
  readonly instanceName: string | null;
  readonly database: string;
  readonly authentication: SqlServerAuthentication;
  /** TLS: true (default), false, or `strict` (TDS 8.0, TLS before anything else). */
  readonly encrypt: boolean | 'strict';
  /** Accept any server certificate. Default false; only when the connection string says so. */
  readonly trustServerCertificate: boolean;
  /** Opening one connection (TCP, TLS, login), in ms. Default 15 000, and never more. */
  readonly connectTimeoutMs: number;
  /** One statement, in ms. Default 30 000. */
  readonly requestTimeoutMs: number;
  /** Connections kept open at most. Default 10. */
  readonly poolMax: number;
  /** Connections kept open at least. Default 0. */
  readonly poolMin: number;
  /** An idle connection is closed after this, in ms. Default 30 000. */
  readonly poolIdleMs: number;
  /** Shown in the server's session list. Default `email-connector`. */
  readonly applicationName: string;
  readonly multiSubnetFailover: boolean;
}

const defaultPort = 1433;
const maxConnectTimeoutMs = 15_000;

/** Whether DATABASE_URL names SQL Server: `mssql://`, `sqlserver://`, or an ADO-style `Server=…;…` string. */
export function isSqlServerUrl(value: string): boolean {
  const text = value.trim();
  return /^(mssql|sqlserver):\/\//i.test(text) || adoServerKey.test(text);
}

const adoServerKey = /(^|;)\s*(server|data\s*source|address|addr|network\s*address)\s*=/i;

/** The server as messages name it: `host:port` or `host\instance`. Never anything secret. */
export function describeServer(
  settings: Pick<SqlServerSettings, 'server' | 'port' | 'instanceName'>,
): string {
  if (settings.port !== null) return `${settings.server}:${settings.port}`;
  return `${settings.server}\\${settings.instanceName ?? ''}`;
}

/** A connection string that cannot be used. The message names the key at fault, never a value. */
function refuse(problem: string): never {
  throw new StoreOpenError(`SQL Server connection string: ${problem}`);
}

/** Case, spaces, dashes and underscores do not matter in keys: `User Id`, `userId` and `user_id` are one. */
const normaliseKey = (key: string): string => key.toLowerCase().replace(/[\s_-]/g, '');

/** Every key understood, by normalised spelling. */
const keyNames: Readonly<Record<string, string>> = {
  server: 'server',
  datasource: 'server',
  address: 'server',
  addr: 'server',
  networkaddress: 'server',
  servername: 'server',
  database: 'database',
  initialcatalog: 'database',
  databasename: 'database',
  userid: 'user',
  uid: 'user',
  user: 'user',
  username: 'user',
  password: 'password',
  pwd: 'password',
  authentication: 'authentication',
  encrypt: 'encrypt',
  trustservercertificate: 'trustServerCertificate',
  connecttimeout: 'connectTimeout',
  connectiontimeout: 'connectTimeout',
  timeout: 'connectTimeout',
  logintimeout: 'connectTimeout',
  commandtimeout: 'commandTimeout',
  maxpoolsize: 'maxPoolSize',
  minpoolsize: 'minPoolSize',
  poolidletimeout: 'poolIdleTimeout',
  applicationname: 'applicationName',
  app: 'applicationName',
  tenantid: 'tenantId',
  clientid: 'clientId',
  instancename: 'instanceName',
  port: 'port',
  portnumber: 'port',
  multisubnetfailover: 'multiSubnetFailover',
};

/** Keys of ADO.NET and JDBC strings that change nothing here (the driver pools itself, one result set at a time). */
const ignoredKeys = new Set([
  'persistsecurityinfo',
  'multipleactiveresultsets',
  'pooling',
  'packetsize',
  'workstationid',
  'wsid',
  'applicationintent',
  'connectretrycount',
  'connectretryinterval',
  'loadbalancetimeout',
  'connectionlifetime',
  'enlist',
  'transactionbinding',
  'typesystemversion',
  'currentlanguage',
  'language',
  'poolblockingperiod',
  'ipaddresspreference',
  'sendstringparametersasunicode',
  'hostnameincertificate',
  'servercertificate',
]);

/** Keys a connection string may carry that this connector cannot honour; each says why. */
const refusedKeys: Readonly<Record<string, string>> = {
  integratedsecurity:
    'Windows authentication (Integrated Security) is not supported: use a SQL login or Microsoft Entra ID',
  trustedconnection:
    'Windows authentication (Trusted_Connection) is not supported: use a SQL login or Microsoft Entra ID',
  attachdbfilename: 'AttachDbFilename is not supported: name a database on a server',
  userinstance: 'User Instance is not supported: name a database on a server',
  failoverpartner:
    'Failover Partner (database mirroring) is not supported: use an availability group listener',
  columnencryptionsetting: 'Always Encrypted is not supported',
};

/** Key → value, and for each key the position of its part in the string (messages name that, never the text). */
type Pairs = Map<string, string> & { parts?: Map<string, number> };

const partHelp = 'write key=value parts separated by ; and quote a value that holds ; or = (Password="…")';

/**
 * The key=value pairs of an ADO.NET (or JDBC property) string. Values may be quoted with `"` or `'` (a doubled
 * quote stands for itself) or braced with `{}` (`}}` stands for `}`), so a password may hold `;` or `=`.
 */
export function parseKeyValuePairs(text: string): Pairs {
  const pairs: Pairs = new Map();
  pairs.parts = new Map();
  let at = 0;
  let part = 0;
  const skipSpace = (): void => {
    while (at < text.length && /\s/.test(text[at]!)) at += 1;
  };
  while (at < text.length) {
    skipSpace();
    if (text[at] === ';') {
      at += 1;
      continue;
    }
    if (at >= text.length) break;
    part += 1;
    let key = '';
    for (;;) {
      if (at >= text.length) refuse(`part ${part} has no "=" (${partHelp})`);
      const char = text[at]!;
      if (char === '=' && text[at + 1] === '=') {
        key += '=';
        at += 2;
      } else if (char === '=') {
        at += 1;
        break;
      } else if (char === ';') {
        refuse(`part ${part} has no "=" (${partHelp})`);
      } else {
        key += char;
        at += 1;
      }
    }
    const name = key.trim();
    if (!name) refuse(`part ${part} has no key (${partHelp})`);
    skipSpace();
    let value = '';
    const open = text[at];
    if (open === '"' || open === "'" || open === '{') {
      const close = open === '{' ? '}' : open;
      at += 1;
      for (;;) {
        if (at >= text.length) refuse(`the value in part ${part} opens a quote that is never closed`);
        const char = text[at]!;
        if (char === close && text[at + 1] === close) {
          value += close;
          at += 2;
        } else if (char === close) {
          at += 1;
          break;
        } else {
          value += char;
          at += 1;
        }
      }
      skipSpace();
      if (at < text.length && text[at] !== ';')
        refuse(`the value in part ${part} goes on after its closing quote`);
    } else {
      const end = text.indexOf(';', at);
      value = (end < 0 ? text.slice(at) : text.slice(at, end)).trim();
      at = end < 0 ? text.length : end;
    }
    pairs.set(name, value);
    pairs.parts.set(name, part);
  }
  return pairs;
}

/** The pairs an `mssql://` or `sqlserver://host/db?…` URL stands for. */
function pairsOfUrl(text: string): Pairs {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    refuse(
      'not a valid URL (mssql://user:password@host:port/database?options; encode special characters in the password with %XX)',
    );
  }
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      refuse(`the ${what} holds a % that is not followed by two hex digits`);
    }
  };
  const pairs: Pairs = new Map();
  if (!url.hostname) refuse('the URL names no host (mssql://user:password@host:port/database)');
  pairs.set('server', url.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (url.port) pairs.set('port', url.port);
  if (url.username) pairs.set('user', decode(url.username, 'user name'));
  if (url.password) pairs.set('password', decode(url.password, 'password'));
  const database = decode(url.pathname.replace(/^\//, ''), 'database name');
  if (database) pairs.set('database', database);
  for (const [key, value] of url.searchParams) pairs.set(key, value);
  return pairs;
}

/** The pairs of a JDBC-style `sqlserver://host[\instance][:port];key=value;…` string. */
function pairsOfJdbc(text: string): Pairs {
  const rest = text.replace(/^sqlserver:\/\//i, '');
  const semicolon = rest.indexOf(';');
  const head = semicolon < 0 ? rest : rest.slice(0, semicolon);
  const pairs = parseKeyValuePairs(semicolon < 0 ? '' : rest.slice(semicolon + 1));
  const match = /^([^\\:]*)(?:\\([^:]+))?(?::(\d+))?$/.exec(head.trim());
  if (!match) refuse('write sqlserver://host[\\instance][:port];database=…;user=…;password=…');
  if (match[1]) pairs.set('server', match[1]);
  if (match[2]) pairs.set('instanceName', match[2]);
  if (match[3]) pairs.set('port', match[3]);
  return pairs;
}

/** The pairs of any accepted form, keyed by our names. */
function readPairs(text: string): Map<string, string> {
  const raw = /^mssql:\/\//i.test(text)
    ? pairsOfUrl(text)
    : /^sqlserver:\/\/[^;@/]*;/i.test(text)
      ? pairsOfJdbc(text)
      : /^sqlserver:\/\//i.test(text)
        ? pairsOfUrl(text.replace(/^sqlserver:/i, 'mssql:'))
        : parseKeyValuePairs(text);
  const named = new Map<string, string>();
  for (const [key, value] of raw) {
    const normalised = normaliseKey(key);
    const refusal = refusedKeys[normalised];
    if (refusal && !/^(false|no|0|disabled)$/i.test(value.trim())) refuse(refusal);
    if (refusal || ignoredKeys.has(normalised)) continue;
    const name = keyNames[normalised];
    if (!name) {
      // The key is not named: with a password that holds an unquoted ;, it would be a piece of the password.
      const part = raw.parts?.get(key);
      refuse(
        `unknown key${part ? ` in part ${part}` : ''} (known: Server, Database, User Id, Password, Authentication, Encrypt, TrustServerCertificate, Connect Timeout, Command Timeout, Max Pool Size, Min Pool Size, Application Name, Tenant Id, Client Id; ${partHelp})`,
      );
    }
    named.set(name, value);
  }
  return named;
}

const truthy = /^(true|yes|1|on|mandatory)$/i;
const falsy = /^(false|no|0|off|optional)$/i;

function flag(pairs: Map<string, string>, name: string, fallback: boolean): boolean {
  const value = pairs.get(name)?.trim();
  if (value === undefined || value === '') return fallback;
  if (truthy.test(value)) return true;
  if (falsy.test(value)) return false;
  return refuse(`${name} must be true or false`);
}

function whole(pairs: Map<string, string>, name: string, min: number, max: number): number | null {
  const value = pairs.get(name)?.trim();
  if (value === undefined || value === '') return null;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
    refuse(`${name} must be a whole number from ${min} to ${max}`);
  return Number(value);
}

/** `tcp:host,1433`, `host\instance`, `host,port`, `.` and `(local)`: the host, port and instance they name. */
function readServer(value: string): { server: string; port: number | null; instanceName: string | null } {
  let text = value.trim();
  if (/^(np|lpc|admin):/i.test(text)) refuse('only TCP is supported: write Server=tcp:host,port');
  text = text.replace(/^tcp:/i, '');
  if (/^\(localdb\)/i.test(text))
    refuse('LocalDB is not supported (it needs named pipes): use a SQL Server on TCP');
  let port: number | null = null;
  const comma = text.lastIndexOf(',');
  if (comma >= 0) {
    const digits = text.slice(comma + 1).trim();
    if (!/^\d+$/.test(digits) || Number(digits) < 1 || Number(digits) > 65_535)
      refuse('the port after the comma in Server must be a number from 1 to 65535');
    port = Number(digits);
    text = text.slice(0, comma).trim();
  }
  let instanceName: string | null = null;
  const backslash = text.indexOf('\\');
  if (backslash >= 0) {
    instanceName = text.slice(backslash + 1).trim() || null;
    text = text.slice(0, backslash).trim();
  }
  if (text === '.' || /^\(local\)$/i.test(text)) text = 'localhost';
  if (!text) refuse('Server names no host');
  return { server: text, port, instanceName };
}

/** Normalised `Authentication` values (and tedious's names, for URLs written for it) → our kinds. */
const authenticationKinds: Readonly<Record<string, SqlServerAuthentication['kind']>> = {
  sqlpassword: 'sql-login',
  sql: 'sql-login',
  default: 'sql-login',
  activedirectorydefault: 'default-credential',
  azureactivedirectorydefault: 'default-credential',
  activedirectorymanagedidentity: 'managed-identity',
  activedirectorymsi: 'managed-identity',
  azureactivedirectorymsiappservice: 'managed-identity',
  azureactivedirectorymsivm: 'managed-identity',
  activedirectoryserviceprincipal: 'service-principal',
  azureactivedirectoryserviceprincipalsecret: 'service-principal',
};

function readAuthentication(
  pairs: Map<string, string>,
  env: Readonly<Record<string, string | undefined>>,
): SqlServerAuthentication {
  const written = pairs.get('authentication')?.trim() ?? '';
  const user = pairs.get('user')?.trim() || null;
  const password = pairs.get('password') ?? null;
  const clientId = pairs.get('clientId')?.trim() || null;
  const kind = written
    ? authenticationKinds[written.toLowerCase().replace(/[^a-z]/g, '')]
    : user
      ? 'sql-login'
      : undefined;
  if (!kind) {
    return written
      ? refuse(
          'Authentication must be SqlPassword, Active Directory Default, Active Directory Managed Identity or Active Directory Service Principal',
        )
      : refuse(
          'no credentials: give User Id and Password (a SQL login), or Authentication=Active Directory Default, Active Directory Managed Identity or Active Directory Service Principal (Microsoft Entra ID)',
        );
  }
  switch (kind) {
    case 'sql-login':
      if (!user || password === null) refuse('a SQL login needs both User Id and Password');
      return { kind, user, password };
    case 'managed-identity':
      // As in SqlClient: a user-assigned identity is named by its client id in User Id.
      return { kind, clientId: user ?? clientId };
    case 'default-credential':
      return { kind, managedIdentityClientId: user ?? clientId };
    case 'service-principal': {
      const tenantId = pairs.get('tenantId')?.trim() || env.AZURE_TENANT_ID?.trim() || null;
      const id = user ?? clientId ?? (env.AZURE_CLIENT_ID?.trim() || null);
      const secret = password ?? (env.AZURE_CLIENT_SECRET || null);
      const missing = [
        tenantId ? null : 'a tenant id (Tenant Id=… or AZURE_TENANT_ID)',
        id ? null : 'a client id (User Id=… or AZURE_CLIENT_ID)',
        secret ? null : 'a client secret (Password=… or AZURE_CLIENT_SECRET)',
      ].filter((item): item is string => item !== null);
      if (missing.length > 0 || !tenantId || !id || !secret)
        return refuse(`a service principal needs ${missing.join(', ')}`);
      return { kind, tenantId, clientId: id, clientSecret: secret };
    }
  }
}

/**
 * Reads DATABASE_URL in any accepted form: `mssql://user:password@host:port/database?key=value`,
 * `sqlserver://` (the same, or JDBC's `sqlserver://host:port;database=…`), or ADO.NET's
 * `Server=tcp:host,1433;Database=…;User Id=…;Password=…`. Keys are the ADO.NET ones in any spelling; the service
 * principal's tenant, client id and secret may come from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET.
 * Throws StoreOpenError naming what is wrong, never a value.
 */
export function parseSqlServerUrl(
  value: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SqlServerSettings {
  const pairs = readPairs(value.trim());
  const serverText = pairs.get('server');
  if (!serverText)
    refuse('no server: add Server=tcp:host,1433 (or use mssql://user:password@host:port/database)');
  const server = readServer(serverText);
  const port = whole(pairs, 'port', 1, 65_535) ?? server.port;
  const instanceName = pairs.get('instanceName')?.trim() || server.instanceName;
  const database = pairs.get('database')?.trim();
  if (!database) refuse('no database: add Database=… (or /database after the host in a URL)');
  const encryptText = pairs.get('encrypt')?.trim();
  const connectSeconds = whole(pairs, 'connectTimeout', 0, 86_400);
  const commandSeconds = whole(pairs, 'commandTimeout', 0, 86_400);
  const settings: SqlServerSettings = {
    ...server,
    // A port wins over an instance name: the driver then connects to it without asking the SQL Server Browser.
    port: port ?? (instanceName ? null : defaultPort),
    instanceName: port === null ? instanceName : null,
    database,
    authentication: readAuthentication(pairs, env),
    encrypt: encryptText && /^strict$/i.test(encryptText) ? 'strict' : flag(pairs, 'encrypt', true),
    trustServerCertificate: flag(pairs, 'trustServerCertificate', false),
    // 0 means "wait for ever" in ADO.NET; a start-up that hangs helps nobody, so 15 s is the ceiling.
    connectTimeoutMs:
      connectSeconds === null || connectSeconds === 0
        ? maxConnectTimeoutMs
        : Math.min(connectSeconds * 1000, maxConnectTimeoutMs),
    requestTimeoutMs: commandSeconds === null ? 30_000 : commandSeconds * 1000,
    poolMax: whole(pairs, 'maxPoolSize', 1, 1000) ?? 10,
    poolMin: whole(pairs, 'minPoolSize', 0, 1000) ?? 0,
    poolIdleMs: (whole(pairs, 'poolIdleTimeout', 1, 86_400) ?? 30) * 1000,
    applicationName: pairs.get('applicationName')?.trim() || 'email-connector',
    multiSubnetFailover: flag(pairs, 'multiSubnetFailover', false),
  };
  if (settings.poolMin > settings.poolMax) refuse('Min Pool Size must not exceed Max Pool Size');
  return Object.freeze(settings);
}

/** The secrets a settings object holds, so that no message can carry them by accident. */
export function secretsOf(settings: SqlServerSettings): string[] {
  const { authentication } = settings;
  if (authentication.kind === 'sql-login') return [authentication.password].filter(Boolean);
  if (authentication.kind === 'service-principal') return [authentication.clientSecret].filter(Boolean);
  return [];
}

/** The driver's configuration: a pool of encrypted connections, each statement bounded in time. */
export function toPoolConfig(
  settings: SqlServerSettings,
  credential: TokenCredential | null,
): MssqlPoolConfig {
  const { authentication } = settings;
  if (authentication.kind !== 'sql-login' && !credential)
    throw new Error('Microsoft Entra sign-in needs a credential');
  return {
    server: settings.server,
    ...(settings.port !== null ? { port: settings.port } : {}),
    database: settings.database,
    authentication:
      authentication.kind === 'sql-login'
        ? { type: 'default', options: { userName: authentication.user, password: authentication.password } }
        : { type: 'token-credential', options: { credential: credential! } },
    connectionTimeout: settings.connectTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    pool: {
      max: settings.poolMax,
      min: settings.poolMin,
      idleTimeoutMillis: settings.poolIdleMs,
      // Waiting for a free connection (or a new one) is bounded too: a statement's time plus a connection's.
      acquireTimeoutMillis: settings.connectTimeoutMs + settings.requestTimeoutMs,
    },
    options: {
      encrypt: settings.encrypt,
      trustServerCertificate: settings.trustServerCertificate,
      ...(settings.instanceName ? { instanceName: settings.instanceName } : {}),
      appName: settings.applicationName,
      useUTC: true,
      abortTransactionOnError: true,
      multiSubnetFailover: settings.multiSubnetFailover,
    },
  };
}
