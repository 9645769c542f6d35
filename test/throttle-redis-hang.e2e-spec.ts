import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createTestApp, logsOf, postLogin } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { directoryEnv } from './support/env.js';
import { freePort, spawnServer, stopProcess, waitForPorts, type ServerProcess } from './support/servers.js';

/**
 * A Redis that hangs (SIGSTOP: the connection stays open, nothing answers) must cost one command timeout, not
 * one per login: the throttle takes it out of use at the first timeout and back when it answers again.
 */

const PREFIX = 'hang-e2e';
let dir: string;
let redisProc: ServerProcess;
let redisPort: number;
let redis: Redis;
let db: TestDatabase;
let app: INestApplication | undefined;
let stopped = false;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'redis-hang-e2e-'));
  redisPort = await freePort();
  redisProc = spawnServer(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    join(dir, 'redis.log'),
  );
  await waitForPorts(redisProc, 'redis-server', [redisPort], 15_000);
  redis = new Redis(`redis://127.0.0.1:${redisPort}`, { maxRetriesPerRequest: 1 });
  db = await createTestDatabase('sqlite');
});

afterAll(async () => {
  if (stopped) process.kill(redisProc.pid, 'SIGCONT');
  await app?.close();
  redis?.disconnect();
  if (redisProc) await stopProcess(redisProc);
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Retries an assertion for up to 10 s. */
async function eventually(assertion: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const keysOf = (account: string) => redis.keys(`${PREFIX}:account:${account}`);

it('answers logins from memory at once while Redis hangs, and counts in Redis again once it answers', async () => {
  app = await createTestApp({
    ...directoryEnv('openldap'),
    DATABASE_URL: db.url,
    LOGIN_THROTTLE_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    LOGIN_THROTTLE_KEY_PREFIX: PREFIX,
  });
  const started = app;
  await postLogin(started, 'bob', 'guess').expect(401);
  await eventually(async () => expect(await keysOf('bob')).toHaveLength(1));

  process.kill(redisProc.pid, 'SIGSTOP');
  stopped = true;
  const hangBegan = performance.now();
  await postLogin(started, 'bob', 'guess').expect(401); // this one may wait for the command timeout
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3_000 - (performance.now() - hangBegan))));
  const durations: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await postLogin(started, 'bob', 'guess').expect(401);
    durations.push(performance.now() - t0);
  }
  durations.sort((a, b) => a - b);
  // Generous: a login against slapd takes a few ms; the Redis command timeout is 500 ms.
  expect(durations[10]).toBeLessThanOrEqual(100);
  expect(logsOf(started).filter((line) => line.includes('cannot be used'))).toHaveLength(1);

  process.kill(redisProc.pid, 'SIGCONT');
  stopped = false;
  // Counted in Redis again: a new account's failure shows up there.
  await eventually(async () => {
    await postLogin(started, 'after-the-hang', 'guess').expect(401);
    expect(await keysOf('after-the-hang')).toHaveLength(1);
  });
  expect(logsOf(started).filter((line) => line.includes('counters are shared again'))).toHaveLength(1);
});
