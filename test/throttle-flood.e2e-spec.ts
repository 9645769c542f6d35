import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createTestApp, logsOf, postLoginFrom } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { directoryEnv } from './support/env.js';
import { fixtureUser } from './support/fixtures.js';

/**
 * The throttle under floods, through HTTP from several client addresses (loopback addresses: see
 * postLoginFrom). What a flood may cost is its own address's logins, never anyone else's, and never the count
 * kept for an account under attack.
 */

const alice = fixtureUser('alice');
const bob = fixtureUser('bob');

function expectRetryAfter(res: { headers: Record<string, string | undefined> }, maxSeconds: number): void {
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(maxSeconds);
}

/** Failed logins with `count` distinct unknown usernames from one address; the statuses in order. */
async function flood(app: INestApplication, address: string, count: number, tag: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await postLoginFrom(app, address, `${tag}-${i}`, 'x')).status);
  return statuses;
}

const countOf = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sqlite');
});
afterAll(async () => {
  await db?.drop();
});

describe('login throttle under a flood or a burst', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('stops a flood of usernames from one address at its own share; another address still logs in', async () => {
    app = await createTestApp({
      ...directoryEnv('openldap'),
      DATABASE_URL: db.url,
      LOGIN_THROTTLE_MAX_KEYS: '20',
      LOGIN_THROTTLE_CLIENT_LIMIT: '8',
    });
    const statuses = await flood(app, '127.0.0.11', 40, 'flood');
    // Nobody else is refused...
    await postLoginFrom(app, '127.0.0.12', 'alice', alice.password).expect(200);
    await postLoginFrom(app, '127.0.0.13', 'nobody-new', 'x').expect(401);
    // ...while the flood's address is, after its share of 8 failures, for every account.
    expect([countOf(statuses, 401), countOf(statuses, 429)]).toEqual([8, 32]);
    expectRetryAfter(await postLoginFrom(app, '127.0.0.11', 'alice', alice.password).expect(429), 60);
  });

  it('refuses no client that has not failed when the memory cap is full', async () => {
    app = await createTestApp({
      ...directoryEnv('openldap'),
      DATABASE_URL: db.url,
      LOGIN_THROTTLE_MAX_KEYS: '5',
      LOGIN_THROTTLE_CLIENT_LIMIT: '25',
    });
    // 30 names: the per-account counters fill the cap of 5, the address's own counter still stops it at 25.
    const statuses = await flood(app, '127.0.0.21', 30, 'flood');
    await postLoginFrom(app, '127.0.0.22', 'alice', alice.password).expect(200);
    await postLoginFrom(app, '127.0.0.23', 'bob', bob.password).expect(200);
    expect([countOf(statuses, 401), countOf(statuses, 429)]).toEqual([25, 5]);
    expect(logsOf(app).some((line) => line.startsWith('WARN') && line.includes('LOGIN_THROTTLE_MAX_KEYS'))).toBe(true);
    // Other addresses flooding at the same time each get their own first failures answered, not 429.
    for (const address of ['127.0.0.24', '127.0.0.25', '127.0.0.26']) {
      expect(countOf(await flood(app, address, 3, `flood-${address}`), 401)).toBe(3);
    }
    await postLoginFrom(app, '127.0.0.27', 'alice', alice.password).expect(200);
  });

  it('counts guesses sent in parallel before any of them has failed', async () => {
    app = await createTestApp({ ...directoryEnv('openldap'), DATABASE_URL: db.url, LOGIN_THROTTLE_LIMIT: '3' });
    const statuses = await Promise.all(
      Array.from({ length: 12 }, async () => (await postLoginFrom(app!, '127.0.4.1', 'bob', 'guess')).status),
    );
    // Only as many guesses as the limit reach the directory, however they interleave; the rest wait.
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((status) => status !== 401).every((status) => status === 429)).toBe(true);
    expectRetryAfter(await postLoginFrom(app, '127.0.4.1', 'bob', bob.password).expect(429), 60);
  });

  it('stops a guess at one account spread over many addresses', async () => {
    app = await createTestApp({
      ...directoryEnv('openldap'),
      DATABASE_URL: db.url,
      LOGIN_THROTTLE_LIMIT: '3',
      LOGIN_THROTTLE_ACCOUNT_LIMIT: '6',
    });
    // Two guesses from each of three addresses: every address stays under its own limit of 3.
    for (const address of ['127.0.1.1', '127.0.1.2', '127.0.1.3']) {
      for (let i = 0; i < 2; i++) await postLoginFrom(app, address, i ? 'BOB' : 'bob', `guess-${i}`).expect(401);
    }
    // The account's own counter (6 failures, from anywhere) now refuses it everywhere, before the directory.
    for (const address of ['127.0.1.4', '127.0.1.5', '127.0.1.1']) {
      expectRetryAfter(await postLoginFrom(app, address, 'bob', bob.password).expect(429), 900);
    }
    // Other accounts, from the same addresses, are not affected; nor does a success count.
    await postLoginFrom(app, '127.0.1.1', 'alice', alice.password).expect(200);
    await postLoginFrom(app, '127.0.1.4', 'alice', alice.password).expect(200);
  });

  it('never resets the count of an account under attack, however many keys a flood adds', async () => {
    app = await createTestApp({
      ...directoryEnv('openldap'),
      DATABASE_URL: db.url,
      LOGIN_THROTTLE_LIMIT: '3',
      LOGIN_THROTTLE_ACCOUNT_LIMIT: '5',
      LOGIN_THROTTLE_MAX_KEYS: '4',
    });
    for (const address of ['127.0.2.1', '127.0.2.2', '127.0.2.3', '127.0.2.4']) {
      await postLoginFrom(app, address, 'bob', 'guess').expect(401);
    }
    // Twenty other addresses, three fresh names each: far more keys than the cap holds. None is refused.
    for (let i = 1; i <= 20; i++) {
      expect(countOf(await flood(app, `127.0.3.${i}`, 3, `flood-${i}`), 401)).toBe(3);
    }
    // bob's count (4) survived the flood: one more failure, from a fresh address, reaches the limit of 5.
    await postLoginFrom(app, '127.0.2.5', 'bob', 'guess').expect(401);
    expectRetryAfter(await postLoginFrom(app, '127.0.2.6', 'bob', bob.password).expect(429), 900);
    await postLoginFrom(app, '127.0.2.6', 'alice', alice.password).expect(200);
  });
});
