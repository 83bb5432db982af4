import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { StoreOpenError } from '../../src/crm/crm-store.ts';
import { StoreError } from '../../src/crm/store-error.ts';
import {
  describeServer,
  isSqlServerUrl,
  parseSqlServerUrl,
  toPoolConfig,
} from '../../src/crm/sqlserver/connection.ts';
import { RefreshingTokenCredential } from '../../src/crm/sqlserver/entra-credential.ts';
import { SqlServerCrmStore } from '../../src/crm/sqlserver/sqlserver-crm-store.ts';
import {
  describeConnectionFailure,
  sqlServerErrorKind,
  toStoreError,
} from '../../src/crm/sqlserver/sqlserver-errors.ts';
import { cliPath, repoRoot, runNode } from '../helpers/run-node.ts';

const secret = 'Pa55;w0rd=s3cr3t';

/** The message of what `work` throws, which must never hold the secret. */
function refusal(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreOpenError);
    const message = (error as Error).message;
    expect(message).not.toContain(secret);
    expect(message).not.toContain('s3cr3t');
    return message;
  }
  throw new Error('expected a refusal');
}

describe('DATABASE_URL for SQL Server', () => {
  it('reads an mssql:// URL, decoding the password, with safe defaults', () => {
    const settings = parseSqlServerUrl(
      `mssql://crm_app:${encodeURIComponent(secret)}@db.example:1444/crm`,
      {},
    );
    expect(settings).toMatchObject({
      server: 'db.example',
      port: 1444,
      instanceName: null,
      database: 'crm',
      authentication: { kind: 'sql-login', user: 'crm_app', password: secret },
      encrypt: true,
      trustServerCertificate: false,
      connectTimeoutMs: 15_000,
      requestTimeoutMs: 30_000,
      poolMax: 10,
      poolMin: 0,
      poolIdleMs: 30_000,
    });
    expect(describeServer(settings)).toBe('db.example:1444');
    expect(parseSqlServerUrl('mssql://u:p@db.example/crm', {}).port).toBe(1433);
  });

  it('reads options from the query, in any spelling of the ADO.NET keys', () => {
    const settings = parseSqlServerUrl(
      'sqlserver://u:p@db.internal.example/crm?trustServerCertificate=true&encrypt=strict&Connect%20Timeout=5&commandTimeout=60&maxPoolSize=4&minPoolSize=1&application_name=crm-link',
      {},
    );
    expect(settings).toMatchObject({
      encrypt: 'strict',
      trustServerCertificate: true,
      connectTimeoutMs: 5_000,
      requestTimeoutMs: 60_000,
      poolMax: 4,
      poolMin: 1,
      applicationName: 'crm-link',
    });
  });

  it('reads a JDBC-style sqlserver:// string with a named instance', () => {
    const settings = parseSqlServerUrl(
      'sqlserver://sql01\\CRM;databaseName=crm;user=crm_app;password={a;b}}c};encrypt=true',
      {},
    );
    expect(settings).toMatchObject({
      server: 'sql01',
      port: null,
      instanceName: 'CRM',
      database: 'crm',
      authentication: { kind: 'sql-login', user: 'crm_app', password: 'a;b}c' },
    });
    expect(describeServer(settings)).toBe('sql01\\CRM');
  });

  it('reads the ADO.NET string the Azure portal gives, quoted values included', () => {
    const settings = parseSqlServerUrl(
      `Server=tcp:crm.database.windows.net,1433;Initial Catalog=crm;Persist Security Info=False;User ID=crm_app;Password="${secret.replace(/"/g, '""')}";MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;`,
      {},
    );
    expect(settings).toMatchObject({
      server: 'crm.database.windows.net',
      port: 1433,
      database: 'crm',
      authentication: { kind: 'sql-login', user: 'crm_app', password: secret },
      encrypt: true,
      trustServerCertificate: false,
      // 30 s asked for; a connection attempt never waits longer than 15 s.
      connectTimeoutMs: 15_000,
    });
  });

  it('reads Microsoft Entra sign-in: default credential, managed identity, service principal', () => {
    expect(
      parseSqlServerUrl(
        'Server=tcp:crm.database.windows.net;Database=crm;Authentication=Active Directory Default',
        {},
      ).authentication,
    ).toEqual({ kind: 'default-credential', managedIdentityClientId: null });
    expect(
      parseSqlServerUrl(
        'Server=crm.database.windows.net;Database=crm;Authentication=Active Directory Managed Identity;User Id=11111111-2222-3333-4444-555555555555',
        {},
      ).authentication,
    ).toEqual({ kind: 'managed-identity', clientId: '11111111-2222-3333-4444-555555555555' });
    expect(
      parseSqlServerUrl('mssql://crm.database.windows.net/crm?authentication=ActiveDirectoryMSI', {})
        .authentication,
    ).toEqual({ kind: 'managed-identity', clientId: null });
    expect(
      parseSqlServerUrl(
        `mssql://app-id:${encodeURIComponent(secret)}@crm.database.windows.net/crm?authentication=ActiveDirectoryServicePrincipal&tenantId=tenant-1`,
        {},
      ).authentication,
    ).toEqual({ kind: 'service-principal', tenantId: 'tenant-1', clientId: 'app-id', clientSecret: secret });
    expect(
      parseSqlServerUrl(
        'Server=crm.database.windows.net;Database=crm;Authentication=Active Directory Service Principal',
        {
          AZURE_TENANT_ID: 'tenant-2',
          AZURE_CLIENT_ID: 'app-2',
          AZURE_CLIENT_SECRET: secret,
        },
      ).authentication,
    ).toEqual({ kind: 'service-principal', tenantId: 'tenant-2', clientId: 'app-2', clientSecret: secret });
  });

  it('refuses what it cannot use, naming the problem and never a value', () => {
    expect(
      refusal(() => parseSqlServerUrl(`mssql://u:${encodeURIComponent(secret)}@db.example`, {})),
    ).toMatch(/no database/);
    expect(
      refusal(() => parseSqlServerUrl(`Server=db;Database=crm;User Id=u;Password=${secret}`, {})),
    ).toMatch(/part 5 has no "="|quote a value that holds ;/);
    expect(
      refusal(() => parseSqlServerUrl(`Server=db;Database=crm;User Id=u;Passwort=${secret}`, {})),
    ).toMatch(/unknown key in part 4/);
    expect(refusal(() => parseSqlServerUrl(`Server=db;Database=crm;Integrated Security=SSPI`, {}))).toMatch(
      /Windows authentication/,
    );
    expect(
      refusal(() => parseSqlServerUrl(`Server=np:\\\\db\\pipe;Database=crm;User Id=u;Password=p`, {})),
    ).toMatch(/only TCP/);
    expect(refusal(() => parseSqlServerUrl(`Server=db;Database=crm;Password="${secret}"`, {}))).toMatch(
      /no credentials/,
    );
    expect(
      refusal(() =>
        parseSqlServerUrl(
          `Server=db;Database=crm;Authentication=Active Directory Service Principal;Password="${secret}"`,
          {},
        ),
      ),
    ).toMatch(/needs a tenant id .*, a client id/);
    expect(
      refusal(() => parseSqlServerUrl(`Server=db;Database=crm;User Id=u;Password="${secret}`, {})),
    ).toMatch(/never closed/);
  });

  it('is told apart from sqlite: and from nonsense by the configuration', () => {
    for (const url of [
      'mssql://u:p@db/crm',
      'sqlserver://db:1433;database=crm;user=u;password=p',
      'Server=tcp:db,1433;Database=crm;User Id=u;Password=p',
      'Data Source=db;Initial Catalog=crm;User Id=u;Password=p',
    ]) {
      expect(isSqlServerUrl(url), url).toBe(true);
      expect(loadConfig({ DATABASE_URL: url }).DATABASE_URL).toBe(url);
    }
    expect(isSqlServerUrl('sqlite:data/crm.sqlite')).toBe(false);
    expect(() => loadConfig({ DATABASE_URL: 'foo:bar' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'foo:bar' })).toThrow(/mssql:\/\//);
  });

  it('gives the driver an encrypted pool with limits, and tokens for Entra sign-in', () => {
    const credential: TokenCredential = { getToken: async () => null };
    const login = toPoolConfig(parseSqlServerUrl('mssql://u:p@db/crm', {}), null);
    expect(login).toMatchObject({
      server: 'db',
      port: 1433,
      database: 'crm',
      authentication: { type: 'default', options: { userName: 'u', password: 'p' } },
      connectionTimeout: 15_000,
      requestTimeout: 30_000,
      pool: { max: 10, min: 0, idleTimeoutMillis: 30_000 },
      options: { encrypt: true, trustServerCertificate: false, useUTC: true, abortTransactionOnError: true },
    });
    const entra = toPoolConfig(
      parseSqlServerUrl('mssql://crm.database.windows.net/crm?authentication=ActiveDirectoryDefault', {}),
      credential,
    );
    expect(entra.authentication).toEqual({ type: 'token-credential', options: { credential } });
  });

  it('opens without connecting (the composition root opens stores synchronously)', async () => {
    const store = SqlServerCrmStore.open({ url: 'mssql://u:p@127.0.0.1:1/crm' });
    expect(store.server).toBe('127.0.0.1:1');
    await store.close();
    await expect(store.ping()).rejects.toThrow(/closed/);
  });
});

describe('SQL Server errors', () => {
  const driverError = (name: string, fields: Record<string, unknown>): Error =>
    Object.assign(new Error(String(fields.message ?? name)), { name, ...fields });

  it('counts deadlocks, lock timeouts, lost connections and Azure failovers as transient', () => {
    for (const number of [1205, 1222, 4060, 40197, 40501, 40613, 49918, 49919, 49920]) {
      expect(
        sqlServerErrorKind(driverError('RequestError', { code: 'EREQUEST', number })),
        String(number),
      ).toBe('transient');
    }
    for (const code of ['ETIMEOUT', 'ESOCKET', 'ECONNRESET', 'ECONNCLOSED']) {
      expect(sqlServerErrorKind(driverError('ConnectionError', { code })), code).toBe('transient');
    }
  });

  it('counts constraint violations, other refused statements and a refused login as permanent', () => {
    for (const number of [2627, 2601, 547, 208, 18456]) {
      expect(
        sqlServerErrorKind(driverError('RequestError', { code: 'EREQUEST', number })),
        String(number),
      ).toBe('permanent');
    }
  });

  it('describes a connection failure in one line naming the server and the cause', () => {
    const refused = driverError('ConnectionError', {
      code: 'ESOCKET',
      message: 'Failed to connect to 127.0.0.1:1 - Could not connect (sequence)',
      originalError: driverError('ConnectionError', {
        code: 'ESOCKET',
        cause: new AggregateError([
          Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        ]),
      }),
    });
    expect(describeConnectionFailure(refused, '127.0.0.1:1')).toBe(
      'cannot reach SQL Server 127.0.0.1:1: connection refused (ECONNREFUSED)',
    );
    const login = driverError('ConnectionError', {
      code: 'ELOGIN',
      message: `Login failed for user 'crm_app'.`,
      originalError: driverError('ConnectionError', { code: 'ELOGIN', number: 18456 }),
    });
    expect(describeConnectionFailure(login, 'db:1433')).toBe(
      `SQL Server db:1433 refused the login: Login failed for user 'crm_app'.`,
    );
    const certificate = driverError('ConnectionError', {
      code: 'ESOCKET',
      cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
    });
    expect(describeConnectionFailure(certificate, 'db:1433')).toMatch(
      /^cannot connect securely to SQL Server db:1433: .*DEPTH_ZERO_SELF_SIGNED_CERT.*TrustServerCertificate=true/,
    );
  });

  it('translates driver errors to StoreError keeping the cause, leaves its own errors alone, and hides secrets', () => {
    const duplicate = driverError('RequestError', {
      code: 'EREQUEST',
      number: 2627,
      message: `Violation of PRIMARY KEY constraint 'outcomes_pk'. Password was ${secret}`,
    });
    const translated = toStoreError(duplicate, 'db:1433', [secret]) as StoreError;
    expect(translated).toBeInstanceOf(StoreError);
    expect(translated.kind).toBe('permanent');
    expect(translated.cause).toBe(duplicate);
    expect(translated.message).toMatch(/^SQL Server db:1433: Violation of PRIMARY KEY.*\(error 2627\)$/);
    expect(translated.message).not.toContain(secret);
    const ours = new TypeError('a fault in the program');
    expect(toStoreError(ours, 'db:1433')).toBe(ours);
  });
});

describe('Microsoft Entra tokens', () => {
  it('reuses a token until five minutes before it expires, and shares one request between logins', async () => {
    let now = 1_000_000;
    let calls = 0;
    const inner: TokenCredential = {
      getToken: async (): Promise<AccessToken> => {
        calls += 1;
        return { token: `t${calls}`, expiresOnTimestamp: now + 60 * 60_000 };
      },
    };
    const credential = new RefreshingTokenCredential(inner, () => now);
    const scope = 'https://database.windows.net/.default';
    const [a, b] = await Promise.all([credential.getToken(scope), credential.getToken(scope)]);
    expect([a?.token, b?.token, calls]).toEqual(['t1', 't1', 1]);
    now += 54 * 60_000;
    expect((await credential.getToken(scope))?.token).toBe('t1');
    now += 2 * 60_000;
    expect((await credential.getToken(scope))?.token).toBe('t2');
  });

  it('keeps a still-valid token when a renewal fails, and fails once it is about to expire', async () => {
    let now = 0;
    let fail = false;
    const inner: TokenCredential = {
      getToken: async (): Promise<AccessToken> => {
        if (fail) throw new Error('identity endpoint unavailable');
        return { token: 'old', expiresOnTimestamp: now + 60 * 60_000 };
      },
    };
    const credential = new RefreshingTokenCredential(inner, () => now);
    await credential.getToken('scope');
    fail = true;
    now = 57 * 60_000;
    expect((await credential.getToken('scope'))?.token).toBe('old');
    now = 60 * 60_000 - 10_000;
    await expect(credential.getToken('scope')).rejects.toThrow(/unavailable/);
  });
});

describe('an unreachable SQL Server, from the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlserver-cli-'));
  const env = (url: string): Record<string, string> => ({
    DATABASE_URL: url,
    MAILBOX_DIR: join(dir, 'mailbox'),
  });
  let silent: Server;
  let silentPort = 0;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // A server that accepts connections and never answers: the connect timeout has to end the wait.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    silentPort = typeof address === 'object' && address ? address.port : 0;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  const expectOneLine = (
    result: { code: number | null; stderr: string; stdout: string },
    pattern: RegExp,
  ) => {
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(result.stderr + result.stdout).not.toContain('s3cr3t');
  };

  it('exits non-zero within 30 s with one line naming the server, not a configuration error', async () => {
    const started = Date.now();
    const result = await runNode(cliPath, ['ticket', '1'], {
      cwd: repoRoot,
      env: env('mssql://user:s3cr3t@127.0.0.1:1/crm'),
    });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.code).toBe(1);
    expectOneLine(
      result,
      /^email-connector: cannot reach SQL Server 127\.0\.0\.1:1: connection refused \(ECONNREFUSED\)$/,
    );
  });

  it('gives up on a server that never answers after the connect timeout', async () => {
    const started = Date.now();
    const result = await runNode(cliPath, ['db', 'status'], {
      cwd: repoRoot,
      env: env(`Server=tcp:127.0.0.1,${silentPort};Database=crm;User Id=u;Password=s3cr3t;Connect Timeout=2`),
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.code).toBe(1);
    expectOneLine(
      result,
      new RegExp(
        `^email-connector: cannot reach SQL Server 127\\.0\\.0\\.1:${silentPort}: no answer in time \\(ETIMEOUT\\)$`,
      ),
    );
  });

  it('reports a connection string it cannot use as a configuration error, without the password', async () => {
    const result = await runNode(cliPath, ['ticket', '1'], {
      cwd: repoRoot,
      env: env('Server=tcp:127.0.0.1,1;Database=crm;User Id=u;Password=s3;cr3t'),
    });
    expect(result.code).toBe(2);
    expectOneLine(result, /^email-connector: SQL Server connection string: part 5 has no "="/);
  });

  // The built program, when `npm run build` has compiled this adapter into dist/.
  const built = join(repoRoot, 'dist', 'cli.js');
  it.skipIf(!existsSync(join(repoRoot, 'dist', 'crm', 'sqlserver', 'sqlserver-crm-store.js')))(
    'the built program (dist/cli.js) answers the same way',
    async () => {
      const started = Date.now();
      const result = await runNode(built, ['ticket', '1'], {
        cwd: repoRoot,
        env: env('mssql://user:s3cr3t@127.0.0.1:1/crm'),
      });
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(result.code).toBe(1);
      expectOneLine(
        result,
        /^email-connector: cannot reach SQL Server 127\.0\.0\.1:1: connection refused \(ECONNREFUSED\)$/,
      );
    },
  );
});
