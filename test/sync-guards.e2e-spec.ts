/**
 * The full sync's guards against reads that only look complete, on a slapd of the test's own whose access rules
 * change mid-test (as an operator's permission change would): a listed group the sync account cannot see, or
 * whose members it cannot read, aborts the run; removals are weighed against the active LDAP users, and
 * membership removals against their own limit; local users keep their memberships of mirrored groups.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { LdapSyncService, type SyncReport } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, createTestApp, postLogin } from './support/app.js';
import { DATABASE_KINDS, type DatabaseKind } from './support/databases.js';
import { openLdapEnv } from './support/env.js';
import {
  addUserToGroup,
  adminClient,
  createGroup,
  deleteGroup,
  deleteUser,
  groupDn,
  removeUserFromGroup,
  setSlapdAccessRules,
  sshaPassword,
} from './support/directory-admin.js';
import { startSlapd, type SlapdHandle } from './support/slapd.js';
import { fixtureUser } from './support/fixtures.js';
import { testApps } from './support/test-app.js';

const syncOf = (app: INestApplication) => app.get(LdapSyncService);

/** Every row of the tables the sync writes, to compare "before" and "after". */
async function tables(app: INestApplication): Promise<unknown> {
  const q = (sql: string) => appDataSource(app).query(sql);
  return {
    users: await q('SELECT id, username, email, ldap_dn, is_active, deactivated_by_sync FROM users ORDER BY id'),
    groups: await q('SELECT id, name, ldap_dn FROM groups ORDER BY id'),
    userGroups: await q('SELECT user_id, group_id FROM user_groups ORDER BY user_id, group_id'),
  };
}

const membersOf = async (app: INestApplication, cn: string) =>
  (
    await appDataSource(app).query<Array<{ username: string }>>(
      `SELECT u.username FROM users u JOIN user_groups ug ON ug.user_id = u.id JOIN groups g ON g.id = ug.group_id WHERE g.name = '${cn}' ORDER BY u.username`,
    )
  ).map((r) => r.username);

/** A local user (no ldap_uuid) put in the mirrored group `cn` by the app itself. */
async function addLocalMember(app: INestApplication, username: string, cn: string): Promise<void> {
  const q = (sql: string) => appDataSource(app).query(sql);
  await q(`INSERT INTO users (username, email) VALUES ('${username}', '${username}@app.test')`);
  await q(
    `INSERT INTO user_groups (user_id, group_id) SELECT u.id, g.id FROM users u, groups g WHERE u.username = '${username}' AND g.name = '${cn}'`,
  );
}

const expectSucceeded = (report: SyncReport) =>
  expect({ status: report.status, reason: report.reason }).toEqual({ status: 'succeeded', reason: undefined });

