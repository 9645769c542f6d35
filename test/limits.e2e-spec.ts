import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { LdapSyncService, normalizeDn } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, logsOf, postLogin } from './support/app.js';
import { DATABASE_KINDS } from './support/databases.js';
import { Attribute, Change } from 'ldapts';
import { adminClient, sshaPassword } from './support/directory-admin.js';
import { testServers } from './support/servers.js';
import { testApps } from './support/test-app.js';

/**
 * Directory values longer than the app's columns (entities/column-limits.ts), on slapd: every database
 * answers the same, and never with a 500.
 */
const GENERIC_401 = { statusCode: 401, message: 'Invalid username or password', error: 'Unauthorized' };
const PASSWORD = 'Limits-pass1';

const slapd = () => testServers().slapd;
/** This file's own subtree, so no other suite's entries are touched. */
const ou = () => `ou=limits-e2e,${slapd().baseDn}`;

const longMail = `${'m'.repeat(288)}@example.com`;
const longGivenName = 'G'.repeat(300);
/** 300 code points, 150 letters with a combining accent: cut on a letter boundary, never between e and its accent. */
const longSn = 'e\u0301'.repeat(150);
const longGroupCn = `limits-${'g'.repeat(293)}`;
/**
 * A uid of 300 characters typed as 75: slapd compares names after NFKC, where ⒇ is "(20)", and the app keeps the
 * entry's own spelling of the value that matched. (Typed names over 256 characters are refused before any bind.)
 */
const longUid = '(20)'.repeat(75);
const longUidTyped = '⒇'.repeat(75);

/** `ou=level-NN-ddd…` RDNs of 104 characters each, nested `depth` deep under this file's OU. */
const deepOu = (depth: number) =>
  Array.from({ length: depth }, (_, k) => `ou=level-${String(depth - k).padStart(2, '0')}-${'d'.repeat(91)}`)
    .concat(ou())
    .join(',');
/** A DN of about 1,100 characters (over the old 1,024) and one of about 2,200 (over the new 2,048). */
const deepUserDn = `uid=limits-deep,${deepOu(10)}`;
const deeperUserDn = `uid=limits-deeper,${deepOu(20)}`;
const deepGroupDn = `cn=limits-deep-group,${deepOu(20)}`;
const mailUserDn = () => `uid=limits-mail,${ou()}`;
/** slapd stores U+0000 in these (checked with ldapmodify); PostgreSQL's text columns cannot hold it. */
const nulUserDn = () => `uid=limits-nul,${ou()}`;
/** Named by its cn; the RDN is another attribute, because back-mdb keeps an RDN under 512 bytes. */
const longGroupDn = () => `ou=limits-long-name,${ou()}`;

async function createEntries(): Promise<void> {
  const client = await adminClient(slapd());
  const person = (uid: string, extra: Record<string, string> = {}) => ({
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
    uid,
    cn: uid,
    sn: 'Limits',
    userPassword: sshaPassword(PASSWORD),
    ...extra,
  });
  try {
    await client.add(ou(), { objectClass: ['top', 'organizationalUnit'], ou: 'limits-e2e' });
    for (let depth = 1; depth <= 20; depth++) {
      const dn = deepOu(depth);
      await client.add(dn, { objectClass: ['top', 'organizationalUnit'], ou: dn.slice(3, dn.indexOf(',')) });
    }
    await client.add(mailUserDn(), person('limits-mail', { mail: longMail, givenName: longGivenName, sn: longSn }));
    await client.add(
      nulUserDn(),
      person('limits-nul', { mail: 'nul\0@example.com', givenName: 'A\0da', sn: 'Lo\0ve' }),
    );
    // Not named by its uid: back-mdb keeps an RDN under 512 bytes.
    await client.add(`cn=limits-long-uid,${ou()}`, person(longUid, { cn: 'limits-long-uid' }));
    await client.add(deepUserDn, person('limits-deep'));
    await client.add(deeperUserDn, person('limits-deeper'));
    const group = { objectClass: ['top', 'groupOfNames'], member: [mailUserDn()] };
    await client.add(longGroupDn(), { ...group, cn: longGroupCn, ou: 'limits-long-name' });
    await client.add(deepGroupDn, { ...group, cn: 'limits-deep-group' });
  } finally {
    await client.unbind();
  }
}

