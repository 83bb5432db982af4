import type { Config } from '../config/config.ts';
import { inspectDatabase } from '../composition-root.ts';
import { causeOf, fail, ok, type Report } from './check.ts';
import { creatableUnder, statOrNull } from './writable.ts';

export const databaseCheck = 'database';

const migrateFix = 'start the service once (it migrates the database at start)';

/**
 * Check 4: the database opened read-only, its applied migrations compared with the ones this program knows. Nothing
 * is created or migrated. A missing file is fine when it can be created: the service creates and migrates it at
 * start. Returns the path of a readable, migrated database file (for the subscription check), else null.
 */
export async function checkDatabase(config: Config, report: Report): Promise<string | null> {
  if (!config.DATABASE_URL.startsWith('sqlite:')) {
    await checkServerDatabase(config, report);
    return null;
  }
  const path = config.DATABASE_URL.slice('sqlite:'.length);
  if (path === ':memory:') {
    report(ok(databaseCheck, 'in memory: nothing to check (and nothing kept between runs)'));
    return null;
  }
  const found = statOrNull(path);
  if (!found) {
    const where = creatableUnder(path);
    if (where.ok)
      report(ok(databaseCheck, `not created yet: the service creates and migrates ${path} at start`));
    else
      report(
        fail(
          databaseCheck,
          `${path} does not exist and cannot be created (${where.folder} is not a writable folder)`,
          'give the service write access there, or point DATABASE_URL at a writable place',
        ),
      );
    return null;
  }
  let applied: number;
  let known: number;
  try {
    ({ schemaVersion: applied, latestSchemaVersion: known } = await inspectDatabase(config));
  } catch (error) {
    report(
      fail(
        databaseCheck,
        `cannot open ${path} (${causeOf(error)})`,
        "check that DATABASE_URL names the connector's SQLite file and that the service may read it",
      ),
    );
    return null;
  }
  if (applied < known) {
    report(
      fail(
        databaseCheck,
        `${path} is not migrated (schema version ${applied}, this program needs ${known})`,
        migrateFix,
      ),
    );
    return null;
  }
  if (applied > known) {
    report(
      fail(
        databaseCheck,
        `${path} has schema version ${applied}, newer than this program knows (${known})`,
        'run the connector version that migrated it (or a newer one)',
      ),
    );
    return null;
  }
  report(ok(databaseCheck, `${path} reachable and migrated (schema version ${applied})`));
  return path;
}

/** Check 4 for a database server: reachable, and its recorded migrations against the ones this program knows. */
async function checkServerDatabase(config: Config, report: Report): Promise<void> {
  let found: Awaited<ReturnType<typeof inspectDatabase>>;
  try {
    found = await inspectDatabase(config);
  } catch (error) {
    // The message names the server and the cause, never the credentials of DATABASE_URL.
    report(
      fail(
        databaseCheck,
        causeOf(error),
        'check that the server is reachable from here (firewall, name) and that the sign-in in DATABASE_URL is right (docs/sql-server.md)',
      ),
    );
    return;
  }
  const { where, schemaVersion: applied, latestSchemaVersion: known } = found;
  if (applied < known) {
    report(
      fail(
        databaseCheck,
        `${where} is not migrated (schema version ${applied}, this program needs ${known})`,
        'run email-connector db migrate (or start the service once)',
      ),
    );
    return;
  }
  report(ok(databaseCheck, `${where} reachable and migrated (schema version ${applied})`));
}
