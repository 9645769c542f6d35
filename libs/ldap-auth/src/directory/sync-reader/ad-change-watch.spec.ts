import { describe, expect, it } from '@jest/globals';
import { relevantEntry, watchedBases } from './ad-change-watch.js';
import type { SnapshotReadOptions } from './snapshot-reader.js';
import { serverInfoFromRootDse } from '../server-info.js';

const server = serverInfoFromRootDse({
  dn: '',
  supportedCapabilities: ['1.2.840.113556.1.4.800'],
  supportedControl: ['1.2.840.113556.1.4.528'],
  defaultNamingContext: 'DC=example,DC=test',
  namingContexts: ['DC=example,DC=test', 'CN=Configuration,DC=example,DC=test', 'DC=other,DC=test'],
});

function options(searchBase: string, groupDns: string[] = [], loginGroup?: string): SnapshotReadOptions {
  return {
    searchBase,
    objectClass: 'user',
    userFields: { username: 'sAMAccountName' },
    groupDns,
    loginGroup,
    nestedGroups: true,
    memberAttribute: 'member',
  };
}

describe('watchedBases', () => {
  it('watches the user search base alone when no group is listed', () => {
    expect(watchedBases(options('CN=Users,DC=example,DC=test'), server)).toEqual(['CN=Users,DC=example,DC=test']);
  });

  it('leaves the search base to the naming context of the listed groups that holds it (one search, not two)', () => {
    const listed = options('CN=Users,DC=example,DC=test', ['cn=team,ou=groups,dc=example,dc=test']);
    expect(watchedBases(listed, server)).toEqual(['dc=example,dc=test']);
  });

  it('watches each naming context once, the login group included', () => {
    const listed = options(
      'OU=People,DC=example,DC=test',
      ['cn=a,ou=groups,dc=example,dc=test', 'cn=b,dc=other,dc=test'],
      'cn=login,ou=groups,dc=example,dc=test',
    );
    expect(watchedBases(listed, server).sort()).toEqual(['dc=example,dc=test', 'dc=other,dc=test']);
  });
});

describe('relevantEntry', () => {
  const matters = relevantEntry(options('CN=Users,DC=example,DC=test', ['cn=team,ou=groups,dc=example,dc=test']));
  const entry = (dn: string, ...objectClass: string[]) => ({ dn, objectClass });

  it('keeps what the delta may read: entries under the base, groups, users moved out of the base', () => {
    expect(matters(entry('CN=alice,CN=Users,DC=example,DC=test', 'top', 'person', 'user'))).toBe(true);
    expect(matters(entry('CN=team,OU=Groups,DC=example,DC=test', 'top', 'group'))).toBe(true);
    expect(
      matters(entry('CN=bob,OU=Elsewhere,DC=example,DC=test', 'top', 'person', 'organizationalPerson', 'User')),
    ).toBe(true);
  });

  it('drops entries that cannot change what the delta reads', () => {
    expect(matters(entry('CN=Policies,CN=System,DC=example,DC=test', 'top', 'container'))).toBe(false);
    expect(matters(entry('OU=Elsewhere,DC=example,DC=test', 'top', 'organizationalUnit'))).toBe(false);
  });

  it('keeps an entry whose name or classes it cannot read (a delta decides)', () => {
    expect(matters({ dn: 'CN=x,CN=System,DC=example,DC=test' })).toBe(true);
    expect(matters(entry('not a DN', 'top', 'container'))).toBe(true);
  });
});
