import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Attribute, Change, Client, EqualityFilter, type Entry, type SearchOptions } from 'ldapts';

import { EmbeddedDirectory, type EmbeddedDirectoryOptions } from './embedded-directory.js';
import { LdifParseError } from './ldif.js';

const SEED = fileURLToPath(new URL('../../../../dev/directory.ldif', import.meta.url));
const BASE = 'dc=example,dc=com';
const PEOPLE = `ou=people,${BASE}`;
const GROUPS = `ou=groups,${BASE}`;
const ALICE = `uid=alice,${PEOPLE}`;
const BOB = `uid=bob,${PEOPLE}`;
const CAROL = `uid=carol,${PEOPLE}`;
const DEVELOPERS = `cn=developers,${GROUPS}`;
const ADMINS = `cn=admins,${GROUPS}`;
const ENGINEERING = `cn=engineering,${GROUPS}`;
const SERVICE = `cn=ldap-sync,ou=services,${BASE}`;
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function client(directory: EmbeddedDirectory): Client {
  return new Client({ url: directory.url, timeout: 5000, connectTimeout: 5000 });
}

/** Runs fn with a fresh client and always disconnects it. */
async function using<T>(directory: EmbeddedDirectory, fn: (ldap: Client) => Promise<T>): Promise<T> {
  const ldap = client(directory);
  try {
    return await fn(ldap);
  } finally {
    await ldap.unbind().catch(() => undefined);
  }
}

/** The LDAP result code an operation ends with (0 for success). */
async function resultCode(operation: Promise<unknown>): Promise<number | undefined> {
  try {
    await operation;
    return 0;
  } catch (error) {
    return (error as { code?: number }).code;
  }
}

async function search(directory: EmbeddedDirectory, base: string, options: SearchOptions = {}): Promise<Entry[]> {
  return using(directory, async (ldap) => (await ldap.search(base, { scope: 'sub', ...options })).searchEntries);
}

async function dns(directory: EmbeddedDirectory, base: string, options: SearchOptions = {}): Promise<string[]> {
  return (await search(directory, base, { attributes: ['1.1'], ...options })).map((entry) => entry.dn).sort();
}

