import { Injectable, Logger } from '@nestjs/common';
import { TransactionRunner } from '../transaction-runner.js';
import type { HeldSyncLock } from './held-sync-lock.js';
import { tryMysqlNamedLock } from './mysql-named-lock.js';
import { tryPostgresAdvisoryLock } from './postgres-advisory-lock.js';
import { trySqliteRowLock } from './sqlite-row-lock.js';

/**
 * One full sync at a time across every process and replica sharing the database, each database with the lock
 * it has: PostgreSQL a session advisory lock, MySQL / MariaDB a named lock (GET_LOCK), both on a connection
 * of their own that a killed process frees with it; SQLite a row in `ldap_sync_lock`.
 */
export type SyncLockName = 'ldap-sync' | 'ldap-sync-push';

@Injectable()
export class LdapSyncLock {
  private readonly logger = new Logger(LdapSyncLock.name);

  constructor(private readonly transactions: TransactionRunner) {}

  /**
   * Takes the sync lock (`ldap-sync`: one run at a time), or the push lock (`ldap-sync-push`: one replica keeps
   * the directory's change stream open); undefined when another run or process holds it.
   */
  tryLock(name: SyncLockName = 'ldap-sync'): Promise<HeldSyncLock | undefined> {
    const { dataSource, dialect } = this.transactions;
    if (dialect.kind === 'postgres') return tryPostgresAdvisoryLock(dataSource, name);
    if (dialect.kind === 'mysql') return tryMysqlNamedLock(dataSource, name);
    return trySqliteRowLock(this.transactions, this.logger, name);
  }
}
