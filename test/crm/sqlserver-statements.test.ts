import { describe, expect, it } from 'vitest';
import nodeSqlParser from 'node-sql-parser';
import { xmlDataKinds } from '../../src/domain/xml-api/data-kinds.ts';
import { sqliteMigrations } from '../../src/crm/sqlite/sqlite-migrations.ts';
import { migrationBatches, sqlServerMigrations } from '../../src/crm/sqlserver/migrations.ts';
import type { MssqlDriver, MssqlPool, MssqlRequest } from '../../src/crm/sqlserver/mssql-driver.ts';
import { SqlDatabase } from '../../src/crm/sqlserver/sql-database.ts';
import { parameterNamesIn, type SqlStatement } from '../../src/crm/sqlserver/sql-statement.ts';
import {
  sqlStatements,
  xmlInsert,
  xmlRecordById,
  xmlUpdate,
  xmlWritableColumns,
} from '../../src/crm/sqlserver/statements.ts';

const parser = new nodeSqlParser.Parser();
const transactSql = { database: 'TransactSQL' };

/**
 * Valid T-SQL the grammar (node-sql-parser's TransactSQL dialect) does not know, rewritten to an equivalent it
 * does before parsing; the rest of the statement is still checked.
 */
const grammarRewrites: readonly { pattern: RegExp; replacement: string; reason: string }[] = [
  {
    pattern: /TOP \(@\w+\)/g,
    replacement: 'TOP (1)',
    reason: 'the grammar takes a number in TOP, not a parameter',
  },
  {
    pattern: /OFFSET @\w+ ROWS/g,
    replacement: 'OFFSET 0 ROWS',
    reason: 'the grammar takes a number in OFFSET, not a parameter',
  },
];

/** Statements the grammar cannot parse at all, and why. The test checks that each still fails, so that the list stays true. */
const beyondTheGrammar: Readonly<Record<string, string>> = {
  lockSchema: 'EXEC with a return status (`EXEC @result = sp_getapplock …`)',
  claimIntake: 'UPDATE through a common table expression, with OUTPUT inserted.*',
};

/** Every statement the adapter can send: the catalogue, the look-ups by id, and each XML write with every column it may name. */
function catalogue(): [string, SqlStatement][] {
  const all: [string, SqlStatement][] = Object.entries(sqlStatements);
  for (const [table, statement] of Object.entries(xmlRecordById))
    all.push([`recordById(${table})`, statement]);
  for (const spec of Object.values(xmlDataKinds)) {
    const columns = xmlWritableColumns(spec);
    all.push([`xmlInsert(${spec.dataKind})`, xmlInsert(spec, columns)]);
    all.push([`xmlUpdate(${spec.dataKind})`, xmlUpdate(spec, columns)]);
  }
  return all;
}

function parse(text: string): void {
  const rewritten = grammarRewrites.reduce(
    (sql, rewrite) => sql.replace(rewrite.pattern, rewrite.replacement),
    text,
  );
  parser.astify(rewritten, transactSql);
}

describe('SQL Server statement catalogue', () => {
  const statements = catalogue();

  it('lists every statement once under its name', () => {
    expect(statements.length).toBeGreaterThan(100);
    expect(new Set(statements.map(([name]) => name)).size).toBe(statements.length);
  });

  for (const [name, statement] of statements) {
    it(`${name}: declares exactly the parameters its text uses`, () => {
      expect(parameterNamesIn(statement.sql).sort()).toEqual(Object.keys(statement.params).sort());
    });

    const reason = beyondTheGrammar[name];
    if (reason) {
      it(`${name}: is beyond the T-SQL grammar (${reason})`, () => {
        expect(() => parse(statement.sql)).toThrow();
      });
    } else {
      it(`${name}: parses as T-SQL`, () => {
        expect(() => parse(statement.sql)).not.toThrow();
      });
    }
  }

  it('names only statements that exist in the list of those beyond the grammar', () => {
    const names = new Set(statements.map(([name]) => name));
    for (const name of Object.keys(beyondTheGrammar)) expect(names.has(name), name).toBe(true);
  });

  it('refuses an XML write of a column that is not in the data kind’s field table', () => {
    expect(() => xmlInsert(xmlDataKinds.TICKET, ['id', 'subject; DROP TABLE tickets'])).toThrow(/not one/);
    expect(() => xmlUpdate(xmlDataKinds.ACCOUNT, ['seq'])).toThrow(/not one/);
  });
});

