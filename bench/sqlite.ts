/**
 * better-sqlite3 for the benchmarks, typed: the project has no @types package for it (TypeORM loads it the
 * same way, untyped). Only the calls the benchmarks make.
 */
import { createRequire } from 'node:module';

export interface SqliteStatement {
  run(...values: unknown[]): unknown;
  get(...values: unknown[]): unknown;
  all(...values: unknown[]): unknown[];
}

export interface SqliteHandle {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  pragma(sql: string): unknown;
  transaction(fn: () => void): () => void;
  close(): void;
}

const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => SqliteHandle;

export function openSqlite(file: string): SqliteHandle {
  return new BetterSqlite3(file);
}