/** ldapts lists a requested attribute the server did not return as []. */
function values(entry: Entry | undefined, name: string): unknown[] {
  const value = entry?.[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

describe('EmbeddedDirectory with the demo seed', () => {
  let directory: EmbeddedDirectory;

  beforeAll(async () => {
    directory = await EmbeddedDirectory.start({ ldifPath: SEED });
  });
  afterAll(async () => {
    await directory.stop();
  });

  it('listens on 127.0.0.1, on a free port, by default', () => {
    expect(directory.url).toMatch(/^ldap:\/\/127\.0\.0\.1:\d+$/);
    expect(directory.url).not.toMatch(/:0$/);
    expect(directory.baseDn).toBe(BASE);
  });

  describe('simple bind', () => {
    it('accepts the seeded logins and the service account', async () => {
      for (const [dn, password] of [
        [ALICE, 'alice-password'],
        [BOB, 'bob-password'],
        [CAROL, 'carol-password'],
        [SERVICE, 'sync-password'],
      ] as const) {
        expect(await using(directory, (ldap) => resultCode(ldap.bind(dn, password)))).toBe(0);
      }
    });

    it('answers invalidCredentials (49) for a wrong password, an unknown DN or a password-less entry', async () => {
      await using(directory, async (ldap) => {
        expect(await resultCode(ldap.bind(ALICE, 'wrong'))).toBe(49);
        expect(await resultCode(ldap.bind(ALICE, 'Alice-password'))).toBe(49);
        expect(await resultCode(ldap.bind(ALICE, 'alice-password '))).toBe(49);
        expect(await resultCode(ldap.bind(`uid=nobody,${PEOPLE}`, 'alice-password'))).toBe(49);
        expect(await resultCode(ldap.bind(DEVELOPERS, 'anything'))).toBe(49);
      });
    });

    it('refuses a DN with an empty password with unwillingToPerform (53), like slapd', async () => {
      expect(await using(directory, (ldap) => resultCode(ldap.bind(ALICE, '')))).toBe(53);
    });

    it('allows an anonymous bind, but not a password without a DN', async () => {
      await using(directory, async (ldap) => {
        expect(await resultCode(ldap.bind('', ''))).toBe(0);
        expect(await resultCode(ldap.bind('', 'alice-password'))).toBe(49);
      });
    });

    it('matches the bind DN case-insensitively and ignores spaces around separators', async () => {
      const variants = [
        'UID=Alice,OU=People,DC=Example,DC=Com',
        'uid = alice , ou=people,  dc=example,dc=com',
        'uid=ALICE,ou=people,dc=example,dc=com',
      ];
      for (const dn of variants) {
        expect(await using(directory, (ldap) => resultCode(ldap.bind(dn, 'alice-password')))).toBe(0);
      }
    });

    it('answers invalidDNSyntax (34) for a malformed bind DN', async () => {
      expect(await using(directory, (ldap) => resultCode(ldap.bind('not a dn', 'x')))).toBe(34);
    });
  });

  describe('search', () => {
    it('honours base, one and sub scopes', async () => {
      expect(await dns(directory, PEOPLE, { scope: 'base' })).toEqual([PEOPLE]);
      expect(await dns(directory, BASE, { scope: 'one' })).toEqual([GROUPS, PEOPLE, `ou=services,${BASE}`].sort());
      expect(await dns(directory, PEOPLE, { scope: 'one' })).toEqual([ALICE, BOB, CAROL].sort());
      expect(await dns(directory, PEOPLE, { scope: 'sub' })).toEqual([PEOPLE, ALICE, BOB, CAROL].sort());
      expect(await dns(directory, BASE, { scope: 'sub' })).toHaveLength(11);
    });

    it('accepts a base DN in any case and spacing', async () => {
      expect(await dns(directory, 'OU=People, DC=Example,DC=COM', { scope: 'one' })).toEqual(
        [ALICE, BOB, CAROL].sort(),
      );
    });

    it('evaluates filters case-insensitively for attribute names and values', async () => {
      expect(await dns(directory, BASE, { filter: '(&(OBJECTCLASS=InetOrgPerson)(UID=ALICE))' })).toEqual([ALICE]);
      expect(await dns(directory, BASE, { filter: '(mail=*@EXAMPLE.COM)' })).toEqual([ALICE, BOB, CAROL].sort());
      expect(await dns(directory, BASE, { filter: '(sn=MÜLL*)' })).toEqual([BOB]);
      expect(await dns(directory, BASE, { filter: '(cn=bob   müller)' })).toEqual([BOB]);
      expect(await dns(directory, BASE, { filter: '(|(uid=alice)(uid=carol))' })).toEqual([ALICE, CAROL].sort());
      expect(await dns(directory, PEOPLE, { scope: 'one', filter: '(!(uid=alice))' })).toEqual([BOB, CAROL].sort());
      expect(await dns(directory, BASE, { filter: '(&(givenName=*)(uid>=b)(uid<=bz))' })).toEqual([BOB]);
      expect(await dns(directory, BASE, { filter: '(cn=*ice*arch*)' })).toEqual([ALICE]);
      expect(
        await dns(directory, BASE, { filter: '(description~=service account for search-mode login and group sync)' }),
      ).toEqual([SERVICE]);
      expect(await dns(directory, BASE, { filter: '(uid=nobody)' })).toEqual([]);
    });

    it('supports extensible matches, including the DN-component form', async () => {
      expect(await dns(directory, BASE, { filter: '(uid:caseExactMatch:=alice)' })).toEqual([ALICE]);
      expect(await dns(directory, BASE, { filter: '(uid:2.5.13.5:=Alice)' })).toEqual([]);
      expect(await dns(directory, BASE, { filter: '(&(objectClass=person)(ou:dn:=services))' })).toEqual([SERVICE]);
    });

    it('returns only the requested attributes, all user attributes for * or none, nothing for 1.1', async () => {
      const [mailOnly] = await search(directory, ALICE, { scope: 'base', attributes: ['MAIL'] });
      expect(mailOnly).toEqual({ dn: ALICE, mail: 'alice@example.com' });

      const [all] = await search(directory, ALICE, { scope: 'base' });
      expect(Object.keys(all ?? {}).sort()).toEqual(['cn', 'dn', 'givenName', 'mail', 'objectClass', 'sn', 'uid']);

      const [star] = await search(directory, ALICE, { scope: 'base', attributes: ['*'] });
      expect(star?.uid).toBe('alice');
      expect(star?.memberOf).toBeUndefined();

      const [none] = await search(directory, ALICE, { scope: 'base', attributes: ['1.1'] });
      expect(none).toEqual({ dn: ALICE, '1.1': [] });
    });

    it('returns attribute names only when asked for types only', async () => {
      const [entry] = await search(directory, ALICE, {
        scope: 'base',
        attributes: ['uid', 'mail'],
        returnAttributeValues: false,
      });
      expect(entry).toEqual({ dn: ALICE, uid: [], mail: [] });
    });

    it('never returns userPassword and never lets a filter test it', async () => {
      for (const attributes of [[], ['*'], ['userPassword'], ['+'], ['*', '+', 'userPassword']]) {
        const entries = await search(directory, PEOPLE, { attributes });
        for (const entry of entries) expect(values(entry, 'userPassword')).toEqual([]);
      }
      expect(await dns(directory, BASE, { filter: '(userPassword=alice-password)' })).toEqual([]);
      expect(await dns(directory, BASE, { filter: '(userPassword=*)' })).toEqual([]);
      expect(await dns(directory, BASE, { filter: '(userPassword=a*)' })).toEqual([]);
    });

    it('answers noSuchObject (32) for an unknown base', async () => {
      await using(directory, async (ldap) => {
        expect(await resultCode(ldap.search(`ou=nowhere,${BASE}`, {}))).toBe(32);
        expect(await resultCode(ldap.search('dc=other,dc=org', {}))).toBe(32);
        expect(await resultCode(ldap.search('', { scope: 'sub' }))).toBe(32);
      });
    });

    it('serves a root DSE', async () => {
      const [root] = await search(directory, '', { scope: 'base' });
      expect(root).toMatchObject({
        dn: '',
        namingContexts: BASE,
        supportedLDAPVersion: '3',
        supportedControl: '1.2.840.113556.1.4.319',
      });
      const [named] = await search(directory, '', { scope: 'base', attributes: ['namingContexts'] });
      expect(named).toEqual({ dn: '', namingContexts: BASE });
    });

    it('answers compare, but not for userPassword', async () => {
      await using(directory, async (ldap) => {
        expect(await ldap.compare(ALICE, 'MAIL', 'Alice@Example.com')).toBe(true);
        expect(await ldap.compare(ALICE, 'mail', 'bob@example.com')).toBe(false);
        expect(await ldap.compare(ALICE, 'memberOf', ADMINS)).toBe(true);
        expect(await resultCode(ldap.compare(ALICE, 'userPassword', 'alice-password'))).toBe(50);
        expect(await resultCode(ldap.compare(ALICE, 'telephoneNumber', '1'))).toBe(16);
        expect(await resultCode(ldap.compare(`uid=nobody,${PEOPLE}`, 'uid', 'nobody'))).toBe(32);
      });
    });

    it('refuses writes over LDAP with unwillingToPerform (53)', async () => {
      await using(directory, async (ldap) => {
        await ldap.bind(ALICE, 'alice-password');
        expect(
          await resultCode(ldap.add(`uid=dave,${PEOPLE}`, { objectClass: 'person', uid: 'dave', sn: 'd', cn: 'd' })),
        ).toBe(53);
        expect(await resultCode(ldap.del(CAROL))).toBe(53);
        const change = new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'mail', values: ['x@example.com'] }),
        });
        expect(await resultCode(ldap.modify(ALICE, change))).toBe(53);
        expect(await resultCode(ldap.modifyDN(CAROL, 'uid=caroline'))).toBe(53);
      });
      expect(await dns(directory, BASE, { filter: '(mail=x@example.com)' })).toEqual([]);
    });
  });

  describe('operational attributes', () => {
    it('returns memberOf (direct groups) only when asked for by name or +', async () => {
      const [plain] = await search(directory, ALICE, { scope: 'base' });
      expect(plain?.memberOf).toBeUndefined();

      const [named] = await search(directory, ALICE, { scope: 'base', attributes: ['memberOf'] });
      expect(values(named, 'memberOf')).toEqual([DEVELOPERS, ADMINS]);

      const [bob] = await search(directory, BOB, { scope: 'base', attributes: ['uid', 'memberof'] });
      expect(bob?.memberOf).toBe(DEVELOPERS);

      const [carol] = await search(directory, CAROL, { scope: 'base', attributes: ['memberOf'] });
      expect(values(carol, 'memberOf')).toEqual([]);

      const [group] = await search(directory, DEVELOPERS, { scope: 'base', attributes: ['+'] });
      expect(group).toMatchObject({ memberOf: ENGINEERING, entryDN: DEVELOPERS });
      expect(group?.member).toBeUndefined();
    });

    it('filters on memberOf, comparing DNs as DNs', async () => {
      expect(await dns(directory, BASE, { filter: `(memberOf=${DEVELOPERS})` })).toEqual([ALICE, BOB].sort());
      expect(await dns(directory, BASE, { filter: '(memberOf=CN=Admins, OU=Groups, DC=example, DC=com)' })).toEqual([
        ALICE,
      ]);
      expect(await dns(directory, BASE, { filter: `(member=UID=Bob,${PEOPLE})` })).toEqual([DEVELOPERS]);
    });

    it("supports AD's in-chain matching rule for nested groups", async () => {
      expect(await dns(directory, BASE, { filter: `(memberOf:1.2.840.113556.1.4.1941:=${ENGINEERING})` })).toEqual(
        [ALICE, BOB, DEVELOPERS].sort(),
      );
      expect(await dns(directory, GROUPS, { filter: `(member:1.2.840.113556.1.4.1941:=${ALICE})` })).toEqual(
        [ADMINS, DEVELOPERS, ENGINEERING].sort(),
      );
      expect(await dns(directory, GROUPS, { filter: `(member:1.2.840.113556.1.4.1941:=${CAROL})` })).toEqual([]);
    });

    it('gives every entry an entryUUID that is unique and survives a restart', async () => {
      const first = await search(directory, BASE, { attributes: ['entryUUID'] });
      const uuids = first.map((entry) => entry.entryUUID);
      for (const uuid of uuids) expect(uuid).toMatch(UUID_V5);
      expect(new Set(uuids).size).toBe(first.length);

      const again = await EmbeddedDirectory.start({ ldifPath: SEED });
      try {
        const second = await search(again, BASE, { attributes: ['entryUUID'] });
        expect(second).toEqual(first);
        // The UUID depends on the normalised DN only.
        again.addEntry('UID=Zed, ou=People,dc=example,dc=com', { objectClass: 'person', sn: 'z', cn: 'z' });
        directory.addEntry(`uid=zed,${PEOPLE}`, { objectClass: 'person', sn: 'z', cn: 'z' });
        const [zedAgain] = await search(again, `uid=zed,${PEOPLE}`, { scope: 'base', attributes: ['entryUUID'] });
        const [zed] = await search(directory, `uid=zed,${PEOPLE}`, { scope: 'base', attributes: ['entryUUID'] });
        expect(zedAgain?.entryUUID).toBe(zed?.entryUUID);
      } finally {
        directory.removeEntry(`uid=zed,${PEOPLE}`);
        await again.stop();
      }
    });

    it('filters on entryUUID and entryDN', async () => {
      const [alice] = await search(directory, ALICE, { scope: 'base', attributes: ['entryUUID'] });
      expect(await dns(directory, BASE, { filter: `(entryUUID=${String(alice?.entryUUID).toUpperCase()})` })).toEqual([
        ALICE,
      ]);
      expect(await dns(directory, BASE, { filter: `(entryDN=${BOB})` })).toEqual([BOB]);
    });
  });
});

