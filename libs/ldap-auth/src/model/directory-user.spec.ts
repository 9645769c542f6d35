import { describe, expect, it } from '@jest/globals';
import { guidToString, toDirectoryUser } from './directory-user.js';

const FIELDS = { username: 'uid', email: 'mail', firstName: 'givenName', lastName: 'sn' };
const OPENLDAP = { activeDirectory: false };
const AD = { activeDirectory: true };

describe('guidToString', () => {
  it('writes objectGUID bytes the way AD shows them (first three fields little-endian)', () => {
    const bytes = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    expect(guidToString(bytes)).toBe('33221100-5544-7766-8899-aabbccddeeff');
  });

  it('refuses a value that is not 16 bytes', () => {
    expect(() => guidToString(Buffer.alloc(15))).toThrow(/15 bytes/);
  });
});

describe('toDirectoryUser', () => {
  it('keys an OpenLDAP entry by entryUUID, lower-cased, and maps the fields', () => {
    const user = toDirectoryUser(
      {
        dn: 'uid=zoe,ou=people',
        uid: 'zoe',
        mail: 'z@x',
        givenName: 'Zoë',
        sn: ['Ø', 'second'],
        entryUUID: 'ABC-1',
        objectGUID: [],
      },
      FIELDS,
      OPENLDAP,
    );
    expect(user).toMatchObject({
      uuid: 'abc-1',
      username: 'zoe',
      email: 'z@x',
      firstName: 'Zoë',
      lastName: 'Ø',
      isActiveDirectory: false,
    });
  });

  it('keys an AD entry by objectGUID and knows it is AD', () => {
    const user = toDirectoryUser(
      { dn: 'CN=a', sAMAccountName: 'a', objectGUID: Buffer.alloc(16, 1), memberOf: ['CN=g1', 'CN=g2'] },
      { username: 'sAMAccountName' },
      AD,
    );
    expect(user).toMatchObject({
      uuid: '01010101-0101-0101-0101-010101010101',
      isActiveDirectory: true,
      memberOf: ['CN=g1', 'CN=g2'],
    });
    expect(user?.email).toBeNull();
  });

  it('matches attribute names case-insensitively', () => {
    expect(toDirectoryUser({ dn: 'x', UID: 'a', entryuuid: 'u' }, FIELDS, OPENLDAP)?.username).toBe('a');
  });

  it('gives nothing for an entry without a stable id or a username', () => {
    expect(toDirectoryUser({ dn: 'x', uid: 'a' }, FIELDS, OPENLDAP)).toBeUndefined();
    expect(toDirectoryUser({ dn: 'x', entryUUID: 'u' }, FIELDS, OPENLDAP)).toBeUndefined();
  });

  it('takes the stable id the kind of server guarantees, never one the entry merely carries', () => {
    // A schema that lets users write an objectGUID must not let them claim an AD-looking id on OpenLDAP.
    const entry = { dn: 'uid=m', uid: 'm', entryUUID: 'REAL-UUID', objectGUID: Buffer.alloc(16, 7) };
    expect(toDirectoryUser(entry, FIELDS, OPENLDAP)).toMatchObject({ uuid: 'real-uuid', isActiveDirectory: false });
    // On AD an entry without an objectGUID has no identity, whatever entryUUID it shows.
    expect(toDirectoryUser({ dn: 'CN=a', uid: 'a', entryUUID: 'x' }, FIELDS, AD)).toBeUndefined();
  });

  it('keeps the value of a multi-valued username that matched the login, not the first one', () => {
    const entry = { dn: 'uid=al', uid: ['al', 'Alice', 'alice.archer'], entryUUID: 'u' };
    expect(toDirectoryUser(entry, FIELDS, { ...OPENLDAP, lookupName: 'alice.archer' })?.username).toBe('alice.archer');
    expect(toDirectoryUser(entry, FIELDS, { ...OPENLDAP, lookupName: ' ALICE ' })?.username).toBe('Alice');
    // Full-width letters are the same name to the directory.
    expect(toDirectoryUser(entry, FIELDS, { ...OPENLDAP, lookupName: 'ａｌ' })?.username).toBe('al');
    // No value matched (a custom filter found the entry by mail): the first value.
    expect(toDirectoryUser(entry, FIELDS, { ...OPENLDAP, lookupName: 'al@example.com' })?.username).toBe('al');
  });
});
