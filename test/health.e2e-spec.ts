import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { LDAP_HEALTH_RESULT_TTL_MS } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, createTestApp, logsOf, postLogin } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { DIRECTORY_KINDS, directoryEnv, serviceAccountEnv, type DirectoryKind } from './support/env.js';
import { fixtureUser } from './support/fixtures.js';
import { startSlapd, type SlapdHandle } from './support/slapd.js';
import { startRecordingProxy, type RecordingProxy } from './support/tcp-proxy.js';

const UP = { status: 'up' };
const DOWN = { status: 'down' };
/** A 200 body: every component up, the service account's state in the directory's details. */
const healthy = (serviceAccount: string) => ({
  status: 'ok',
  info: { database: UP, directory: UP },
  error: {},
  details: { database: UP, directory: { ...UP, serviceAccount } },
});
const DIRECTORY_DOWN = {
  status: 'error',
  info: { database: UP },
  error: { directory: DOWN },
  details: { database: UP, directory: DOWN },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Long enough for the indicator's last result to expire, so the next check probes the directory. */
const untilStale = () => sleep(LDAP_HEALTH_RESULT_TTL_MS + 200);

/** A body anyone may see must hold no error text: no host, port, address, URL or message. */
function expectNoErrorText(body: unknown, ...secrets: string[]): void {
  const text = JSON.stringify(body);
  for (const word of ['127.0.0.1', 'ldap', 'ECONN', 'timed out', 'timeout', 'message', 'responseTime', ...secrets]) {
    expect([word, text.includes(word)]).toEqual([word, false]);
  }
}

const getHealth = (app: INestApplication) => request(app.getHttpServer()).get('/health');

describe('GET /health', () => {
  // A database per test: users logged in from one directory must not meet the same names from another.
  let db: TestDatabase;
  let app: INestApplication | undefined;
  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await db?.drop();
  });

  describe.each(DIRECTORY_KINDS)('against %s', (kind: DirectoryKind) => {
    it('is 200 with every component up, reading the root DSE (no service account)', async () => {
      app = await createTestApp({ ...directoryEnv(kind), DATABASE_URL: db.url });
      const res = await getHealth(app).expect(200);
      expect(res.body).toEqual(healthy('not configured'));
      expect(res.headers['cache-control']).toContain('no-store');
    });

    // Issue 20: a wrong service password used to make this 503 ("directory down") although logins work.
    it('is 200 when the service account binds, and still 200 when its password is wrong, with the refusal in its details', async () => {
      app = await createTestApp({ ...directoryEnv(kind), ...serviceAccountEnv(kind), DATABASE_URL: db.url });
      expect((await getHealth(app).expect(200)).body).toEqual(healthy('ok'));
      await app.close();

      const wrong = { ...serviceAccountEnv(kind), LDAP_SYNC_USER_PASSWORD: 'Not-the-password1' };
      app = await createTestApp({ ...directoryEnv(kind), ...wrong, DATABASE_URL: db.url });
      const res = await getHealth(app).expect(200);
      expect(res.body).toEqual(healthy('refused: invalidCredentials (49)'));
      expectNoErrorText(res.body, 'Not-the-password1', 'data 52e', 'wrong');
      expect(logsOf(app).join('\n')).toMatch(
        /WARN \[LdapHealthIndicator\] The directory answers the health probe, but the service account could not bind \(LDAP_SYNC_USER_USERNAME \/ LDAP_SYNC_USER_PASSWORD\): /,
      );
      // Logins do not depend on the service account in bind mode.
      const alice = fixtureUser('alice');
      await postLogin(app, 'alice', alice.password).expect(200);
    });
  });

  it('is 503 in search login mode when the service account is refused (logins need it there)', async () => {
    const wrong = { ...serviceAccountEnv('openldap'), LDAP_SYNC_USER_PASSWORD: 'Not-the-password1' };
    app = await createTestApp({
      ...directoryEnv('openldap'),
      ...wrong,
      LDAP_AUTH_LOGIN_MODE: 'search',
      DATABASE_URL: db.url,
    });
    const res = await getHealth(app).expect(503);
    expect(res.body).toMatchObject({
      status: 'error',
      details: { directory: { status: 'down', serviceAccount: 'refused: invalidCredentials (49)' } },
    });
  });

  it('is 503 when the database does not answer, and says only which component is down', async () => {
    app = await createTestApp({ ...directoryEnv('openldap'), DATABASE_URL: db.url });
    await getHealth(app).expect(200);
    await appDataSource(app).destroy();
    const res = await getHealth(app).expect(503);
    expect(res.body).toEqual({
      status: 'error',
      info: { directory: UP },
      error: { database: DOWN },
      details: { database: DOWN, directory: { ...UP, serviceAccount: 'not configured' } },
    });
    expectNoErrorText(res.body, 'sqlite', 'SQLITE', 'onnection', db.url);
    expect(logsOf(app).join('\n')).toMatch(/WARN \[Health\] Health check failed: database down \(.+\)/);
  });

  describe('with a directory that hangs, then comes back', () => {
    // Its own slapd, stopped with SIGSTOP: it still accepts TCP connections (the kernel queues them) but never
    // answers, as a hung server does. The recording proxy in front counts the connections made to it.
    let own: SlapdHandle;
    let proxy: RecordingProxy;
    const hang = () => process.kill(own.pid, 'SIGSTOP');
    const resume = () => {
      if (own) process.kill(own.pid, 'SIGCONT');
    };

    beforeAll(async () => {
      own = await startSlapd();
      proxy = await startRecordingProxy(Number(new URL(own.url).port));
    });
    afterEach(resume);
    afterAll(async () => {
      await proxy?.close();
      await own?.stop();
    });

    async function appOnOwnSlapd(): Promise<INestApplication> {
      return createTestApp({
        LDAP_AUTH_URL: proxy.url,
        LDAP_AUTH_SEARCH_BASE: own.peopleDn,
        LDAP_SYNC_USER_USERNAME: own.serviceDn,
        LDAP_SYNC_USER_PASSWORD: own.servicePassword,
        LDAP_SYNC_ENABLED: 'false',
        LDAP_AUTH_CONNECT_TIMEOUT: '0.5',
        LDAP_AUTH_RECEIVE_TIMEOUT: '0.5',
        DATABASE_URL: db.url,
      });
    }

    it('answers 503 within the timeouts, with no error text, and 200 again once it is back', async () => {
      app = await appOnOwnSlapd();
      expect((await getHealth(app).expect(200)).body).toEqual(healthy('ok'));

      hang();
      await untilStale();
      const started = Date.now();
      const res = await getHealth(app).expect(503);
      // Connect 0.5 s + receive 0.5 s at most, plus slack for a busy machine.
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(res.body).toEqual(DIRECTORY_DOWN);
      expectNoErrorText(res.body, String(proxy.port), own.peopleDn);
      expect(logsOf(app).join('\n')).toMatch(
        /WARN \[LdapHealthIndicator\] The directory does not answer .*127\.0\.0\.1/,
      );

      resume();
      await untilStale();
      expect((await getHealth(app).expect(200)).body).toEqual(healthy('ok'));
      expect(logsOf(app).join('\n')).toMatch(/\[LdapHealthIndicator\] The directory answers the health probe again/);
    });

    it('lets 50 concurrent checks open one directory connection, up or hung, and never takes a login connection', async () => {
      app = await appOnOwnSlapd();
      const burst = async (status: number) => {
        await untilStale();
        proxy.reset();
        const responses = await Promise.all(Array.from({ length: 50 }, () => getHealth(app!)));
        expect(responses.map((r) => r.status)).toEqual(new Array(50).fill(status));
        return proxy.connections;
      };

      expect(await burst(200)).toBe(1);
      // Results are reused for a while: checks right after the burst do not reach the directory.
      await getHealth(app).expect(200);
      expect(proxy.connections).toBe(1);

      hang();
      expect(await burst(503)).toBe(1);
      resume();

      // The probe's connection is its own, closed after use: a login opens (and keeps) a pooled one.
      await untilStale();
      proxy.reset();
      await postLogin(app, 'alice', fixtureUser('alice').password).expect(200);
      expect(proxy.connections).toBe(1);
      await getHealth(app).expect(200);
      expect(proxy.connections).toBe(2);
    });
  });
});