describe('EmbeddedDirectory with escaped and non-ASCII values', () => {
  const OBRIEN = `uid=o(brien),${PEOPLE}`;
  const ZOE = `cn=Zoë Çelik,${PEOPLE}`;
  const ZOE_PASSWORD = `Zoë-"P(a)s[s]{w}'1€`;
  let directory: EmbeddedDirectory;

  beforeAll(async () => {
    directory = await EmbeddedDirectory.start({
      ldif: [
        `dn: ${BASE}`,
        'objectClass: domain',
        '',
        `dn: ${PEOPLE}`,
        'objectClass: organizationalUnit',
        '',
        `dn: ${OBRIEN}`,
        'objectClass: inetOrgPerson',
        'cn: Owen',
        "sn: O'Brien",
        'description: a*b (literal star)',
        'userPassword: Obrien-pass1',
        '',
        `dn:: ${Buffer.from(ZOE).toString('base64')}`,
        'objectClass: inetOrgPerson',
        `sn:: ${Buffer.from('Çelik-Ødegård 😀').toString('base64')}`,
        `userPassword:: ${Buffer.from(ZOE_PASSWORD).toString('base64')}`,
        'homeDirectory: C:\\Users\\zoe',
      ].join('\n'),
    });
  });
  afterAll(async () => {
    await directory.stop();
  });

  it('binds a DN written with escapes or without them', async () => {
    for (const dn of [OBRIEN, `uid=o\\28brien\\29,${PEOPLE}`, `UID=O\\28Brien\\29 , ou=people,dc=example,dc=com`]) {
      expect(await using(directory, (ldap) => resultCode(ldap.bind(dn, 'Obrien-pass1')))).toBe(0);
    }
  });

  it('binds with a non-ASCII password and a non-ASCII DN', async () => {
    for (const dn of [ZOE, `cn=zoë çelik,${PEOPLE}`, `cn=Zo\\c3\\ab \\c3\\87elik,${PEOPLE}`]) {
      expect(await using(directory, (ldap) => resultCode(ldap.bind(dn, ZOE_PASSWORD)))).toBe(0);
    }
    expect(await using(directory, (ldap) => resultCode(ldap.bind(ZOE, ZOE_PASSWORD.normalize('NFD'))))).toBe(49);
  });

  it('matches escaped filter values literally, never as wildcards', async () => {
    expect(await dns(directory, BASE, { filter: '(uid=o\\28brien\\29)' })).toEqual([OBRIEN]);
    expect(await dns(directory, BASE, { filter: '(UID=O\\28BRIEN\\29)' })).toEqual([OBRIEN]);
    expect(await dns(directory, BASE, { filter: new EqualityFilter({ attribute: 'uid', value: 'O(Brien)' }) })).toEqual(
      [OBRIEN],
    );
    expect(await dns(directory, BASE, { filter: '(uid=o\\2a)' })).toEqual([]);
    expect(await dns(directory, BASE, { filter: '(uid=o*)' })).toEqual([OBRIEN]);
    expect(await dns(directory, BASE, { filter: '(description=a\\2ab \\28literal star\\29)' })).toEqual([OBRIEN]);
    expect(await dns(directory, BASE, { filter: '(description=a\\2a*)' })).toEqual([OBRIEN]);
    expect(await dns(directory, BASE, { filter: '(description=ab*)' })).toEqual([]);
    expect(await dns(directory, BASE, { filter: '(homeDirectory=c:\\5cusers\\5czoe)' })).toEqual([ZOE]);
  });

  it('matches non-ASCII values, including 4-byte characters, in equality and substring filters', async () => {
    expect(await dns(directory, BASE, { filter: '(sn=çelik-ødegård 😀)' })).toEqual([ZOE]);
    expect(await dns(directory, BASE, { filter: '(sn=*ØDEGÅRD 😀)' })).toEqual([ZOE]);
    expect(await dns(directory, BASE, { filter: '(sn=Çel*😀)' })).toEqual([ZOE]);
    expect(await dns(directory, BASE, { filter: '(cn=zoë*)' })).toEqual([ZOE]);
  });

  it('returns DNs and values as UTF-8, unescaped', async () => {
    const [zoe] = await search(directory, BASE, { filter: '(cn=Zoë Çelik)', attributes: ['sn', 'cn'] });
    expect(zoe).toEqual({ dn: ZOE, cn: 'Zoë Çelik', sn: 'Çelik-Ødegård 😀' });
    const [obrien] = await search(directory, `uid=o\\28brien\\29,${PEOPLE}`, { scope: 'base', attributes: ['uid'] });
    expect(obrien).toEqual({ dn: OBRIEN, uid: 'o(brien)' });
  });
});

