import { describe, expect, it } from '@jest/globals';
import { groupBases } from './delta-common.js';
import type { SnapshotReadOptions } from './snapshot-reader.js';
import { serverInfoFromRootDse } from '../server-info.js';

const server = serverInfoFromRootDse({
  dn: '',
  namingContexts: ['dc=example,dc=com', 'dc=other,dc=com'],
});

function options(groupDns: string[], nestedGroups: boolean, loginGroup?: string): SnapshotReadOptions {
  return {
    searchBase: 'ou=people,dc=example,dc=com',
    objectClass: 'inetOrgPerson',
    userFields: { username: 'uid' },
    groupDns,
    loginGroup,
    nestedGroups,
    memberAttribute: 'member',
  };
}

describe('groupBases (where a delta looks for changed groups)', () => {
  it('without nested groups: the containers of the listed groups and the login group, none inside another', () => {
    const listed = options(
      ['cn=a,ou=groups,dc=example,dc=com', 'cn=b,ou=teams,ou=groups,dc=example,dc=com', 'cn=c,ou=apps,dc=other,dc=com'],
      false,
      'cn=login,ou=access,dc=example,dc=com',
    );
    expect(groupBases(listed, server)).toEqual([
      'ou=access,dc=example,dc=com',
      'ou=apps,dc=other,dc=com',
      'ou=groups,dc=example,dc=com',
    ]);
  });

  it('without nested groups: a group right under a naming context is looked for in that context', () => {
    expect(groupBases(options(['cn=top,dc=example,dc=com'], false), server)).toEqual(['dc=example,dc=com']);
  });

  it('with nested groups: the naming contexts (a nested group may be anywhere in them)', () => {
    const listed = options(['cn=a,ou=groups,dc=example,dc=com', 'cn=c,ou=apps,dc=other,dc=com'], true);
    expect(groupBases(listed, server)).toEqual(['dc=example,dc=com', 'dc=other,dc=com']);
  });

  it('without nested groups: the naming contexts once the groups lie in more containers than a watch may hold', () => {
    const spread = ['a', 'b', 'c', 'd', 'e'].map((ou) => `cn=g,ou=${ou},dc=example,dc=com`);
    expect(groupBases(options(spread.slice(0, 4), false), server)).toHaveLength(4);
    expect(groupBases(options(spread, false), server)).toEqual(['dc=example,dc=com']);
  });

  it('a group outside every naming context the server names is looked for at its own DN', () => {
    expect(groupBases(options(['cn=x,o=elsewhere'], false), server)).toEqual(['cn=x,o=elsewhere']);
  });
});