describe('SQL Server parameter binding', () => {
  /** A driver whose requests record what is bound instead of sending it. */
  function recordingDatabase(): {
    db: SqlDatabase;
    bound: { name: string; type: unknown; value: unknown }[];
  } {
    const bound: { name: string; type: unknown; value: unknown }[] = [];
    const request: MssqlRequest = {
      input(name, type, value) {
        bound.push({ name, type, value });
        return request;
      },
      query: async () => ({ recordset: [], rowsAffected: [0] }),
    };
    const type = (name: string) => (arg?: number) => ({ name, arg }) as never;
    const driver = {
      NVarChar: type('nvarchar'),
      VarBinary: type('varbinary'),
      DateTime2: type('datetime2'),
      Int: type('int')(),
      BigInt: type('bigint')(),
      Bit: type('bit')(),
      MAX: 65_535,
    } as unknown as MssqlDriver;
    const pool = { request: () => request } as unknown as MssqlPool;
    return { db: new SqlDatabase(driver, pool), bound };
  }

  it('binds each declared parameter with its declared type, even a statement beyond the grammar', async () => {
    const { db, bound } = recordingDatabase();
    const now = new Date('2026-11-27T10:00:00Z');
    await db.run(sqlStatements.claimIntake, { limit: 5, now, workerId: 'w1', leaseUntil: now });
    expect(bound.map(({ name }) => name).sort()).toEqual(
      parameterNamesIn(sqlStatements.claimIntake.sql).sort(),
    );
    expect(bound.find(({ name }) => name === 'now')?.type).toEqual({ name: 'datetime2', arg: 3 });
    expect(bound.find(({ name }) => name === 'limit')?.type).toEqual({ name: 'int', arg: undefined });
    expect(bound.find(({ name }) => name === 'workerId')?.type).toEqual({ name: 'nvarchar', arg: 4000 });
  });

  it('sends text longer than 4000 characters as nvarchar(max)', async () => {
    const { db, bound } = recordingDatabase();
    await db.run(sqlStatements.accountNameCandidates, { text: 'x'.repeat(4001) });
    expect(bound[0]?.type).toEqual({ name: 'nvarchar', arg: 65_535 });
  });

  it('refuses a missing value and a value the statement has no parameter for', async () => {
    const { db } = recordingDatabase();
    await expect(db.run(sqlStatements.accountById, {})).rejects.toThrow(/needs a value for @id/);
    await expect(db.run(sqlStatements.accountById, { id: 'A', other: 1 })).rejects.toThrow(
      /no parameter @other/,
    );
  });
});

/** Table → columns, and index → "table(columns)", read from CREATE TABLE, ALTER TABLE … ADD and CREATE INDEX. */
function schemaOf(
  sql: string,
  dialect: 'sqlite' | 'tsql',
): { tables: Map<string, Set<string>>; indexes: Map<string, string> } {
  const tables = new Map<string, Set<string>>();
  const indexes = new Map<string, string>();
  const text = sql.replace(/--[^\n]*/g, '');
  const column = (item: string): string | null => {
    const word = item.trim().split(/\s+/)[0] ?? '';
    if (!word || /^(CONSTRAINT|PRIMARY|UNIQUE|FOREIGN|CHECK)$/i.test(word)) return null;
    return word.replace(/^\[(.*)\]$/, '$1');
  };
  for (const match of text.matchAll(/CREATE TABLE (\w+) \(/g)) {
    // The table's body runs to the parenthesis that closes the one after its name.
    let depth = 1;
    let at = match.index + match[0].length;
    const from = at;
    for (; depth > 0 && at < text.length; at += 1) depth += text[at] === '(' ? 1 : text[at] === ')' ? -1 : 0;
    const items = text.slice(from, at - 1).split(/,(?![^(]*\))/);
    const columns = new Set(items.map(column).filter((name): name is string => name !== null));
    // SQLite has rowid without naming it; the T-SQL tables that order by it name it.
    if (dialect === 'tsql') columns.delete('rowid');
    tables.set(match[1]!, columns);
  }
  for (const match of text.matchAll(/ALTER TABLE (\w+) ADD (?:COLUMN )?(\w+)/g))
    tables.get(match[1]!)?.add(match[2]!);
  for (const match of text.matchAll(/CREATE (?:UNIQUE )?INDEX (\w+) ON (\w+)\s*\(([^)]*)\)/g)) {
    const columns = match[3]!
      .split(',')
      .map((part) => part.replace(/COLLATE \w+/i, '').trim())
      .join(', ');
    indexes.set(match[1]!, `${match[2]}(${columns})`);
  }
  return { tables, indexes };
}

/** The statements of a migration batch, one by one (comments dropped; each ends with `;` at the end of a line). */
function statementsOf(batch: string): string[] {
  return batch
    .replace(/--[^\n]*/g, '')
    .split(/;\s*$/m)
    .map((statement) => statement.trim())
    .filter(Boolean);
}

/** Migration statements beyond the grammar, by what they contain. */
const ddlBeyondTheGrammar: readonly { pattern: RegExp; reason: string }[] = [
  { pattern: /\bREFERENCES\b/, reason: 'the grammar has no foreign keys (REFERENCES) in its T-SQL dialect' },
];

describe('SQL Server migrations', () => {
  it('mirror every SQLite migration, version for version', () => {
    expect(sqlServerMigrations.map(({ version, name }) => ({ version, name }))).toEqual(
      sqliteMigrations.map(({ version, name }) => ({ version, name })),
    );
  });

  it('create the same tables, columns and indexes as SQLite', () => {
    const sqlite = schemaOf(sqliteMigrations.map((migration) => migration.sql).join('\n'), 'sqlite');
    const tsql = schemaOf(sqlServerMigrations.map((migration) => migration.sql).join('\n'), 'tsql');
    expect([...tsql.tables.keys()].sort()).toEqual([...sqlite.tables.keys()].sort());
    for (const [table, columns] of sqlite.tables)
      expect([...(tsql.tables.get(table) ?? [])].sort(), table).toEqual([...columns].sort());
    expect(Object.fromEntries(tsql.indexes)).toEqual(Object.fromEntries(sqlite.indexes));
  });

  for (const migration of sqlServerMigrations) {
    migrationBatches(migration.sql).forEach((batch, index) => {
      it(`migration ${migration.version} batch ${index + 1}: uses no parameters, and parses but for known grammar gaps`, () => {
        expect(parameterNamesIn(batch)).toEqual([]);
        for (const statement of statementsOf(batch)) {
          const gap = ddlBeyondTheGrammar.find((candidate) => candidate.pattern.test(statement));
          if (gap) expect(() => parse(statement), `${gap.reason}: ${statement}`).toThrow();
          else expect(() => parse(statement), statement).not.toThrow();
        }
      });
    });
  }
});
