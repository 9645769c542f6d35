import { describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import type { LdapAuthModuleOptions } from '../interfaces/ldap-auth-options.interface.js';
import { LdapConfigurationError } from '../errors/ldap-auth.errors.js';
import { ldapAuthOptionsFromEnvironment } from './ldap-environment.js';
import { resolveLdapAuthOptions } from './resolve-options.js';

/** The problems resolveLdapAuthOptions finds in `options`. */
function problemsOf(options: LdapAuthModuleOptions): string[] {
  try {
    resolveLdapAuthOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(LdapConfigurationError);
    return (error as LdapConfigurationError).problems;
  }
  throw new Error('expected a configuration error');
}

const URL = { LDAP_AUTH_URL: 'ldap://127.0.0.1:389' };

describe('configuration errors name the option as the user set it', () => {
  it('names LDAP_AUTH_URL, not server.url, when the options came from the environment', () => {
    expect(problemsOf(ldapAuthOptionsFromEnvironment({}))).toEqual([
      'LDAP_AUTH_URL is not set: at least one ldap:// or ldaps:// URL is required',
    ]);
  });

  it('names the option path when the options were written in code', () => {
    expect(problemsOf({ server: { url: [] } })).toEqual([
      'server.url: at least one ldap:// or ldaps:// URL is required',
    ]);
    expect(problemsOf({ server: { url: 'ldap://x', timeout: 0.4 } })).toEqual([
      'server.timeout must be at least 1 ms (got 0.4; the option is in milliseconds)',
    ]);
  });

  it('keeps the variable through a spread, and names the path of an option the app replaced in code', () => {
    const fromEnv = ldapAuthOptionsFromEnvironment({ ...URL, LDAP_AUTH_POOL_SIZE: '4' });
    const adjusted: LdapAuthModuleOptions = {
      ...fromEnv,
      server: { ...fromEnv.server, url: 'http://x', timeout: 0 },
      groupSync: 'sync_user_groups',
    };
    expect(problemsOf(adjusted)).toEqual([
      'server.url: "http://x" is not an ldap://host[:port] or ldaps://host[:port] URL',
      // Set in code; the id it needs was left to the environment, which did not set it.
      'groupSync "sync_user_groups" needs LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: synced groups belong to an organisation',
      'server.timeout must be at least 1 ms (got 0; the option is in milliseconds)',
    ]);
  });

  it('names the variables of a combination read from the environment and completed in code', () => {
    const fromEnv = ldapAuthOptionsFromEnvironment({ ...URL, LDAP_DEFAULT_ORGANISATION_ID: '3' });
    expect(problemsOf({ ...fromEnv, loginMode: 'search' })).toEqual([
      'loginMode "search" needs a service account (LDAP_SYNC_USER_USERNAME and LDAP_SYNC_USER_PASSWORD)',
    ]);
    expect(problemsOf({ ...fromEnv, sync: { ...fromEnv.sync, cron: 'never' } })[0]).toMatch(
      /^sync\.cron "never" is not a cron expression/,
    );
    const withAccount = ldapAuthOptionsFromEnvironment({
      ...URL,
      LDAP_SYNC_USER_USERNAME: 'cn=sync',
      LDAP_SYNC_USER_PASSWORD: 'secret',
    });
    expect(problemsOf({ ...withAccount, serviceAccount: { username: 'cn=sync', password: '' } })).toEqual([
      'serviceAccount.password must not be empty',
    ]);
  });

  it('names the older organisation variable when that is the one set', () => {
    const fromEnv = ldapAuthOptionsFromEnvironment({ ...URL, LDAP_DEFAULT_ORGANISATION_ID: '3' });
    expect(problemsOf({ ...fromEnv, defaultOrganisationId: undefined, groupSync: 'sync_user_groups' })).toEqual([
      'groupSync "sync_user_groups" needs defaultOrganisationId: synced groups belong to an organisation',
    ]);
    expect(problemsOf({ ...fromEnv, server: { url: [] } })[0]).toMatch(/^server\.url:/);
  });

  it('keeps the record out of JSON and Object.keys', () => {
    const fromEnv = ldapAuthOptionsFromEnvironment(URL);
    expect(Object.keys(fromEnv)).not.toContain('sources');
    expect(JSON.stringify(fromEnv)).not.toContain('LDAP_AUTH_URL');
  });
});

describe('LdapConfigurationError', () => {
  const error = new LdapConfigurationError(['LDAP_AUTH_URL is not set: at least one URL is required']);

  it('has no stack frames: what a logger prints of it is its message', () => {
    const message = 'Invalid LDAP configuration:\n  - LDAP_AUTH_URL is not set: at least one URL is required';
    expect(error.stack).toBe(`LdapConfigurationError: ${message}`);
    expect(inspect(error)).toBe(`LdapConfigurationError: ${message}`);
    expect(inspect(error)).not.toMatch(/\n\s+at |problems/);
    expect(error.problems).toEqual(['LDAP_AUTH_URL is not set: at least one URL is required']);
  });
});
