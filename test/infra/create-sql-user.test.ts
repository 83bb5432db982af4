import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../infra/scripts/create-sql-user.sh', import.meta.url));
const sqlFile = fileURLToPath(new URL('../../infra/scripts/connector-database-user.sql', import.meta.url));

const azureSql = {
  DATABASE_KIND: 'azuresql',
  AZURE_SQL_SERVER_FQDN: 'sql-abc123.database.windows.net',
  AZURE_SQL_DATABASE_NAME: 'crm',
  CONNECTOR_IDENTITY_NAME: 'id-email-connector-abc123',
};

describe('post-provision step: the connector identity as a database user (infra/scripts/create-sql-user.sh)', () => {
  let bin: string;
  let calls: string;

  beforeEach(() => {
    // A stand-in sqlcmd that records its arguments, one per line.
    bin = mkdtempSync(join(tmpdir(), 'sqlcmd-'));
    calls = join(bin, 'calls.txt');
    writeFileSync(join(bin, 'sqlcmd'), `#!/bin/sh\nprintf '%s\\n' "$@" >> '${calls}'\n`);
    chmodSync(join(bin, 'sqlcmd'), 0o755);
  });

  afterEach(() => {
    rmSync(bin, { recursive: true, force: true });
  });

  /** Runs the script with `sh`, as azd does on Linux and macOS, with only the given environment. */
  function run(env: Record<string, string>, path = `${bin}:/usr/bin:/bin`) {
    return spawnSync('/bin/sh', [script], { env: { PATH: path, ...env }, encoding: 'utf8' });
  }

  it('does nothing with SQLite', () => {
    const result = run({ DATABASE_KIND: 'sqlite' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/no database user to create/);
    expect(existsSync(calls)).toBe(false);
  });

  it('signs in with Entra ID and runs the database-user script for the identity named by azd', () => {
    const result = run(azureSql);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      '-S',
      'sql-abc123.database.windows.net',
      '-d',
      'crm',
      '--authentication-method',
      'ActiveDirectoryDefault',
      '-b',
      '-i',
      sqlFile,
      '-v',
      'IdentityName=id-email-connector-abc123',
    ]);
  });

  it('creates the user from Entra ID with read, write and table rights, and no more', () => {
    const sql = readFileSync(sqlFile, 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('--'))
      .join('\n');
    expect(sql).toMatch(/CREATE USER \[\$\(IdentityName\)\] FROM EXTERNAL PROVIDER;/);
    const roles = [...sql.matchAll(/ALTER ROLE (\w+) ADD MEMBER \[\$\(IdentityName\)\];/g)].map(
      (match) => match[1],
    );
    expect(roles).toEqual(['db_datareader', 'db_datawriter', 'db_ddladmin']);
    expect(sql).not.toMatch(/db_owner|GRANT CONTROL/i);
  });

  it('refuses an identity name that could change the SQL, before connecting', () => {
    const result = run({ ...azureSql, CONNECTOR_IDENTITY_NAME: 'x]; DROP TABLE tickets; --' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/unexpected identity name/);
    expect(existsSync(calls)).toBe(false);
  });

  it('names the missing output when it runs outside azd', () => {
    const result = run({
      DATABASE_KIND: 'azuresql',
      AZURE_SQL_SERVER_FQDN: 'sql-abc123.database.windows.net',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/AZURE_SQL_DATABASE_NAME is not set/);
  });

  it('says how to install sqlcmd and run the step again when sqlcmd is missing', () => {
    // Only the shell's builtins run before the check, so a PATH with nothing on it is enough.
    const result = run(azureSql, join(bin, 'empty'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sqlcmd not found[\s\S]*go-sqlcmd[\s\S]*azd hooks run postprovision/);
  });
});
