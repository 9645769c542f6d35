import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Client, Control, type SearchOptions } from 'ldapts';

import { EmbeddedDirectory } from './embedded-directory.js';

const BASE = 'dc=example,dc=com';
const PEOPLE = `ou=people,${BASE}`;
const GROUPS = `ou=groups,${BASE}`;
const userDn = (i: number): string => `uid=u${i},${PEOPLE}`;
const people: SearchOptions = { scope: 'sub', filter: '(objectClass=person)', attributes: ['1.1'] };
const OTHER = 'ldap://other.example/DC=other,DC=example,DC=com';
/** AD's LDAP_SERVER_DOMAIN_SCOPE_OID. */
const DOMAIN_SCOPE = '1.2.840.113556.1.4.1339';

let directory: EmbeddedDirectory;
let ldap: Client;

beforeEach(async () => {
  directory = await EmbeddedDirectory.start({
    ldif: [`dn: ${BASE}`, 'objectClass: domain', '', `dn: ${PEOPLE}`, 'objectClass: organizationalUnit', ''].join('\n'),
  });
  directory.addEntry(GROUPS, { objectClass: 'organizationalUnit' });
  for (let i = 0; i < 7; i += 1) directory.addEntry(userDn(i), { objectClass: 'person', cn: `u${i}`, sn: 'u' });
  directory.addEntry(`cn=g,${GROUPS}`, { objectClass: 'groupOfNames', member: [userDn(0), userDn(1), userDn(2)] });
  ldap = new Client({ url: directory.url, timeout: 5000, connectTimeout: 5000 });
});
afterEach(async () => {
  await ldap.unbind().catch(() => undefined);
  await directory.stop();
});

/** The pages a paged search delivered (DN lists), and how it ended. */
async function pages(
  client: Client,
  base = PEOPLE,
  options: SearchOptions = people,
): Promise<{ pages: string[][]; code: number | undefined; error?: Error }> {
  const seen: string[][] = [];
  try {
    for await (const page of client.searchPaginated(base, { ...options, paged: { pageSize: 2 } })) {
      seen.push(page.searchEntries.map((entry) => entry.dn));
    }
    return { pages: seen, code: 0 };
  } catch (error) {
    return { pages: seen, code: (error as { code?: number }).code, error: error as Error };
  }
}

describe('EmbeddedDirectory.failPagedSearch', () => {
  it.each([
    [3, 'timeLimitExceeded'],
    [11, 'adminLimitExceeded'],
    [51, 'busy'],
  ])('fails page 3 with result code %i (%s) after pages 1 and 2 succeeded', async (resultCode) => {
    directory.failPagedSearch({ page: 3, resultCode });
    const { pages: seen, code, error } = await pages(ldap);
    expect(code).toBe(resultCode);
    expect(error?.message).toMatch(/injected fault: page 3/);
    expect(seen).toEqual([
      [userDn(0), userDn(1)],
      [userDn(2), userDn(3)],
    ]);
  });

  it('fails the first page, with the message given', async () => {
    directory.failPagedSearch({ page: 1, resultCode: 51, message: 'the DSA is busy' });
    const { pages: seen, code, error } = await pages(ldap);
    expect([code, seen]).toEqual([51, []]);
    expect(error?.message).toMatch(/the DSA is busy/);
  });

  it('hits only the next paged search, one fault per search, first armed first', async () => {
    directory.failPagedSearch({ page: 2, resultCode: 3 });
    directory.failPagedSearch({ page: 1, resultCode: 11 });
    // An unpaged search takes no fault.
    expect((await ldap.search(PEOPLE, people)).searchEntries).toHaveLength(7);
    expect((await pages(ldap)).code).toBe(3);
    expect((await pages(ldap)).code).toBe(11);
    const clean = await pages(ldap);
    expect([clean.code, clean.pages.flat().length]).toEqual([0, 7]);
  });

  it('waits for a paged search under its base, if one is given', async () => {
    directory.failPagedSearch({ page: 1, resultCode: 51, base: GROUPS });
    expect((await pages(ldap)).code).toBe(0);
    expect((await pages(ldap, BASE)).code).toBe(0); // the base is above GROUPS, not under it
    expect((await pages(ldap, `cn=g,${GROUPS}`, { scope: 'base' })).code).toBe(51);
  });

  it('is dropped by a search that ends before its page, and disarmed by clearFaults', async () => {
    directory.failPagedSearch({ page: 9, resultCode: 51 });
    expect((await pages(ldap)).code).toBe(0);
    expect((await pages(ldap)).code).toBe(0);
    directory.failPagedSearch({ page: 1, resultCode: 51 });
    directory.clearFaults();
    expect((await pages(ldap)).code).toBe(0);
  });

  it('rejects faults that cannot happen', () => {
    expect(() => directory.failPagedSearch({ page: 0, resultCode: 51 })).toThrow(/page/);
    expect(() => directory.failPagedSearch({ page: 1, resultCode: 0 })).toThrow(/resultCode/);
    expect(() => directory.failPagedSearch({ page: 1, resultCode: 51, base: 'not a dn' })).toThrow(/invalid DN/);
  });
});

