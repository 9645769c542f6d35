/**
 * The delta that reads only the rows its changes concern (no nesting, PostgreSQL: see sync/delta-scope.ts),
 * on slapd with syncprov: memberships that move between two listed groups read again in one delta, and a
 * deletion, end as a full sync would leave them; a change of the login group reaches rows whose entries did not
 * change.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createTestApp, postLogin } from './support/app.js';
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
} from './support/directory-admin.js';
import type { FixtureUser } from './support/fixtures.js';
import { expectFullSyncFindsNothing, memberships, rows, runSync as run } from './support/delta-sync.js';

const person = (name: string): FixtureUser => ({
  username: `scoped-${name}`,
  password: `Scoped-${name}-pass1`,
  givenName: name,
  sn: 'Scoped',
  mail: `${name}@scoped.example.com`,
});

describe('a delta scoped to the rows its changes concern (slapd, no nesting, PostgreSQL)', () => {
  let slapd: SlapdHandle;
  let db: TestDatabase;
  let app: INestApplication;
  const [ann, ben, cid, dot, eve] = ['ann', 'ben', 'cid', 'dot', 'eve'].map(person);

  beforeAll(async () => {
    slapd = await startSlapd({ contentSync: 'present' });
    for (const user of [ann, ben, cid, dot, eve]) await createUser(slapd, user);
    await createGroup(slapd, 'scoped-team', [ann.username, ben.username, eve.username]);
    await createGroup(slapd, 'scoped-ops', [cid.username, dot.username]);
    db = await createTestDatabase('postgres');
    app = await createTestApp({
      ...openLdapEnv(slapd),
      DATABASE_URL: db.url,
      LDAP_SYNC_USER_USERNAME: slapd.serviceDn,
      LDAP_SYNC_USER_PASSWORD: slapd.servicePassword,
      LDAP_SYNC_ENABLED: 'false',
      LDAP_SYNC_MAX_REMOVALS: '100%',
      LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS: '100%',
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
      LDAP_NESTED_GROUPS: 'false',
      LDAP_SYNCED_GROUPS: [groupDn(slapd, 'scoped-team'), groupDn(slapd, 'scoped-ops')].join(':'),
    });
    for (const user of [ann, ben, cid, dot, eve]) {
      expect((await postLogin(app, user.username, user.password)).status).toBe(200);
    }
    expect(await run(app, false)).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(await run(app)).toMatchObject({ status: 'succeeded', mode: 'full' });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await slapd?.stop();
  });

  it('moves memberships between two groups read in one delta, and removes a deleted user', async () => {
    // Members of one listed group join the other (both read again): rows the changed entries do not name.
    await addUserToGroup(slapd, ann.username, 'scoped-ops');
    await addUserToGroup(slapd, dot.username, 'scoped-team');
    await removeUserFromGroup(slapd, cid.username, 'scoped-ops');
    await deleteUser(slapd, eve.username);

    const report = await run(app);
    expect(report).toMatchObject({
      status: 'succeeded',
      mode: 'delta',
      usersRemoved: 1,
      membershipsAdded: 2,
    });
    expect((await rows(app)).has(eve.username)).toBe(false);
    expect(await memberships(app)).toEqual([
      'scoped-ops:scoped-ann',
      'scoped-ops:scoped-dot',
      'scoped-team:scoped-ann',
      'scoped-team:scoped-ben',
      'scoped-team:scoped-dot',
    ]);
    await expectFullSyncFindsNothing(app, report);
  });
});

describe('a delta after a change of the login group (slapd present phase, no nesting, PostgreSQL)', () => {
  let slapd: SlapdHandle;
  let db: TestDatabase;
  let app: INestApplication;
  const [fay, gus] = ['fay', 'gus'].map(person);

  beforeAll(async () => {
    slapd = await startSlapd({ contentSync: 'present' });
    for (const user of [fay, gus]) await createUser(slapd, user);
    await createGroup(slapd, 'scoped-staff', [fay.username, gus.username]);
    await createGroup(slapd, 'scoped-crew', [fay.username, gus.username]);
    db = await createTestDatabase('postgres');
    app = await createTestApp({
      ...openLdapEnv(slapd),
      DATABASE_URL: db.url,
      LDAP_SYNC_USER_USERNAME: slapd.serviceDn,
      LDAP_SYNC_USER_PASSWORD: slapd.servicePassword,
      LDAP_SYNC_ENABLED: 'false',
      LDAP_SYNC_MAX_REMOVALS: '100%',
      LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS: '100%',
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
      LDAP_NESTED_GROUPS: 'false',
      LDAP_SYNCED_GROUPS: groupDn(slapd, 'scoped-crew'),
      LDAP_LOGIN_GROUP: groupDn(slapd, 'scoped-staff'),
      LDAP_AUTH_FORMAT_SEARCH_FILTERS: 'login_group_search_filter',
    });
    for (const user of [fay, gus]) expect((await postLogin(app, user.username, user.password)).status).toBe(200);
    expect(await run(app, false)).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(await run(app)).toMatchObject({ status: 'succeeded', mode: 'full' });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await slapd?.stop();
  });

  it('removes a user taken out of the login group, whose own entry did not change', async () => {
    await removeUserFromGroup(slapd, gus.username, 'scoped-staff');
    const report = await run(app);
    expect(report).toMatchObject({ status: 'succeeded', mode: 'delta', usersRemoved: 1 });
    expect([...(await rows(app)).keys()]).toEqual([fay.username]);
    expect(await memberships(app)).toEqual(['scoped-crew:scoped-fay']);
    await expectFullSyncFindsNothing(app, report);
  });
});
