import { describe, expect, it } from '@jest/globals';
import { closestName, editDistance, unknownVariableWarnings } from './unknown-variables.js';
import { LDAP_AUTH_VARIABLES } from './ldap-environment.js';

describe('editDistance (Damerau-Levenshtein, optimal string alignment)', () => {
  it.each([
    ['SEARCH', 'SEARCH', 0],
    ['SERCH', 'SEARCH', 1],
    ['SAERCH', 'SEARCH', 1],
    ['SEARCHX', 'SEARCH', 1],
    ['SEARHC', 'SEARCH', 1],
    ['', 'ABC', 3],
    ['KITTEN', 'SITTING', 3],
  ])('%p → %p is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('closestName', () => {
  it.each([
    ['LDAP_AUTH_SERCH_BASE', 'LDAP_AUTH_SEARCH_BASE'],
    ['LDAP_AUTH_SEARCHBASE', 'LDAP_AUTH_SEARCH_BASE'],
    ['LDAP_AUHT_URL', 'LDAP_AUTH_URL'],
    ['ldap_auth_url', 'LDAP_AUTH_URL'],
    ['LDAP_SYNC_USER_PASWORD', 'LDAP_SYNC_USER_PASSWORD'],
    ['LDAP_SYNCED_GROUP', 'LDAP_SYNCED_GROUPS'],
    ['LDAP_AUTH_USE_TSL', 'LDAP_AUTH_USE_TLS'],
  ])('suggests the library variable for %s', (typo, name) => {
    expect(closestName(typo, LDAP_AUTH_VARIABLES)).toBe(name);
  });

  it('suggests nothing for a name that is not near any (another program’s variable)', () => {
    expect(closestName('LDAP_ADMIN_PASSWORD', LDAP_AUTH_VARIABLES)).toBeUndefined();
    expect(closestName('LDAP_ORGANISATION', LDAP_AUTH_VARIABLES)).toBeUndefined();
  });
});

describe('unknownVariableWarnings', () => {
  it('says one line per unknown LDAP_* variable, with the closest known name', () => {
    const env = {
      LDAP_AUTH_SERCH_BASE: 'ou=staff,dc=example,dc=com',
      LDAP_AUTH_URL: 'ldap://ldap.example.com',
      LDAP_ADMIN_PASSWORD: 'secret',
      LDAP_DEV_DIRECTORY_LDIF: 'dev.ldif',
      PATH: '/usr/bin',
    };
    expect(unknownVariableWarnings(env, [...LDAP_AUTH_VARIABLES, 'LDAP_DEV_DIRECTORY_LDIF'])).toEqual([
      'LDAP_ADMIN_PASSWORD is not a variable this library reads (ignored)',
      'LDAP_AUTH_SERCH_BASE is not a variable this library reads; did you mean LDAP_AUTH_SEARCH_BASE?',
    ]);
  });

  it('never shows a value (it may be a password)', () => {
    const warnings = unknownVariableWarnings({ LDAP_SYNC_USER_PASWORD: 'hunter2' }, LDAP_AUTH_VARIABLES);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain('hunter2');
  });

  it('is silent when every LDAP_* variable is known', () => {
    expect(unknownVariableWarnings({ LDAP_AUTH_URL: 'ldap://x', HOME: '/root' }, LDAP_AUTH_VARIABLES)).toEqual([]);
  });
});