describe('EmbeddedDirectory paging and size limits', () => {
  const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'];
  const ldif = [`dn: ${BASE}`, 'objectClass: domain', '', `dn: ${PEOPLE}`, 'objectClass: organizationalUnit', '']
    .concat(users.flatMap((uid) => [`dn: uid=${uid},${PEOPLE}`, 'objectClass: person', `cn: ${uid}`, 'sn: user', '']))
    .join('\n');
  const start = (options: EmbeddedDirectoryOptions): Promise<EmbeddedDirectory> =>
    EmbeddedDirectory.start({ ldif, ...options });
  const people = { filter: '(objectClass=person)', attributes: ['cn'] };

  it('caps every page at maxPageSize and walks the result set with cookies', async () => {
    const directory = await start({ maxPageSize: 3 });
    try {
      const pageSizes = await using(directory, async (ldap) => {
        const sizes: number[] = [];
        for await (const page of ldap.searchPaginated(PEOPLE, { scope: 'sub', paged: { pageSize: 100 }, ...people })) {
          sizes.push(page.searchEntries.length);
        }
        return sizes;
      });
      expect(pageSizes).toEqual([3, 3, 1]);
      expect((await search(directory, PEOPLE, { paged: true, ...people })).map((entry) => entry.cn)).toEqual(users);
      expect((await search(directory, PEOPLE, { paged: { pageSize: 2 }, ...people })).map((entry) => entry.cn)).toEqual(
        users,
      );
    } finally {
      await directory.stop();
    }
  });

  it('keeps paging across entries removed or changed mid-search', async () => {
    const directory = await start({ maxPageSize: 2 });
    try {
      const seen = await using(directory, async (ldap) => {
        const cns: unknown[] = [];
        for await (const page of ldap.searchPaginated(PEOPLE, { scope: 'sub', paged: { pageSize: 2 }, ...people })) {
          cns.push(...page.searchEntries.map((entry) => entry.cn));
          if (cns.length === 2) {
            directory.removeEntry(`uid=u3,${PEOPLE}`);
            directory.modifyEntry(`uid=u4,${PEOPLE}`, { cn: ['u4', 'renamed'] });
          }
        }
        return cns;
      });
      expect(seen).toEqual(['u1', 'u2', ['u4', 'renamed'], 'u5', 'u6', 'u7']);
    } finally {
      await directory.stop();
    }
  });

  it('fails an unpaged search over sizeLimit with sizeLimitExceeded (4), but not a paged one', async () => {
    const directory = await start({ sizeLimit: 5 });
    try {
      await using(directory, async (ldap) => {
        expect(await resultCode(ldap.search(PEOPLE, { scope: 'sub', ...people }))).toBe(4);
        expect(
          await resultCode(ldap.search(PEOPLE, { scope: 'sub', filter: '(|(cn=u1)(cn=u2)(cn=u3)(cn=u4)(cn=u5))' })),
        ).toBe(0);
        expect((await ldap.search(PEOPLE, { scope: 'sub', paged: true, ...people })).searchEntries).toHaveLength(7);
      });
    } finally {
      await directory.stop();
    }
  });

  it("honours the client's own size limit, returning the entries up to it", async () => {
    const directory = await start({});
    try {
      // ldapts hands back the partial result when it asked for the limit itself.
      const entries = await search(directory, PEOPLE, { sizeLimit: 2, ...people });
      expect(entries.map((entry) => entry.cn)).toEqual(['u1', 'u2']);
    } finally {
      await directory.stop();
    }
  });

  it('rejects invalid limits', async () => {
    await expect(start({ maxPageSize: 0 })).rejects.toThrow(/maxPageSize/);
    await expect(start({ sizeLimit: 1.5 })).rejects.toThrow(/sizeLimit/);
  });
});

