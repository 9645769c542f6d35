/**
 * The full sync's safety with data: the delete policy leaves nothing dangling; a run that is interrupted
 * (directory server killed mid-read, database connection lost mid-write, process killed mid-write) leaves the
 * database exactly as it was and the next run succeeds; one run at a time; the CLI's output and exit codes;
 * the schedule.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import Database from 'better-sqlite3';
import { Client } from 'ldapts';
import { LdapSyncService } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, createTestApp, logsOf, postLogin } from './support/app.js';
import { DATABASE_KINDS, mysqlAdminQuery, type DatabaseKind, type TestDatabase } from './support/databases.js';
import { directoryEnv, openLdapEnv, serviceAccountEnv } from './support/env.js';
import { createGroup, createUser, deleteGroup, deleteUser, groupDn, setAttributes } from './support/directory-admin.js';
import { startSlapd, type SlapdHandle } from './support/slapd.js';
import { testServers } from './support/servers.js';
import { closedPort } from './support/tcp-proxy.js';
import { testApps, type TestApps } from './support/test-app.js';
import { LdapSyncLock } from '../libs/ldap-auth/src/persistence/sync/ldap-sync-lock.js';

const SYNC_JS = fileURLToPath(new URL('../dist/sync.js', import.meta.url));
const { slapd } = testServers();

const syncOf = (app: INestApplication) => app.get(LdapSyncService);

/** Every row of the tables the sync writes, to compare "before" and "after". */
async function tables(app: INestApplication): Promise<unknown> {
  const q = (sql: string) => appDataSource(app).query(sql);
  return {
    users: await q(
      'SELECT id, username, email, first_name, last_name, ldap_dn, is_active, deactivated_by_sync FROM users ORDER BY id',
    ),
    groups: await q('SELECT id, name, ldap_dn FROM groups ORDER BY id'),
    userGroups: await q('SELECT user_id, group_id FROM user_groups ORDER BY user_id, group_id'),
    userOrganisations: await q('SELECT user_id, organisation_id FROM user_organisations ORDER BY user_id'),
  };
}

