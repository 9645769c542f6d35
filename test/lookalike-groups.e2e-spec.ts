/**
 * Look-alike group names (issue 16, item 1): a directory user who may create groups makes `cn=kᴬdmins` and puts
 * themself in it. The library once folded DN values with NFKC, so that group passed for the listed `cn=kadmins`
 * and for the login group. Against slapd and Samba AD: whatever look-alike the server accepts, it grants nothing
 * at login, in the full sync or in ldap:check, while the genuine groups (non-ASCII ones too) still work.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { LdapDiagnostics, LdapSyncService, normalizeDn } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, createTestApp, logsOf } from './support/app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { DIRECTORY_KINDS, directoryEnv, directoryInfo, serviceAccountEnv } from './support/env.js';
import { fixtureUser } from './support/fixtures.js';
import { addUserToGroup, createGroup, deleteGroup, groupDn } from './support/directory-admin.js';

const login = (app: INestApplication, username: string) =>
  request(app.getHttpServer())
    .post('/auth/login')
    .send({ username, password: fixtureUser(username).password });

/** Each look-alike of a name: the name with one letter (or all) swapped for a character that may fold to it. */
const LOOK_ALIKES: Array<[string, (name: string) => string]> = [
  ['modifier capital A (U+1D2C)', (n) => n.replace('a', '\u1D2C')],
  ['full-width', (n) => n.replace(/[a-z]/g, (c) => String.fromCodePoint(c.charCodeAt(0) - 0x61 + 0xff41))],
  ['circled a', (n) => n.replace('a', '\u24D0')],
  ['mathematical bold a', (n) => n.replace('a', '\u{1D41A}')],
  ['Kelvin sign', (n) => n.replace('k', '\u212A')],
  ['dotless i', (n) => n.replace('i', '\u0131')],
  ['final sigma', (n) => n.replace('σ', 'ς')],
];

describe.each(DIRECTORY_KINDS)('look-alike group names against %s', (kind) => {
  const info = () => directoryInfo(kind);
  const dn = (cn: string) => groupDn(info(), cn);
  const tag = kind === 'ad' ? 'ad' : 'ol';
  // The genuine groups: one mirrored, one the login group. Both end in σ so the final-sigma case applies too.
  const listed = `kadmins-${tag}σ`;
  const loginGroup = `kaiser-${tag}σ`;
  // A genuine non-ASCII group, listed with other case than the directory's: the server says they are one.
  const team = `Équipe-${tag}`;
  const created: string[] = [];
  const accepted: string[] = [];
  let db: TestDatabase;
  let app: INestApplication;

  beforeAll(async () => {
    for (const cn of [listed, loginGroup, team]) {
      await createGroup(info(), cn, ['alice']);
      created.push(cn);
    }
    // heidi may log in (she is a genuine member of the login group only after the first test), but is in no
    // listed group: she creates every look-alike the server lets her.
    for (const genuine of [listed, loginGroup]) {
      for (const [, make] of LOOK_ALIKES) {
        const cn = make(genuine);
        if (cn === genuine) continue;
        try {
          await createGroup(info(), cn, ['heidi']);
          created.push(cn);
          accepted.push(cn);
        } catch {
          // The server took it for the genuine name (entryAlreadyExists) or refused it: nothing to exploit.
        }
      }
    }
    db = await createTestDatabase('sqlite');
    app = await createTestApp({
      ...directoryEnv(kind),
      ...serviceAccountEnv(kind),
      DATABASE_URL: db.url,
      LDAP_AUTH_SYNC_USER_RELATIONS: 'custom_auth.ldap.sync_user_groups',
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_SYNCED_GROUPS: [dn(listed), dn(team).replace(team, team.toLowerCase())].join(':'),
      LDAP_AUTH_FORMAT_SEARCH_FILTERS: 'custom_auth.ldap.login_group_search_filter',
      LDAP_LOGIN_GROUP: dn(loginGroup),
    });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    for (const cn of created.reverse()) await deleteGroup(info(), cn).catch(() => undefined);
  });

  it('the directory accepts look-alikes (else this file proves nothing)', () => {
    // slapd keeps U+1D2C, circled, bold and dotless-i names apart from their ASCII letters (seen on 2.5).
    process.stdout.write(`${kind} accepted ${accepted.length} look-alikes: ${accepted.join(' ')}\n`);
    if (kind === 'openldap') expect(accepted.length).toBeGreaterThanOrEqual(2);
    expect(accepted.length + LOOK_ALIKES.length).toBeGreaterThan(0);
  });

  it('refuses a member of look-alikes of the login group', async () => {
    await login(app, 'heidi').expect(401);
    expect(logsOf(app)).toContainEqual(expect.stringContaining('is not a member of the login group'));
  });

  it('grants no look-alike group at login once the user may log in', async () => {
    await addUserToGroup(info(), 'heidi', loginGroup);
    const res = await login(app, 'heidi').expect(200);
    expect(res.body.user.groups).toEqual([]);
  });

  it('still mirrors the genuine groups, the non-ASCII one under the name the server gave it', async () => {
    const res = await login(app, 'alice').expect(200);
    const groups = (res.body as { user: { groups: Array<{ name: string }> } }).user.groups;
    expect(groups.map((g) => g.name).sort()).toEqual([listed, team].sort());
  });

  it('the full sync puts nobody in a group through a look-alike', async () => {
    const report = await app.get(LdapSyncService).run();
    expect({ status: report.status, reason: report.reason }).toEqual({ status: 'succeeded', reason: undefined });
    const rows = await appDataSource(app).query<Array<{ username: string; name: string }>>(
      'SELECT u.username, g.name FROM users u JOIN user_groups ug ON ug.user_id = u.id JOIN groups g ON g.id = ug.group_id ORDER BY g.name, u.username',
    );
    expect(rows).toEqual(
      [
        { username: 'alice', name: listed },
        { username: 'alice', name: team },
      ].sort((a, b) => (a.name < b.name ? -1 : 1)),
    );
  });

  it('ldap:check says the look-alike member is not a member', async () => {
    const report = await app
      .get(LdapDiagnostics)
      .run({ user: { name: 'heidi', password: fixtureUser('heidi').password } });
    const groups = report.user?.groups ?? [];
    expect(groups.filter((g) => g.member)).toEqual([expect.objectContaining({ dn: dn(loginGroup) })]);
  });
});

