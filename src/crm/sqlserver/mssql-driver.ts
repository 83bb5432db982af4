import { createRequire } from 'node:module';
import type { TokenCredential } from '@azure/identity';

/*
 * The part of the `mssql` package (and of tedious beneath it) this adapter uses, typed here so that nothing else
 * depends on the driver's own types. This folder is the only place that loads the driver.
 */

/** A parameter type made by the driver (`NVarChar(4000)`, `DateTime2(3)`, …); opaque to us. */
export type MssqlType = { readonly __mssqlType: unique symbol };

export interface MssqlResult {
  /** The rows of the first result set (empty when the statement returns none). */
  recordset?: Record<string, unknown>[];
  /** Rows changed by each statement of the batch, in order. */
  rowsAffected: number[];
}

export interface MssqlRequest {
  input(name: string, type: MssqlType, value: unknown): MssqlRequest;
  query(command: string): Promise<MssqlResult>;
}

export interface MssqlTransaction {
  begin(isolationLevel?: number): Promise<unknown>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  request(): MssqlRequest;
}

export interface MssqlPool {
  connect(): Promise<unknown>;
  close(): Promise<void>;
  request(): MssqlRequest;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

/** tedious's `token-credential` authentication: it asks the credential for a token at each login. */
export interface TokenCredentialAuthentication {
  type: 'token-credential';
  options: { credential: TokenCredential };
}

/** SQL Server's own login. */
export interface SqlLoginAuthentication {
  type: 'default';
  options: { userName: string; password: string };
}

export interface MssqlPoolConfig {
  server: string;
  port?: number;
  database: string;
  authentication: TokenCredentialAuthentication | SqlLoginAuthentication;
  /** Milliseconds to open one connection (TCP, TLS and login). */
  connectionTimeout: number;
  /** Milliseconds one statement may run. */
  requestTimeout: number;
  pool: { max: number; min: number; idleTimeoutMillis: number; acquireTimeoutMillis: number };
  options: {
    /** `strict`: TDS 8.0, TLS before anything else. */
    encrypt: boolean | 'strict';
    trustServerCertificate: boolean;
    instanceName?: string;
    appName: string;
    /** Dates are sent and read as UTC. */
    useUTC: boolean;
    /** SET XACT_ABORT ON: any error inside a transaction rolls all of it back. */
    abortTransactionOnError: boolean;
    /** Connect to any address of a name (an availability group listener spans subnets). */
    multiSubnetFailover?: boolean;
  };
}

export interface MssqlDriver {
  ConnectionPool: new (config: MssqlPoolConfig) => MssqlPool;
  Transaction: new (pool: MssqlPool) => MssqlTransaction;
  /** Every error the driver raises (connection, request, transaction) derives from it. */
  MSSQLError: new (...args: never[]) => Error;
  ISOLATION_LEVEL: { READ_COMMITTED: number };
  MAX: number;
  NVarChar(length: number): MssqlType;
  VarBinary(length: number): MssqlType;
  DateTime2(scale: number): MssqlType;
  Int: MssqlType;
  BigInt: MssqlType;
  Bit: MssqlType;
}

let loaded: MssqlDriver | null = null;

/** The driver, loaded on first use so that a SQLite installation never pays for it. */
export function mssqlDriver(): MssqlDriver {
  loaded ??= createRequire(import.meta.url)('mssql') as MssqlDriver;
  return loaded;
}