/** Runs `npm run sync`'s script (the built dist/sync.js) with this environment. */
function runCli(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [SYNC_JS, ...args], {
    env: { PATH: process.env.PATH ?? '', JWT_SECRET: 'cli-secret-cli-secret-cli-secret', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

/** The environment of the app and of `npm run sync` on `db`: slapd with the service account. */
const syncEnv = (db: TestDatabase) => ({
  ...openLdapEnv(slapd),
  ...serviceAccountEnv('openldap'),
  DATABASE_URL: db.url,
});

/** `who` added to slapd, and an app on a fresh database of `dbKind` where `who` has logged in once. */
async function startWithLoggedInUser(
  apps: TestApps,
  dbKind: DatabaseKind,
  who: { username: string; password: string; givenName: string; sn: string; mail: string },
): Promise<INestApplication> {
  await createUser(slapd, who);
  const app = await apps.start(dbKind, { ...openLdapEnv(slapd), ...serviceAccountEnv('openldap') });
  await postLogin(app, who.username, who.password).expect(200);
  return app;
}

/** A sync whose write hangs in the slow trigger until `cut` ends its connection: it fails, writing nothing. */
async function expectLostConnectionWritesNothing(
  app: INestApplication,
  who: { username: string },
  cut: () => Promise<unknown>,
): Promise<void> {
  await setAttributes(slapd, who.username, { mail: 'mid.changed@x.test' });
  const before = await tables(app);
  const running = syncOf(app).run();
  await cut();
  const report = await running;
  expect(report.status).toBe('failed');
  expect(report.reason).toMatch(/^database connection lost during the sync \(.+\)$/);
  expect(report.reason).not.toContain('\n');
  expect(await tables(app)).toEqual(before);
}

/**
 * `npm run sync` killed (SIGKILL) once its write hangs in the slow trigger (`inTrigger` resolves): nothing is
 * written; after `dropTrigger` the next run succeeds and the killed one is recorded as interrupted.
 */
async function expectKilledCliWritesNothing(
  app: INestApplication,
  db: TestDatabase,
  inTrigger: () => Promise<unknown>,
  dropTrigger: (before: unknown) => Promise<void>,
): Promise<void> {
  const before = await tables(app);
  const cli = runCli(['--json'], syncEnv(db));
  await inTrigger();
  cli.child.kill('SIGKILL');
  await cli.done;
  expect(await tables(app)).toEqual(before);
  await dropTrigger(before);
  const report = await syncOf(app).run();
  expect(report).toMatchObject({ status: 'succeeded', usersUpdated: 1 });
  const runs = await appDataSource(app).query<Array<{ status: string }>>(
    'SELECT status FROM ldap_sync_runs ORDER BY id',
  );
  expect(runs.map((r) => r.status)).toEqual(['failed', 'interrupted', 'succeeded']);
  expect(logsOf(app).join('\n')).toMatch(/1 earlier run\(s\) had been interrupted/);
}

describe("the delete policy (LDAP_SYNC_REMOVED_USERS=delete, the original's behaviour)", () => {
  describe.each(DATABASE_KINDS)('on %s', (dbKind) => {
    const apps = testApps();
    let app: INestApplication;
    const who = {
      username: `del-${dbKind}`,
      password: 'Del-pass1',
      givenName: 'D',
      sn: 'D',
      mail: `del.${dbKind}@x.test`,
    };
    const group = `del-${dbKind}-group`;

    beforeAll(async () => {
      await createUser(slapd, who);
      await createGroup(slapd, group, [who.username]);
      app = await apps.start(dbKind, {
        ...openLdapEnv(slapd),
        ...serviceAccountEnv('openldap'),
        LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
        LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
        LDAP_SYNCED_GROUPS: groupDn(slapd, group),
      });
    });
    afterAll(async () => {
      await deleteGroup(slapd, group).catch(() => undefined);
      await deleteUser(slapd, who.username).catch(() => undefined);
    });

    it('deletes the user with every membership and organisation link: nothing dangling', async () => {
      const res = await postLogin(app, who.username, who.password).expect(200);
      const id = res.body.user.id as number;
      await deleteUser(slapd, who.username);
      const report = await syncOf(app).run();
      expect(report).toMatchObject({ status: 'succeeded', usersRemoved: 1 });
      const q = (sql: string) => appDataSource(app).query(sql);
      expect(await q(`SELECT id FROM users WHERE id = ${id}`)).toEqual([]);
      expect(await q(`SELECT user_id FROM user_groups WHERE user_id = ${id}`)).toEqual([]);
      expect(await q(`SELECT user_id FROM user_organisations WHERE user_id = ${id}`)).toEqual([]);
      // The name is free: a re-created entry logs in as a new user.
      await createUser(slapd, who);
      const again = await postLogin(app, who.username, who.password).expect(200);
      expect(again.body.user.id).not.toBe(id);
    });
  });
});

describe('interrupted runs leave the database as it was, and the next run succeeds', () => {
  describe('slapd killed in the middle of the read', () => {
    const apps = testApps();
    let own: SlapdHandle;
    let app: INestApplication;
    const USERS = 2500;

    beforeAll(async () => {
      own = await startSlapd();
      const admin = new Client({ url: own.url, timeout: 10_000 });
      await admin.bind(own.adminDn, own.adminPassword);
      try {
        // Enough entries for several pages (1,000 each).
        const names = Array.from({ length: USERS }, (_, i) => `bulk${String(i).padStart(5, '0')}`);
        for (let i = 0; i < names.length; i += 50) {
          await Promise.all(
            names
              .slice(i, i + 50)
              .map((uid) =>
                admin.add(`uid=${uid},${own.peopleDn}`, { objectClass: ['inetOrgPerson'], uid, cn: uid, sn: uid }),
              ),
          );
        }
      } finally {
        await admin.unbind();
      }
      app = await apps.start('sqlite', {
        ...openLdapEnv(own),
        ...serviceAccountEnv('openldap'),
        LDAP_SYNC_USER_USERNAME: own.serviceDn,
      });
      await postLogin(app, 'alice', 'Alice-pass1').expect(200);
      await postLogin(app, 'bob', 'Bob-pass1').expect(200);
    });
    afterAll(async () => {
      await own?.stop();
    });

    it('aborts without writing, and succeeds once the server is back', async () => {
      await setAttributes(own, 'alice', { mail: 'alice.changed@example.com' });
      const before = await tables(app);
      let killed = false;
      const report = await syncOf(app).run({
        onProgress: (p) => {
          if (p.phase === 'users' && p.pages === 1 && !killed) {
            killed = true;
            process.kill(own.pid, 'SIGKILL');
          }
        },
      });
      expect(killed).toBe(true);
      expect(report.status).toBe('aborted');
      expect(report.reason).toMatch(/the directory read failed|did not answer|no directory server/);
      expect(await tables(app)).toEqual(before);
      await own.restart();
      expect(await syncOf(app).run()).toMatchObject({ status: 'succeeded', usersUpdated: 1 });
      const rows = await appDataSource(app).query<Array<{ email: string }>>(
        "SELECT email FROM users WHERE username = 'alice'",
      );
      expect(rows).toEqual([{ email: 'alice.changed@example.com' }]);
    });

    it("aborts when slapd's size limit cuts a paged read (a sync account without `limits`)", async () => {
      // An ordinary user as the sync account: slapd's default sizelimit (500) applies to paged searches too.
      const limited = await createTestApp({
        ...openLdapEnv(own),
        LDAP_SYNC_USER_USERNAME: `uid=bob,${own.peopleDn}`,
        LDAP_SYNC_USER_PASSWORD: 'Bob-pass1',
        DATABASE_URL: apps.databaseOf(app).url,
      });
      try {
        const before = await tables(limited);
        const report = await syncOf(limited).run();
        expect(report.status).toBe('aborted');
        expect(report.reason).toMatch(/sizeLimitExceeded \(4\)/);
        expect(await tables(limited)).toEqual(before);
      } finally {
        await limited.close();
      }
    });
  });

  describe('on PostgreSQL: a write that cannot finish', () => {
    const apps = testApps();
    let db: TestDatabase;
    let app: INestApplication;
    const who = { username: 'midwrite', password: 'Mid-pass1', givenName: 'M', sn: 'W', mail: 'mid@x.test' };

    beforeAll(async () => {
      app = await startWithLoggedInUser(apps, 'postgres', who);
      db = apps.databaseOf(app);
      // Sessions notice a client that went away even while they sleep (PostgreSQL 14+).
      await appDataSource(app).query(
        `ALTER DATABASE "${new URL(db.url).pathname.slice(1)}" SET client_connection_check_interval = '100ms'`,
      );
      // Every update of a user row now takes 30 s: the sync's write hangs inside its transaction.
      await appDataSource(app).query(`
        CREATE FUNCTION slow_down() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER slow_users BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION slow_down();`);
    });
    afterAll(async () => {
      await deleteUser(slapd, who.username).catch(() => undefined);
    });

    /** Waits until a backend of this database sleeps in the trigger; returns its pid. */
    async function sleepingBackend(): Promise<number> {
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        for (let i = 0; i < 100; i++) {
          const { rows } = await admin.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'",
          );
          if (rows[0]) return rows[0].pid;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error('no backend reached the trigger');
      } finally {
        await admin.end();
      }
    }

    async function terminate(pid: number): Promise<void> {
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await admin.end();
    }

    it('the database connection lost mid-write: the run fails, nothing is written', async () => {
      await expectLostConnectionWritesNothing(app, who, async () => terminate(await sleepingBackend()));
    });

    it('the process killed mid-write (kill -9 of npm run sync): nothing is written; the next run succeeds', async () => {
      // The killed process's connection goes with it (PostgreSQL ends the backend once it notices).
      await expectKilledCliWritesNothing(app, db, sleepingBackend, async () => {
        await appDataSource(app).query('DROP TRIGGER slow_users ON users');
      });
    });
  });

  describe('on MariaDB: a write that cannot finish', () => {
    const apps = testApps();
    let app: INestApplication;
    const who = { username: 'midwrite-m', password: 'Mid-pass1', givenName: 'M', sn: 'W', mail: 'midm@x.test' };
    const database = () => new URL(apps.databaseOf(app).url).pathname.slice(1);

    beforeAll(async () => {
      app = await startWithLoggedInUser(apps, 'mariadb', who);
      // Every update of a user row now takes 10 s: the sync's write hangs inside its transaction.
      await appDataSource(app).query(
        'CREATE TRIGGER slow_users BEFORE UPDATE ON users FOR EACH ROW BEGIN DO SLEEP(10); END',
      );
    });
    afterAll(async () => {
      await deleteUser(slapd, who.username).catch(() => undefined);
    });

    /** Waits until a connection to this database sleeps in the trigger; returns its id. */
    async function sleepingConnection(): Promise<number> {
      for (let i = 0; i < 100; i++) {
        const [row] = await appDataSource(app).query<Array<{ id: number | string }>>(
          "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND STATE = 'User sleep'",
          [database()],
        );
        if (row) return Number(row.id);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('no connection reached the trigger');
    }

    it('the database connection lost mid-write (KILL): the run fails, nothing is written', async () => {
      await expectLostConnectionWritesNothing(app, who, async () =>
        mysqlAdminQuery(`KILL ${await sleepingConnection()}`),
      );
    });

    it('the process killed mid-write (kill -9 of npm run sync): nothing is written; the next run succeeds', async () => {
      await expectKilledCliWritesNothing(app, apps.databaseOf(app), sleepingConnection, async (before) => {
        // Waits for the orphaned statement: once it ends, the server finds its client gone and rolls back.
        await appDataSource(app).query('DROP TRIGGER slow_users');
        expect(await tables(app)).toEqual(before);
        // The dead process's GET_LOCK went with its connection: the next run takes the lock.
      });
    });
  });

  describe('on SQLite: the process killed mid-write', () => {
    const apps = testApps();
    let db: TestDatabase;
    let app: INestApplication;
    const who = { username: 'midwrite-s', password: 'Mid-pass1', givenName: 'M', sn: 'W', mail: 'mids@x.test' };

    beforeAll(async () => {
      app = await startWithLoggedInUser(apps, 'sqlite', who);
      db = apps.databaseOf(app);
      // SQLite has no sleep: a trigger that counts to a large number keeps the write busy for seconds.
      await appDataSource(app).query(`
        CREATE TRIGGER slow_users BEFORE UPDATE ON users BEGIN
          SELECT COUNT(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) SELECT x FROM c);
        END`);
    });
    afterAll(async () => {
      await deleteUser(slapd, who.username).catch(() => undefined);
    });

    it('leaves the file as it was; the next run takes over the dead lock and succeeds', async () => {
      await setAttributes(slapd, who.username, { mail: 'mids.changed@x.test' });
      const before = await tables(app);
      const cli = runCli([], syncEnv(db));
      // Wait until it holds the sync lock and has started its run (its row is there: start-up's own writes,
      // migrations and the lock, are over), then until it is inside its write transaction (the plan's): another
      // connection then cannot take SQLite's write lock.
      const probe = new Database(db.url.slice('sqlite:'.length), { timeout: 0 });
      let running = false;
      for (let i = 0; i < 200 && !running; i++) {
        running = probe.prepare("SELECT id FROM ldap_sync_runs WHERE status = 'running'").all().length > 0;
        if (!running) await new Promise((r) => setTimeout(r, 25));
      }
      expect(running).toBe(true);
      let writing = false;
      for (let i = 0; i < 200 && !writing; i++) {
        try {
          probe.exec('BEGIN IMMEDIATE; ROLLBACK');
          await new Promise((r) => setTimeout(r, 25));
        } catch (error) {
          writing = (error as { code?: string }).code === 'SQLITE_BUSY';
        }
      }
      probe.close();
      expect(writing).toBe(true);
      cli.child.kill('SIGKILL');
      await cli.done;
      expect(await tables(app)).toEqual(before);
      await appDataSource(app).query('DROP TRIGGER slow_users');
      const report = await syncOf(app).run();
      expect(report).toMatchObject({ status: 'succeeded', usersUpdated: 1 });
      expect(logsOf(app).join('\n')).toMatch(/Took over the sync lock from .*, which is gone or expired/);
    });
  });
});

describe('one run at a time, across processes', () => {
  describe.each(DATABASE_KINDS)('on %s', (dbKind) => {
    const apps = testApps();
    let app: INestApplication;
    const env = () => syncEnv(apps.databaseOf(app));

    beforeAll(async () => {
      app = await apps.start(dbKind, { ...openLdapEnv(slapd), ...serviceAccountEnv('openldap') });
    });

    it('skips (exit code 3, a "skipped" run row, no error trace) while another process holds the lock', async () => {
      // The lock as another process or replica holds it (PostgreSQL: its own session; SQLite: a live holder).
      const lock = await app.get(LdapSyncLock, { strict: false }).tryLock();
      expect(lock).toBeDefined();
      try {
        const { code, stdout, stderr } = await runCli(['--json'], env()).done;
        expect(code).toBe(3);
        expect(JSON.parse(stdout)).toMatchObject({
          status: 'skipped',
          reason: expect.stringMatching(/another run holds the sync lock/),
        });
        expect(stderr).not.toMatch(/\n\s+at /);
        // In this process too, a second run is skipped while one holds the lock.
        expect((await syncOf(app).run()).status).toBe('skipped');
      } finally {
        await lock!.release();
      }
      expect((await syncOf(app).run()).status).toBe('succeeded');
      const statuses = await appDataSource(app).query<Array<{ status: string }>>(
        'SELECT status FROM ldap_sync_runs ORDER BY id',
      );
      expect(statuses.map((r) => r.status)).toEqual(['skipped', 'skipped', 'succeeded']);
    });
  });
});

describe('npm run sync', () => {
  const apps = testApps({ sharedDatabase: 'sqlite' });
  const env = () => syncEnv(apps.db);

  it('--json prints exactly one JSON object on stdout, and exits 0', async () => {
    const { code, stdout, stderr } = await runCli(['--json', '--dry-run'], env()).done;
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as Record<string, unknown>;
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(report).toMatchObject({ status: 'succeeded', dryRun: true, usersSeen: expect.any(Number) });
    expect(stderr).toMatch(/LDAP sync succeeded \(dry run\)/);
  });

  it('prints a readable report without --json', async () => {
    const { code, stdout } = await runCli([], env()).done;
    expect(code).toBe(0);
    expect(stdout).toMatch(/^LDAP sync succeeded in \d+\.\d\d s\n {2}users seen +\d+/);
  });

  it('exits 2 when a safety rule aborts the run', async () => {
    // A search base without users while the app has LDAP users.
    const app = await createTestApp(env());
    await postLogin(app, 'bob', 'Bob-pass1').expect(200);
    await app.close();
    const { code, stdout } = await runCli(['--json'], { ...env(), LDAP_AUTH_SEARCH_BASE: slapd.groupsDn }).done;
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'aborted' });
  });

  // Issue 20: a refused service account is a fault to fix, not a safety rule at work.
  it('exits 1 (failed, not aborted) with the bind reason when the service account cannot bind', async () => {
    const wrong = { ...env(), LDAP_SYNC_USER_PASSWORD: 'Not-the-password1' };
    const json = await runCli(['--json'], wrong).done;
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /service account could not bind .*LDAP_SYNC_USER_PASSWORD.*wrong username or password/,
      ),
    });
    const human = await runCli([], wrong).done;
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^LDAP sync failed in /);
    expect(human.stdout).toMatch(/service account could not bind/);
    expect(human.stdout + human.stderr).not.toContain('Not-the-password1');
  });

  it('exits 64 on an unknown argument, naming it', async () => {
    const { code, stderr } = await runCli(['--dryrun'], env()).done;
    expect(code).toBe(64);
    expect(stderr).toMatch(/unknown argument: --dryrun\nusage: npm run sync/);
  });
});

