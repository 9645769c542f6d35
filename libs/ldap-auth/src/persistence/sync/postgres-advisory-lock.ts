import type { DataSource } from 'typeorm';
import { type HeldSyncLock, holdOnOwnConnection } from './held-sync-lock.js';

/** Key of the PostgreSQL advisory lock (any 64-bit number the app does not use otherwise): "ldapsync". */
const ADVISORY_LOCK_KEY = '7809644238116235';

/** PostgreSQL: a session advisory lock, taken without waiting, on a connection of its own. */
export function tryPostgresAdvisoryLock(dataSource: DataSource): Promise<HeldSyncLock | undefined> {
  return holdOnOwnConnection(
    dataSource,
    async (runner) => {
      const [{ locked }] = (await runner.query(
        `SELECT pg_try_advisory_lock(${ADVISORY_LOCK_KEY}) AS locked`,
      )) as Array<{
        locked: boolean;
      }>;
      return locked;
    },
    (runner) => runner.query(`SELECT pg_advisory_unlock(${ADVISORY_LOCK_KEY})`),
  );
}
