import type { CrmStore } from '../crm/crm-store.ts';
import { CliError, table, type Output } from './output.ts';

export const dbSubcommands = ['status', 'migrate'] as const;
export type DbSubcommand = (typeof dbSubcommands)[number];

/** Which versioned migrations a database has and which it still needs. */
interface SchemaReport {
  applied: { version: number; name: string; appliedAt: string }[];
  pending: { version: number; name: string }[];
}

/** A store that keeps its schema's migrations in the database and applies them on request (SQL Server). */
interface MigratingStore {
  schemaStatus(): Promise<SchemaReport>;
  migrate(): Promise<SchemaReport>;
}

/** A store migrated whenever it opens (SQLite), which tells its schema version. */
interface VersionedStore {
  readonly schemaVersion: number;
}

function isMigrating(store: object): store is MigratingStore {
  const candidate = store as Partial<MigratingStore>;
  return typeof candidate.schemaStatus === 'function' && typeof candidate.migrate === 'function';
}

function isVersioned(store: object): store is VersionedStore {
  return typeof (store as Partial<VersionedStore>).schemaVersion === 'number';
}

function printReport(report: SchemaReport, json: boolean, output: Output): void {
  if (json) {
    output.out(JSON.stringify(report, null, 2));
    return;
  }
  const rows = [
    ...report.applied.map((migration) => [String(migration.version), migration.name, migration.appliedAt]),
    ...report.pending.map((migration) => [String(migration.version), migration.name, 'pending']),
  ];
  for (const line of table(['version', 'migration', 'applied'], rows)) output.out(line);
  output.out(
    report.pending.length === 0
      ? 'the schema is up to date'
      : `${report.pending.length} migration(s) pending: run email-connector db migrate`,
  );
}

/**
 * `db status` lists the schema's migrations, applied and pending; `db migrate` applies the pending ones (several
 * instances may run it at once: they take turns). SQLite migrates whenever it opens, so for it both report the
 * version it is at.
 */
export async function dbCommand(
  store: CrmStore,
  subcommand: DbSubcommand,
  json: boolean,
  output: Output,
): Promise<number> {
  if (isMigrating(store)) {
    const report = subcommand === 'migrate' ? await store.migrate() : await store.schemaStatus();
    printReport(report, json, output);
    return 0;
  }
  if (isVersioned(store)) {
    // Opening it migrated it: the version it reports is the newest this program knows.
    const version = store.schemaVersion;
    if (json) output.out(JSON.stringify({ schemaVersion: version, pending: [] }));
    else
      output.out(
        `schema version ${version}, nothing pending: SQLite applies its migrations whenever it opens`,
      );
    return 0;
  }
  throw new CliError('db: this database does not report its schema');
}