describe('the sync against a slapd whose access rules change', () => {
  let own: SlapdHandle;
  const team = 'guarded-team';
  const gone = 'guarded-gone';
  const members = ['alice', 'bob', 'carol', 'frank', 'grace', 'heidi'];
  const teamDn = () => groupDn(own, team);
  const env = (extra: Record<string, string> = {}) => ({
    ...openLdapEnv(own),
    LDAP_SYNC_USER_USERNAME: own.serviceDn,
    LDAP_SYNC_USER_PASSWORD: own.servicePassword,
    LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
    LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
    LDAP_SYNCED_GROUPS: [team, gone].map((cn) => groupDn(own, cn)).join(':'),
    LDAP_SYNC_REMOVED_USERS: 'deactivate',
    ...extra,
  });
  /** An app on a fresh database whose LDAP users are the team (and the mirrored groups exist). */
  const apps = testApps();
  async function startApp(dbKind: DatabaseKind): Promise<INestApplication> {
    const app = await apps.start(dbKind, env());
    for (const name of members) await postLogin(app, name, fixtureUser(name).password).expect(200);
    expectSucceeded(await syncOf(app).run());
    return app;
  }

  beforeAll(async () => {
    own = await startSlapd();
    await createGroup(own, team, members);
    await createGroup(own, gone, ['alice']);
  });
  afterEach(async () => {
    await setSlapdAccessRules(own, []);
  });
  afterAll(async () => {
    await own?.stop();
  });

  describe('a listed group the sync cannot fully read aborts the run, writing nothing', () => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await startApp('sqlite');
      await addLocalMember(app, 'local-reader', team);
      expect(await membersOf(app, team)).toEqual([...members, 'local-reader'].sort());
    });

    it('the group entry hidden from the sync account', async () => {
      await setSlapdAccessRules(own, [
        `access to dn.exact="${teamDn()}" by dn.exact="${own.serviceDn}" none by * break`,
      ]);
      const before = await tables(app);
      const report = await syncOf(app).run();
      expect(report.status).toBe('aborted');
      expect(report.reason).toMatch(/cn=guarded-team,ou=groups,dc=example,dc=com/);
      expect(report.reason).toMatch(/LDAP_SYNCED_GROUPS/);
      expect(await tables(app)).toEqual(before);
    });

    it('its member attribute hidden from the sync account (groupOfNames requires member)', async () => {
      await setSlapdAccessRules(own, [
        `access to dn.exact="${teamDn()}" attrs=member by dn.exact="${own.serviceDn}" none by * break`,
      ]);
      const before = await tables(app);
      const report = await syncOf(app).run();
      expect(report.status).toBe('aborted');
      expect(report.reason).toMatch(/cn=guarded-team.* without any member value/);
      expect(await tables(app)).toEqual(before);
    });

    it('its member attribute and its objectClass hidden (the class cannot be told)', async () => {
      await setSlapdAccessRules(own, [
        `access to dn.exact="${teamDn()}" attrs=member,objectClass by dn.exact="${own.serviceDn}" none by * break`,
      ]);
      const before = await tables(app);
      const report = await syncOf(app).run();
      expect(report.status).toBe('aborted');
      expect(report.reason).toMatch(/cn=guarded-team,ou=groups,dc=example,dc=com/);
      expect(await tables(app)).toEqual(before);
    });

    it('readable again: the run succeeds and changes nothing', async () => {
      const before = await tables(app);
      const report = await syncOf(app).run();
      expectSucceeded(report);
      expect(await tables(app)).toEqual(before);
    });

    it('a listed group deleted from the directory aborts until it is taken out of LDAP_SYNCED_GROUPS', async () => {
      await deleteGroup(own, gone);
      const before = await tables(app);
      const report = await syncOf(app).run({ force: true });
      expect(report.status).toBe('aborted');
      expect(report.reason).toMatch(/cn=guarded-gone.*take it out of LDAP_SYNCED_GROUPS/);
      expect(await tables(app)).toEqual(before);
      // The operator takes it out of the list: the run goes on and leaves the row as it is.
      const unlisted = await createTestApp({
        ...env({ LDAP_SYNCED_GROUPS: teamDn() }),
        DATABASE_URL: apps.databaseOf(app).url,
      });
      try {
        const next = await syncOf(unlisted).run();
        expectSucceeded(next);
        expect(next.notes.join('\n')).toMatch(/cn=guarded-gone.*no longer in LDAP_SYNCED_GROUPS: left as it is/);
        expect(await tables(app)).toEqual(before);
      } finally {
        await unlisted.close();
      }
    });
  });

  describe('membership removals count against LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS', () => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await startApp('sqlite');
    });
    afterAll(async () => {
      // The team as it was, for the tests that follow.
      for (const name of ['carol', 'frank', 'grace']) await addUserToGroup(own, name, team);
    });

    it('a run that would empty most of a group aborts (the default, 10 %), and --force goes past it', async () => {
      for (const name of ['carol', 'frank', 'grace']) await removeUserFromGroup(own, name, team);
      const before = await tables(app);
      const report = await syncOf(app).run();
      expect(report).toMatchObject({ status: 'aborted', membershipRemovals: 3, maxMembershipRemovals: 1 });
      expect(report.reason).toMatch(/more than LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS allows \(1\)/);
      expect(await tables(app)).toEqual(before);
      const forced = await syncOf(app).run({ force: true });
      expectSucceeded(forced);
      expect(forced.membershipsRemoved).toBe(3);
      expect(await membersOf(app, team)).toEqual(['alice', 'bob', 'heidi']);
    });
  });

  describe.each(DATABASE_KINDS)('a local user in a mirrored group, stored in %s', (dbKind) => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await startApp(dbKind);
      await addLocalMember(app, `local-${dbKind}`, team);
    });

    it('keeps the membership through a sync that changes the group, and through a login', async () => {
      await removeUserFromGroup(own, 'heidi', team);
      try {
        const report = await syncOf(app).run();
        expectSucceeded(report);
        expect(await membersOf(app, team)).toEqual([...members.filter((m) => m !== 'heidi'), `local-${dbKind}`].sort());
        expect(report.membershipsRemoved).toBe(1);
        await postLogin(app, 'heidi', fixtureUser('heidi').password).expect(200);
        await postLogin(app, 'alice', fixtureUser('alice').password).expect(200);
        expect(await membersOf(app, team)).toContain(`local-${dbKind}`);
        expectSucceeded(await syncOf(app).run());
        expect(await membersOf(app, team)).toContain(`local-${dbKind}`);
      } finally {
        await addUserToGroup(own, 'heidi', team);
      }
    });
  });
});

