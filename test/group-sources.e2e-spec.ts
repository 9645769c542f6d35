/**
 * Where membership is read, on directories that only look like they keep memberOf, and POSIX primary groups:
 * the login, the full sync and `ldap:check` must count the same members (issue 20).
 * - A slapd of the test's own whose schema defines memberOf but without the memberof overlay (msuser.schema
 *   and the NIS schemas do that): no entry carries memberOf, so membership is in the groups' `member`.
 * - A posixGroup's members include the users whose gidNumber is the group's (their primary group), as Unix
 *   and django-auth-ldap's PosixGroupType read it, though memberUid does not list them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Attribute, Change } from 'ldapts';
import { type CheckReport, LdapCheck, LdapSyncService, type SyncReport } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, postLogin } from './support/app.js';
import { openLdapEnv } from './support/env.js';
import { adminClient, groupDn, setSlapdAccessRules, userDn } from './support/directory-admin.js';
import { startSlapd, type SlapdHandle } from './support/slapd.js';
import { fixtureUser } from './support/fixtures.js';
import { testApps } from './support/test-app.js';

const STAFF_GID = '5000';

const membersOf = async (app: INestApplication, cn: string) =>
  (
    await appDataSource(app).query<Array<{ username: string }>>(
      `SELECT u.username FROM users u JOIN user_groups ug ON ug.user_id = u.id JOIN groups g ON g.id = ug.group_id WHERE g.name = '${cn}' ORDER BY u.username`,
    )
  ).map((r) => r.username);

const expectSucceeded = (report: SyncReport) =>
  expect({ status: report.status, reason: report.reason }).toEqual({ status: 'succeeded', reason: undefined });

const login = (app: INestApplication, name: string) => postLogin(app, name, fixtureUser(name).password);

function step(report: CheckReport, id: string) {
  const found = report.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step ${id} in ${report.steps.map((s) => s.id).join(', ')}`);
  return found;
}

describe('membership on a slapd whose schema defines memberOf without the memberof overlay', () => {
  let own: SlapdHandle;
  const apps = testApps();
  const env = (extra: Record<string, string> = {}) => ({
    ...openLdapEnv(own),
    LDAP_SYNC_USER_USERNAME: own.serviceDn,
    LDAP_SYNC_USER_PASSWORD: own.servicePassword,
    LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
    LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
    ...extra,
  });
  const loginGroup = (dn: string) => ({
    LDAP_LOGIN_GROUP: dn,
    LDAP_AUTH_FORMAT_SEARCH_FILTERS: 'login_group_search_filter',
  });

  beforeAll(async () => {
    own = await startSlapd({ memberOf: 'schema-only' });
    // bob's primary group is staff (gidNumber), and memberUid lists carol only.
    const client = await adminClient(own);
    try {
      await client.modify(userDn(own, 'bob'), [
        new Change({
          operation: 'add',
          modification: new Attribute({ type: 'objectClass', values: ['posixAccount'] }),
        }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'uidNumber', values: ['1002'] }) }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'gidNumber', values: [STAFF_GID] }) }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'homeDirectory', values: ['/home/bob'] }) }),
      ]);
      await client.add(groupDn(own, 'staff'), {
        objectClass: ['top', 'posixGroup'],
        cn: 'staff',
        gidNumber: STAFF_GID,
        memberUid: ['carol'],
      });
      const { searchEntries } = await client.search(userDn(own, 'alice'), { scope: 'base', attributes: ['memberOf'] });
      // The premise: the server keeps no memberOf, though alice is in groups.
      expect([searchEntries[0]?.memberOf ?? []].flat()).toEqual([]);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  });
  afterAll(async () => {
    await own?.stop();
  });

  it('a member of the login group logs in; the check says so', async () => {
    const app = await apps.start('sqlite', env(loginGroup(groupDn(own, 'app-users'))));
    await login(app, 'alice').expect(200);
    await login(app, 'dave').expect(401);
    const report = await app.get(LdapCheck).run({ user: { name: 'alice', password: fixtureUser('alice').password } });
    expect(step(report, 'user.groups').details).toContain(`member     ${groupDn(own, 'app-users')} (direct)`);
    expect(step(report, 'user.login').status).toBe('ok');
  });

  it('synced memberships stay the same across logins and full syncs', async () => {
    const app = await apps.start('sqlite', env({ LDAP_SYNCED_GROUPS: groupDn(own, 'developers') }));
    // The sync creates no users: these are the app's LDAP users (dave and carol are not direct members).
    for (const name of ['alice', 'bob', 'carol', 'dave']) await login(app, name).expect(200);
    expect(await membersOf(app, 'developers')).toEqual(['alice', 'bob']);
    expectSucceeded(await app.get(LdapSyncService).run());
    expect(await membersOf(app, 'developers')).toEqual(['alice', 'bob']);
    await login(app, 'alice').expect(200);
    expect(await membersOf(app, 'developers')).toEqual(['alice', 'bob']);
  });

  describe('a posixGroup counts the users whose gidNumber is its own', () => {
    for (const membership of ['memberUid', 'auto']) {
      it(`LDAP_GROUP_MEMBERSHIP=${membership}: at login and in the full sync`, async () => {
        const staff = groupDn(own, 'staff');
        const app = await apps.start(
          'sqlite',
          env({ LDAP_GROUP_MEMBERSHIP: membership, LDAP_SYNCED_GROUPS: staff, ...loginGroup(staff) }),
        );
        // memberUid counts only where membership is read from memberUid (in auto, from `member`).
        const byMemberUid = membership === 'memberUid';
        const expected = byMemberUid ? ['bob', 'carol'] : ['bob'];
        await login(app, 'bob').expect(200);
        await login(app, 'carol').expect(byMemberUid ? 200 : 401);
        await login(app, 'alice').expect(401);
        expect(await membersOf(app, 'staff')).toEqual(expected);
        expectSucceeded(await app.get(LdapSyncService).run());
        expect(await membersOf(app, 'staff')).toEqual(expected);
        await login(app, 'bob').expect(200);
        expect(await membersOf(app, 'staff')).toEqual(expected);
        const report = await app.get(LdapCheck).run({ user: { name: 'bob', password: fixtureUser('bob').password } });
        expect(step(report, 'group1').summary).toMatch(/users whose gidNumber is 5000 \(their primary group\)/);
        expect(step(report, 'user.groups').details).toContain(`member     ${staff} (direct)`);
        expect(step(report, 'user.login').status).toBe('ok');
      });
    }

    it('a listed posixGroup whose gidNumber the sync account cannot read aborts the sync, writing nothing', async () => {
      const staff = groupDn(own, 'staff');
      const app = await apps.start('sqlite', env({ LDAP_GROUP_MEMBERSHIP: 'memberUid', LDAP_SYNCED_GROUPS: staff }));
      await login(app, 'bob').expect(200);
      await login(app, 'carol').expect(200);
      expect(await membersOf(app, 'staff')).toEqual(['bob', 'carol']);
      await setSlapdAccessRules(own, [
        `access to dn.exact="${staff}" attrs=gidNumber by dn.exact="${own.serviceDn}" none by * break`,
      ]);
      try {
        const report = await app.get(LdapSyncService).run();
        expect(report.status).toBe('aborted');
        expect(report.reason).toMatch(/cn=staff,ou=groups,dc=example,dc=com.* gidNumber/);
        expect(await membersOf(app, 'staff')).toEqual(['bob', 'carol']);
      } finally {
        await setSlapdAccessRules(own, []);
      }
    });
  });
});
