import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Control, type Entry, type SearchOptions } from 'ldapts';

import { EmbeddedDirectory } from './embedded-directory.js';

const BASE = 'dc=example,dc=com';
const PEOPLE = `ou=people,${BASE}`;
const GROUPS = `ou=groups,${BASE}`;
const BIG = `cn=everyone,${GROUPS}`;
const SMALL = `cn=few,${GROUPS}`;
const EMPTY = `cn=nobody,${GROUPS}`;
const MEMBERS = 4000;
const userDn = (i: number): string => `uid=u${String(i).padStart(4, '0')},${PEOPLE}`;
const ALL_MEMBERS = Array.from({ length: MEMBERS }, (_, i) => userDn(i));
/** AD's LDAP_SERVER_RANGE_RETRIEVAL_NOERR_OID. */
const RANGE_NOERR = '1.2.840.113556.1.4.1948';

async function seed(options: { maxValRange?: number } = {}): Promise<EmbeddedDirectory> {
  const directory = await EmbeddedDirectory.start({
    ldif: [`dn: ${BASE}`, 'objectClass: domain', '', `dn: ${PEOPLE}`, 'objectClass: organizationalUnit', ''].join('\n'),
    ...options,
  });
  directory.addEntry(GROUPS, { objectClass: 'organizationalUnit' });
  for (const dn of ALL_MEMBERS) directory.addEntry(dn, { objectClass: 'person', cn: dn.slice(4, 9), sn: 'user' });
  directory.addEntry(BIG, { objectClass: 'groupOfNames', member: ALL_MEMBERS, description: 'all of them' });
  directory.addEntry(SMALL, { objectClass: 'groupOfNames', member: ALL_MEMBERS.slice(0, 3) });
  directory.addEntry(EMPTY, { objectClass: ['top', 'group'] });
  return directory;
}

async function read(
  directory: EmbeddedDirectory,
  base: string,
  options: SearchOptions,
  controls?: Control[],
): Promise<Entry[]> {
  const ldap = new Client({ url: directory.url, timeout: 10000, connectTimeout: 5000 });
  try {
    return (await ldap.search(base, { scope: 'base', ...options }, controls)).searchEntries;
  } finally {
    await ldap.unbind().catch(() => undefined);
  }
}

async function resultCode(operation: Promise<unknown>): Promise<number | undefined> {
  try {
    await operation;
    return 0;
  } catch (error) {
    return (error as { code?: number }).code;
  }
}

