/**
 * The delta sync against the harness's Samba AD: uSNChanged above a watermark bound to the DC that issued it,
 * and a scan of every user entry's objectGUID and userAccountControl for what is gone or disabled. What a
 * delta changes must be what a full sync would; a watermark from another DC, a restored DC or the future
 * means a full read, with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createTestApp, postLogin } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { activeDirectoryEnv, directoryInfo } from './support/env.js';
import type { SambaInfo } from './support/samba.js';
import {
  addGroupToGroup,
  addUserToGroup,
  adminClient,
  createGroup,
  createUser,
  deleteUser,
  groupDn,
  removeUserFromGroup,
  renameUser,
  setAccountDisabled,
  setAttributes,
  userDn,
} from './support/directory-admin.js';
import type { FixtureUser } from './support/fixtures.js';
import {
  editStoredCursor,
  expectFullSyncFindsNothing,
  memberships,
  rows,
  runSync as run,
  storedCursor,
} from './support/delta-sync.js';

const person = (name: string): FixtureUser => ({
  username: `dad-${name}`,
  password: `Dad-${name}-pass1`,
  givenName: name,
  sn: 'Dad',
  mail: `${name}@dad.example.com`,
});

describe('delta sync on Samba AD (uSNChanged, presence scan)', () => {
  let samba: SambaInfo;
  let db: TestDatabase;
  let app: INestApplication;
  const people = ['keep', 'off', 'gone', 'renamed', 'mover', 'joiner'].map(person);
  const [keep, off, gone, renamed, mover, joiner] = people;
  const outside = () => `OU=dad-out,${samba.baseDn}`;

  beforeAll(async () => {
    samba = directoryInfo('ad') as SambaInfo;
    for (const user of people) await createUser(samba, user);
    await createGroup(samba, 'dad-team', [keep.username, off.username, gone.username, mover.username]);
    await createGroup(samba, 'dad-child', [renamed.username]);
    await createGroup(samba, 'dad-parent', []);
    await addGroupToGroup(samba, 'dad-child', 'dad-parent');
    const admin = await adminClient(samba);
    await admin.add(outside(), { objectClass: ['top', 'organizationalUnit'], ou: 'dad-out' });
    await admin.unbind();
    db = await createTestDatabase('sqlite');
    app = await createTestApp({
      ...activeDirectoryEnv(samba),
      DATABASE_URL: db.url,
      LDAP_SYNC_USER_USERNAME: samba.serviceUser,
      LDAP_SYNC_USER_PASSWORD: samba.servicePassword,
      LDAP_SYNC_ENABLED: 'false',
      // Two of six leave at once: over the default removal guard.
      LDAP_SYNC_MAX_REMOVALS: '100%',
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
      LDAP_NESTED_GROUPS: 'true',
      LDAP_SYNCED_GROUPS: [groupDn(samba, 'dad-team'), groupDn(samba, 'dad-parent')].join(':'),
    });
    for (const user of people) expect((await postLogin(app, user.username, user.password)).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('reads everything the first time, then only what changed, with a watermark bound to the DC', async () => {
    const first = await run(app);
    expect(first).toMatchObject({ status: 'succeeded', mode: 'full', modeReason: 'no stored delta state yet' });
    expect(await storedCursor(app)).toMatchObject({
      method: 'usn',
      usn: expect.stringMatching(/^\d+$/),
      dsServiceName: expect.stringMatching(/^CN=NTDS Settings,/),
      invocationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const unchanged = await run(app);
    expect(unchanged).toMatchObject({ status: 'succeeded', mode: 'delta', usersSeen: 0, usersUpdated: 0 });
    expect(unchanged.modeReason).toBeUndefined();
  });

  it('deactivates a disabled account, keeps it so while other entries change, and reactivates it', async () => {
    await setAccountDisabled(samba, off.username, true);
    const disabled = await run(app);
    expect(disabled).toMatchObject({ status: 'succeeded', mode: 'delta', usersDeactivated: 1 });
    expect(Boolean((await rows(app)).get(off.username)?.is_active)).toBe(false);
    await expectFullSyncFindsNothing(app, disabled);

    // Unchanged since, and still disabled: its row must not stand for an enabled entry.
    await setAttributes(samba, keep.username, { mail: 'keep.new@dad.example.com' });
    const other = await run(app);
    expect(other).toMatchObject({ status: 'succeeded', mode: 'delta', usersUpdated: 1, usersReactivated: 0 });
    expect(Boolean((await rows(app)).get(off.username)?.is_active)).toBe(false);
    await expectFullSyncFindsNothing(app, other);

    await setAccountDisabled(samba, off.username, false);
    const enabled = await run(app);
    expect(enabled).toMatchObject({ status: 'succeeded', mode: 'delta', usersReactivated: 1 });
    expect(Boolean((await rows(app)).get(off.username)?.is_active)).toBe(true);
    await expectFullSyncFindsNothing(app, enabled);
  });

  it('applies deletions, renames, moves out of the base and membership changes (nested too)', async () => {
    await deleteUser(samba, gone.username);
    await renameUser(samba, renamed.username, 'dad-renamed2');
    const admin = await adminClient(samba);
    await admin.modifyDN(userDn(samba, mover.username), `CN=${mover.username},${outside()}`);
    await admin.unbind();
    await removeUserFromGroup(samba, keep.username, 'dad-team');
    await addUserToGroup(samba, joiner.username, 'dad-child');

    const report = await run(app);
    expect(report).toMatchObject({ status: 'succeeded', mode: 'delta', usersRemoved: 2 });
    const after = await rows(app);
    expect([...after.keys()].sort()).toEqual(['dad-joiner', 'dad-keep', 'dad-off', 'dad-renamed2']);
    expect(await memberships(app)).toEqual(['dad-parent:dad-joiner', 'dad-parent:dad-renamed2', 'dad-team:dad-off']);
    await expectFullSyncFindsNothing(app, report);
  });

  it.each([
    ['a restored DC (another invocationId)', { invocationId: '00000000-0000-0000-0000-000000000000' }, /invocationId/],
    [
      'another DC',
      {
        dsServiceName:
          'CN=NTDS Settings,CN=DC2,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=example,DC=test',
      },
      /another domain controller/,
    ],
    ['a watermark from the future', { usn: '999999999999' }, /ahead of the domain controller's highestCommittedUSN/],
  ])('reads everything, and says why, after %s', async (_, fields, reason) => {
    await editStoredCursor(app, fields);
    await setAttributes(samba, joiner.username, { sn: `Dad-${Object.keys(fields)[0]}` });
    const report = await run(app);
    expect(report).toMatchObject({ status: 'succeeded', mode: 'full', usersUpdated: 1 });
    expect(report.modeReason).toMatch(reason);
    // The full read stored a watermark of this DC: the next one is a delta again.
    expect(await run(app)).toMatchObject({ status: 'succeeded', mode: 'delta' });
  });
});
