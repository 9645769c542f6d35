import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { normalizeDn } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, logsOf } from './support/app.js';
import { DATABASE_KINDS, type DatabaseKind } from './support/databases.js';
import { DIRECTORY_KINDS, directoryEnv, directoryInfo, type DirectoryKind } from './support/env.js';
import { fixtureUser, USERS } from './support/fixtures.js';
import {
  adminClient,
  createGroup,
  deleteGroup,
  groupDn,
  removeUserFromGroup,
  userDn,
} from './support/directory-admin.js';
import { testApps } from './support/test-app.js';

const GENERIC_401 = { statusCode: 401, message: 'Invalid username or password', error: 'Unauthorized' };

/** Apps that this file starts, closed (with their databases) at the end. */
const apps = testApps();
const startApp = (kind: DirectoryKind, dbKind: DatabaseKind, env: Record<string, string>) =>
  apps.start(dbKind, { ...directoryEnv(kind), ...env });

const login = (app: INestApplication, username: string, password = fixtureUser(username).password) =>
  request(app.getHttpServer()).post('/auth/login').send({ username, password });

const groupNames = (body: { user: { groups: Array<{ name: string }> } }) => body.user.groups.map((g) => g.name).sort();

describe.each(DIRECTORY_KINDS)('groups at login against %s', (kind) => {
  const info = () => directoryInfo(kind);
  const dn = (cn: string) => groupDn(info(), cn);
  const syncEnv = (cns: string[], extra: Record<string, string> = {}) => ({
    LDAP_AUTH_SYNC_USER_RELATIONS: 'custom_auth.ldap.sync_user_groups',
    LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
    LDAP_SYNCED_GROUPS: cns.map(dn).join(':'),
    ...extra,
  });

  describe.each(DATABASE_KINDS)('stored in %s', (dbKind) => {
    // Groups of this run only, so runs never see each other's changes.
    const tag = `${kind}-${dbKind}`.replace(/[^a-z0-9-]/g, '');
    const leaving = `leaving-${tag}`;
    const race = `race-${tag}`;
    const raceMembers = USERS.filter((u) => !u.disabled).map((u) => u.username);
    // A group its own app (own database) sees first when all its members log in at once.
    const burst = `burst-${tag}`;
    const burstMembers = raceMembers;
    let app: INestApplication;

    beforeAll(async () => {
      await createGroup(info(), leaving, ['frank', 'bob']);
      await createGroup(info(), race, raceMembers);
      await createGroup(info(), burst, burstMembers);
      app = await startApp(
        kind,
        dbKind,
        // Listed with odd case and spacing: DNs are compared after normalisation.
        syncEnv(['developers', 'admins', leaving, race], {
          LDAP_SYNCED_GROUPS: [
            dn('developers').toUpperCase(),
            dn('admins').replace(/,/g, ', '),
            dn(leaving),
            dn(race),
            `cn=does-not-exist,${info().groupsDn}`,
          ].join(':'),
        }),
      );
    });
    afterAll(async () => {
      await deleteGroup(info(), leaving).catch(() => undefined);
      await deleteGroup(info(), race).catch(() => undefined);
      await deleteGroup(info(), burst).catch(() => undefined);
    });

    it('creates each group on first sight in the default organisation, named from its cn, and adds the user', async () => {
      const res = await login(app, 'alice').expect(200);
      expect(groupNames(res.body)).toEqual(['admins', 'developers', race]);
      const rows = await appDataSource(app).query<Array<{ name: string; ldap_dn: string; organisation_id: number }>>(
        'SELECT name, ldap_dn, organisation_id FROM groups ORDER BY name',
      );
      expect(rows).toEqual([
        { name: 'admins', ldap_dn: normalizeDn(dn('admins')), organisation_id: 1 },
        { name: 'developers', ldap_dn: normalizeDn(dn('developers')), organisation_id: 1 },
        { name: race, ldap_dn: normalizeDn(dn(race)), organisation_id: 1 },
      ]);
      // A second login changes nothing.
      await login(app, 'alice').expect(200);
      const [{ n }] = await appDataSource(app).query<Array<{ n: string | number }>>('SELECT COUNT(*) AS n FROM groups');
      expect(Number(n)).toBe(3);
    });

    it('ignores a listed group that does not exist in the directory, with a warning', async () => {
      const missing = normalizeDn(`cn=does-not-exist,${info().groupsDn}`);
      // A synced user logs in while the list names the missing group: the login goes through, with the others.
      const res = await login(app, 'alice').expect(200);
      expect(groupNames(res.body)).toEqual(['admins', 'developers', race]);
      expect(logsOf(app)).toContainEqual(
        expect.stringContaining(
          `Group ${missing} (LDAP_SYNCED_GROUPS / LDAP_LOGIN_GROUP) does not exist in the directory; it is ignored`,
        ),
      );
      const rows = await appDataSource(app).query<unknown[]>(
        `SELECT id FROM groups WHERE ldap_dn LIKE '%does-not-exist%' OR name = 'does-not-exist'`,
      );
      expect(rows).toEqual([]);
    });

    it('lists the groups in /auth/me', async () => {
      const res = await login(app, 'bob').expect(200);
      const me = await request(app.getHttpServer())
        .get('/auth/me')
        .set('Authorization', `Bearer ${res.body.accessToken}`)
        .expect(200);
      expect(groupNames({ user: me.body })).toEqual(['developers', leaving, race]);
      const groups = me.body.groups as Array<{ name: string; ldapDn: string }>;
      expect(groups.find((g) => g.name === 'developers')?.ldapDn).toBe(normalizeDn(dn('developers')));
    });

    it('removes only the membership of a group the user left, and never touches local or unlisted groups', async () => {
      const ds = appDataSource(app);
      const first = await login(app, 'frank').expect(200);
      expect(groupNames(first.body)).toEqual(['developers', leaving, race]);
      const frankId = first.body.user.id as number;
      // A local group (no DN) with frank in it.
      await ds.query(`INSERT INTO groups (organisation_id, name, ldap_dn) VALUES (1, 'local-team', NULL)`);
      const [{ id: localId }] = await ds.query<Array<{ id: number }>>(
        `SELECT id FROM groups WHERE name = 'local-team'`,
      );
      await ds.query(`INSERT INTO user_groups (user_id, group_id) VALUES (${frankId}, ${localId})`);

      await removeUserFromGroup(info(), 'frank', leaving);
      const second = await login(app, 'frank').expect(200);
      expect(groupNames(second.body)).toEqual(['developers', 'local-team', race]);
      // The group itself stays (bob is still in it), and so does bob's membership.
      const bob = await login(app, 'bob').expect(200);
      expect(groupNames(bob.body)).toContain(leaving);
    });

    it('creates a new group once when several of its members log in at the same moment', async () => {
      const results = await Promise.all(raceMembers.map((u) => login(app, u)));
      expect(results.map((r) => r.status)).toEqual(raceMembers.map(() => 200));
      const rows = await appDataSource(app).query<unknown[]>(
        `SELECT id FROM groups WHERE ldap_dn = '${normalizeDn(dn(race)).replace(/'/g, "''")}'`,
      );
      expect(rows).toHaveLength(1);
      const [{ n }] = await appDataSource(app).query<Array<{ n: string | number }>>(
        `SELECT COUNT(*) AS n FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE g.name = '${race}'`,
      );
      expect(Number(n)).toBe(raceMembers.length);
    });

    it('counts nested membership only with LDAP_NESTED_GROUPS', async () => {
      const flat = await startApp(kind, dbKind, syncEnv(['developers', 'engineering', 'cycle-a', 'cycle-b']));
      expect(groupNames((await login(flat, 'dave').expect(200)).body)).toEqual([]);

      const nested = await startApp(
        kind,
        dbKind,
        syncEnv(['developers', 'engineering', 'cycle-a', 'cycle-b'], { LDAP_NESTED_GROUPS: 'true' }),
      );
      // dave: platform ⊂ developers ⊂ engineering.
      expect(groupNames((await login(nested, 'dave').expect(200)).body)).toEqual(['developers', 'engineering']);
      // alice: developers directly, engineering through developers.
      expect(groupNames((await login(nested, 'alice').expect(200)).body)).toEqual(['developers', 'engineering']);
      // heidi: in cycle-a, which is in cycle-b, which is in cycle-a: the cycle ends, both count.
      expect(groupNames((await login(nested, 'heidi').expect(200)).body)).toEqual(['cycle-a', 'cycle-b']);
    });

    it('creates a group once when its first members all log in at the same moment', async () => {
      const fresh = await startApp(kind, dbKind, syncEnv([burst]));
      const results = await Promise.all(burstMembers.map((u) => login(fresh, u)));
      expect(results.map((r) => r.status)).toEqual(burstMembers.map(() => 200));
      for (const r of results) expect(groupNames(r.body)).toEqual([burst]);
      const rows = await appDataSource(fresh).query<unknown[]>('SELECT id FROM groups');
      expect(rows).toHaveLength(1);
      const [{ n }] = await appDataSource(fresh).query<Array<{ n: string | number }>>(
        `SELECT COUNT(*) AS n FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE g.name = '${burst}'`,
      );
      expect(Number(n)).toBe(burstMembers.length);
    });
  });

  describe.each(DATABASE_KINDS)('login restricted to a group, stored in %s', (dbKind) => {
    const loginGroupEnv = (cn: string, extra: Record<string, string> = {}) => ({
      LDAP_AUTH_FORMAT_SEARCH_FILTERS: 'custom_auth.ldap.login_group_search_filter',
      LDAP_LOGIN_GROUP: dn(cn),
      ...extra,
    });

    it('lets members in and refuses non-members with the same 401 as a wrong password', async () => {
      const app = await startApp(kind, dbKind, loginGroupEnv('app-users'));
      await login(app, 'alice').expect(200);
      await login(app, 'zoe').expect(200);
      const refused = await login(app, 'eve').expect(401);
      expect(refused.body).toEqual(GENERIC_401);
      expect(logsOf(app)).toContainEqual(
        expect.stringMatching(/Login refused for "eve": .* is not a member of the login group/),
      );
      expect((await login(app, 'eve', 'wrong').expect(401)).body).toEqual(refused.body);
      // A refused user is not stored.
      expect(await appDataSource(app).query(`SELECT id FROM users WHERE username = 'eve'`)).toEqual([]);
    });

    it('counts membership through nested groups when LDAP_NESTED_GROUPS is on', async () => {
      const flat = await startApp(kind, dbKind, loginGroupEnv('nested-login'));
      await login(flat, 'dave').expect(401);
      const nested = await startApp(kind, dbKind, loginGroupEnv('nested-login', { LDAP_NESTED_GROUPS: 'yes' }));
      await login(nested, 'dave').expect(200);
      await login(nested, 'alice').expect(401);
    });

    it('combines with group sync', async () => {
      const app = await startApp(kind, dbKind, { ...loginGroupEnv('app-users'), ...syncEnv(['admins']) });
      expect(groupNames((await login(app, 'alice').expect(200)).body)).toEqual(['admins']);
      await login(app, 'eve').expect(401);
    });
  });
});

