/**
 * The delta sync against real slapd servers: with syncprov (present phase, and a session log for the delete
 * phase), and without it (the run reads everything and says why). What a delta changes must be what a full
 * sync would; the demo's scheduled deltas take a deleted user's access away within an interval.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import net from 'node:net';
import request from 'supertest';
import { LdapSyncService, type SyncReport } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, createTestApp, logsOf, postLogin } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { openLdapEnv } from './support/env.js';
import { type SlapdHandle, startSlapd } from './support/slapd.js';
import {
  addUserToGroup,
  createGroup,
  createUser,
  deleteUser,
  groupDn,
  removeUserFromGroup,
  renameUser,
  setAttributes,
} from './support/directory-admin.js';
import type { FixtureUser } from './support/fixtures.js';

const person = (name: string): FixtureUser => ({
  username: `delta-${name}`,
  password: `Delta-${name}-pass1`,
  givenName: name,
  sn: 'Delta',
  mail: `${name}@delta.example.com`,
});

function syncEnv(slapd: SlapdHandle, databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...openLdapEnv(slapd),
    DATABASE_URL: databaseUrl,
    LDAP_SYNC_USER_USERNAME: slapd.serviceDn,
    LDAP_SYNC_USER_PASSWORD: slapd.servicePassword,
    LDAP_SYNC_ENABLED: 'false',
    LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
    LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
    LDAP_NESTED_GROUPS: 'true',
    LDAP_SYNCED_GROUPS: [groupDn(slapd, 'delta-team'), groupDn(slapd, 'delta-parent')].join(':'),
    ...extra,
  };
}

interface Row {
  username: string;
  email: string | null;
  ldap_dn: string | null;
  is_active: number | boolean;
}

async function rows(app: INestApplication): Promise<Map<string, Row>> {
  const list = await appDataSource(app).query<Row[]>(
    'SELECT username, email, ldap_dn, is_active FROM users WHERE ldap_uuid IS NOT NULL ORDER BY username',
  );
  return new Map(list.map((row) => [row.username, row]));
}

async function memberships(app: INestApplication): Promise<string[]> {
  const list = await appDataSource(app).query<Array<{ username: string; name: string }>>(
    'SELECT u.username, g.name FROM user_groups ug JOIN users u ON u.id = ug.user_id JOIN groups g ON g.id = ug.group_id ORDER BY g.name, u.username',
  );
  return list.map((m) => `${m.name}:${m.username}`);
}

const run = (app: INestApplication, delta = true): Promise<SyncReport> => app.get(LdapSyncService).run({ delta });

/** A full sync's plan on the delta's tables: it must find nothing to change. */
async function expectFullSyncFindsNothing(app: INestApplication): Promise<void> {
  const report = await app.get(LdapSyncService).run({ dryRun: true });
  expect(report.status).toBe('succeeded');
  const changes = {
    usersUpdated: report.usersUpdated,
    usersRemoved: report.usersRemoved,
    usersDeactivated: report.usersDeactivated,
    usersReactivated: report.usersReactivated,
    groupsCreated: report.groupsCreated,
    groupsRenamed: report.groupsRenamed,
    membershipsAdded: report.membershipsAdded,
    membershipsRemoved: report.membershipsRemoved,
  };
  expect(changes).toEqual(Object.fromEntries(Object.keys(changes).map((k) => [k, 0])));
}

