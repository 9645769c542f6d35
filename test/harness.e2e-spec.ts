/**
 * Smoke test of the real-directory harness: the servers global setup started answer as the fixtures say, and
 * the directory-admin helpers change them as documented.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AndFilter, Client, EqualityFilter, ExtensibleFilter, InvalidCredentialsError } from 'ldapts';
import {
  addGroupToGroup,
  addUserToGroup,
  createGroup,
  createUser,
  deleteGroup,
  deleteUser,
  groupDn,
  removeUserFromGroup,
  renameUser,
  setAttributes,
  userDn,
  type DirectoryInfo,
} from './support/directory-admin.js';
import { fixtureUser, USERS } from './support/fixtures.js';
import { testServers } from './support/servers.js';
import { startSlapd, type SlapdHandle } from './support/slapd.js';

const { slapd, samba } = testServers();
const IN_CHAIN = '1.2.840.113556.1.4.1941';

function client(info: DirectoryInfo, url = info.url): Client {
  const ca = readFileSync(info.caFile);
  const tlsOptions = info.kind === 'samba' ? { ca, servername: info.servername } : { ca };
  // ldapts speaks TLS on ldap:// URLs too when given tlsOptions: only pass them for ldaps://.
  return new Client({ url, timeout: 5000, connectTimeout: 5000, ...(url.startsWith('ldaps:') ? { tlsOptions } : {}) });
}

/** Binds on a fresh connection; returns the bound client (caller unbinds). */
async function bindAs(info: DirectoryInfo, name: string, password: string, url?: string): Promise<Client> {
  const c = client(info, url);
  try {
    await c.bind(name, password);
  } catch (err) {
    await c.unbind().catch(() => undefined);
    throw err;
  }
  return c;
}

async function canBind(info: DirectoryInfo, name: string, password: string, url?: string): Promise<true> {
  await (await bindAs(info, name, password, url)).unbind();
  return true;
}

async function readAttr(info: DirectoryInfo, dn: string, attribute: string): Promise<string[]> {
  const c = await bindAs(info, info.adminDn, info.adminPassword);
  try {
    const { searchEntries } = await c.search(dn, { scope: 'base', attributes: [attribute] });
    const value = searchEntries[0]?.[attribute] ?? [];
    return (Array.isArray(value) ? value : [value]).map(String);
  } finally {
    await c.unbind();
  }
}

/**
 * Asks the server, which compares DNs by their normalised form: slapd's refint writes renamed DNs with hex
 * escapes (uid=harness\2Brenamed), so string comparison is wrong.
 */
async function hasMember(info: DirectoryInfo, groupCn: string, memberDn: string): Promise<boolean> {
  const c = await bindAs(info, info.adminDn, info.adminPassword);
  try {
    const filter = new EqualityFilter({ attribute: 'member', value: memberDn });
    return (
      (await c.search(groupDn(info, groupCn), { scope: 'base', filter, attributes: ['1.1'] })).searchEntries.length ===
      1
    );
  } finally {
    await c.unbind();
  }
}

