import { StoreError } from '../store-error.ts';
import { migrationBatches, sqlServerMigrations } from './migrations.ts';
import type { SqlDatabase } from './sql-database.ts';
import { sql } from './sql-statement.ts';
import { sqlStatements } from './statements.ts';

/** Which migrations a database has and which it still needs. */
export interface SchemaStatus {
  applied: { version: number; name: string; appliedAt: string }[];
  pending: { version: number; name: string }[];
}

async function appliedMigrations(db: Pick<SqlDatabase, 'rows'>): Promise<SchemaStatus['applied']> {
  const rows = await db.rows(sqlStatements.appliedMigrations);
  return rows.map((row) => ({
    version: Number(row.version),
    name: String(row.name),
    appliedAt: row.applied_at instanceof Date ? row.applied_at.toISOString() : String(row.applied_at),
  }));
}

function statusOf(applied: SchemaStatus['applied']): SchemaStatus {
  const done = new Set(applied.map((migration) => migration.version));
  return {
    applied,
    pending: sqlServerMigrations
      .filter((migration) => !done.has(migration.version))
      .map(({ version, name }) => ({ version, name })),
  };
}

/** The schema's state, changing nothing (a database never migrated has every migration pending). */
export async function schemaStatus(db: SqlDatabase): Promise<SchemaStatus> {
  const table = await db.row(sqlStatements.migrationsTableExists);
  return statusOf(table?.id === null || table?.id === undefined ? [] : await appliedMigrations(db));
}

/**
 * Applies every pending migration, in order, in one transaction that first takes an exclusive application lock
 * (sp_getapplock, released with the transaction): when two instances start at once, the second waits, then finds
 * nothing left to do. A failure rolls the whole run back.
 */
export async function migrateSchema(
  db: SqlDatabase,
  options: { lockTimeoutMs: number; now?: () => Date },
): Promise<SchemaStatus> {
  const now = options.now ?? (() => new Date());
  return db.transaction(async (tx) => {
    const lock = await tx.row(sqlStatements.lockSchema, { timeoutMs: options.lockTimeoutMs });
    if (Number(lock?.result) < 0) {
      throw new StoreError(
        'transient',
        `another instance has been migrating the database schema for over ${Math.round(options.lockTimeoutMs / 1000)} s; try again later`,
      );
    }
    await tx.run(sqlStatements.createMigrationsTable);
    const done = new Set((await appliedMigrations(tx)).map((migration) => migration.version));
    for (const migration of sqlServerMigrations) {
      if (done.has(migration.version)) continue;
      for (const batch of migrationBatches(migration.sql)) await tx.run(sql(batch));
      await tx.run(sqlStatements.recordMigration, {
        version: migration.version,
        name: migration.name,
        appliedAt: now(),
      });
    }
    return statusOf(await appliedMigrations(tx));
  });
}
