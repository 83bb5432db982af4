import type { MssqlDriver, MssqlPool, MssqlRequest, MssqlResult, MssqlType } from './mssql-driver.ts';
import type { ParamKind, SqlStatement, SqlValues } from './sql-statement.ts';

export type Row = Record<string, unknown>;

/** Runs catalogued statements (statements.ts), on the pool or inside one transaction. */
export interface SqlExecutor {
  run(statement: SqlStatement, values?: SqlValues): Promise<MssqlResult>;
  rows(statement: SqlStatement, values?: SqlValues): Promise<Row[]>;
  row(statement: SqlStatement, values?: SqlValues): Promise<Row | null>;
  /** How many rows the statement inserted, updated or deleted. */
  changed(statement: SqlStatement, values?: SqlValues): Promise<number>;
}

const textLimit = 4000;

function typeOf(driver: MssqlDriver, kind: ParamKind, value: unknown): MssqlType {
  switch (kind) {
    case 'text':
      return driver.NVarChar(typeof value === 'string' && value.length > textLimit ? driver.MAX : textLimit);
    case 'int':
      return driver.Int;
    case 'bigint':
      return driver.BigInt;
    case 'bit':
      return driver.Bit;
    case 'time':
      return driver.DateTime2(3);
    case 'binary':
      return driver.VarBinary(driver.MAX);
  }
}

/** Binds exactly the statement's declared parameters: a missing or an unexpected value is a programming error. */
function bind(driver: MssqlDriver, request: MssqlRequest, statement: SqlStatement, values: SqlValues): void {
  const where = (): string => statement.sql.replace(/\s+/g, ' ').slice(0, 60);
  for (const name of Object.keys(values)) {
    if (!(name in statement.params)) throw new Error(`statement "${where()}…" has no parameter @${name}`);
  }
  for (const [name, kind] of Object.entries(statement.params)) {
    if (!(name in values) || values[name] === undefined)
      throw new Error(`statement "${where()}…" needs a value for @${name}`);
    request.input(name, typeOf(driver, kind, values[name]), values[name]);
  }
}

function executor(driver: MssqlDriver, newRequest: () => MssqlRequest): SqlExecutor {
  const run = async (statement: SqlStatement, values: SqlValues = {}): Promise<MssqlResult> => {
    const request = newRequest();
    bind(driver, request, statement, values);
    return request.query(statement.sql);
  };
  return {
    run,
    rows: async (statement, values) => (await run(statement, values)).recordset ?? [],
    row: async (statement, values) => (await run(statement, values)).recordset?.[0] ?? null,
    changed: async (statement, values) =>
      (await run(statement, values)).rowsAffected.reduce((sum, count) => sum + count, 0),
  };
}

const deadlockVictim = 1205;

function isDeadlock(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth += 1) {
    if ((current as { number?: unknown }).number === deadlockVictim) return true;
    current = (current as { originalError?: unknown }).originalError;
  }
  return false;
}

/** The pool, with statements that each commit on their own and transactions that commit or roll back whole. */
export class SqlDatabase implements SqlExecutor {
  readonly #driver: MssqlDriver;
  readonly #pool: MssqlPool;
  readonly #direct: SqlExecutor;

  constructor(driver: MssqlDriver, pool: MssqlPool) {
    this.#driver = driver;
    this.#pool = pool;
    this.#direct = executor(driver, () => pool.request());
  }

  run(statement: SqlStatement, values?: SqlValues): Promise<MssqlResult> {
    return this.#direct.run(statement, values);
  }

  rows(statement: SqlStatement, values?: SqlValues): Promise<Row[]> {
    return this.#direct.rows(statement, values);
  }

  row(statement: SqlStatement, values?: SqlValues): Promise<Row | null> {
    return this.#direct.row(statement, values);
  }

  changed(statement: SqlStatement, values?: SqlValues): Promise<number> {
    return this.#direct.changed(statement, values);
  }

  /**
   * Runs `work` in one READ COMMITTED transaction on one connection; XACT_ABORT is on, so a failing statement
   * rolls back everything before it. A deadlock victim is run once more: the server has already undone its work,
   * and `work` only reads and writes the database.
   */
  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    try {
      return await this.#once(work);
    } catch (error) {
      if (!isDeadlock(error)) throw error;
      return await this.#once(work);
    }
  }

  async #once<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const transaction = new this.#driver.Transaction(this.#pool);
    await transaction.begin(this.#driver.ISOLATION_LEVEL.READ_COMMITTED);
    try {
      const result = await work(executor(this.#driver, () => transaction.request()));
      await transaction.commit();
      return result;
    } catch (error) {
      // The server may have rolled back already (XACT_ABORT, a deadlock): then there is nothing left to undo.
      await transaction.rollback().catch(() => undefined);
      throw error;
    }
  }
}
