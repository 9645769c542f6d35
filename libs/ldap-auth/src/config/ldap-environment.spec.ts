import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ldapAuthOptionsFromEnvironment } from './ldap-environment.js';
import { resolveLdapAuthOptions } from './resolve-options.js';
import { LdapConfigurationError } from '../errors/ldap-auth.errors.js';

const URL = { LDAP_AUTH_URL: 'ldap://127.0.0.1:389' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    ldapAuthOptionsFromEnvironment(env);
  } catch (error) {
    expect(error).toBeInstanceOf(LdapConfigurationError);
    return (error as LdapConfigurationError).problems;
  }
  throw new Error('expected a configuration error');
}

describe('ldapAuthOptionsFromEnvironment', () => {
  it('gives the original product defaults', () => {
    const options = resolveLdapAuthOptions(ldapAuthOptionsFromEnvironment(URL));
    expect(options.server.urls).toEqual(['ldap://127.0.0.1:389']);
    expect(options.server.searchBase).toBe('ou=people,dc=example,dc=com');
    expect(options.objectClass).toBe('inetOrgPerson');
    expect(options.userFields).toEqual({ username: 'uid', firstName: 'givenName', lastName: 'sn', email: 'mail' });
    expect(options.usernameFormat).toBe('openldap');
    expect(options.loginMode).toBe('bind');
    expect(options.server.starttls).toBe(false);
    expect(options.server.tlsOptions.rejectUnauthorized).toBe(true);
    expect(options.groupSync).toBe('none');
    expect(options.sync).toEqual({
      cron: '0 3 * * *',
      enabled: false,
      // No service account: no scheduled sync, so no deltas either (and so no pushed changes).
      deltaInterval: 0,
      push: true,
      removedUsers: 'delete',
      maxRemovals: '10%',
      maxMembershipRemovals: '10%',
    });
    // Timeouts are finite by default: a hung server never hangs a login.
    expect(options.server.timeout).toBeGreaterThan(0);
    expect(options.server.connectTimeout).toBeGreaterThan(0);
  });

  it('accepts the original product values for the pluggable callables', () => {
    const options = ldapAuthOptionsFromEnvironment({
      ...URL,
      LDAP_AUTH_FORMAT_USERNAME: 'django_python3_ldap.utils.format_username_active_directory_principal',
      LDAP_AUTH_SYNC_USER_RELATIONS: 'custom_auth.ldap.sync_user_groups',
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_AUTH_FORMAT_SEARCH_FILTERS: 'custom_auth.ldap.login_group_search_filter',
      LDAP_LOGIN_GROUP: 'cn=app-users,ou=groups,dc=example,dc=com',
    });
    expect(options.usernameFormat).toBe('active_directory_principal');
    expect(options.groupSync).toBe('sync_user_groups');
    expect(options.defaultOrganisationId).toBe(1);
    expect(options.loginGroup).toBe('cn=app-users,ou=groups,dc=example,dc=com');
    expect(
      ldapAuthOptionsFromEnvironment({
        ...URL,
        LDAP_AUTH_SYNC_USER_RELATIONS: 'django_python3_ldap.utils.sync_user_relations',
      }).groupSync,
    ).toBe('none');
    expect(
      ldapAuthOptionsFromEnvironment({
        ...URL,
        LDAP_AUTH_FORMAT_USERNAME: 'django_python3_ldap.utils.format_username_openldap',
      }).usernameFormat,
    ).toBe('openldap');
  });

  it('parses every variable', () => {
    const options = ldapAuthOptionsFromEnvironment({
      LDAP_AUTH_URL: 'ldap://a.example:389, ldaps://b.example:636',
      LDAP_AUTH_USE_TLS: 'Yes',
      LDAP_AUTH_TLS_REJECT_UNAUTHORIZED: 'FALSE',
      LDAP_AUTH_TLS_SERVERNAME: 'dc1.example.test',
      LDAP_AUTH_SEARCH_BASE: 'CN=Users,DC=example,DC=test',
      LDAP_AUTH_OBJECT_CLASS: 'user',
      LDAP_AUTH_USER_FIELDS: 'username=sAMAccountName, email=mail',
      LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN: 'EXAMPLE',
      LDAP_AUTH_CONNECT_TIMEOUT: '2.5',
      LDAP_AUTH_RECEIVE_TIMEOUT: '60',
      LDAP_AUTH_FORMAT_USERNAME: 'active_directory',
      LDAP_AUTH_LOGIN_MODE: 'search',
      LDAP_DEFAULT_ORGANISATION_ID: '7',
      LDAP_SYNCED_GROUPS: 'cn=a,ou=groups,dc=x:cn=b,ou=groups,dc=x',
      LDAP_NESTED_GROUPS: '1',
      LDAP_GROUP_MEMBERSHIP: 'uniqueMember',
      LDAP_SYNC_USER_USERNAME: 'ldap-sync',
      LDAP_SYNC_USER_PASSWORD: 'pw',
      LDAP_SYNC_CRON: '*/5 * * * *',
      LDAP_SYNC_ENABLED: 'no',
      LDAP_SYNC_REMOVED_USERS: 'deactivate',
      LDAP_SYNC_MAX_REMOVALS: '25',
      LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS: '5.5%',
      LDAP_AUTH_POOL_SIZE: '4',
      LDAP_AUTH_POOL_MAX_WAITING: '0',
      LDAP_AUTH_POOL_WAIT_TIMEOUT: '1.5',
    });
    expect(options.server).toMatchObject({
      url: ['ldap://a.example:389', 'ldaps://b.example:636'],
      starttls: true,
      tlsOptions: { rejectUnauthorized: false, servername: 'dc1.example.test' },
      searchBase: 'CN=Users,DC=example,DC=test',
      connectTimeout: 2500,
      timeout: 60000,
      poolSize: 4,
      poolMaxWaiting: 0,
      poolWaitTimeout: 1500,
    });
    expect(options.userFields).toEqual({ username: 'sAMAccountName', email: 'mail' });
    expect(options).toMatchObject({
      objectClass: 'user',
      activeDirectoryDomain: 'EXAMPLE',
      usernameFormat: 'active_directory',
      loginMode: 'search',
      defaultOrganisationId: 7,
      syncedGroups: ['cn=a,ou=groups,dc=x', 'cn=b,ou=groups,dc=x'],
      nestedGroups: true,
      groupMembership: 'uniqueMember',
      serviceAccount: { username: 'ldap-sync', password: 'pw' },
      sync: {
        cron: '*/5 * * * *',
        enabled: false,
        removedUsers: 'deactivate',
        maxRemovals: 25,
        maxMembershipRemovals: '5.5%',
      },
    });
  });

  it('reads the CA file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-'));
    const file = join(dir, 'ca.pem');
    writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(ldapAuthOptionsFromEnvironment({ ...URL, LDAP_AUTH_TLS_CA_FILE: file }).server.tlsOptions?.ca).toContain(
      'BEGIN CERTIFICATE',
    );
    expect(problemsOf({ ...URL, LDAP_AUTH_TLS_CA_FILE: join(dir, 'missing.pem') })[0]).toMatch(
      /^LDAP_AUTH_TLS_CA_FILE: cannot read/,
    );
  });

  it.each([
    [
      { LDAP_AUTH_CONNECT_TIMEOUT: 'abc' },
      /^LDAP_AUTH_CONNECT_TIMEOUT must be a number of seconds greater than 0 \(got "abc"\)/,
    ],
    [{ LDAP_AUTH_RECEIVE_TIMEOUT: '0' }, /^LDAP_AUTH_RECEIVE_TIMEOUT must be a number of seconds greater than 0/],
    [{ LDAP_AUTH_USER_FIELDS: 'username' }, /^LDAP_AUTH_USER_FIELDS must be field=attribute pairs/],
    [{ LDAP_AUTH_USER_FIELDS: 'email=mail' }, /^LDAP_AUTH_USER_FIELDS must map username/],
    [{ LDAP_AUTH_USER_FIELDS: 'username=uid,phone=tel' }, /^LDAP_AUTH_USER_FIELDS: unknown field "phone"/],
    [{ LDAP_AUTH_URL: 'http://example.com' }, /^LDAP_AUTH_URL must be one or more ldap:\/\/ or ldaps:\/\/ URLs/],
    [{ LDAP_AUTH_USE_TLS: 'maybe' }, /^LDAP_AUTH_USE_TLS must be true, false, 1, 0, yes or no \(got "maybe"\)/],
    [{ LDAP_AUTH_FORMAT_USERNAME: 'mine' }, /^LDAP_AUTH_FORMAT_USERNAME must be one of: openldap, active_directory/],
    [{ LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups' }, /needs LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID/],
    [
      { LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: 'one' },
      /^LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID must be a positive whole number/,
    ],
    [{ LDAP_AUTH_FORMAT_SEARCH_FILTERS: 'login_group_search_filter' }, /needs LDAP_LOGIN_GROUP/],
    [{ LDAP_LOGIN_GROUP: 'cn=x,dc=y' }, /^LDAP_LOGIN_GROUP is set but LDAP_AUTH_FORMAT_SEARCH_FILTERS is not/],
    [{ LDAP_SYNCED_GROUPS: 'developers' }, /^LDAP_SYNCED_GROUPS \(colon-separated DNs\) must be a DN/],
    [{ LDAP_AUTH_LOGIN_MODE: 'search' }, /^LDAP_AUTH_LOGIN_MODE=search needs LDAP_SYNC_USER_USERNAME/],
    [{ LDAP_SYNC_USER_USERNAME: 'svc' }, /^LDAP_SYNC_USER_USERNAME and LDAP_SYNC_USER_PASSWORD go together/],
    [{ LDAP_SYNC_MAX_REMOVALS: '150%' }, /^LDAP_SYNC_MAX_REMOVALS must be a whole number/],
    [{ LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS: 'half' }, /^LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS must be a whole number/],
    [{ LDAP_SYNC_CRON: 'daily' }, /^LDAP_SYNC_CRON must be a cron expression/],
    [{ LDAP_SYNC_REMOVED_USERS: 'archive' }, /^LDAP_SYNC_REMOVED_USERS must be one of: delete, deactivate/],
  ])('refuses %p with a message naming the variable', (env, message) => {
    const problems = problemsOf({ ...URL, ...(env as Record<string, string>) });
    expect(problems.some((p) => message.test(p))).toBe(true);
  });

  it('reports every problem at once', () => {
    expect(problemsOf({ ...URL, LDAP_AUTH_CONNECT_TIMEOUT: 'x', LDAP_AUTH_USE_TLS: 'y' })).toHaveLength(2);
  });

  it('names each wrong variable once, even when one mistake breaks two rules', () => {
    const problems = problemsOf({
      LDAP_AUTH_URL: 'ldap://127.0.0.1:99999',
      LDAP_AUTH_USER_FIELDS: 'username',
      LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: 'one',
      LDAP_AUTH_LOGIN_MODE: 'search',
      LDAP_SYNC_USER_PASSWORD: 'pw',
      LDAP_SYNC_CRON: '61 * * * *',
    });
    for (const name of [
      'LDAP_AUTH_URL',
      'LDAP_AUTH_USER_FIELDS',
      'LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID',
      'LDAP_SYNC_USER_USERNAME',
      'LDAP_SYNC_CRON',
    ]) {
      expect([name, problems.filter((p) => p.includes(name))]).toEqual([name, [expect.any(String)]]);
    }
    expect(problems).toHaveLength(5);
  });

  it.each([
    [
      'ldap://127.0.0.1:99999',
      /^LDAP_AUTH_URL: "ldap:\/\/127.0.0.1:99999" has port "99999"; a port must be a number from 1 to 65535$/,
    ],
    ['ldaps://dc.example.com:0', /has port "0"/],
    ['ldap://a.example:389, ldap://b.example:70000', /"ldap:\/\/b.example:70000" has port "70000"/],
    ['ldap://host:x1', /has port "x1"/],
  ])('refuses the port of %s', (url, message) => {
    const problems = problemsOf({ LDAP_AUTH_URL: url });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('accepts ports 1 to 65535, no port, and IPv6 hosts', () => {
    const urls = 'ldap://h:1 ldaps://h:65535 ldap://h ldaps://[::1]:636 ldap://[2001:db8::1]/';
    expect(ldapAuthOptionsFromEnvironment({ LDAP_AUTH_URL: urls }).server.url).toHaveLength(5);
  });

  it("checks LDAP_SYNC_CRON with the scheduler's own parser", () => {
    expect(problemsOf({ ...URL, LDAP_SYNC_CRON: '61 * * * *' })[0]).toMatch(
      /^LDAP_SYNC_CRON must be a cron expression of 5 or 6 fields, such as "0 3 \* \* \*" \(got "61 \* \* \* \*": /,
    );
  });

  it('treats empty variables as unset', () => {
    expect(
      ldapAuthOptionsFromEnvironment({ ...URL, LDAP_AUTH_USE_TLS: '', LDAP_AUTH_SEARCH_BASE: ' ' }).server.searchBase,
    ).toBe('ou=people,dc=example,dc=com');
  });

  it('leaves the URL list empty when LDAP_AUTH_URL is unset (the app decides)', () => {
    expect(ldapAuthOptionsFromEnvironment({}).server.url).toEqual([]);
    expect(() => resolveLdapAuthOptions(ldapAuthOptionsFromEnvironment({}))).toThrow(/LDAP_AUTH_URL is not set/);
  });

  it('refuses a timeout that would round to 0 ms (which ldapts reads as "no timeout"), from the environment or code', () => {
    const resolve = (env: Record<string, string>) => () =>
      resolveLdapAuthOptions(ldapAuthOptionsFromEnvironment({ ...URL, ...env }));
    // From the environment, in the same pass as every other variable, in the variable's own unit.
    expect(problemsOf({ ...URL, LDAP_AUTH_RECEIVE_TIMEOUT: '0.0001' })).toEqual([
      'LDAP_AUTH_RECEIVE_TIMEOUT must be at least 0.001 seconds (1 ms) (got "0.0001")',
    ]);
    expect(problemsOf({ ...URL, LDAP_AUTH_CONNECT_TIMEOUT: '0.0004' })[0]).toMatch(
      /^LDAP_AUTH_CONNECT_TIMEOUT must be/,
    );
    expect(problemsOf({ ...URL, LDAP_AUTH_POOL_WAIT_TIMEOUT: '0.0002' })[0]).toMatch(
      /^LDAP_AUTH_POOL_WAIT_TIMEOUT must be/,
    );
    // From code, by resolveLdapAuthOptions.
    expect(() => resolveLdapAuthOptions({ server: { url: 'ldap://x', connectTimeout: 0.4 } })).toThrow(
      /server.connectTimeout must be at least 1 ms/,
    );
    expect(() => resolveLdapAuthOptions({ server: { url: 'ldap://x', timeout: 0.4 } })).toThrow(/at least 1 ms/);
    expect(() => resolveLdapAuthOptions({ server: { url: 'ldap://x', timeout: 0 } })).toThrow(/at least 1 ms/);
    expect(resolveLdapAuthOptions({ server: { url: 'ldap://x', timeout: 1.4 } }).server.timeout).toBe(1);
    expect(resolve({ LDAP_AUTH_RECEIVE_TIMEOUT: '0.001' })().server.timeout).toBe(1);
  });

  it('refuses pool limits that are not whole numbers', () => {
    expect(() => resolveLdapAuthOptions({ server: { url: 'ldap://x', poolSize: 0 } })).toThrow(/server.poolSize/);
    expect(() => resolveLdapAuthOptions({ server: { url: 'ldap://x', poolMaxWaiting: -1 } })).toThrow(
      /server.poolMaxWaiting must be a whole number of at least 0/,
    );
  });
});

describe('LDAP_SYNC_DELTA_INTERVAL', () => {
  const withAccount = {
    LDAP_AUTH_URL: 'ldap://127.0.0.1:389',
    LDAP_SYNC_USER_USERNAME: 'cn=sync',
    LDAP_SYNC_USER_PASSWORD: 'x',
  };

  it('defaults to a delta every 60 s when the scheduled sync is on, none when it is off', () => {
    expect(resolveLdapAuthOptions(ldapAuthOptionsFromEnvironment(withAccount)).sync.deltaInterval).toBe(60);
    const off = { ...withAccount, LDAP_SYNC_ENABLED: 'false' };
    expect(resolveLdapAuthOptions(ldapAuthOptionsFromEnvironment(off)).sync.deltaInterval).toBe(0);
  });

  it('takes a whole number of seconds; 0 turns deltas off', () => {
    const five = { ...withAccount, LDAP_SYNC_DELTA_INTERVAL: '5' };
    expect(resolveLdapAuthOptions(ldapAuthOptionsFromEnvironment(five)).sync.deltaInterval).toBe(5);
    const zero = { ...withAccount, LDAP_SYNC_DELTA_INTERVAL: '0' };
    expect(resolveLdapAuthOptions(ldapAuthOptionsFromEnvironment(zero)).sync.deltaInterval).toBe(0);
  });

  it('refuses anything else, naming the variable', () => {
    expect(() => ldapAuthOptionsFromEnvironment({ ...withAccount, LDAP_SYNC_DELTA_INTERVAL: '1m' })).toThrow(
      /LDAP_SYNC_DELTA_INTERVAL/,
    );
  });
});
