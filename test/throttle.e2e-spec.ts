import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import request from 'supertest';
import { LoginThrottleService } from '../src/auth/login-throttle.service.js';
import { createTestApp, logsOf, postLogin } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { directoryEnv, openLdapEnv } from './support/env.js';
import { fixtureUser } from './support/fixtures.js';
import { freePort, logTail, stopProcess, testServers, waitForPorts, type ServerProcess } from './support/servers.js';
import { startRecordingProxy, type RecordingProxy } from './support/tcp-proxy.js';

const REDIS_URL = process.env.E2E_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MAIN_JS = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** A key prefix no other run (or suite) uses, so runs sharing one Redis never see each other's counters. */
const runPrefix = `e2e-throttle-${process.pid}-${Date.now()}-${randomBytes(4).toString('hex')}`;

function expectRetryAfter(res: { headers: Record<string, string | undefined> }, ttlSeconds: number): void {
  const value = res.headers['retry-after'];
  expect(value).toMatch(/^\d+$/);
  expect(Number(value)).toBeGreaterThanOrEqual(1);
  expect(Number(value)).toBeLessThanOrEqual(ttlSeconds);
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Retries an assertion for up to 10 s (a failed login is recorded just after its answer is sent). */
async function eventually(assertion: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** The counters an app using this key prefix keeps in Redis. */
const redisKeys = (redis: Redis, prefix: string) => scanKeys(redis, `${prefix}:*`);

let redis: Redis;
let db: TestDatabase;

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${REDIS_URL} (set E2E_REDIS_URL): ${String(error)}`);
  }
  db = await createTestDatabase('sqlite');
});

afterAll(async () => {
  if (redis?.status === 'ready') {
    const keys = await scanKeys(redis, `${runPrefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  } else {
    redis?.disconnect();
  }
  await db?.drop();
});

