import type { DataSource } from 'typeorm';

interface PgClientLike {
  on(event: 'error', listener: (error: unknown) => void): unknown;
}
interface PgPoolLike {
  on(event: 'connect', listener: (client: PgClientLike) => void): unknown;
  _clients?: PgClientLike[];
}

const ignore = (): void => undefined;

/**
 * A PostgreSQL backend killed (pg_terminate_backend, a failover) sends its error to the client even when no
 * query runs on it; in the moment between TypeORM's runner letting go of a client and the pool taking it back,
 * the client has no 'error' listener and Node throws the event: the process dies. A standing listener on each
 * client keeps that a lost connection (queries still fail, and the pool still drops the client).
 */
export function keepPostgresClientErrorsHandled(dataSource: DataSource): void {
  if (dataSource.options.type !== 'postgres') return;
  const pool = (dataSource.driver as unknown as { master?: PgPoolLike }).master;
  if (!pool) return;
  const guard = (client: PgClientLike) => {
    client.on('error', ignore);
  };
  pool.on('connect', guard);
  for (const client of pool._clients ?? []) guard(client);
}