describe('slapd', () => {
  const zoe = fixtureUser('zoe');

  it('lets alice and zoe (odd password, over LDAPS) bind, and o(brien)', async () => {
    expect(await canBind(slapd, userDn(slapd, 'alice'), fixtureUser('alice').password)).toBe(true);
    expect(await canBind(slapd, userDn(slapd, 'zoe'), zoe.password, slapd.ldapsUrl)).toBe(true);
    expect(userDn(slapd, 'o(brien)')).toBe('uid=o(brien),ou=people,dc=example,dc=com');
    expect(await canBind(slapd, userDn(slapd, 'o(brien)'), fixtureUser('o(brien)').password)).toBe(true);
  });

  it('refuses a wrong password with code 49', async () => {
    const failure = canBind(slapd, userDn(slapd, 'alice'), 'Alice-pass2');
    await expect(failure).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(failure).rejects.toMatchObject({ code: 49 });
  });

  it('fills memberOf, for nested groups too', async () => {
    expect(await readAttr(slapd, userDn(slapd, 'dave'), 'memberOf')).toEqual([groupDn(slapd, 'platform')]);
    expect(await readAttr(slapd, groupDn(slapd, 'platform'), 'memberOf')).toEqual(
      expect.arrayContaining([groupDn(slapd, 'developers'), groupDn(slapd, 'nested-login')]),
    );
  });

  it('lets the service account bind and search the people', async () => {
    const c = await bindAs(slapd, slapd.serviceDn, slapd.servicePassword);
    try {
      const { searchEntries } = await c.search(slapd.peopleDn, {
        filter: '(objectClass=inetOrgPerson)',
        attributes: ['uid', 'entryUUID', 'userPassword'],
      });
      expect(searchEntries.map((e) => e.uid).sort()).toEqual(USERS.map((u) => u.username).sort());
      // ldapts lists a requested attribute the server withheld as [].
      expect(searchEntries.every((e) => typeof e.entryUUID === 'string' && [e.userPassword].flat().length === 0)).toBe(
        true,
      );
    } finally {
      await c.unbind();
    }
  });

  describe('an instance of its own', () => {
    let own: SlapdHandle;
    beforeAll(async () => {
      own = await startSlapd();
    });
    afterAll(async () => {
      await own.stop();
    });

    it('starts seeded, restarts, and stops', async () => {
      expect(own.url).not.toBe(slapd.url);
      expect(await canBind(own, userDn(own, 'bob'), fixtureUser('bob').password)).toBe(true);
      await own.restart();
      expect(await canBind(own, userDn(own, 'bob'), fixtureUser('bob').password)).toBe(true);
      await own.stop();
      await expect(canBind(own, userDn(own, 'bob'), fixtureUser('bob').password)).rejects.toThrow();
    });
  });
});

describe('Samba AD', () => {
  const alice = fixtureUser('alice');
  const zoe = fixtureUser('zoe');

  it('lets alice bind as EXAMPLE\\alice and alice@example.test, and zoe with her odd password', async () => {
    expect(await canBind(samba, `${samba.domain}\\alice`, alice.password)).toBe(true);
    expect(await canBind(samba, `alice@${samba.realm}`, alice.password)).toBe(true);
    expect(await canBind(samba, `${samba.domain}\\zoe`, zoe.password)).toBe(true);
    expect(await canBind(samba, `o(brien)@${samba.realm}`, fixtureUser('o(brien)').password)).toBe(true);
    expect(await canBind(samba, samba.serviceDn, samba.servicePassword)).toBe(true);
  });

  it('refuses mallory, who is disabled, with data 533', async () => {
    const failure = canBind(samba, `${samba.domain}\\mallory`, fixtureUser('mallory').password);
    await expect(failure).rejects.toMatchObject({ code: 49, message: expect.stringContaining('data 533') });
  });

  it('refuses a wrong password with data 52e, and simple binds without TLS', async () => {
    await expect(canBind(samba, `${samba.domain}\\alice`, 'Alice-pass2')).rejects.toMatchObject({
      code: 49,
      message: expect.stringContaining('data 52e'),
    });
    await expect(canBind(samba, `${samba.domain}\\alice`, alice.password, samba.plainUrl)).rejects.toMatchObject({
      code: 8,
    });
  });

  it("lists alice's direct groups in memberOf", async () => {
    expect(await readAttr(samba, userDn(samba, 'alice'), 'memberOf')).toEqual(
      expect.arrayContaining([groupDn(samba, 'developers'), groupDn(samba, 'admins'), groupDn(samba, 'app-users')]),
    );
  });

  it('finds dave in engineering through nesting with the in-chain rule', async () => {
    const c = await bindAs(samba, samba.serviceDn, samba.servicePassword);
    try {
      const inChain = (group: string): Promise<unknown[]> =>
        c
          .search(samba.usersDn, {
            filter: new AndFilter({
              filters: [
                new EqualityFilter({ attribute: 'sAMAccountName', value: 'dave' }),
                new ExtensibleFilter({ matchType: 'memberOf', rule: IN_CHAIN, value: groupDn(samba, group) }),
              ],
            }),
            attributes: ['sAMAccountName'],
          })
          .then((r) => r.searchEntries);
      expect(await inChain('engineering')).toHaveLength(1);
      expect(await inChain('admins')).toHaveLength(0);
    } finally {
      await c.unbind();
    }
  });
});

