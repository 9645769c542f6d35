/**
 * Complete reads of large directories: a 2,000-member group on Samba AD, read whole and mirrored whole.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { LdapSyncService, normalizeDn } from '@nest-ldap-auth/ldap-auth';
// Internal, not part of the package's surface: this file reads the directory through it directly.
import { LdapDirectory } from '../libs/ldap-auth/src/directory/ldap-directory.js';
import { appDataSource, createTestApp } from './support/app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { activeDirectoryEnv, serviceAccountEnv } from './support/env.js';
import { AD_BULK } from './support/fixtures.js';
import { testServers } from './support/servers.js';

const { samba } = testServers();
const bulkGroup = `CN=${AD_BULK.group},${samba.groupsDn}`;

describe.each(DATABASE_KINDS)('Samba AD: a %s app mirrors a group of 2,000 members', (dbKind) => {
  let db: TestDatabase;
  let app: INestApplication;

  beforeAll(async () => {
    db = await createTestDatabase(dbKind);
    app = await createTestApp({
      ...activeDirectoryEnv(samba),
      ...serviceAccountEnv('ad'),
      LDAP_AUTH_SEARCH_BASE: `OU=${AD_BULK.ou},${samba.baseDn}`,
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_SYNCED_GROUPS: bulkGroup,
      DATABASE_URL: db.url,
    });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('reads every member, and creates the group with all 2,000 memberships', async () => {
    const snapshot = await app.get(LdapDirectory).readSnapshot();
    expect(snapshot.users.size).toBe(AD_BULK.users);
    const group = snapshot.groups.get(normalizeDn(bulkGroup));
    expect(group?.members.length).toBe(AD_BULK.users);

    // The app knows these users already (they logged in once; here: rows made from the snapshot). They are
    // disabled in the directory, so their rows are too, as the sync itself would leave them.
    const ds = appDataSource(app);
    const no = dbKind === 'postgres' ? 'false' : '0';
    const yes = dbKind === 'postgres' ? 'true' : '1';
    const users = [...snapshot.users.values()];
    for (let i = 0; i < users.length; i += 500) {
      const values = users
        .slice(i, i + 500)
        .map((u) => `('${u.username}', '${u.dn}', '${u.uuid}', ${no}, ${yes})`)
        .join(', ');
      await ds.query(
        `INSERT INTO users (username, ldap_dn, ldap_uuid, is_active, deactivated_by_sync) VALUES ${values}`,
      );
    }
    const report = await app.get(LdapSyncService).run();
    expect(report).toMatchObject({
      status: 'succeeded',
      usersSeen: AD_BULK.users,
      groupsCreated: 1,
      membershipsAdded: AD_BULK.users,
    });
    const [{ n }] = await ds.query<Array<{ n: string | number }>>('SELECT COUNT(*) AS n FROM user_groups');
    expect(Number(n)).toBe(AD_BULK.users);
    // A second run finds nothing to do.
    expect(await app.get(LdapSyncService).run()).toMatchObject({
      status: 'succeeded',
      membershipsAdded: 0,
      usersUpdated: 0,
    });
  });
});
