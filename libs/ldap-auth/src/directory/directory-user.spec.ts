import { describe, expect, it } from '@jest/globals';
import { InvalidCredentialsError as LdapInvalidCredentials, UnwillingToPerformError } from 'ldapts';
import { guidToString, toDirectoryUser } from './directory-user.js';
import { describeBindFailure } from './bind-failure.js';

const FIELDS = { username: 'uid', email: 'mail', firstName: 'givenName', lastName: 'sn' };

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
    );
    expect(user).toMatchObject({
      uuid: '01010101-0101-0101-0101-010101010101',
      isActiveDirectory: true,
      memberOf: ['CN=g1', 'CN=g2'],
    });
    expect(user?.email).toBeNull();
  });

  it('matches attribute names case-insensitively', () => {
    expect(toDirectoryUser({ dn: 'x', UID: 'a', entryuuid: 'u' }, FIELDS)?.username).toBe('a');
  });

  it('gives nothing for an entry without a stable id or a username', () => {
    expect(toDirectoryUser({ dn: 'x', uid: 'a' }, FIELDS)).toBeUndefined();
    expect(toDirectoryUser({ dn: 'x', entryUUID: 'u' }, FIELDS)).toBeUndefined();
  });
});

describe('describeBindFailure', () => {
  it.each([
    ['52e', 'wrong password (AD data 52e)'],
    ['533', 'account disabled (AD data 533)'],
    ['775', 'account locked (AD data 775)'],
    ['532', 'password expired (AD data 532)'],
    ['773', 'password must be changed (AD data 773)'],
  ])('reads AD sub-code %s', (code, text) => {
    const error = new LdapInvalidCredentials(
      `80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data ${code}, v4563`,
    );
    expect(describeBindFailure(error)).toBe(text);
  });

  it('says "wrong username or password" for OpenLDAP, and names an unwilling server', () => {
    expect(describeBindFailure(new LdapInvalidCredentials('Invalid Credentials'))).toBe('wrong username or password');
    expect(
      describeBindFailure(new UnwillingToPerformError('unauthenticated bind (DN with no password) disallowed')),
    ).toMatch(/unwilling/);
  });
});