// Each server gets a user of this suite's own, so other suites never see these changes.
describe.each([
  ['slapd', slapd],
  ['Samba AD', samba],
] as const)('directory-admin on %s', (_name, info) => {
  // DN specials in the names where the directory allows them (AD forbids , and + in sAMAccountName).
  const [username, renamed] =
    info.kind === 'slapd' ? ['harness,tmp', 'harness+renamed'] : ['harness-tmp', 'harness-renamed'];
  const user = { username, password: 'Harness-pass1', givenName: 'Tmp', sn: 'User', mail: 'tmp@example.com' };

  afterAll(async () => {
    for (const name of [user.username, renamed]) await deleteUser(info, name).catch(() => undefined);
  });

  it('creates, changes, regroups and renames a user', async () => {
    await createUser(info, user);
    const login = info.kind === 'slapd' ? userDn(info, user.username) : `${user.username}@${info.realm}`;
    expect(await canBind(info, login, user.password)).toBe(true);

    await setAttributes(info, user.username, { mail: 'changed@example.com' });
    expect(await readAttr(info, userDn(info, user.username), 'mail')).toEqual(['changed@example.com']);

    await addUserToGroup(info, user.username, 'admins');
    expect(await readAttr(info, userDn(info, user.username), 'memberOf')).toEqual([groupDn(info, 'admins')]);

    await renameUser(info, user.username, renamed);
    expect(await readAttr(info, userDn(info, renamed), 'memberOf')).toEqual([groupDn(info, 'admins')]);
    expect(await hasMember(info, 'admins', userDn(info, renamed))).toBe(true);
    const newLogin = info.kind === 'slapd' ? userDn(info, renamed) : `${info.domain}\\${renamed}`;
    expect(await canBind(info, newLogin, user.password)).toBe(true);

    await removeUserFromGroup(info, renamed, 'admins');
    expect(await readAttr(info, userDn(info, renamed), 'memberOf')).toEqual([]);
    expect(await readAttr(info, groupDn(info, 'admins'), 'member')).toEqual([userDn(info, 'alice')]);
  });

  it('creates, fills, empties and deletes a group', async () => {
    const group = `harness-group-${info.kind}`;
    // On slapd an empty groupOfNames holds the placeholder member.
    const empty = info.kind === 'slapd' ? [info.emptyGroupMember] : [];
    await createGroup(info, group, []);
    expect(await readAttr(info, groupDn(info, group), 'member')).toEqual(empty);

    await addUserToGroup(info, 'eve', group);
    await addGroupToGroup(info, group, 'admins');
    expect(await readAttr(info, groupDn(info, group), 'member')).toEqual([userDn(info, 'eve')]);
    expect(await readAttr(info, userDn(info, 'eve'), 'memberOf')).toEqual([groupDn(info, group)]);
    expect(await hasMember(info, 'admins', groupDn(info, group))).toBe(true);

    await removeUserFromGroup(info, 'eve', group);
    expect(await readAttr(info, groupDn(info, group), 'member')).toEqual(empty);
    expect(await readAttr(info, userDn(info, 'eve'), 'memberOf')).toEqual([]);

    await deleteGroup(info, group);
    // Deleting a group takes it out of the groups it was nested in.
    expect(await hasMember(info, 'admins', groupDn(info, group))).toBe(false);
    expect(await readAttr(info, groupDn(info, 'admins'), 'member')).toEqual([userDn(info, 'alice')]);
  });
});