/** Removes this file's subtree, leaves first. */
async function removeEntries(): Promise<void> {
  const client = await adminClient(slapd());
  try {
    const { searchEntries } = await client
      .search(ou(), { scope: 'sub', attributes: ['1.1'] })
      .catch(() => ({ searchEntries: [] as Array<{ dn: string }> }));
    const dns = searchEntries.map((e) => e.dn).sort((a, b) => b.split(',').length - a.split(',').length);
    for (const dn of dns) await client.del(dn);
  } finally {
    await client.unbind();
  }
}

beforeAll(async () => {
  await removeEntries();
  await createEntries();
});

afterAll(async () => {
  await removeEntries();
});

describe.each(DATABASE_KINDS)('attribute values longer than the columns, stored in %s', (dbKind) => {
  const apps = testApps();
  let app: INestApplication;
  const rows = (where: string) =>
    appDataSource(app).query<
      Array<{
        username: string;
        email: string | null;
        first_name: string | null;
        last_name: string | null;
        ldap_dn: string;
      }>
    >(`SELECT username, email, first_name, last_name, ldap_dn FROM users WHERE ${where}`);

  beforeAll(async () => {
    app = await apps.start(dbKind, {
      LDAP_AUTH_URL: slapd().url,
      // Search mode: users sit at any depth below the search base.
      LDAP_AUTH_LOGIN_MODE: 'search',
      LDAP_AUTH_SEARCH_BASE: ou(),
      LDAP_SYNC_USER_USERNAME: slapd().serviceDn,
      LDAP_SYNC_USER_PASSWORD: slapd().servicePassword,
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
      LDAP_SYNCED_GROUPS: [longGroupDn(), deepGroupDn].join(':'),
    });
  });

  it('logs in a user whose mail and names are too long: email null, names cut on a letter boundary', async () => {
    const res = await postLogin(app, 'limits-mail', PASSWORD).expect(200);
    expect(res.body.user).toMatchObject({
      username: 'limits-mail',
      email: null,
      firstName: 'G'.repeat(255),
      lastName: 'e\u0301'.repeat(127),
    });
    expect(await rows(`username = 'limits-mail'`)).toEqual([
      {
        username: 'limits-mail',
        email: null,
        first_name: 'G'.repeat(255),
        last_name: 'e\u0301'.repeat(127),
        ldap_dn: mailUserDn(),
      },
    ]);
    const logs = logsOf(app).join('\n');
    expect(logs).toMatch(
      /"limits-mail": the email is 300 characters long, more than users\.email holds \(255\); stored as null/,
    );
    expect(logs).toMatch(/"limits-mail": first_name is 300 characters long, more than users\.first_name holds \(255\)/);
    expect(logs).not.toContain(longMail);
  });

  it('mirrors a group with a too-long name (cut), and leaves out one whose DN does not fit', async () => {
    const res = await postLogin(app, 'limits-mail', PASSWORD).expect(200);
    expect(res.body.user.groups).toEqual([{ name: longGroupCn.slice(0, 255), ldapDn: normalizeDn(longGroupDn()) }]);
    const logs = logsOf(app).join('\n');
    expect(logs).toMatch(/its name is 300 characters long, more than groups\.name holds \(255\); stored cut/);
    expect(logs).toMatch(
      /Group not mirrored: its DN is \d{4} characters \(\d{4} bytes of UTF-8\) long, more than groups\.ldap_dn holds \(2048 characters/,
    );
    const groups = await appDataSource(app).query<Array<{ name: string }>>('SELECT name FROM groups');
    expect(groups).toEqual([{ name: longGroupCn.slice(0, 255) }]);
  });

  it('logs in a user whose mail and names hold a NUL character: email null, names without it', async () => {
    const res = await postLogin(app, 'limits-nul', PASSWORD).expect(200);
    expect(res.body.user).toMatchObject({ username: 'limits-nul', email: null, firstName: 'Ada', lastName: 'Love' });
    expect(await rows(`username = 'limits-nul'`)).toEqual([
      { username: 'limits-nul', email: null, first_name: 'Ada', last_name: 'Love', ldap_dn: nulUserDn() },
    ]);
    const logs = logsOf(app).join('\n');
    expect(logs).toMatch(/"limits-nul": the email contains a NUL character; stored as null/);
    expect(logs).toMatch(/"limits-nul": last_name contains a NUL character; stored without it/);
  });

  it('a full sync that reads a NUL character in a name writes it without, and does not fail', async () => {
    await postLogin(app, 'limits-nul', PASSWORD).expect(200);
    const client = await adminClient(slapd());
    try {
      await client.modify(
        nulUserDn(),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'sn', values: ['Lo\0vely'] }) }),
      );
    } finally {
      await client.unbind();
    }
    try {
      const report = await app.get(LdapSyncService).run();
      // Only the changed name: the names login cut are cut the same way (nothing to rename or update), and
      // the listed group whose DN is too long for groups.ldap_dn is left out as at login, not a failed run.
      expect(report).toMatchObject({
        status: 'succeeded',
        usersUpdated: 1,
        groupsCreated: 0,
        groupsRenamed: 0,
        membershipsAdded: 0,
        membershipsRemoved: 0,
      });
      expect(report.notes.join('\n')).toMatch(/DN longer than groups\.ldap_dn holds .* not mirrored/);
      expect(await rows(`username = 'limits-nul'`)).toEqual([
        { username: 'limits-nul', email: null, first_name: 'Ada', last_name: 'Lovely', ldap_dn: nulUserDn() },
      ]);
    } finally {
      const admin = await adminClient(slapd());
      await admin
        .modify(
          nulUserDn(),
          new Change({ operation: 'replace', modification: new Attribute({ type: 'sn', values: ['Lo\0ve'] }) }),
        )
        .finally(() => admin.unbind());
    }
  });

  it('refuses a user whose uid is longer than users.username with the generic 401, and logs why', async () => {
    const res = await postLogin(app, longUidTyped, PASSWORD).expect(401);
    expect(res.body).toEqual(GENERIC_401);
    const logs = logsOf(app).join('\n');
    expect(logs).toMatch(
      /Login refused for "⒇+": the entry's username is 300 characters long, more than users\.username holds \(255\)/,
    );
    expect(logs).not.toContain(longUid);
    expect(await rows(`ldap_dn LIKE 'cn=limits-long-uid,%'`)).toEqual([]);
  });

  it('logs in a user whose DN is over 1,024 characters', async () => {
    expect(deepUserDn.length).toBeGreaterThan(1024);
    const res = await postLogin(app, 'limits-deep', PASSWORD).expect(200);
    expect(res.body.user).toMatchObject({ username: 'limits-deep' });
    const [row] = await rows(`username = 'limits-deep'`);
    expect(row.ldap_dn.toLowerCase()).toBe(deepUserDn.toLowerCase());
  });

  it('refuses a user whose DN is over 2,048 characters, and logs why', async () => {
    expect(deeperUserDn.length).toBeGreaterThan(2048);
    const res = await postLogin(app, 'limits-deeper', PASSWORD).expect(401);
    expect(res.body).toEqual(GENERIC_401);
    expect(logsOf(app).join('\n')).toMatch(
      new RegExp(
        `Login refused for "limits-deeper": the entry's DN is ${deeperUserDn.length} characters long, more than users\\.ldap_dn holds \\(2048\\)`,
      ),
    );
    expect(await rows(`username = 'limits-deeper'`)).toEqual([]);
  });
});
