import { DatabaseUnavailableError } from '../errors/ldap-auth.errors.js';
import { errorText } from '../logging/one-line.js';

/** PostgreSQL SQLSTATEs of a connection the server ended (admin/crash/cannot connect now) or that broke. */
const POSTGRES_CODES = new Set(['57P01', '57P02', '57P03', '08006', '08003', '08001', '08004']);
/** Node socket codes and MySQL/MariaDB driver codes of a connection that went away. */
const SOCKET_AND_MYSQL_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CONNECTION_KILLED',
  'ER_SERVER_SHUTDOWN',
]);
/** MySQL/MariaDB errno: 1927 ER_CONNECTION_KILLED, 1053 ER_SERVER_SHUTDOWN, 2006/2013 server gone / lost. */
const MYSQL_ERRNOS = new Set([1927, 1053, 2006, 2013]);
const MESSAGES = [
  /Connection terminated unexpectedly/i,
  /Connection lost: The server closed the connection/i,
  /terminating connection due to administrator command/i,
  /Client has encountered a connection error and is not queryable/i,
  /Cannot enqueue Query after fatal error/i,
];

/**
 * Whether `error` (or its cause, or TypeORM's wrapper's driverError) says the database connection was lost:
 * killed by an administrator, reset, or the server went away. Pure: looks at codes and messages only.
 * TypeORM's QueryRunnerAlreadyReleasedError counts: the library releases its runners only in `finally`, so a
 * runner released under a running query was released by the driver when its connection died.
 */
export function isLostDatabaseConnection(error: unknown, depth = 0): boolean {
  if (depth > 4 || !error || typeof error !== 'object') return false;
  if (error instanceof DatabaseUnavailableError) return true;
  const e = error as { name?: unknown; code?: unknown; errno?: unknown; message?: unknown };
  if (e.name === 'QueryRunnerAlreadyReleasedError') return true;
  if (typeof e.code === 'string' && (POSTGRES_CODES.has(e.code) || SOCKET_AND_MYSQL_CODES.has(e.code))) return true;
  if (typeof e.errno === 'number' && MYSQL_ERRNOS.has(e.errno)) return true;
  if (typeof e.message === 'string' && MESSAGES.some((m) => m.test(e.message as string))) return true;
  const nested = error as { driverError?: unknown; cause?: unknown };
  return isLostDatabaseConnection(nested.driverError, depth + 1) || isLostDatabaseConnection(nested.cause, depth + 1);
}

/**
 * Runs `work`, and once more when the database connection was lost (the pool hands out a fresh one). Only for
 * work that is safe to repeat: a read, or a transaction (one that did not commit wrote nothing). A second
 * loss becomes a DatabaseUnavailableError naming `what`; any other error passes unchanged.
 */
export async function retryOnceOnLostConnection<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (first) {
    if (!isLostDatabaseConnection(first)) throw first;
    try {
      return await work();
    } catch (second) {
      if (!isLostDatabaseConnection(second)) throw second;
      throw new DatabaseUnavailableError(`database connection lost during ${what} (${errorText(second)})`, {
        cause: second,
      });
    }
  }
}
