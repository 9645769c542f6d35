import type { DataSource, QueryRunner } from 'typeorm';

/** A held sync lock: release it when the run is over. */
export interface HeldSyncLock {
  release(): Promise<void>;
}

/**
 * Takes a server lock (PostgreSQL, MySQL) on a pooled connection kept for the whole run: the server frees such
 * a lock when its connection ends, a killed process included. The connection goes back to the pool when the
 * lock is released, or at once when `take` says the lock is held elsewhere.
 */
export async function holdOnOwnConnection(
  dataSource: DataSource,
  take: (runner: QueryRunner) => Promise<boolean>,
  free: (runner: QueryRunner) => Promise<unknown>,
): Promise<HeldSyncLock | undefined> {
  const runner: QueryRunner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    if (!(await take(runner))) {
      await runner.release();
      return undefined;
    }
  } catch (error) {
    await runner.release();
    throw error;
  }
  return {
    release: async () => {
      try {
        await free(runner);
      } finally {
        await runner.release();
      }
    },
  };
}
