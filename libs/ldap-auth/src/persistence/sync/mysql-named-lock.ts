import type { DataSource } from 'typeorm';
import { type HeldSyncLock, holdOnOwnConnection } from './held-sync-lock.js';

/** MySQL / MariaDB: `GET_LOCK` with no wait, on a connection of its own held for the whole run. */
export function tryMysqlNamedLock(dataSource: DataSource, lockName: string): Promise<HeldSyncLock | undefined> {
  // GET_LOCK names are server-wide: the database's name keeps apps sharing a server apart.
  const prefix = `${lockName}:`;
  let name = '';
  return holdOnOwnConnection(
    dataSource,
    async (runner) => {
      const [{ db }] = (await runner.query('SELECT DATABASE() AS db')) as Array<{ db: string }>;
      // GET_LOCK names are at most 64 characters; a database name is at most 64 too.
      name = `${prefix}${db}`.slice(0, 64);
      const [{ locked }] = (await runner.query('SELECT GET_LOCK(?, 0) AS locked', [name])) as Array<{
        locked: number | string | null;
      }>;
      return Number(locked) === 1;
    },
    (runner) => runner.query('SELECT RELEASE_LOCK(?)', [name]),
  );
}