describe('the schedule (LDAP_SYNC_CRON, LDAP_SYNC_ENABLED)', () => {
  const apps = testApps({ closeAfter: 'each', sharedDatabase: 'sqlite' });
  let app: INestApplication | undefined;

  const runs = () =>
    appDataSource(app!).query<Array<{ status: string }>>('SELECT status FROM ldap_sync_runs ORDER BY id');

  it('runs the sync on the schedule when enabled', async () => {
    app = await apps.start(apps.db, {
      ...directoryEnv('openldap'),
      ...serviceAccountEnv('openldap'),
      LDAP_SYNC_CRON: '* * * * * *',
    });
    await new Promise((r) => setTimeout(r, 2500));
    expect((await runs()).filter((r) => r.status === 'succeeded').length).toBeGreaterThanOrEqual(1);
  });

  it('a failing scheduled run is logged and the app lives on', async () => {
    app = await apps.start(apps.db, {
      ...directoryEnv('openldap'),
      ...serviceAccountEnv('openldap'),
      LDAP_AUTH_URL: `ldap://127.0.0.1:${await closedPort()}`,
      LDAP_SYNC_CRON: '* * * * * *',
    });
    await new Promise((r) => setTimeout(r, 2500));
    expect(logsOf(app).join('\n')).toMatch(/LDAP sync aborted in .*no directory server could be reached/);
    const health = await appDataSource(app).query('SELECT 1 AS ok');
    expect(health).toEqual([{ ok: 1 }]);
  });

  it('does not run when LDAP_SYNC_ENABLED=false', async () => {
    app = await apps.start(apps.db, {
      ...directoryEnv('openldap'),
      ...serviceAccountEnv('openldap'),
      LDAP_SYNC_CRON: '* * * * * *',
      LDAP_SYNC_ENABLED: 'false',
    });
    const before = (await runs()).length;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await runs()).length).toBe(before);
  });
});