describe('EmbeddedDirectory runtime changes', () => {
  let directory: EmbeddedDirectory;

  beforeAll(async () => {
    directory = await EmbeddedDirectory.start({ ldifPath: SEED });
  });
  afterAll(async () => {
    await directory.stop();
  });

  const bind = (dn: string, password: string): Promise<number | undefined> =>
    using(directory, (ldap) => resultCode(ldap.bind(dn, password)));

  it('adds and replaces entries', async () => {
    const dave = `uid=dave,${PEOPLE}`;
    directory.addEntry(dave, { objectClass: ['inetOrgPerson'], cn: 'Dave', sn: 'Dunn', userPassword: 'dave-1' });
    expect(await bind(dave, 'dave-1')).toBe(0);
    const [added] = await search(directory, dave, { scope: 'base', attributes: ['uid', 'cn'] });
    // The naming value is added when missing.
    expect(added).toEqual({ dn: dave, uid: 'dave', cn: 'Dave' });

    directory.addEntry(dave, { objectClass: 'inetOrgPerson', cn: 'Dave', sn: 'Dunn', userPassword: 'dave-2' });
    expect(await bind(dave, 'dave-1')).toBe(49);
    expect(await bind(dave, 'dave-2')).toBe(0);
    directory.removeEntry(dave);
  });

  it('modifies attributes and group membership, with memberOf following live', async () => {
    directory.modifyEntry(CAROL, { userPassword: 'carol-new', telephoneNumber: ['1', '2'] });
    expect(await bind(CAROL, 'carol-password')).toBe(49);
    expect(await bind(CAROL, 'carol-new')).toBe(0);

    directory.modifyEntry(ADMINS, { member: [ALICE, CAROL] });
    const [carol] = await search(directory, CAROL, { scope: 'base', attributes: ['memberOf', 'telephoneNumber'] });
    expect(carol).toEqual({ dn: CAROL, memberOf: ADMINS, telephoneNumber: ['1', '2'] });

    directory.modifyEntry(CAROL, { telephoneNumber: null, userPassword: 'carol-password' });
    directory.modifyEntry(ADMINS, { member: ALICE });
    const [restored] = await search(directory, CAROL, { scope: 'base', attributes: ['memberOf', 'telephoneNumber'] });
    expect(restored).toEqual({ dn: CAROL, memberOf: [], telephoneNumber: [] });
  });

  it('removes entries, after which they can no longer log in', async () => {
    const temp = `uid=temp,${PEOPLE}`;
    directory.addEntry(temp, { objectClass: 'person', cn: 't', sn: 't', userPassword: 'temp-pass' });
    expect(await bind(temp, 'temp-pass')).toBe(0);
    directory.removeEntry('UID=Temp,ou=People,dc=example,dc=com');
    expect(await bind(temp, 'temp-pass')).toBe(49);
  });

  it('rejects changes that no directory would accept', () => {
    expect(() => directory.addEntry('cn=x,dc=other,dc=org', { cn: 'x' })).toThrow(/not under the base DN/);
    expect(() => directory.addEntry(`uid=x,${PEOPLE}`, { memberOf: DEVELOPERS })).toThrow(/computed/);
    expect(() => directory.addEntry('not a dn', { cn: 'x' })).toThrow(/invalid DN/);
    expect(() => directory.addEntry(`uid=x,${PEOPLE}`, { 'bad name': 'x' })).toThrow(/invalid attribute name/);
    expect(() => directory.addEntry(`uid=x,${PEOPLE}`, { entryUUID: 'nope' })).toThrow(/entryUUID/);
    expect(() => directory.removeEntry(`uid=nobody,${PEOPLE}`)).toThrow(/no entry/);
    expect(() => directory.removeEntry(PEOPLE)).toThrow(/subordinate/);
    expect(() => directory.modifyEntry(`uid=nobody,${PEOPLE}`, { cn: 'x' })).toThrow(/no entry/);
    expect(() => directory.modifyEntry(ALICE, { uid: 'someone-else' })).toThrow(/naming value/);
    expect(() => directory.modifyEntry(ALICE, { memberOf: null })).toThrow(/operational/);
  });

  it('uses an entryUUID given in the LDIF or to addEntry', async () => {
    const uuid = '3f0b5e4e-1f0a-4c3b-9a59-2d7c1c0e8a11';
    directory.addEntry(`uid=withuuid,${PEOPLE}`, {
      objectClass: 'person',
      cn: 'w',
      sn: 'w',
      entryUUID: uuid.toUpperCase(),
    });
    const [entry] = await search(directory, `uid=withuuid,${PEOPLE}`, {
      scope: 'base',
      attributes: ['entryUUID', '*'],
    });
    expect(entry?.entryUUID).toBe(uuid);
    directory.removeEntry(`uid=withuuid,${PEOPLE}`);
  });
});

