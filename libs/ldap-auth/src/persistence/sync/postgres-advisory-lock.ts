import type { DataSource } from 'typeorm';
import { type HeldSyncLock, holdOnOwnConnection } from './held-sync-lock.js';

/** Keys of the PostgreSQL advisory locks (64-bit numbers the app does not use otherwise): "ldapsync" and the next. */
const ADVISORY_LOCK_KEYS: Record<string, string> = {
  'ldap-sync': '7809644238116235',
  'ldap-sync-push': '7809644238116236',
};

/** PostgreSQL: a session advisory lock, taken without waiting, on a connection of its own. */
export function tryPostgresAdvisoryLock(dataSource: DataSource, lockName: string): Promise<HeldSyncLock | undefined> {
  const key = ADVISORY_LOCK_KEYS[lockName];
  return holdOnOwnConnection(
    dataSource,
    async (runner) => {
      const [{ locked }] = (await runner.query(`SELECT pg_try_advisory_lock(${key}) AS locked`)) as Array<{
        locked: boolean;
      }>;
      return locked;
    },
    (runner) => runner.query(`SELECT pg_advisory_unlock(${key})`),
  );
}
