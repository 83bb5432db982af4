import { availableParallelism } from 'node:os';
import { z } from 'zod';

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((value) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(value), {
    message: 'must be true or false',
  })
  .transform((value) => ['true', '1', 'yes', 'on'].includes(value));

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((value) => value >= min && value <= max, { message: `must be between ${min} and ${max}` });

const address = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$|^[^\s@<>]+@localhost$/, 'must be an email address');

const optionalText = z
  .string()
  .trim()
  .transform((value) => value || null);

const databaseUrl = z
  .string()
  .trim()
  .refine(
    (value) =>
      /^sqlite:.+/.test(value) ||
      /^(mssql|sqlserver):\/\/\S/i.test(value) ||
      // An ADO.NET string; crm/sqlserver/connection.ts reads the rest of it when the store opens.
      /(^|;)\s*(server|data\s*source|address|addr|network\s*address)\s*=/i.test(value),
    {
      message:
        'must be sqlite:<path> (e.g. sqlite:data/crm.sqlite), mssql://user:password@host:port/database, sqlserver://… or an ADO.NET string (Server=tcp:host,1433;Database=…;…)',
    },
  );

/** Empty = null; otherwise the value must pass `check`, with `message` naming what is expected. */
const optionalChecked = (check: (value: string) => boolean, message: string) =>
  z
    .string()
    .trim()
    .refine((value) => value === '' || check(value), { message })
    .transform((value) => value || null);

const optionalHttpsUrl = optionalChecked(
  (value) => /^https:\/\/[^\s/]+/.test(value),
  'must be an https:// address',
).transform((value) => value?.replace(/\/+$/, '') ?? null);

/**
 * One mailbox (UPN or object id, as written) or several, comma-separated: then each must be an email address, since
 * each mailbox's answers go out from it. Normalised to the entries joined by commas; `supportMailboxes` splits them.
 */
const supportMailboxList = z
  .string()
  .trim()
  .transform((value, context) => {
    const entries = value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    if (entries.length <= 1) return entries[0] ?? null;
    const seen = new Set<string>();
    for (const entry of entries) {
      const lower = entry.toLowerCase();
      if (!address.safeParse(lower).success)
        context.addIssue({
          code: 'custom',
          message: `with several mailboxes each must be an email address, since answers go out from it: ${entry}`,
        });
      else if (seen.has(lower)) context.addIssue({ code: 'custom', message: `${entry} is listed twice` });
      seen.add(lower);
    }
    return [...seen].join(',');
  });

const optionalAddress = optionalChecked(
  (value) => address.safeParse(value).success,
  'must be an email address',
).transform((value) => value?.toLowerCase() ?? null);

/**
 * Every setting, its default and meaning. `.env.example` lists the same variables; a test keeps them in step.
 * Environments differ only in these values.
 */