describe('EmbeddedDirectory start and stop', () => {
  it('starts with only the base entry when given no LDIF', async () => {
    const directory = await EmbeddedDirectory.start({ baseDn: 'DC=Corp, DC=Local' });
    try {
      expect(directory.baseDn).toBe('DC=Corp,DC=Local');
      expect(await dns(directory, 'dc=corp,dc=local')).toEqual(['DC=Corp,DC=Local']);
      const [root] = await search(directory, '', { scope: 'base', attributes: ['namingContexts'] });
      expect(root?.namingContexts).toBe('DC=Corp,DC=Local');
    } finally {
      await directory.stop();
    }
  });

  it('rejects bad LDIF and conflicting options', async () => {
    await expect(EmbeddedDirectory.start({ ldif: 'cn: x' })).rejects.toBeInstanceOf(LdifParseError);
    await expect(EmbeddedDirectory.start({ ldif: 'dn: dc=example,dc=com\n\ndn: DC=Example,DC=Com\n' })).rejects.toThrow(
      /duplicate/,
    );
    await expect(EmbeddedDirectory.start({ ldif: 'dn: dc=other\n' })).rejects.toThrow(/not under the base DN/);
    await expect(EmbeddedDirectory.start({ ldif: '', ldifPath: SEED })).rejects.toThrow(/either/);
    await expect(EmbeddedDirectory.start({ ldifPath: '/nonexistent/directory.ldif' })).rejects.toThrow(/ENOENT/);
  });

  it('fails to start on a port that is taken', async () => {
    const first = await EmbeddedDirectory.start();
    try {
      const port = Number(new URL(first.url).port);
      await expect(EmbeddedDirectory.start({ port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.stop();
    }
  });

  it('closes open connections and the listener promptly on stop, and stop can be repeated', async () => {
    const directory = await EmbeddedDirectory.start({ ldifPath: SEED });
    const ldap = client(directory);
    await ldap.bind(ALICE, 'alice-password');
    const started = Date.now();
    await directory.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    await directory.stop();
    expect(await resultCode(ldap.search(BASE, {}))).not.toBe(0);
    expect(await resultCode(client(directory).bind(ALICE, 'alice-password'))).not.toBe(0);
    await ldap.unbind().catch(() => undefined);
  });

  it('survives a request ldapjs cannot parse', async () => {
    const directory = await EmbeddedDirectory.start({ ldifPath: SEED });
    try {
      // ldapjs drops the connection on a malformed search base instead of answering 34.
      expect(await using(directory, (ldap) => resultCode(ldap.search('not a dn', {})))).not.toBe(0);
      expect(await using(directory, (ldap) => resultCode(ldap.bind(ALICE, 'alice-password')))).toBe(0);
    } finally {
      await directory.stop();
    }
  });

  it('writes nothing to the console, so no password can end up in a log', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((method) =>
      jest.spyOn(console, method).mockImplementation(() => undefined),
    );
    try {
      const directory = await EmbeddedDirectory.start({ ldifPath: SEED });
      await using(directory, async (ldap) => {
        await ldap.bind(ALICE, 'alice-password');
        await resultCode(ldap.bind(ALICE, 'wrong-password'));
        await ldap.search(BASE, { filter: '(userPassword=alice-password)' });
      });
      await directory.stop();
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