describe.each(['present', 'sessionlog'] as const)('delta sync on slapd with syncprov (%s)', (contentSync) => {
  let slapd: SlapdHandle;
  let db: TestDatabase;
  let app: INestApplication;
  const [keep, gone, edited, renamed, child] = ['keep', 'gone', 'edited', 'renamed', 'child'].map(person);

  beforeAll(async () => {
    slapd = await startSlapd({ contentSync });
    for (const user of [keep, gone, edited, renamed, child]) await createUser(slapd, user);
    await createGroup(slapd, 'delta-team', [keep.username, gone.username, edited.username]);
    await createGroup(slapd, 'delta-child', [renamed.username]);
    await createGroup(slapd, 'delta-parent', [], ['delta-child']);
    db = await createTestDatabase('sqlite');
    app = await createTestApp(syncEnv(slapd, db.url));
    for (const user of [keep, gone, edited, renamed, child]) {
      expect((await postLogin(app, user.username, user.password)).status).toBe(200);
    }
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await slapd?.stop();
  });

  it('reads everything the first time (no stored state), then only what changed', async () => {
    const first = await run(app);
    expect(first).toMatchObject({ status: 'succeeded', mode: 'full', modeReason: 'no stored delta state yet' });

    const unchanged = await run(app);
    expect(unchanged).toMatchObject({ status: 'succeeded', mode: 'delta', usersSeen: 0, membershipsAdded: 0 });
    expect(unchanged.modeReason).toBeUndefined();
  });

  it('applies deletions, attribute changes, renames and membership changes (nested too) as a full sync would', async () => {
    await deleteUser(slapd, gone.username);
    await setAttributes(slapd, edited.username, { mail: 'edited.new@delta.example.com' });
    await renameUser(slapd, renamed.username, 'delta-renamed2');
    await removeUserFromGroup(slapd, edited.username, 'delta-team');
    await addUserToGroup(slapd, child.username, 'delta-child');

    const report = await run(app);
    expect(report).toMatchObject({ status: 'succeeded', mode: 'delta', usersRemoved: 1 });
    const after = await rows(app);
    expect(after.has(gone.username)).toBe(false);
    expect(after.get(edited.username)?.email).toBe('edited.new@delta.example.com');
    expect(after.has('delta-renamed2')).toBe(true);
    expect(await memberships(app)).toEqual([
      'delta-parent:delta-child',
      'delta-parent:delta-renamed2',
      'delta-team:delta-keep',
    ]);
    await expectFullSyncFindsNothing(app);
  });

  it('writes nothing on a dry run, and keeps its cursor where it was', async () => {
    await setAttributes(slapd, keep.username, { mail: 'keep.dry@delta.example.com' });
    const dry = await app.get(LdapSyncService).run({ delta: true, dryRun: true });
    expect(dry).toMatchObject({ status: 'succeeded', mode: 'delta', usersUpdated: 1 });
    expect((await rows(app)).get(keep.username)?.email).toBe(keep.mail);
    const real = await run(app);
    expect(real).toMatchObject({ mode: 'delta', usersUpdated: 1 });
    expect((await rows(app)).get(keep.username)?.email).toBe('keep.dry@delta.example.com');
  });

  it('records its mode in ldap_sync_runs', async () => {
    const runs = await appDataSource(app).query<Array<{ mode: string }>>('SELECT mode FROM ldap_sync_runs ORDER BY id');
    expect(runs.map((r) => r.mode)).toEqual(['full', 'delta', 'delta', 'full', 'delta', 'delta']);
  });
});

describe('delta sync on slapd without syncprov', () => {
  let slapd: SlapdHandle;
  let db: TestDatabase;
  let app: INestApplication;
  const user = person('plain');

  beforeAll(async () => {
    slapd = await startSlapd({ contentSync: 'none' });
    await createUser(slapd, user);
    await createGroup(slapd, 'delta-team', [user.username]);
    await createGroup(slapd, 'delta-parent', [user.username]);
    db = await createTestDatabase('sqlite');
    app = await createTestApp(syncEnv(slapd, db.url));
    expect((await postLogin(app, user.username, user.password)).status).toBe(200);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await slapd?.stop();
  });

  it('reads the whole directory, and says why', async () => {
    await deleteUser(slapd, user.username);
    const report = await run(app);
    expect(report.status).toBe('succeeded');
    expect(report.mode).toBe('full');
    expect(report.modeReason).toMatch(/content synchronisation/);
    expect(report.usersRemoved).toBe(1);
  });
});

describe('deprovisioning through the demo with scheduled deltas', () => {
  let slapd: SlapdHandle;
  let db: TestDatabase;
  let app: INestApplication;
  const leaver = person('leaver');
  const stayer = person('stayer');

  beforeAll(async () => {
    slapd = await startSlapd({ contentSync: 'present' });
    await createUser(slapd, leaver);
    await createUser(slapd, stayer);
    await createGroup(slapd, 'delta-team', [leaver.username]);
    await createGroup(slapd, 'delta-parent', [leaver.username]);
    db = await createTestDatabase('sqlite');
    // The polled delta alone: pushed changes (below) would take access away sooner.
    app = await createTestApp(syncEnv(slapd, db.url, { LDAP_SYNC_DELTA_INTERVAL: '5', LDAP_SYNC_PUSH: 'false' }));
    // Not the app's only user: a read that leaves none is refused as a misconfiguration.
    expect((await postLogin(app, stayer.username, stayer.password)).status).toBe(200);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await slapd?.stop();
  });

  it('refuses a deleted user at GET /auth/me within one interval and a run', async () => {
    const login = await postLogin(app, leaver.username, leaver.password);
    expect(login.status).toBe(200);
    const token = (login.body as { accessToken: string }).accessToken;
    const me = () => request(app.getHttpServer()).get('/auth/me').set('Authorization', `Bearer ${token}`);
    expect((await me()).status).toBe(200);
    // Let the first (full) delta store its cursor, so that the deletion is read as a delta.
    await waitFor(async () => !app.get(LdapSyncService).running && (await cursorStored(app)), 20_000);

    await deleteUser(slapd, leaver.username);
    const deleted = Date.now();
    await waitFor(async () => (await me()).status === 401, 30_000).catch((error: unknown) => {
      throw new Error(
        `${String(error)}; the sync logged:\n${logsOf(app)
          .filter((l) => /sync/i.test(l))
          .join('\n')}`,
      );
    });
    const delay = Date.now() - deleted;
    process.stdout.write(`deprovisioning delay with a 5 s delta interval on slapd: ${delay} ms\n`);
    const runs = await appDataSource(app).query<Array<{ mode: string; status: string }>>(
      "SELECT mode, status FROM ldap_sync_runs WHERE status = 'succeeded' ORDER BY id",
    );
    expect(runs.at(-1)?.mode).toBe('delta');
  }, 60_000);
});

