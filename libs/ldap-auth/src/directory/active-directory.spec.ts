import { describe, expect, it } from '@jest/globals';
import type { Entry } from '../model/directory-user.js';
import { BrokenRangeError, rangedValueChunks, userEntriesFilter } from './active-directory.js';
import { serverInfoFromRootDse } from './server-info.js';

const AD = serverInfoFromRootDse({ dn: '', supportedCapabilities: ['1.2.840.113556.1.4.800'] });
const OPENLDAP = serverInfoFromRootDse(undefined);
const DN = 'CN=Staff,DC=example,DC=test';

/** Reads every chunk, and records which ranges were asked for. */
async function readAll(first: Entry, pages: Record<number, Entry | undefined>, stopAfter = Infinity) {
  const asked: number[] = [];
  const chunks: string[][] = [];
  for await (const values of rangedValueChunks(first, 'member', (from) => {
    asked.push(from);
    return Promise.resolve(pages[from]);
  })) {
    chunks.push(values);
    if (chunks.length >= stopAfter) break;
  }
  return { asked, chunks };
}

describe('rangedValueChunks', () => {
  it('gives a plain attribute as one chunk and reads nothing more', async () => {
    const { asked, chunks } = await readAll({ dn: DN, member: ['a', 'b'] }, {});
    expect(chunks).toEqual([['a', 'b']]);
    expect(asked).toEqual([]);
  });

  it('follows ranges until the last one, whose end is *', async () => {
    const { asked, chunks } = await readAll({ dn: DN, 'member;range=0-1': ['a', 'b'] }, [
      undefined,
      undefined,
      { dn: DN, 'member;range=2-3': ['c', 'd'] },
      undefined,
      { dn: DN, 'member;range=4-*': ['e'] },
    ]);
    expect(chunks).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(asked).toEqual([2, 4]);
  });

  it('refuses a range that does not continue where the last ended', async () => {
    const read = readAll({ dn: DN, 'member;range=0-1': ['a', 'b'] }, [
      undefined,
      undefined,
      { dn: DN, 'member;range=3-*': ['d'] },
    ]);
    await expect(read).rejects.toThrow(BrokenRangeError);
    await expect(read).rejects.toMatchObject({ attribute: 'member', from: 2 });
  });

  it('reads no further once the caller stops', async () => {
    const { asked } = await readAll({ dn: DN, 'member;range=0-1': ['a', 'b'] }, {}, 1);
    expect(asked).toEqual([]);
  });
});

describe('userEntriesFilter', () => {
  it('adds objectCategory=person on AD when the class is user, as computers are users there too', () => {
    expect(userEntriesFilter('user', AD).toString()).toBe('(&(objectClass=user)(objectCategory=person))');
    expect(userEntriesFilter('user', OPENLDAP).toString()).toBe('(objectClass=user)');
    expect(userEntriesFilter('inetOrgPerson', AD).toString()).toBe('(objectClass=inetOrgPerson)');
  });
});
