import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrmStore } from '../../src/crm/crm-store.ts';
import { parseSqlServerUrl, toPoolConfig } from '../../src/crm/sqlserver/connection.ts';
import { createEntraCredential } from '../../src/crm/sqlserver/entra-credential.ts';
import { sqlServerMigrations } from '../../src/crm/sqlserver/migrations.ts';
import { mssqlDriver, type MssqlPool } from '../../src/crm/sqlserver/mssql-driver.ts';
import { SqlServerCrmStore } from '../../src/crm/sqlserver/sqlserver-crm-store.ts';
import { describeCrmStoreContract } from './crm-store.contract.ts';

/**
 * The store contract against a real SQL Server, when MSSQL_CONNECTION_STRING names one (any DATABASE_URL form;
 * the login must be allowed to create databases). Each run works in a database of its own, created here and
 * dropped afterwards. Without a server the same tests are listed as skipped.
 */
const connectionString = process.env.MSSQL_CONNECTION_STRING?.trim() ?? '';

/** The connection string with its database replaced. */
function withDatabase(url: string, database: string): string {
  if (/^(mssql|sqlserver):\/\/[^;]*$/i.test(url) && !/^sqlserver:\/\/[^;@/]*;/i.test(url)) {
    const parsed = new URL(url.replace(/^sqlserver:/i, 'mssql:'));
    parsed.pathname = `/${database}`;
    return parsed.toString();
  }
  if (/^sqlserver:\/\//i.test(url)) return `${url.replace(/;\s*$/, '')};databaseName=${database}`;
  // ADO.NET: the last Database wins.
  return `${url.replace(/;\s*$/, '')};Database=${database}`;
}

/** A pool of our own, for what only tests do: create, empty and drop databases. */
async function openPool(url: string): Promise<MssqlPool> {
  const settings = parseSqlServerUrl(url);
  const credential =
    settings.authentication.kind === 'sql-login' ? null : createEntraCredential(settings.authentication);
  const driver = mssqlDriver();
  const pool = new driver.ConnectionPool(toPoolConfig(settings, credential));
  pool.on('error', () => undefined);
  await pool.connect();
  return pool;
}

/** Every table, children before parents, so that emptying them breaks no foreign key. */
const tablesToEmpty = [
  'attachments',
  'thread_refs',
  'outbox',
  'documents',
  'history_notes',
  'charges',
  'document_records',
  'appointments_tasks',
  'kb_articles',
  'opportunities',
  'tickets',
  'assets',
  'contacts',
  'items',
  'employees',
  'accounts',
  'outcomes',
  'intake',
  'app_state',
  'leases',
  'api_results',
  'blob_parts',
];

async function dropDatabase(pool: MssqlPool, name: string): Promise<void> {
  // Azure SQL has no SINGLE_USER; there the open connections are already closed.
  await pool
    .request()
    .query(`ALTER DATABASE [${name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE`)
    .catch(() => undefined);
  await pool.request().query(`DROP DATABASE IF EXISTS [${name}]`);
}

if (connectionString) {
  const database = `email_connector_test_${randomBytes(4).toString('hex')}`;
  const databaseUrl = withDatabase(connectionString, database);
  let server: MssqlPool;
  let testDatabase: MssqlPool | null = null;
  const stores = new Set<CrmStore>();

  beforeAll(async () => {
    server = await openPool(connectionString);
    await server.request().query(`CREATE DATABASE [${database}]`);
  }, 120_000);

  afterAll(async () => {
    for (const store of stores) await store.close();
    await testDatabase?.close();
    await dropDatabase(server, database);
    await server.close();
  }, 120_000);

  /** An empty store: the first one migrates the new database; later ones start from emptied tables. */
  const openEmpty = async (): Promise<CrmStore> => {
    const store = SqlServerCrmStore.open({ url: databaseUrl });
    stores.add(store);
    await store.ping();
    testDatabase ??= await openPool(databaseUrl);
    for (const table of tablesToEmpty) await testDatabase.request().query(`DELETE FROM ${table}`);
    await testDatabase.request().query(`UPDATE counters SET value = 0 WHERE name = N'ticket'`);
    return store;
  };

  describeCrmStoreContract('SQL Server', openEmpty);

  describe('SQL Server schema', () => {
    it('reports every migration pending on a new database, and two instances migrating at once apply each once', async () => {
      const fresh = `${database}_m`;
      await server.request().query(`CREATE DATABASE [${fresh}]`);
      const url = withDatabase(connectionString, fresh);
      const a = SqlServerCrmStore.open({ url, migrateOnFirstUse: false });
      const b = SqlServerCrmStore.open({ url, migrateOnFirstUse: false });
      try {
        expect((await a.schemaStatus()).pending.map((m) => m.version)).toEqual(
          sqlServerMigrations.map((m) => m.version),
        );
        const [first, second] = await Promise.all([a.migrate(), b.migrate()]);
        for (const status of [first, second]) {
          expect(status.pending).toEqual([]);
          expect(status.applied.map((m) => m.version)).toEqual(sqlServerMigrations.map((m) => m.version));
        }
        expect(await b.schemaStatus()).toEqual(second);
      } finally {
        await a.close();
        await b.close();
        await dropDatabase(server, fresh);
      }
    }, 120_000);
  });
} else {
  describe.skip('SQL Server contract (skipped: no SQL Server; set MSSQL_CONNECTION_STRING)', () => {
    describeCrmStoreContract('SQL Server', async () => {
      throw new Error('no SQL Server');
    });
  });
}
