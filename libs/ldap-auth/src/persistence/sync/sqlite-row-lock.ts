import type { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { TransactionRunner } from '../transaction-runner.js';
import type { HeldSyncLock } from './held-sync-lock.js';

/** A SQLite lock row lives this long unless renewed; a crashed holder on another host frees it after this. */
const LOCK_TTL_MS = 5 * 60_000;

/**
 * SQLite has no server to hold a lock: a row in `ldap_sync_lock`, renewed while the run lasts. A holder that
 * died on this host frees it at once, one elsewhere (a shared file) when it expires.
 */
export async function trySqliteRowLock(
  transactions: TransactionRunner,
  logger: Logger,
  lockName: string,
): Promise<HeldSyncLock | undefined> {
  const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const acquired = await transactions.transaction(async (manager) => {
    const [current] = await manager.query<Array<{ holder: string; expires_at: string }>>(
      'SELECT holder, expires_at FROM ldap_sync_lock WHERE name = ?',
      [lockName],
    );
    if (current && !lockIsStale(current.holder, current.expires_at)) return false;
    const now = new Date();
    await manager.query('DELETE FROM ldap_sync_lock WHERE name = ?', [lockName]);
    await manager.query('INSERT INTO ldap_sync_lock (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)', [
      lockName,
      holder,
      sqliteDate(now),
      sqliteDate(new Date(now.getTime() + LOCK_TTL_MS)),
    ]);
    if (current) logger.warn(`Took over the sync lock from ${current.holder}, which is gone or expired`);
    return true;
  });
  if (!acquired) return undefined;
  const renew = setInterval(() => {
    void transactions
      .serialized(() =>
        transactions.dataSource.query('UPDATE ldap_sync_lock SET expires_at = ? WHERE name = ? AND holder = ?', [
          sqliteDate(new Date(Date.now() + LOCK_TTL_MS)),
          lockName,
          holder,
        ]),
      )
      .catch(() => undefined);
  }, LOCK_TTL_MS / 5);
  renew.unref();
  return {
    release: async () => {
      clearInterval(renew);
      await transactions.serialized(() =>
        transactions.dataSource.query('DELETE FROM ldap_sync_lock WHERE name = ? AND holder = ?', [lockName, holder]),
      );
    },
  };
}

/** Expired, or held by a process of this host that is gone. */
function lockIsStale(holder: string, expiresAt: string): boolean {
  if (new Date(`${expiresAt.replace(' ', 'T')}Z`).getTime() < Date.now()) return true;
  const [host, pid] = holder.split(':');
  if (host !== hostname()) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** SQLite's datetime text, as TypeORM writes it: `YYYY-MM-DD HH:MM:SS.SSS` in UTC. */
function sqliteDate(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}
