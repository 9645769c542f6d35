import { afterEach, describe, expect, it } from '@jest/globals';
import { relevantEntry, watchAdChanges, watchedBases } from './ad-change-watch.js';
import { DeltaUnavailableError } from '../../errors/ldap-auth.errors.js';
import {
  HostileLdapServer,
  searchDone,
  searchEntry,
  within,
  type SearchScript,
} from '../../../../../test/support/hostile-ldap-server.js';
import type { SnapshotReadOptions } from './snapshot-reader.js';
import { serverInfoFromRootDse } from '../server-info.js';

const adServer = serverInfoFromRootDse({
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
    expect(watchedBases(options('CN=Users,DC=example,DC=test'), adServer)).toEqual(['CN=Users,DC=example,DC=test']);
  });

  it('leaves the search base to the naming context of the listed groups that holds it (one search, not two)', () => {
    const listed = options('CN=Users,DC=example,DC=test', ['cn=team,ou=groups,dc=example,dc=test']);
    expect(watchedBases(listed, adServer)).toEqual(['dc=example,dc=test']);
  });

  it('watches each naming context once, the login group included', () => {
    const listed = options(
      'OU=People,DC=example,DC=test',
      ['cn=a,ou=groups,dc=example,dc=test', 'cn=b,dc=other,dc=test'],
      'cn=login,ou=groups,dc=example,dc=test',
    );
    expect(watchedBases(listed, adServer).sort()).toEqual(['dc=example,dc=test', 'dc=other,dc=test']);
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

describe('watchAdChanges against a fake AD', () => {
  const base = 'CN=Users,DC=example,DC=test';
  let server: HostileLdapServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  /** Watches `base` on a server answering notification searches with `notify` (the root DSE: an empty result). */
  async function watch(notify: SearchScript, onChange: () => void): Promise<unknown> {
    server = await HostileLdapServer.start((search, client) =>
      search.baseDN === '' ? client.send(searchDone(search.messageId)) : notify(search, client),
    );
    const connection = await server.connect(5_000);
    const watching = watchAdChanges(connection, adServer, options(base), onChange);
    return within(watching, 10_000).then(
      () => 'ended',
      (error: unknown) => error,
    );
  }

  it('calls onChange once the searches are in place, then for each entry that may matter', async () => {
    let changes = 0;
    const ended = await watch(
      async ({ messageId }, client) => {
        // After the answer to the barrier, the entries: two that may matter, one that cannot.
        await new Promise((resolve) => setTimeout(resolve, 50));
        await client.send(
          searchEntry(messageId, `CN=alice,${base}`, [['objectClass', ['top', 'user']]]),
          searchEntry(messageId, 'CN=Policies,CN=System,DC=example,DC=test', [['objectClass', ['container']]]),
          searchEntry(messageId, 'CN=team,OU=Groups,DC=example,DC=test', [['objectClass', ['top', 'group']]]),
          searchDone(messageId),
        );
      },
      () => changes++,
    );
    expect(ended).toBe('ended');
    expect(changes).toBe(3);
  });

  it.each([
    [11, 'adminLimitExceeded'],
    [53, 'unwillingToPerform'],
    [12, 'unavailableCriticalExtension'],
    [50, 'insufficientAccessRights'],
  ])('takes result %d (%s) as "no notifications here": polled deltas only', async (code, name) => {
    const error = await watch(
      ({ messageId }, client) => client.send(searchDone(messageId, undefined, code)),
      () => 0,
    );
    expect(error).toBeInstanceOf(DeltaUnavailableError);
    expect((error as Error).message).toContain(`refused change notifications on ${base}: ${name}`);
  });

  it('takes any other end (busy, unavailable) as a lost stream, to open again', async () => {
    const error = await watch(
      ({ messageId }, client) => client.send(searchDone(messageId, undefined, 51)),
      () => 0,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(DeltaUnavailableError);
  });

  it('refuses to open more searches than AD allows on a connection', async () => {
    const many = { ...options(base), groupDns: ['a', 'b', 'c', 'd', 'e'].map((dc) => `cn=g,dc=${dc}`) };
    const contexts = serverInfoFromRootDse({
      dn: '',
      namingContexts: ['a', 'b', 'c', 'd', 'e'].map((dc) => `dc=${dc}`),
    });
    server = await HostileLdapServer.start(() => undefined);
    const connection = await server.connect(5_000);
    const error = await watchAdChanges(connection, contexts, many, () => 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeltaUnavailableError);
    expect(server.searches).toEqual([]);
  });
});