describe('EmbeddedDirectory.dropConnectionDuringPagedSearch', () => {
  it('closes the connection when the client asks for the page after page N, with no LDAP answer', async () => {
    directory.dropConnectionDuringPagedSearch({ afterPage: 2 });
    const { pages: seen, code, error } = await pages(ldap);
    expect(seen).toEqual([
      [userDn(0), userDn(1)],
      [userDn(2), userDn(3)],
    ]);
    expect(code).toBeUndefined(); // not an LDAP result: the socket closed
    expect(error?.message).toMatch(/Connection closed/);

    // The server itself lives on.
    const other = new Client({ url: directory.url, timeout: 5000, connectTimeout: 5000 });
    try {
      expect((await other.search(PEOPLE, people)).searchEntries).toHaveLength(7);
    } finally {
      await other.unbind().catch(() => undefined);
    }
  });

  it('drops it at the first request for afterPage 0, and only for a search under its base', async () => {
    directory.dropConnectionDuringPagedSearch({ afterPage: 0, base: PEOPLE });
    expect((await pages(ldap, GROUPS)).code).toBe(0);
    const { pages: seen, error } = await pages(ldap);
    expect(seen).toEqual([]);
    expect(error?.message).toMatch(/Connection closed/);
  });

  it('rejects a negative page count', () => {
    expect(() => directory.dropConnectionDuringPagedSearch({ afterPage: -1 })).toThrow(/afterPage/);
  });
});

describe('EmbeddedDirectory continuation references', () => {
  const REFERENCE = `DC=other,${BASE}`;

  it('returns the reference after the entries of one-level and subtree searches whose scope holds it', async () => {
    directory.addContinuationReference(REFERENCE, OTHER);
    const sub = await ldap.search(BASE, people);
    expect(sub.searchEntries).toHaveLength(7);
    expect(sub.searchReferences).toEqual([OTHER]);
    expect((await ldap.search(BASE, { scope: 'one' })).searchReferences).toEqual([OTHER]);

    expect((await ldap.search(BASE, { scope: 'base' })).searchReferences).toEqual([]);
    expect((await ldap.search(PEOPLE, people)).searchReferences).toEqual([]);
  });

  it('returns it on the last page of a paged search, and never with the domain scope control', async () => {
    directory.addContinuationReference(REFERENCE, [OTHER, 'ldaps://dc2.other.example/DC=other,DC=example,DC=com']);
    const references: string[][] = [];
    for await (const page of ldap.searchPaginated(BASE, { ...people, paged: { pageSize: 3 } })) {
      references.push(page.searchReferences);
    }
    expect(references).toEqual([[], [], [OTHER, 'ldaps://dc2.other.example/DC=other,DC=example,DC=com']]);

    const scoped = await ldap.search(BASE, people, [new Control(DOMAIN_SCOPE, { critical: true })]);
    expect([scoped.searchEntries.length, scoped.searchReferences]).toEqual([7, []]);
  });

  it('can be removed, and must be an LDAP URL below the base DN', async () => {
    directory.addContinuationReference(REFERENCE, OTHER);
    directory.removeContinuationReference('dc=OTHER,dc=example,dc=com');
    expect((await ldap.search(BASE, people)).searchReferences).toEqual([]);

    expect(() => directory.addContinuationReference(BASE, OTHER)).toThrow(/below the base DN/);
    expect(() => directory.addContinuationReference('dc=elsewhere', OTHER)).toThrow(/below the base DN/);
    expect(() => directory.addContinuationReference(REFERENCE, 'http://other.example/')).toThrow(/ldap:\/\//);
    expect(() => directory.addContinuationReference(REFERENCE, [])).toThrow(/ldap:\/\//);
    expect(() => directory.removeContinuationReference(REFERENCE)).toThrow(/no continuation reference/);
  });
});