describe('LDAP_SYNC_MAX_REMOVALS as a percentage is of the active LDAP users', () => {
  const apps = testApps();
  let own: SlapdHandle;
  let app: INestApplication;
  const crew = Array.from({ length: 10 }, (_, i) => `crew${i}`);

  beforeAll(async () => {
    own = await startSlapd();
    const client = await adminClient(own);
    try {
      await client.add(`ou=crew,${own.baseDn}`, { objectClass: ['top', 'organizationalUnit'], ou: 'crew' });
      for (const uid of crew) {
        await client.add(`uid=${uid},ou=crew,${own.baseDn}`, {
          objectClass: ['inetOrgPerson'],
          uid,
          cn: uid,
          sn: uid,
          userPassword: sshaPassword(`${uid}-Pass1`),
        });
      }
    } finally {
      await client.unbind();
    }
    app = await apps.start('sqlite', {
      LDAP_AUTH_URL: own.url,
      LDAP_AUTH_SEARCH_BASE: `ou=crew,${own.baseDn}`,
      LDAP_SYNC_USER_USERNAME: own.serviceDn,
      LDAP_SYNC_USER_PASSWORD: own.servicePassword,
      LDAP_SYNC_REMOVED_USERS: 'deactivate',
    });
    for (const uid of crew) await postLogin(app, uid, `${uid}-Pass1`).expect(200);
    // Leavers piled up over the years: 90 rows the sync deactivated long ago (9 for every active user).
    const values = Array.from(
      { length: 90 },
      (_, i) => `('leaver${i}', 'leaver-uuid-${i}', 0, 1, 'uid=leaver${i},ou=crew,${own.baseDn}')`,
    );
    await appDataSource(app).query(
      `INSERT INTO users (username, ldap_uuid, is_active, deactivated_by_sync, ldap_dn) VALUES ${values.join(', ')}`,
    );
  });
  afterAll(async () => {
    await own?.stop();
  });

  it('a read that returns one of 10 active users aborts (10 % of 10, not of 100 rows), writing nothing', async () => {
    for (const uid of crew.slice(1)) await deleteUser({ ...own, peopleDn: `ou=crew,${own.baseDn}` }, uid);
    const before = await tables(app);
    const report = await syncOf(app).run();
    expect(report).toMatchObject({ status: 'aborted', removals: 9, maxRemovals: 1 });
    expect(report.reason).toMatch(/deactivate 9 of 10 active LDAP users/);
    expect(await tables(app)).toEqual(before);
  });
});
