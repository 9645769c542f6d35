/**
 * The delta sync against real slapd servers: with syncprov (present phase, and a session log for the delete
 * phase), and without it (modifyTimestamp above a watermark, and a scan of the entryUUIDs for what is gone);
 * Samba AD in delta-sync-ad.e2e-spec.ts. What a delta changes must be what a full
 * sync would; the demo's scheduled deltas take a deleted user's access away within an interval.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { LdapSyncService } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, createTestApp, logsOf, postLogin } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { openLdapEnv } from './support/env.js';
import { type SlapdHandle, startSlapd } from './support/slapd.js';
import { type DroppingProxy, startDroppingProxy } from './support/tcp-proxy.js';
import {
  addUserToGroup,
  createGroup,
  createUser,
  adminClient,
  deleteUser,
  groupDn,
  removeUserFromGroup,
  renameUser,
  setAttributes,
  userDn,
} from './support/directory-admin.js';
import type { FixtureUser } from './support/fixtures.js';
import {
  cursorStored,
  editStoredCursor,
  expectFullSyncFindsNothing,
  memberships,
  rows,
  runSync as run,
  storedCursor,
  waitFor,
} from './support/delta-sync.js';

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
    await expectFullSyncFindsNothing(app, report);
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

describe('delta sync on slapd without syncprov (modifyTimestamp and a presence scan)', () => {
  let slapd: SlapdHandle;
  let db: TestDatabase;
  let app: INestApplication;
  const [plain, gone, edited, mover, joiner] = ['plain', 'gone2', 'edited2', 'mover', 'joiner'].map(person);

  beforeAll(async () => {
    slapd = await startSlapd({ contentSync: 'none' });
    for (const user of [plain, gone, edited, mover, joiner]) await createUser(slapd, user);
    await createGroup(slapd, 'delta-team', [plain.username, gone.username, mover.username]);
    await createGroup(slapd, 'delta-child', []);
    await createGroup(slapd, 'delta-parent', [plain.username], ['delta-child']);
    const admin = await adminClient(slapd);
    await admin.add(`ou=elsewhere,${slapd.baseDn}`, { objectClass: ['top', 'organizationalUnit'], ou: 'elsewhere' });
    await admin.unbind();
    db = await createTestDatabase('sqlite');
    // Two of five leave at once: over the default removal guard.
    app = await createTestApp(syncEnv(slapd, db.url, { LDAP_SYNC_MAX_REMOVALS: '100%' }));
    for (const user of [plain, gone, edited, mover, joiner]) {
      expect((await postLogin(app, user.username, user.password)).status).toBe(200);
    }
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await slapd?.stop();
  });

  it('reads everything the first time, then by modifyTimestamp, with the watermark from the server clock', async () => {
    const first = await run(app);
    expect(first).toMatchObject({ status: 'succeeded', mode: 'full', modeReason: 'no stored delta state yet' });
    const cursor = await storedCursor(app);
    expect(cursor).toMatchObject({ method: 'timestamp', since: expect.stringMatching(/^\d{14}Z$/) });
    const unchanged = await run(app);
    expect(unchanged).toMatchObject({ status: 'succeeded', mode: 'delta', usersRemoved: 0, usersUpdated: 0 });
  });

  it('applies deletions, moves out of the base, attribute and membership changes (nested too) as a full sync would', async () => {
    await deleteUser(slapd, gone.username);
    await setAttributes(slapd, edited.username, { mail: 'edited2.new@delta.example.com' });
    const admin = await adminClient(slapd);
    await admin.modifyDN(userDn(slapd, mover.username), `uid=${mover.username},ou=elsewhere,${slapd.baseDn}`);
    await admin.unbind();
    await addUserToGroup(slapd, joiner.username, 'delta-child');
    await removeUserFromGroup(slapd, plain.username, 'delta-team');

    const report = await run(app);
    expect(report).toMatchObject({ status: 'succeeded', mode: 'delta', usersRemoved: 2 });
    expect(report.modeReason).toBeUndefined();
    const after = await rows(app);
    expect([...after.keys()].sort()).toEqual([edited.username, joiner.username, plain.username].sort());
    expect(after.get(edited.username)?.email).toBe('edited2.new@delta.example.com');
    expect(await memberships(app)).toEqual(['delta-parent:delta-joiner', 'delta-parent:delta-plain']);
    await expectFullSyncFindsNothing(app, report);
  });

  it('reads only the entries changed at or after the watermark', async () => {
    await setAttributes(slapd, plain.username, { mail: 'plain.before@delta.example.com' });
    expect(await run(app)).toMatchObject({ status: 'succeeded', mode: 'delta', usersUpdated: 1 });
    // A watermark one second past that change, by the server's clock (the entry's own modifyTimestamp): the
    // margin is left out so that only what changes from now on is above it.
    const admin = await adminClient(slapd);
    const { searchEntries } = await admin.search(userDn(slapd, plain.username), {
      scope: 'base',
      attributes: ['modifyTimestamp'],
    });
    await admin.unbind();
    const stamp = String(searchEntries[0].modifyTimestamp);
    const next = new Date(
      Date.UTC(
        +stamp.slice(0, 4),
        +stamp.slice(4, 6) - 1,
        +stamp.slice(6, 8),
        +stamp.slice(8, 10),
        +stamp.slice(10, 12),
        +stamp.slice(12, 14) + 1,
      ),
    );
    const since = `${next.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
    await editStoredCursor(app, { since });
    // slapd runs on this machine's clock: wait until a write is stamped at or after the watermark.
    while (Date.now() < next.getTime() + 50) await new Promise((resolve) => setTimeout(resolve, 50));
    await setAttributes(slapd, edited.username, { mail: 'edited2.later@delta.example.com' });

    const report = await run(app);
    expect(report).toMatchObject({ status: 'succeeded', mode: 'delta', usersSeen: 1, usersUpdated: 1 });
    expect((await rows(app)).get(edited.username)?.email).toBe('edited2.later@delta.example.com');
    await expectFullSyncFindsNothing(app, report);
  });

  it('reads everything again when the stored watermark was taken for other reads', async () => {
    const cursor = await storedCursor(app);
    expect(cursor).toBeDefined();
    await editStoredCursor(app, { method: 'usn', usn: '1', dsServiceName: 'x', invocationId: 'y' });
    const report = await run(app);
    expect(report).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(report.modeReason).toMatch(/read by usn, and this directory is read by timestamp/);
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
