/**
 * The delta that reads only the rows its changes concern (no nesting, PostgreSQL: see sync/delta-scope.ts),
 * on slapd with syncprov: memberships that move between two listed groups read again in one delta, and a
 * deletion, end as a full sync would leave them; a change of the login group reaches rows whose entries did not
 * change.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createTestApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
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
import {
  deltaSyncEnv,
  expectFullSyncFindsNothing,
  logInAll,
  memberships,
  rows,
  runSync as run,
} from './support/delta-sync.js';

const person = (name: string): FixtureUser => ({
  username: `scoped-${name}`,
  password: `Scoped-${name}-pass1`,
  givenName: name,
  sn: 'Scoped',
  mail: `${name}@scoped.example.com`,
});

interface ScopedSuite {
  slapd: SlapdHandle;
  db: TestDatabase;
  app: INestApplication;
}

/**
 * A suite's slapd (present phase) with `users` and `groups` (cn: members), and the app on PostgreSQL without
 * nesting (plus `env`), every user logged in; its first two runs are full (no cursor yet). Filled in by beforeAll.
 */
function scopedSuite(
  users: FixtureUser[],
  groups: Record<string, FixtureUser[]>,
  env: (slapd: SlapdHandle) => Record<string, string>,
): ScopedSuite {
  const suite = {} as ScopedSuite;
  beforeAll(async () => {
    const slapd = (suite.slapd = await startSlapd({ contentSync: 'present' }));
    for (const user of users) await createUser(slapd, user);
    for (const [cn, members] of Object.entries(groups)) {
      const usernames = members.map((user) => user.username);
      await createGroup(slapd, cn, usernames);
    }
    suite.db = await createTestDatabase('postgres');
    suite.app = await createTestApp({
      ...deltaSyncEnv(slapd, suite.db.url),
      LDAP_NESTED_GROUPS: 'false',
      ...env(slapd),
    });
    await logInAll(suite.app, users);
    expect(await run(suite.app, false)).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(await run(suite.app)).toMatchObject({ status: 'succeeded', mode: 'full' });
  });
  afterAll(async () => {
    await suite.app?.close();
    await suite.db?.drop();
    await suite.slapd?.stop();
  });
  return suite;
}

describe('a delta scoped to the rows its changes concern (slapd, no nesting, PostgreSQL)', () => {
  const [ann, ben, cid, dot, eve] = ['ann', 'ben', 'cid', 'dot', 'eve'].map(person);
  const suite = scopedSuite(
    [ann, ben, cid, dot, eve],
    { 'scoped-team': [ann, ben, eve], 'scoped-ops': [cid, dot] },
    (slapd) => ({
      LDAP_SYNCED_GROUPS: [groupDn(slapd, 'scoped-team'), groupDn(slapd, 'scoped-ops')].join(':'),
    }),
  );

  it('moves memberships between two groups read in one delta, and removes a deleted user', async () => {
    const { slapd, app } = suite;
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
  const [fay, gus] = ['fay', 'gus'].map(person);
  const suite = scopedSuite([fay, gus], { 'scoped-staff': [fay, gus], 'scoped-crew': [fay, gus] }, (slapd) => ({
    LDAP_SYNCED_GROUPS: groupDn(slapd, 'scoped-crew'),
    LDAP_LOGIN_GROUP: groupDn(slapd, 'scoped-staff'),
    LDAP_AUTH_FORMAT_SEARCH_FILTERS: 'login_group_search_filter',
  }));

  it('removes a user taken out of the login group, whose own entry did not change', async () => {
    const { slapd, app } = suite;
    await removeUserFromGroup(slapd, gus.username, 'scoped-staff');
    const report = await run(app);
    expect(report).toMatchObject({ status: 'succeeded', mode: 'delta', usersRemoved: 1 });
    expect([...(await rows(app)).keys()]).toEqual([fay.username]);
    expect(await memberships(app)).toEqual(['scoped-crew:scoped-fay']);
    await expectFullSyncFindsNothing(app, report);
  });
});
