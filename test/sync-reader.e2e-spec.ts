/**
 * Complete reads or none, proven against a server that enforces Active Directory's limits (the embedded
 * directory with AD's MaxPageSize and MaxValRange, slapd's paged size limit) and that fails on demand:
 * every incomplete read aborts the sync before anything is written.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { LdapSyncService, normalizeDn, type SyncReport } from '@nest-ldap-auth/ldap-auth';
// Internal, not part of the package's surface: this file reads the directory through it directly.
import { LdapDirectory } from '../libs/ldap-auth/src/directory/ldap-directory.js';
import { EmbeddedDirectory, type EmbeddedDirectoryOptions } from '@nest-ldap-auth/ldap-auth/testing';
import { appDataSource, createTestApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';

const USERS = 4000;
const BASE = 'dc=example,dc=com';
const SERVICE = { dn: `cn=ldap-sync,ou=services,${BASE}`, password: 'sync-password' };
const BIG_GROUP = `cn=everyone,ou=groups,${BASE}`;
const SMALL_GROUP = `cn=few,ou=groups,${BASE}`;

/** 4,000 users, a group of all of them, a group of ten, and the service account. */
function ldif(): string {
  const lines = [
    `dn: ${BASE}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    ...['people', 'groups', 'services'].map(
      (ou) => `dn: ou=${ou},${BASE}\nobjectClass: top\nobjectClass: organizationalUnit\nou: ${ou}\n`,
    ),
    `dn: ${SERVICE.dn}\nobjectClass: top\nobjectClass: person\ncn: ldap-sync\nsn: ldap-sync\nuserPassword: ${SERVICE.password}\n`,
  ];
  const members: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const uid = `u${String(i).padStart(5, '0')}`;
    const dn = `uid=${uid},ou=people,${BASE}`;
    members.push(dn);
    lines.push(
      `dn: ${dn}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nmail: ${uid}@example.com\n`,
    );
  }
  lines.push(
    `dn: ${BIG_GROUP}\nobjectClass: groupOfNames\ncn: everyone\n${members.map((m) => `member: ${m}`).join('\n')}\n`,
  );
  lines.push(
    `dn: ${SMALL_GROUP}\nobjectClass: groupOfNames\ncn: few\n${members
      .slice(0, 10)
      .map((m) => `member: ${m}`)
      .join('\n')}\n`,
  );
  return lines.join('\n');
}

describe('complete reads against AD-like limits, and aborts on every incomplete read', () => {
  let directory: EmbeddedDirectory;
  let db: TestDatabase;
  let app: INestApplication;

  async function start(options: Partial<EmbeddedDirectoryOptions>): Promise<void> {
    directory = await EmbeddedDirectory.start({ ldif: ldif(), maxPageSize: 1000, maxValRange: 1500, ...options });
    app = await createTestApp({
      LDAP_AUTH_URL: directory.url,
      LDAP_SYNC_USER_USERNAME: SERVICE.dn,
      LDAP_SYNC_USER_PASSWORD: SERVICE.password,
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_SYNCED_GROUPS: `${BIG_GROUP}:${SMALL_GROUP}`,
      DATABASE_URL: db.url,
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    await app?.close();
    await directory?.stop();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const tables = async () => {
    const q = (sql: string) => appDataSource(app).query(sql);
    return {
      users: await q('SELECT id, username, email, is_active FROM users ORDER BY id'),
      groups: await q('SELECT id, name, ldap_dn FROM groups ORDER BY id'),
      members: await q('SELECT user_id, group_id FROM user_groups ORDER BY user_id, group_id'),
    };
  };
  const expectAbortedWithoutWriting = async (run: () => Promise<SyncReport>, reason: RegExp) => {
    const before = await tables();
    const report = await run();
    expect({ status: report.status, reason: report.reason }).toEqual({
      status: 'aborted',
      reason: expect.stringMatching(reason),
    });
    expect(await tables()).toEqual(before);
  };

  it('reads all 4,000 users in pages of at most 1,000, and a 4,000-member group in ranges of 1,500', async () => {
    await start({});
    const snapshot = await app.get(LdapDirectory).readSnapshot();
    expect(snapshot.users.size).toBe(USERS);
    expect(snapshot.stats.pages).toBe(4);
    expect(snapshot.groups.get(normalizeDn(BIG_GROUP))?.members.length).toBe(USERS);
    expect(snapshot.groups.get(normalizeDn(SMALL_GROUP))?.members.length).toBe(10);

    // The app knows all of them: the sync mirrors both groups whole.
    const ds = appDataSource(app);
    const users = [...snapshot.users.values()];
    for (let i = 0; i < users.length; i += 500) {
      await ds.query(
        `INSERT INTO users (username, email, ldap_dn, ldap_uuid) VALUES ${users
          .slice(i, i + 500)
          .map((u) => `('${u.username}', '${u.email}', '${u.dn}', '${u.uuid}')`)
          .join(', ')}`,
      );
    }
    const report = await app.get(LdapSyncService).run();
    expect(report).toMatchObject({ status: 'succeeded', groupsCreated: 2, membershipsAdded: USERS + 10 });
  });

  it('aborts when slapd-style paged size limits cut the read on a later page (sizeLimitExceeded)', async () => {
    await start({ pagedSizeLimit: 2500 });
    await expectAbortedWithoutWriting(() => app.get(LdapSyncService).run(), /sizeLimitExceeded \(4\)/);
  });

  it.each([
    [3, /timeLimitExceeded \(3\)/],
    [11, /adminLimitExceeded \(11\)/],
    [51, /busy \(51\)/],
  ])('aborts when a later page fails with result code %i', async (code, reason) => {
    await start({});
    directory.failPagedSearch({ page: 3, resultCode: code });
    await expectAbortedWithoutWriting(() => app.get(LdapSyncService).run(), reason);
  });

  it('aborts when the connection is lost in the middle of the read', async () => {
    await start({});
    directory.dropConnectionDuringPagedSearch({ afterPage: 2 });
    await expectAbortedWithoutWriting(
      () => app.get(LdapSyncService).run(),
      /the directory read failed|Connection closed|did not answer/i,
    );
  });

  it('aborts on a referral it cannot follow', async () => {
    await start({});
    directory.addContinuationReference(`ou=elsewhere,ou=people,${BASE}`, `ldap://other.example/ou=elsewhere,${BASE}`);
    await expectAbortedWithoutWriting(
      () => app.get(LdapSyncService).run(),
      /referred part of .* elsewhere \(ldap:\/\/other\.example.*referrals are not followed/,
    );
  });
});
