/**
 * The worked Flagsmith example of docs/migration.md: Flagsmith's own variable names and values, pointed at the test slapd,
 * start the app and behave as documented.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { LdapSyncService } from '@nest-ldap-auth/ldap-auth';
import { createTestApp, postLogin } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { fixtureUser } from './support/fixtures.js';
import { testServers } from './support/servers.js';

describe("Flagsmith's LDAP variables, as its documentation writes them", () => {
  const { slapd } = testServers();
  let db: TestDatabase;
  let app: INestApplication;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await createTestApp({
      LDAP_AUTH_URL: slapd.url,
      LDAP_AUTH_USE_TLS: 'True',
      LDAP_AUTH_TLS_CA_FILE: slapd.caFile,
      LDAP_AUTH_SEARCH_BASE: slapd.peopleDn,
      LDAP_AUTH_OBJECT_CLASS: 'inetOrgPerson',
      LDAP_AUTH_USER_FIELDS: 'username=uid,email=mail',
      LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN: 'DOMAIN',
      LDAP_AUTH_CONNECT_TIMEOUT: '60',
      LDAP_AUTH_RECEIVE_TIMEOUT: '60',
      LDAP_AUTH_FORMAT_USERNAME: 'django_python3_ldap.utils.format_username_openldap',
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_AUTH_SYNC_USER_RELATIONS: 'custom_auth.ldap.sync_user_groups',
      LDAP_AUTH_FORMAT_SEARCH_FILTERS: 'custom_auth.ldap.login_group_search_filter',
      LDAP_SYNCED_GROUPS: `cn=developers,${slapd.groupsDn}:cn=admins,${slapd.groupsDn}`,
      LDAP_LOGIN_GROUP: `cn=app-users,${slapd.groupsDn}`,
      LDAP_SYNC_USER_USERNAME: slapd.serviceDn,
      LDAP_SYNC_USER_PASSWORD: slapd.servicePassword,
      DATABASE_URL: db.url,
    });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('logs a member of the login group in, mirroring the listed groups', async () => {
    const res = await postLogin(app, 'alice', fixtureUser('alice').password).expect(200);
    expect(res.body.user.email).toBe(fixtureUser('alice').mail);
    expect((res.body.user.groups as Array<{ name: string }>).map((g) => g.name).sort()).toEqual([
      'admins',
      'developers',
    ]);
  });

  it('refuses a user outside the login group', async () => {
    await postLogin(app, 'eve', fixtureUser('eve').password).expect(401);
  });

  it('runs the full sync (sync_ldap_users_and_groups) with the same variables', async () => {
    expect(await app.get(LdapSyncService).run({ dryRun: true })).toMatchObject({ status: 'succeeded' });
  });
});