describe.each(DATABASE_KINDS)('group rows stored under the old DN folding, in %s', (dbKind) => {
  const info = () => directoryInfo('openldap');
  const team = `Équipe-mig-${dbKind}`;
  const configured = () => groupDn(info(), team);
  const env = (db: TestDatabase) => ({
    ...directoryEnv('openldap'),
    DATABASE_URL: db.url,
    LDAP_AUTH_SYNC_USER_RELATIONS: 'custom_auth.ldap.sync_user_groups',
    LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
    LDAP_SYNCED_GROUPS: configured(),
  });
  let db: TestDatabase;

  beforeAll(async () => {
    await createGroup(info(), team, ['alice']);
    db = await createTestDatabase(dbKind);
  });
  afterAll(async () => {
    await db?.drop();
    await deleteGroup(info(), team).catch(() => undefined);
  });

  it('are re-keyed at start-up, keeping their id and members', async () => {
    const first = await createTestApp(env(db));
    let groupId: number;
    try {
      await login(first, 'alice').expect(200);
      const [row] = await appDataSource(first).query<Array<{ id: number; ldap_dn: string }>>(
        'SELECT id, ldap_dn FROM groups',
      );
      groupId = Number(row.id);
      expect(row.ldap_dn).toBe(normalizeDn(configured()));
      // What 0.1.0 stored: every value lower-cased, É included.
      await appDataSource(first).query(`UPDATE groups SET ldap_dn = '${row.ldap_dn.toLowerCase()}'`);
    } finally {
      await first.close();
    }
    const second = await createTestApp(env(db));
    try {
      expect(logsOf(second)).toContainEqual(
        expect.stringContaining(`Group row ${groupId} re-keyed from ${normalizeDn(configured()).toLowerCase()}`),
      );
      const res = await login(second, 'alice').expect(200);
      expect(res.body.user.groups).toEqual([{ name: team, ldapDn: normalizeDn(configured()) }]);
      const rows = await appDataSource(second).query<Array<{ id: number; ldap_dn: string }>>(
        'SELECT g.id, g.ldap_dn FROM groups g JOIN user_groups ug ON ug.group_id = g.id',
      );
      expect(rows.map((r) => [Number(r.id), r.ldap_dn])).toEqual([[groupId, normalizeDn(configured())]]);
    } finally {
      await second.close();
    }
  });
});