export const configSchema = z.object({
  /**
   * Where the CRM lives: `sqlite:<path>` (the embedded database; the path is created on first run), or SQL Server:
   * `mssql://…`, `sqlserver://…` or an ADO.NET string (docs/sql-server.md).
   */
  DATABASE_URL: databaseUrl.prefault('sqlite:data/crm.sqlite'),
  /** The local mailbox folder used when Microsoft Graph is not configured. */
  MAILBOX_DIR: z.string().trim().min(1).prefault('data/mailbox'),
  /** The public support address the connector serves (mail from it is never answered). */
  SUPPORT_ADDRESS: address.prefault('support@msp.example'),
  /** Where undecidable mail, errors and customer replies are forwarded. */
  INTERNAL_SUPPORT_ADDRESS: address.prefault('helpdesk@msp.example'),
  PORT: int(0, 65535).prefault('3000'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).prefault('info'),

  /** JSON file with automated-email rules; empty = none. */
  RULES_FILE: optionalText.prefault(''),
  /** Send new customers an acknowledgment carrying the ticket tag. */
  AUTO_ACK: bool.prefault('true'),
  /** Subject of the acknowledgment; {ticketTag}, {ticketNumber}, {subject}, {accountName} are replaced. */
  ACK_SUBJECT_TEMPLATE: z.string().prefault('{ticketTag} {subject}'),
  /** A text file whose content is the acknowledgment body (same placeholders); empty = built-in text. */
  ACK_BODY_FILE: optionalText.prefault(''),
  /** Text inside the subject tag before the number: `[Ticket#0000042]`. */
  TICKET_TAG_PREFIX: z.string().trim().min(1).max(32).prefault('Ticket#'),
  TICKET_NUMBER_DIGITS: int(3, 12).prefault('7'),
  /** At most this many automatic replies per recipient per hour. */
  AUTO_REPLY_LIMIT_PER_HOUR: int(0, 1000).prefault('5'),
  /** At most this many automatic replies (acknowledgments and XML API responses) per hour in all. */
  AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR: int(0, 100_000).prefault('200'),
  /** Forwards about one sender per hour; past it, one notice per hour replaces them (the mails are kept). */
  FORWARD_LIMIT_PER_SENDER_PER_HOUR: int(1, 10_000).prefault('10'),
  /**
   * What proves that mail from an employee or internal support is genuine (docs/staff-authentication.md):
   * `exchange` (Exchange Online's authentication stamps) or `none` (the From header is believed: the local folder).
   * Empty = `exchange` with Microsoft Graph, `none` with the local folder.
   */
  STAFF_TRUST: z.enum(['', 'exchange', 'none']).prefault(''),
  /** Whether bulk/list mail from a known customer opens a ticket (it never gets an automatic reply). */
  BULK_MAIL_OPENS_TICKET: bool.prefault('true'),
  /**
   * A customer's reply to a closed ticket: `reopen` it, open a `follow-up` ticket linked to it, or only `file` it
   * (filed and forwarded either way). An employee's reply never reopens.
   */
  REPLY_TO_CLOSED_TICKET: z.enum(['reopen', 'follow-up', 'file']).prefault('reopen'),
  /** Ticket statuses that count as closed, comma-separated, any case (the CRM's completed status is 1000). */
  CLOSED_TICKET_STATUSES: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((status) => status.trim().toLowerCase())
        .filter(Boolean),
    )
    .prefault('closed,completed,resolved,1000'),
  /** The status a reopened ticket gets. */
  REOPENED_TICKET_STATUS: z.string().trim().min(1).max(100).prefault('open'),
  /**
   * Mail from a sender no account matches: `forward` to internal support (as the original product does), or
   * `catch-all`: open the ticket under CATCH_ALL_ACCOUNT_ID, flagged, and forward nothing.
   */
  UNKNOWN_SENDERS: z.enum(['forward', 'catch-all']).prefault('forward'),
  /** The account that collects unknown senders' tickets with UNKNOWN_SENDERS=catch-all. */
  CATCH_ALL_ACCOUNT_ID: optionalText.prefault(''),
  /** Machine-made mail that threads to no ticket: `ignore` (recorded only) or `forward` to internal support. */
  UNTHREADED_MACHINE_MAIL: z.enum(['ignore', 'forward']).prefault('ignore'),
  /** Messages larger than this are not parsed: forwarded to internal support with the reason. */
  MAX_MESSAGE_MB: int(1, 1024).prefault('150'),

  /**
   * Messages processed at the same time. 8: while a parse thread reads the next two, others are committed and sent.
   * Messages over 4 MiB take their turn one at a time whatever this is, and Graph requests stay within Graph's 4
   * per mailbox either way (GraphApi queues the rest).
   */
  WORKER_CONCURRENCY: int(1, 64).prefault('8'),
  /**
   * Threads that read (parse) MIME beside the event loop: `auto` is one less than the processors Node may use,
   * at most 4; 0 parses on the event loop itself.
   */
  PARSE_THREADS: z
    .string()
    .trim()
    .regex(/^(auto|\d+)$/, 'must be auto or a whole number')
    .transform((value) =>
      value === 'auto' ? Math.max(0, Math.min(4, availableParallelism() - 1)) : Number(value),
    )
    .refine((value) => value <= 16, { message: 'must be between 0 and 16' })
    .prefault('auto'),
  /** Attempts before a message is quarantined. */
  MAX_ATTEMPTS: int(1, 100).prefault('5'),
  /** First retry delay of a message and of a refused outgoing mail; doubles each attempt (never below Retry-After). */
  RETRY_BASE_MS: int(1, 3_600_000).prefault('2000'),
  /** How long a claimed message is reserved for its worker. */
  LEASE_SECONDS: int(1, 86_400).prefault('300'),
  /** How often the local inbox folder and the queue are polled, in ms. */
  POLL_INTERVAL_MS: int(50, 600_000).prefault('1000'),

  /** Off by default: an open XML API lets anyone who can mail the support address change CRM records. */
  XML_API_ENABLED: bool.prefault('false'),
  /** When set, every XML transaction must carry this password. */
  XML_API_PASSWORD: optionalText.prefault(''),
  /** Explicit opt-in to an XML API without a password (anyone who can mail the support address may change records). */
  XML_API_ALLOW_NO_PASSWORD: bool.prefault('false'),
  /** XML API responses per recipient per hour. */
  XML_API_RESPONSE_LIMIT_PER_HOUR: int(0, 10_000).prefault('60'),
  XML_API_SEND_RESPONSES: bool.prefault('true'),
  /** A copy of every XML API response goes here; empty = none. */
  XML_API_RESPONSE_BCC: optionalAddress.prefault(''),

  GRAPH_TENANT_ID: optionalText.prefault(''),
  GRAPH_CLIENT_ID: optionalText.prefault(''),
  /** managed-identity | client-certificate | client-secret */
  GRAPH_AUTH: z
    .enum(['managed-identity', 'client-certificate', 'client-secret'])
    .prefault('managed-identity'),
  GRAPH_CLIENT_SECRET: optionalText.prefault(''),
  /** PEM file holding the certificate and private key, for client-certificate. */
  GRAPH_CERTIFICATE_PATH: optionalText.prefault(''),
  /** Client id of a user-assigned managed identity; empty = system-assigned. */
  GRAPH_MANAGED_IDENTITY_CLIENT_ID: optionalText.prefault(''),
  /**
   * The support mailbox (UPN or object id), or several support mailboxes, comma-separated (email addresses: each
   * answers its own mail from its own address). Setting it switches the mailbox to Microsoft Graph.
   */
  SUPPORT_MAILBOX: supportMailboxList.prefault(''),
  /** The public HTTPS address Graph calls, e.g. https://connector.azurewebsites.net. */
  PUBLIC_BASE_URL: optionalHttpsUrl.prefault(''),
  /** Secret shared with Graph in every notification (up to 128 characters). */
  GRAPH_CLIENT_STATE: z.string().trim().max(128).prefault(''),
  GRAPH_BASE_URL: optionalHttpsUrl.prefault(''),
  /** How often to run a delta catch-up of the inbox, in seconds. */
  GRAPH_DELTA_INTERVAL_SECONDS: int(10, 86_400).prefault('300'),

  /**
   * Who may open the admin console (docs/admin-console.md): `none` serves it only to requests from this machine
   * (localhost), without sign-in; `entra` asks for a Microsoft Entra ID sign-in and admits only members of
   * ADMIN_ALLOWED_ROLE or ADMIN_ALLOWED_GROUP.
   */
  ADMIN_AUTH: z.enum(['none', 'entra']).prefault('none'),
  /** Directory (tenant) id of the admin console's app registration. */
  ADMIN_TENANT_ID: optionalText.prefault(''),
  /** Application (client) id of the admin console's app registration. */
  ADMIN_CLIENT_ID: optionalText.prefault(''),
  /** Client secret of that app registration (or ADMIN_CERTIFICATE_PATH). */
  ADMIN_CLIENT_SECRET: optionalText.prefault(''),
  /** PEM file with the certificate and private key of that app registration, instead of a secret. */
  ADMIN_CERTIFICATE_PATH: optionalText.prefault(''),
  /** The app role (its value) whose members may sign in. */
  ADMIN_ALLOWED_ROLE: optionalText.prefault(''),
  /** The security group (object id) whose members may sign in. */
  ADMIN_ALLOWED_GROUP: optionalText.prefault(''),
  /** Where Entra ID signs people in; only tests change it. */
  ADMIN_AUTHORITY_HOST: optionalHttpsUrl.prefault('https://login.microsoftonline.com'),
  /** Seals the admin console's session cookies (at least 32 characters); empty = a random key per process. */
  SESSION_SECRET: optionalText.prefault(''),
  /** How long an admin console sign-in lasts, in hours. */
  SESSION_HOURS: int(1, 168).prefault('8'),
  /** Bearer token that /metrics requires from other machines; empty = /metrics answers localhost only. */
  METRICS_TOKEN: optionalText.prefault(''),
  /** Sends traces and logs to Application Insights when set; empty = no telemetry leaves the process. */
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText.prefault(''),
});

