import { describe, expect, it } from '@jest/globals';
import { DatabaseUnavailableError } from '../errors/ldap-auth.errors.js';
import { isLostDatabaseConnection, retryOnceOnLostConnection } from './lost-connection.js';

/** An error shaped as TypeORM's QueryFailedError wrapping a driver's error. */
function queryFailed(driverError: object): Error {
  return Object.assign(new Error('query failed'), { name: 'QueryFailedError', driverError });
}

describe('isLostDatabaseConnection', () => {
  it.each([
    [
      'PostgreSQL admin shutdown',
      queryFailed({ code: '57P01', message: 'terminating connection due to administrator command' }),
    ],
    ['PostgreSQL connection failure', { code: '08006' }],
    ['pg client', new Error('Connection terminated unexpectedly')],
    ['socket reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['broken pipe', { code: 'EPIPE' }],
    ['MariaDB KILL', queryFailed({ errno: 1927, code: 'ER_CONNECTION_KILLED' })],
    ['mysql2 lost', { code: 'PROTOCOL_CONNECTION_LOST' }],
    ['mysql message', new Error('Connection lost: The server closed the connection.')],
    ['released runner', Object.assign(new Error('released'), { name: 'QueryRunnerAlreadyReleasedError' })],
    ['a cause', new Error('outer', { cause: { code: '57P01' } })],
  ])('%s: lost', (_, error) => {
    expect(isLostDatabaseConnection(error)).toBe(true);
  });

  it.each([
    ['unique violation', queryFailed({ code: '23505' })],
    ['MySQL duplicate', queryFailed({ errno: 1062 })],
    ['plain error', new Error('boom')],
    ['not an error', 'ECONNRESET'],
    ['nothing', undefined],
  ])('%s: not lost', (_, error) => {
    expect(isLostDatabaseConnection(error)).toBe(false);
  });
});

describe('retryOnceOnLostConnection', () => {
  const lost = () => Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });

  it('runs the work again once after a lost connection', async () => {
    let calls = 0;
    const result = await retryOnceOnLostConnection('a login', () =>
      ++calls === 1 ? Promise.reject(lost()) : Promise.resolve('ok'),
    );
    expect([result, calls]).toEqual(['ok', 2]);
  });

  it('a second loss is a DatabaseUnavailableError on one line naming the work', async () => {
    let calls = 0;
    const error = await retryOnceOnLostConnection('a login', () => (calls++, Promise.reject(lost()))).catch(
      (e: unknown) => e,
    );
    expect(calls).toBe(2);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toBe(
      'database connection lost during a login (Connection terminated unexpectedly)',
    );
  });

  it('any other error passes unchanged, not retried', async () => {
    let calls = 0;
    const other = new Error('boom');
    await expect(retryOnceOnLostConnection('a login', () => (calls++, Promise.reject(other)))).rejects.toBe(other);
    expect(calls).toBe(1);
  });
});