describe('pushed changes through the demo (refreshAndPersist)', () => {
  let slapd: SlapdHandle;
  let proxy: DroppingProxy;
  let db: TestDatabase;
  let app: INestApplication;
  const [first, second, stayer] = ['pushed1', 'pushed2', 'pushstay'].map(person);

  beforeAll(async () => {
    slapd = await startSlapd({ contentSync: 'present' });
    for (const user of [first, second, stayer]) await createUser(slapd, user);
    await createGroup(slapd, 'delta-team', [first.username]);
    await createGroup(slapd, 'delta-parent', [second.username]);
    proxy = await startDroppingProxy(Number(new URL(slapd.url).port));
    db = await createTestDatabase('sqlite');
    // Deltas every minute: within the test, only a push can take access away in time.
    app = await createTestApp({
      ...syncEnv(slapd, db.url, { LDAP_SYNC_DELTA_INTERVAL: '60' }),
      LDAP_AUTH_URL: proxy.url,
    });
    for (const user of [first, second, stayer]) {
      expect((await postLogin(app, user.username, user.password)).status).toBe(200);
    }
    // The first delta stores the cursor the stream starts from (the push waits for one).
    expect((await run(app)).status).toBe('succeeded');
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await db?.drop();
    await slapd?.stop();
  });

  async function refusedAfterDeletion(user: FixtureUser): Promise<number> {
    const login = await postLogin(app, user.username, user.password);
    const token = (login.body as { accessToken: string }).accessToken;
    const me = () => request(app.getHttpServer()).get('/auth/me').set('Authorization', `Bearer ${token}`);
    expect((await me()).status).toBe(200);
    await deleteUser(slapd, user.username);
    const deleted = Date.now();
    await waitFor(async () => (await me()).status === 401, 30_000).catch((error: unknown) => {
      throw new Error(
        `${String(error)}; the sync logged:\n${logsOf(app)
          .filter((l) => /sync|push|change/i.test(l))
          .join('\n')}`,
      );
    });
    return Date.now() - deleted;
  }

  it('refuses a deleted user within seconds, with deltas only every minute', async () => {
    await waitFor(
      () => Promise.resolve(logsOf(app).some((l) => l.includes('Watching the directory for changes'))),
      20_000,
    );
    const delay = await refusedAfterDeletion(first);
    process.stdout.write(`deprovisioning delay with pushed changes on slapd (deltas every 60 s): ${delay} ms\n`);
  }, 60_000);

  it('opens the stream again when its connection is cut, and misses nothing', async () => {
    const watching = () => logsOf(app).filter((l) => l.includes('Watching the directory for changes')).length;
    const before = watching();
    proxy.dropAll();
    await waitFor(() => Promise.resolve(watching() > before), 20_000);
    const delay = await refusedAfterDeletion(second);
    process.stdout.write(`deprovisioning delay after the stream was cut and reopened: ${delay} ms\n`);
    // The next delta agrees: nothing left to change.
    await expectFullSyncFindsNothing(app);
  }, 60_000);
});

interface DroppingProxy {
  url: string;
  dropAll(): void;
  close(): Promise<void>;
}

/** A TCP proxy to slapd whose open connections can all be cut at once (the push stream among them). */
async function startDroppingProxy(targetPort: number): Promise<DroppingProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ldap://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    dropAll: () => sockets.forEach((socket) => socket.destroy()),
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

async function cursorStored(app: INestApplication): Promise<boolean> {
  const [row] = await appDataSource(app).query<Array<{ n: number }>>('SELECT COUNT(*) AS n FROM ldap_sync_cursors');
  return Number(row.n) > 0;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
