import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * Runs the library's transactions. SQLite has one writer and TypeORM's better-sqlite3 driver one connection:
 * two transactions of this process must not interleave on it, so they are queued here (logins and the sync
 * share the queue). Other databases run them concurrently.
 */
@Injectable()
export class TransactionRunner {
  private sqliteQueue: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() readonly dataSource: DataSource) {}

  get databaseType(): DataSource['options']['type'] {
    return this.dataSource.options.type;
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.serialized(() => this.dataSource.transaction(work));
  }

  /** Runs `fn` in this process's SQLite queue (directly elsewhere). */
  serialized<T>(fn: () => Promise<T>): Promise<T> {
    if (this.dataSource.options.type !== 'better-sqlite3') return fn();
    const run = this.sqliteQueue.then(fn, fn);
    this.sqliteQueue = run.catch(() => undefined);
    return run;
  }
}