describe('login throttle, one app in memory', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('counts the failures of every spelling of one AD account in one bucket, and answers 429 with Retry-After', async () => {
    // Its own database: the other tests log the same names in from OpenLDAP.
    const adDb = await createTestDatabase('sqlite');
    try {
      app = await createTestApp({ ...directoryEnv('ad'), DATABASE_URL: adDb.url, LOGIN_THROTTLE_LIMIT: '4' });
      const alice = fixtureUser('alice');
      // Successes are not counted.
      for (let i = 0; i < 6; i++) await postLogin(app, 'alice', alice.password).expect(200);
      for (const name of ['alice', ' ALICE ', 'EXAMPLE\\alice', 'alice@example.test']) {
        await postLogin(app, name, 'wrong').expect(401);
      }
      for (const name of ['ａｌｉｃｅ', 'ＡＬＩＣＥ', 'example\\Alice', 'Alice@EXAMPLE.TEST', 'alice']) {
        const res = await postLogin(app, name, alice.password).expect(429);
        expectRetryAfter(res, 60);
      }
      // Another account from the same client is not affected.
      await postLogin(app, 'bob', fixtureUser('bob').password).expect(200);
    } finally {
      await app?.close();
      app = undefined;
      await adDb.drop();
    }
  });

  it('keeps short keys for a 15 KB username (just under the 16 KB body limit), however often it is sent', async () => {
    app = await createTestApp({ ...directoryEnv('openldap'), DATABASE_URL: db.url });
    const throttle = app.get(LoginThrottleService);
    const huge = 'a'.repeat(15_000);
    for (let i = 0; i < 20; i++) await postLogin(app, huge, 'whatever').expect(401);
    expect([throttle.memoryKeyCount('pair'), throttle.memoryKeyCount('account')]).toEqual([1, 1]);
    // Distinct huge names cost one short key each (and the client's own limit bounds how many).
    for (let i = 0; i < 5; i++) await postLogin(app, `${huge}${i}`, 'whatever').expect(401);
    expect([throttle.memoryKeyCount('pair'), throttle.memoryKeyCount('account')]).toEqual([6, 6]);
    for (const name of ['pair', 'client', 'account'] as const) {
      for (const key of throttle.memoryKeys(name)) expect(key.length).toBeLessThan(120);
    }
    // The client part of the key: supertest connects over IPv4 to a dual-stack socket (::ffff:127.0.0.1).
    expect(throttle.memoryKeys('pair').every((key) => key.startsWith('127.0.0.1|'))).toBe(true);
    expect(throttle.memoryKeys('client')).toEqual(['127.0.0.1']);
  });

  it('groups an IPv6 client under its /64', async () => {
    app = await createTestApp({ ...directoryEnv('openldap'), DATABASE_URL: db.url });
    await app.listen(0, '::1');
    const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
    await request(`http://[::1]:${port}`).post('/auth/login').send({ username: 'Bob', password: 'x' }).expect(401);
    const throttle = app.get(LoginThrottleService);
    expect([throttle.memoryKeys('pair'), throttle.memoryKeys('client')]).toEqual([
      ['0:0:0:0::/64|bob'],
      ['0:0:0:0::/64'],
    ]);
  });

  it('holds at most LOGIN_THROTTLE_MAX_KEYS keys per counter: new keys are then not counted, none is refused', async () => {
    app = await createTestApp({
      ...directoryEnv('openldap'),
      DATABASE_URL: db.url,
      LOGIN_THROTTLE_LIMIT: '2',
      LOGIN_THROTTLE_CLIENT_LIMIT: '8',
      LOGIN_THROTTLE_MAX_KEYS: '3',
    });
    const throttle = app.get(LoginThrottleService);
    for (const name of ['nobody-1', 'nobody-2', 'nobody-3']) await postLogin(app, name, 'x').expect(401);
    // A fourth account: its failures are not kept (the cap), so they never reach its limit of 2...
    for (let i = 0; i < 2; i++) await postLogin(app, 'nobody-4', 'x').expect(401);
    // ...while a key already held counts as usual.
    await postLogin(app, ' NOBODY-1 ', 'x').expect(401);
    expectRetryAfter(await postLogin(app, 'nobody-1', 'x').expect(429), 60);
    await postLogin(app, 'alice', fixtureUser('alice').password).expect(200);
    expect([throttle.memoryKeyCount('pair'), throttle.memoryKeyCount('account')]).toEqual([3, 3]);
    expect(logsOf(app).some((line) => line.startsWith('WARN') && line.includes('LOGIN_THROTTLE_MAX_KEYS'))).toBe(true);
    // The client's own counter (one key) saw all of them: 6 failures, 2 more reach its limit of 8.
    for (let i = 0; i < 2; i++) await postLogin(app, 'nobody-5', 'x').expect(401);
    expectRetryAfter(await postLogin(app, 'alice', fixtureUser('alice').password).expect(429), 60);
  });
});