describe('membership read by searching groups (no memberOf), on slapd', () => {
  it.each(['member', 'auto'])('LDAP_GROUP_MEMBERSHIP=%s finds direct and nested groups', async (mode) => {
    const { groupsDn } = directoryInfo('openldap');
    const app = await startApp('openldap', 'sqlite', {
      LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
      LDAP_DEFAULT_ORGANISATION_ID: '3',
      LDAP_SYNCED_GROUPS: `cn=developers,${groupsDn}:cn=engineering,${groupsDn}`,
      LDAP_NESTED_GROUPS: 'true',
      LDAP_GROUP_MEMBERSHIP: mode,
    });
    expect(groupNames((await login(app, 'dave').expect(200)).body)).toEqual(['developers', 'engineering']);
    const orgs = await appDataSource(app).query<Array<{ id: number }>>('SELECT id FROM organisations');
    expect(orgs).toEqual([{ id: 3, name: 'Default' }].map(({ id }) => ({ id })));
  });
});

describe('groupOfUniqueNames and posixGroup, on slapd', () => {
  const slapd = () => directoryInfo('openldap');
  const unique = 'cn=unique-team,ou=groups,dc=example,dc=com';
  const posix = 'cn=posix-team,ou=groups,dc=example,dc=com';

  beforeAll(async () => {
    const client = await adminClient(slapd());
    try {
      await client.add(unique, {
        objectClass: ['top', 'groupOfUniqueNames'],
        cn: 'unique-team',
        uniqueMember: [userDn(slapd(), 'alice'), userDn(slapd(), 'zoe')],
      });
      await client.add(posix, {
        objectClass: ['top', 'posixGroup'],
        cn: 'posix-team',
        gidNumber: '5000',
        memberUid: ['bob', 'zoe'],
      });
    } finally {
      await client.unbind();
    }
  });
  afterAll(async () => {
    const client = await adminClient(slapd());
    try {
      await client.del(unique);
      await client.del(posix);
    } finally {
      await client.unbind();
    }
  });

  it.each(DATABASE_KINDS)('LDAP_GROUP_MEMBERSHIP=uniqueMember and memberUid read those groups (%s)', async (dbKind) => {
    const env = (mode: string, group: string) => ({
      LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
      LDAP_DEFAULT_ORGANISATION_ID: '1',
      LDAP_SYNCED_GROUPS: group,
      LDAP_GROUP_MEMBERSHIP: mode,
    });
    const byUnique = await startApp('openldap', dbKind, env('uniqueMember', unique));
    expect(groupNames((await login(byUnique, 'alice').expect(200)).body)).toEqual(['unique-team']);
    expect(groupNames((await login(byUnique, 'bob').expect(200)).body)).toEqual([]);
    const byUid = await startApp('openldap', dbKind, env('memberUid', posix));
    expect(groupNames((await login(byUid, 'bob').expect(200)).body)).toEqual(['posix-team']);
    expect(groupNames((await login(byUid, 'alice').expect(200)).body)).toEqual([]);
  });
});
