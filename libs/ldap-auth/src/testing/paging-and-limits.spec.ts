import { describe, expect, it } from '@jest/globals';
import { Client, type SearchOptions } from 'ldapts';

import { EmbeddedDirectory, type EmbeddedDirectoryOptions } from './embedded-directory.js';

const BASE = 'dc=example,dc=com';
const PEOPLE = `ou=people,${BASE}`;
const userDn = (i: number): string => `uid=u${String(i).padStart(4, '0')},${PEOPLE}`;
const people: SearchOptions = { scope: 'sub', filter: '(objectClass=person)', attributes: ['1.1'] };

async function withDirectory(
  users: number,
  options: EmbeddedDirectoryOptions,
  test: (directory: EmbeddedDirectory, ldap: Client) => Promise<void>,
): Promise<void> {
  const directory = await EmbeddedDirectory.start({
    ldif: [`dn: ${BASE}`, 'objectClass: domain', '', `dn: ${PEOPLE}`, 'objectClass: organizationalUnit', ''].join('\n'),
    ...options,
  });
  for (let i = 0; i < users; i += 1) directory.addEntry(userDn(i), { objectClass: 'person', cn: `u${i}`, sn: 'u' });
  const ldap = new Client({ url: directory.url, timeout: 10000, connectTimeout: 5000 });
  try {
    await test(directory, ldap);
  } finally {
    await ldap.unbind().catch(() => undefined);
    await directory.stop();
  }
}

/** The pages of a paged search as DN lists, and the result code it ended with (0: success). */
async function pages(ldap: Client, pageSize: number): Promise<{ pages: string[][]; code: number | undefined }> {
  const seen: string[][] = [];
  try {
    for await (const page of ldap.searchPaginated(PEOPLE, { ...people, paged: { pageSize } })) {
      seen.push(page.searchEntries.map((entry) => entry.dn));
    }
    return { pages: seen, code: 0 };
  } catch (error) {
    return { pages: seen, code: (error as { code?: number }).code };
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

describe('EmbeddedDirectory page cap (AD MaxPageSize)', () => {
  it('gives a client asking for 5,000 per page at most 1,000, with cookies, and every entry exactly once', async () => {
    await withDirectory(2500, { maxPageSize: 1000 }, async (_directory, ldap) => {
      const { pages: seen, code } = await pages(ldap, 5000);
      expect(code).toBe(0);
      // ldapts asks for the next page only when the previous one carried a cookie.
      expect(seen.map((page) => page.length)).toEqual([1000, 1000, 500]);
      const all = seen.flat();
      expect(new Set(all).size).toBe(2500);
      expect(all.sort()).toEqual(Array.from({ length: 2500 }, (_, i) => userDn(i)));
    });
  });

  it('fails a search without paging past MaxPageSize with sizeLimitExceeded (4), as AD does', async () => {
    await withDirectory(1200, { maxPageSize: 1000 }, async (_directory, ldap) => {
      expect(await resultCode(ldap.search(PEOPLE, people))).toBe(4);
      // u1, u10-u19, u100-u199, u1000-u1199: under the cap.
      expect((await ldap.search(PEOPLE, { ...people, filter: '(cn=u1*)' })).searchEntries).toHaveLength(311);
      // The client's own limit below the cap: ldapts keeps the partial result.
      expect((await ldap.search(PEOPLE, { ...people, sizeLimit: 10 })).searchEntries).toHaveLength(10);
    });
  });
});

describe('EmbeddedDirectory total size limit on paged searches (slapd size.prtotal)', () => {
  it('fails the page that crosses the limit with sizeLimitExceeded (4), after earlier pages succeeded', async () => {
    await withDirectory(12, { pagedSizeLimit: 5 }, async (_directory, ldap) => {
      const { pages: seen, code } = await pages(ldap, 2);
      expect(code).toBe(4);
      // Pages 1 and 2 arrived; page 3 held the 5th entry, then the error (ldapts drops that page).
      expect(seen).toEqual([
        [userDn(0), userDn(1)],
        [userDn(2), userDn(3)],
      ]);
      // With a client-side sizeLimit ldapts keeps what it read and swallows the error: that shows the
      // 5th entry, and the trap a reader must avoid (a list cut short with no error).
      const cut = await ldap.search(PEOPLE, { ...people, paged: { pageSize: 2 }, sizeLimit: 1000 });
      expect(cut.searchEntries.map((entry) => entry.dn)).toEqual([0, 1, 2, 3, 4].map(userDn));
    });
  });

  it('fails the next page when the limit falls on a page boundary', async () => {
    await withDirectory(6, { pagedSizeLimit: 5 }, async (_directory, ldap) => {
      const { pages: seen, code } = await pages(ldap, 5);
      expect(code).toBe(4);
      expect(seen).toEqual([[userDn(0), userDn(1), userDn(2), userDn(3), userDn(4)]]);
    });
  });

  it('lets a paged search of exactly the limit through, and leaves unpaged searches to sizeLimit', async () => {
    await withDirectory(5, { pagedSizeLimit: 5 }, async (_directory, ldap) => {
      const { pages: seen, code } = await pages(ldap, 2);
      expect(code).toBe(0);
      expect(seen.map((page) => page.length)).toEqual([2, 2, 1]);
    });
    await withDirectory(12, { pagedSizeLimit: 5 }, async (_directory, ldap) => {
      expect((await ldap.search(PEOPLE, people)).searchEntries).toHaveLength(12);
    });
  });

  it('applies to each paged search on its own, and to a whole search in one page too', async () => {
    await withDirectory(12, { pagedSizeLimit: 5 }, async (_directory, ldap) => {
      expect((await pages(ldap, 2)).code).toBe(4);
      expect((await pages(ldap, 100)).code).toBe(4);
      expect(await resultCode(ldap.search(PEOPLE, { ...people, filter: '(|(cn=u1)(cn=u2))', paged: true }))).toBe(0);
    });
  });

  it('rejects an invalid pagedSizeLimit', async () => {
    await expect(EmbeddedDirectory.start({ pagedSizeLimit: -1 })).rejects.toThrow(/pagedSizeLimit/);
  });
});