describe('login throttle in Redis', () => {
  let app: INestApplication | undefined;
  let proxy: RecordingProxy | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await proxy?.close();
    proxy = undefined;
  });

  it('falls back to a per-process memory limit when Redis goes away, still answering 429', async () => {
    const prefix = `${runPrefix}-outage`;
    const redisPort = Number(new URL(REDIS_URL).port || 6379);
    proxy = await startRecordingProxy(redisPort);
    const url = new URL(REDIS_URL);
    url.port = String(proxy.port);
    url.hostname = '127.0.0.1';
    app = await createTestApp({
      ...directoryEnv('openldap'),
      DATABASE_URL: db.url,
      LOGIN_THROTTLE_LIMIT: '3',
      LOGIN_THROTTLE_REDIS_URL: url.toString(),
      LOGIN_THROTTLE_KEY_PREFIX: prefix,
    });
    const throttle = app.get(LoginThrottleService);
    await postLogin(app, 'bob', 'guess').expect(401);
    // Counted in Redis (pair, client, account), not in memory; recorded just after the answer is sent.
    await eventually(async () => expect(await redisKeys(redis, prefix)).toHaveLength(3));
    expect(throttle.memoryKeyCount()).toBe(0);

    await proxy.close(); // Redis unreachable from now on
    proxy = undefined;
    for (let i = 0; i < 3; i++) await postLogin(app, 'bob', 'guess').expect(401);
    const res = await postLogin(app, 'BOB', fixtureUser('bob').password).expect(429);
    expectRetryAfter(res, 60);
    expect(throttle.memoryKeys('pair')).toEqual(['127.0.0.1|bob']);
    expect(logsOf(app).some((line) => line.startsWith('WARN') && line.includes('counted in this process only'))).toBe(
      true,
    );
  });

  it('starts, and throttles in memory, when Redis does not answer at start-up', async () => {
    proxy = await startRecordingProxy(Number(new URL(REDIS_URL).port || 6379), 'blackHole');
    app = await createTestApp({
      ...directoryEnv('openldap'),
      DATABASE_URL: db.url,
      LOGIN_THROTTLE_LIMIT: '2',
      LOGIN_THROTTLE_REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      LOGIN_THROTTLE_KEY_PREFIX: `${runPrefix}-hung`,
    });
    for (let i = 0; i < 2; i++) await postLogin(app, 'bob', 'guess').expect(401);
    expectRetryAfter(await postLogin(app, 'bob', fixtureUser('bob').password).expect(429), 60);
    expect(app.get(LoginThrottleService).memoryKeys('pair')).toEqual(['127.0.0.1|bob']);
    expect(logsOf(app).some((line) => line.startsWith('WARN') && line.includes('counted in this process only'))).toBe(
      true,
    );
  });

  describe('two app processes sharing one Redis', () => {
    const prefix = `${runPrefix}-shared`;
    const procs: ServerProcess[] = [];
    const ports: number[] = [];
    const dirs: string[] = [];

    function startApp(port: number): ServerProcess {
      const dir = mkdtempSync(join(tmpdir(), 'throttle-e2e-'));
      dirs.push(dir);
      const logFile = join(dir, 'app.log');
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
      Object.assign(env, {
        ...openLdapEnv(testServers().slapd),
        DATABASE_URL: `sqlite:${join(dir, 'app.sqlite')}`,
        JWT_SECRET: 'e2e-secret-e2e-secret-e2e-secret',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOGIN_THROTTLE_LIMIT: '3',
        LOGIN_THROTTLE_REDIS_URL: REDIS_URL,
        LOGIN_THROTTLE_KEY_PREFIX: prefix,
      });
      const fd = openSync(logFile, 'a');
      let exitedWith: string | undefined;
      // pdeathsig: the app dies with Jest even if afterAll never runs.
      const child = spawn('setpriv', ['--pdeathsig', 'TERM', '--', process.execPath, MAIN_JS], {
        env,
        stdio: ['ignore', fd, fd],
      });
      closeSync(fd);
      const exited = new Promise<string>((resolve) => {
        child.once('exit', (code, signal) => resolve((exitedWith = signal ?? String(code))));
        child.once('error', (err) => resolve((exitedWith = `spawn error: ${err.message}`)));
      });
      child.unref();
      if (child.pid === undefined) throw new Error('could not start the demo app');
      return { pid: child.pid, logFile, exited, hasExited: () => exitedWith !== undefined };
    }

    beforeAll(async () => {
      if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run "npm run build" first`);
      for (let i = 0; i < 2; i++) {
        const port = await freePort();
        ports.push(port);
        procs.push(startApp(port));
      }
      await Promise.all(procs.map((proc, i) => waitForPorts(proc, `demo app ${i}`, [ports[i]], 30_000)));
    });

    afterAll(async () => {
      await Promise.all(procs.map((proc) => stopProcess(proc)));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    const login = (i: number, username: string, password: string) =>
      request(`http://127.0.0.1:${ports[i]}`).post('/auth/login').send({ username, password });

    it('counts attempts on one process against the limit on the other', async () => {
      try {
        for (let i = 0; i < 3; i++) await login(0, 'bob', 'guess').expect(401);
        const res = await login(1, 'Bob', fixtureUser('bob').password).expect(429);
        expectRetryAfter(res, 60);
        await login(0, 'bob', fixtureUser('bob').password).expect(429);
        // The counters live in Redis under this run's prefix; other accounts are not affected.
        await eventually(async () =>
          expect((await redisKeys(redis, prefix)).sort()).toEqual([
            `${prefix}:127.0.0.1|bob`,
            `${prefix}:account:bob`,
            `${prefix}:client:127.0.0.1`,
          ]),
        );
        await login(1, 'alice', fixtureUser('alice').password).expect(200);
      } catch (error) {
        const logs = await Promise.all(procs.map((proc) => logTail(proc.logFile)));
        throw new Error(`${String(error)}\n--- app 0:\n${logs[0]}\n--- app 1:\n${logs[1]}`);
      }
    });
  });
});
