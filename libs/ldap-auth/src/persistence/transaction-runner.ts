import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { SqlDialect } from './sql-dialect.js';
import { keepPostgresClientErrorsHandled } from './pg-client-errors.js';

/**
 * Runs the library's transactions. SQLite has one writer and TypeORM's better-sqlite3 driver one connection:
 * two transactions of this process must not interleave on it, so they are queued here (logins and the sync
 * share the queue). Other databases run them concurrently (MySQL in READ COMMITTED, see SqlDialect).
 */
@Injectable()
export class TransactionRunner {
  private sqliteQueue: Promise<unknown> = Promise.resolve();

  readonly dialect: SqlDialect;

  constructor(@InjectDataSource() readonly dataSource: DataSource) {
    this.dialect = SqlDialect.of(dataSource);
    keepPostgresClientErrorsHandled(dataSource);
  }

  get databaseType(): DataSource['options']['type'] {
    return this.dataSource.options.type;
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const isolation = this.dialect.isolation;
    return this.serialized(() =>
      isolation ? this.dataSource.transaction(isolation, work) : this.dataSource.transaction(work),
    );
  }

  /** Runs `fn` in this process's SQLite queue (directly elsewhere). */
  serialized<T>(fn: () => Promise<T>): Promise<T> {
    if (this.dataSource.options.type !== 'better-sqlite3') return fn();
    const run = this.sqliteQueue.then(fn, fn);
    this.sqliteQueue = run.catch(() => undefined);
    return run;
  }
}
