import { describe, expect, it } from '@jest/globals';
import { searchBaseWarning } from './search-base-check.js';

const URL = 'ldap://ldap.example.com';

describe('searchBaseWarning', () => {
  it('names LDAP_AUTH_SEARCH_BASE and the naming contexts when the base is outside all of them', () => {
    const warning = searchBaseWarning({
      searchBase: 'ou=people,dc=example,dc=com',
      url: URL,
      namingContexts: ['dc=corp,dc=local', 'cn=config'],
    });
    expect(warning).toContain('LDAP_AUTH_SEARCH_BASE "ou=people,dc=example,dc=com" is outside every naming context');
    expect(warning).toContain('(dc=corp,dc=local; cn=config)');
  });

  it('compares DNs as DNs (case and spaces do not matter)', () => {
    const facts = { searchBase: 'OU=People, DC=Corp,DC=Local', url: URL, namingContexts: ['dc=corp,dc=local'] };
    expect(searchBaseWarning(facts)).toBeUndefined();
    expect(searchBaseWarning({ ...facts, searchBase: 'dc=corp,dc=local' })).toBeUndefined();
  });

  it('names a base that does not exist within a naming context', () => {
    const warning = searchBaseWarning({
      searchBase: 'ou=staff,dc=corp,dc=local',
      url: URL,
      namingContexts: ['dc=corp,dc=local'],
      exists: false,
    });
    expect(warning).toMatch(/LDAP_AUTH_SEARCH_BASE "ou=staff,dc=corp,dc=local" does not exist .*noSuchObject \(32\)/);
  });

  it('says nothing when the server listed no naming context and the base was not looked up', () => {
    expect(searchBaseWarning({ searchBase: 'ou=x,dc=y', url: URL, namingContexts: [] })).toBeUndefined();
  });
});