export type Config = Readonly<z.output<typeof configSchema>>;

/** Variables whose values never appear in logs or errors. */
export const secretVariables = [
  'DATABASE_URL',
  'XML_API_PASSWORD',
  'GRAPH_CLIENT_SECRET',
  'ADMIN_CLIENT_SECRET',
  'SESSION_SECRET',
  'METRICS_TOKEN',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'GRAPH_CLIENT_STATE',
] as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates the environment; the error names every bad variable (never its value when secret). */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const input: Record<string, string> = {};
  const unresolved: string[] = [];
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    // App Service passes a Key Vault reference it could not resolve through as its literal text.
    if (value?.trim().startsWith('@Microsoft.KeyVault(')) unresolved.push(key);
    else if (value !== undefined && value !== '') input[key] = value;
  }
  if (unresolved.length > 0) {
    throw new ConfigError(
      `invalid configuration:\n  ${unresolved.map((name) => `${name}: unresolved Key Vault reference (check the app's access to the vault)`).join('\n  ')}`,
    );
  }
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = result.data;
  if (config.SUPPORT_MAILBOX) {
    const missing: string[] = [];
    if (!config.PUBLIC_BASE_URL) missing.push('PUBLIC_BASE_URL');
    if (!config.GRAPH_CLIENT_STATE) missing.push('GRAPH_CLIENT_STATE');
    // A managed identity needs neither tenant nor client id; an app registration needs both and its key.
    if (config.GRAPH_AUTH !== 'managed-identity') {
      if (!config.GRAPH_TENANT_ID) missing.push('GRAPH_TENANT_ID');
      if (!config.GRAPH_CLIENT_ID) missing.push('GRAPH_CLIENT_ID');
    }
    if (config.GRAPH_AUTH === 'client-secret' && !config.GRAPH_CLIENT_SECRET)
      missing.push('GRAPH_CLIENT_SECRET');
    if (config.GRAPH_AUTH === 'client-certificate' && !config.GRAPH_CERTIFICATE_PATH)
      missing.push('GRAPH_CERTIFICATE_PATH');
    if (missing.length > 0) {
      throw new ConfigError(
        `invalid configuration:\n  ${missing.map((name) => `${name}: required when SUPPORT_MAILBOX is set`).join('\n  ')}`,
      );
    }
  }
  if (config.XML_API_ENABLED && !config.XML_API_PASSWORD && !config.XML_API_ALLOW_NO_PASSWORD) {
    throw new ConfigError(
      'invalid configuration:\n  XML_API_PASSWORD: required when XML_API_ENABLED=true (anyone who can mail the support address could change CRM records); set XML_API_ALLOW_NO_PASSWORD=true to run without one',
    );
  }
  if (config.UNKNOWN_SENDERS === 'catch-all' && !config.CATCH_ALL_ACCOUNT_ID) {
    throw new ConfigError(
      'invalid configuration:\n  CATCH_ALL_ACCOUNT_ID: required when UNKNOWN_SENDERS=catch-all (the account that collects those tickets)',
    );
  }
  if (config.ADMIN_AUTH === 'entra') {
    const missing: string[] = [];
    for (const name of ['ADMIN_TENANT_ID', 'ADMIN_CLIENT_ID', 'SESSION_SECRET', 'PUBLIC_BASE_URL'] as const)
      if (!config[name]) missing.push(`${name}: required when ADMIN_AUTH=entra`);
    if (!config.ADMIN_CLIENT_SECRET && !config.ADMIN_CERTIFICATE_PATH)
      missing.push('ADMIN_CLIENT_SECRET: required when ADMIN_AUTH=entra (or ADMIN_CERTIFICATE_PATH)');
    // Without a role or group every account of the tenant would get in.
    if (!config.ADMIN_ALLOWED_ROLE && !config.ADMIN_ALLOWED_GROUP)
      missing.push('ADMIN_ALLOWED_ROLE: required when ADMIN_AUTH=entra (or ADMIN_ALLOWED_GROUP)');
    if (missing.length > 0) throw new ConfigError(`invalid configuration:\n  ${missing.join('\n  ')}`);
  }
  if (config.SESSION_SECRET && config.SESSION_SECRET.length < 32)
    throw new ConfigError('invalid configuration:\n  SESSION_SECRET: must be at least 32 characters');
  if (config.SUPPORT_ADDRESS === config.INTERNAL_SUPPORT_ADDRESS) {
    throw new ConfigError(
      'invalid configuration:\n  INTERNAL_SUPPORT_ADDRESS: must differ from SUPPORT_ADDRESS (forwards would loop)',
    );
  }
  return Object.freeze(config);
}

/** The mailboxes SUPPORT_MAILBOX names, in its order (none: the local folder). */
export function supportMailboxes(config: Pick<Config, 'SUPPORT_MAILBOX'>): string[] {
  return config.SUPPORT_MAILBOX ? config.SUPPORT_MAILBOX.split(',') : [];
}

/** The configuration as it may be logged: secrets replaced by `[redacted]`. */
export function describeConfig(config: Config): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...config };
  for (const name of secretVariables) if (shown[name]) shown[name] = '[redacted]';
  return shown;
}