function list(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The attribute names of an entry that are `member` with or without options. */
function memberKeys(entry: Entry | undefined): string[] {
  return Object.keys(entry ?? {}).filter((key) => /^member(;|$)/i.test(key));
}

describe('EmbeddedDirectory ranged retrieval (AD MaxValRange)', () => {
  let directory: EmbeddedDirectory;

  beforeAll(async () => {
    directory = await seed({ maxValRange: 1500 });
  });
  afterAll(async () => {
    await directory.stop();
  });

  it('reads a 4,000-member group back whole, range by range, as a sync would against AD', async () => {
    const chunks: Array<{ name: string; count: number }> = [];
    const members: unknown[] = [];
    let request = 'member';
    for (let round = 0; round < 10; round += 1) {
      const [entry] = await read(directory, BIG, { attributes: [request] });
      // The range actually returned is the attribute whose name carries one and has values.
      const ranged = memberKeys(entry).find((key) => key.includes(';range=') && list(entry?.[key]).length > 0);
      if (!ranged) throw new Error(`no ranged member attribute in ${JSON.stringify(memberKeys(entry))}`);
      const values = list(entry?.[ranged]);
      chunks.push({ name: ranged, count: values.length });
      members.push(...values);
      const [, low, high] = /;range=(\d+)-(\d+|\*)$/.exec(ranged) ?? [];
      if (high === '*') break;
      expect(Number(low)).toBe(members.length - values.length);
      request = `member;range=${Number(high) + 1}-*`;
    }
    expect(chunks).toEqual([
      { name: 'member;range=0-1499', count: 1500 },
      { name: 'member;range=1500-2999', count: 1500 },
      { name: 'member;range=3000-*', count: 1000 },
    ]);
    expect(members).toEqual(ALL_MEMBERS);
  });

  it('also returns the requested name, empty, when the answer carries another range (the first-key trap)', async () => {
    const [plain] = await read(directory, BIG, { attributes: ['member'] });
    expect(memberKeys(plain)).toEqual(['member', 'member;range=0-1499']);
    expect(plain?.member).toEqual([]);

    const [next] = await read(directory, BIG, { attributes: ['member;range=1500-*'] });
    expect(memberKeys(next)).toEqual(['member;range=1500-*', 'member;range=1500-2999']);
    expect(next?.['member;range=1500-*']).toEqual([]);

    // Asked for exactly what it can return: only that name.
    const [exact] = await read(directory, BIG, { attributes: ['member;range=1500-2999'] });
    expect(memberKeys(exact)).toEqual(['member;range=1500-2999']);
    expect(list(exact?.['member;range=1500-2999'])).toEqual(ALL_MEMBERS.slice(1500, 3000));

    // A window that runs past the end is cut there and named with '*'.
    const [tail] = await read(directory, BIG, { attributes: ['member;range=3500-4999'] });
    expect(memberKeys(tail)).toEqual(['member;range=3500-4999', 'member;range=3500-*']);
    expect(list(tail?.['member;range=3500-*'])).toEqual(ALL_MEMBERS.slice(3500));

    // A small window inside the values.
    const [two] = await read(directory, BIG, { attributes: ['member;range=2-3'] });
    expect(list(two?.['member;range=2-3'])).toEqual(ALL_MEMBERS.slice(2, 4));
  });

  it('ranges attributes returned for *, without echoing a name nobody asked for', async () => {
    const [all] = await read(directory, BIG, { attributes: ['*'] });
    expect(memberKeys(all)).toEqual(['member;range=0-1499']);
    expect(all?.description).toBe('all of them');
  });

  it('leaves attributes within MaxValRange alone, in subtree and paged searches too', async () => {
    const groups = await read(directory, GROUPS, {
      scope: 'one',
      filter: '(objectClass=groupOfNames)',
      attributes: ['member'],
      paged: { pageSize: 1 },
    });
    const byDn = new Map(groups.map((entry) => [entry.dn, entry]));
    expect(memberKeys(byDn.get(BIG))).toEqual(['member', 'member;range=0-1499']);
    expect(memberKeys(byDn.get(SMALL))).toEqual(['member']);
    expect(byDn.get(SMALL)?.member).toEqual(ALL_MEMBERS.slice(0, 3));
  });

  it('answers operationsError (1) for a range past the last link value, unless the NOERR control is sent', async () => {
    const ldap = new Client({ url: directory.url, timeout: 10000, connectTimeout: 5000 });
    try {
      const at = (dn: string, attribute: string, controls?: Control[]): Promise<unknown> =>
        ldap.search(dn, { scope: 'base', attributes: [attribute] }, controls);
      // MS-ADTS 3.1.1.3.4.1.22: "member;range=500-*" on 500 values is operationsError.
      expect(await resultCode(at(BIG, `member;range=${MEMBERS}-*`))).toBe(1);
      expect(await resultCode(at(BIG, 'member;range=9000-9999'))).toBe(1);
      expect(await resultCode(at(EMPTY, 'member;range=0-*'))).toBe(1);
      expect(await resultCode(at(userDn(5), 'memberOf;range=2-*'))).toBe(1);
      // The same in a subtree search: the search ends there.
      expect(
        await resultCode(
          ldap.search(GROUPS, { filter: '(objectClass=groupOfNames)', attributes: ['member;range=3-*'] }),
        ),
      ).toBe(1);

      const noerr = [new Control(RANGE_NOERR)];
      const [past] = (await ldap.search(BIG, { scope: 'base', attributes: [`member;range=${MEMBERS}-*`] }, noerr))
        .searchEntries;
      expect(past).toEqual({ dn: BIG, [`member;range=${MEMBERS}-*`]: [] });

      // Not a linked attribute: no values, no error.
      const [description] = (await ldap.search(BIG, { scope: 'base', attributes: ['description;range=1-*'] }))
        .searchEntries;
      expect(description).toEqual({ dn: BIG, 'description;range=1-*': [] });
    } finally {
      await ldap.unbind().catch(() => undefined);
    }
  });

  it('ranges memberOf as well', async () => {
    const small = await seed({ maxValRange: 2 });
    try {
      for (const group of ['a', 'b', 'c']) {
        small.addEntry(`cn=${group},${GROUPS}`, { objectClass: 'groupOfNames', member: userDn(7) });
      }
      // u0007 is in everyone, a, b and c.
      const [user] = await read(small, userDn(7), { attributes: ['memberOf'] });
      expect(user?.['memberOf;range=0-1']).toEqual([BIG, `cn=a,${GROUPS}`]);
      const [rest] = await read(small, userDn(7), { attributes: ['memberOf;range=2-*'] });
      expect(list(rest?.['memberOf;range=2-*'])).toEqual([`cn=b,${GROUPS}`, `cn=c,${GROUPS}`]);
    } finally {
      await small.stop();
    }
  });

  it('advertises range retrieval in the root DSE, as AD does', async () => {
    const [root] = await read(directory, '', { attributes: ['supportedControl'] });
    expect(list(root?.supportedControl)).toEqual(
      expect.arrayContaining(['1.2.840.113556.1.4.319', '1.2.840.113556.1.4.802', RANGE_NOERR]),
    );
  });
});

describe('EmbeddedDirectory range requests without MaxValRange', () => {
  let directory: EmbeddedDirectory;

  beforeAll(async () => {
    directory = await seed();
  });
  afterAll(async () => {
    await directory.stop();
  });

  it('returns every value under the plain name, and honours an explicit range', async () => {
    const [plain] = await read(directory, BIG, { attributes: ['member'] });
    expect(memberKeys(plain)).toEqual(['member']);
    expect(plain?.member).toEqual(ALL_MEMBERS);

    const [all] = await read(directory, BIG, { attributes: ['member;range=0-*'] });
    expect(memberKeys(all)).toEqual(['member;range=0-*']);
    expect(all?.['member;range=0-*']).toEqual(ALL_MEMBERS);

    // Named with the directory's spelling. (ldapjs 3 only parses the option in lower case: a
    // client sending `;Range=` has its connection dropped.)
    const [window] = await read(directory, BIG, { attributes: ['MEMBER;range=10-19'] });
    expect(memberKeys(window)).toEqual(['member;range=10-19']);
    expect(window?.['member;range=10-19']).toEqual(ALL_MEMBERS.slice(10, 20));
  });

  it('selects nothing for a malformed range', async () => {
    const [entry] = await read(directory, BIG, { attributes: ['member;range=5-3', 'cn'] });
    expect(memberKeys(entry)).toEqual(['member;range=5-3']);
    expect(entry?.['member;range=5-3']).toEqual([]);
  });

  it('rejects an invalid maxValRange', async () => {
    await expect(EmbeddedDirectory.start({ maxValRange: 0 })).rejects.toThrow(/maxValRange/);
  });
});
