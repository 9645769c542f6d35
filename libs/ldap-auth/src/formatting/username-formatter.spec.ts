import { describe, expect, it } from '@jest/globals';
import { resolveLdapAuthOptions } from '../config/resolve-options.js';
import type { LdapAuthModuleOptions } from '../interfaces/ldap-auth-options.interface.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';
import { OpenLdapUsernameFormatter } from './openldap-username.formatter.js';
import {
  ActiveDirectoryPrincipalUsernameFormatter,
  ActiveDirectoryUsernameFormatter,
  sameDomain,
  stripActiveDirectoryDomain,
} from './active-directory-username.formatter.js';

const options = (extra: Partial<LdapAuthModuleOptions> = {}) =>
  resolveLdapAuthOptions({
    server: { url: 'ldap://127.0.0.1:389', searchBase: 'ou=people,dc=example,dc=com' },
    ...extra,
  });

describe('OpenLdapUsernameFormatter', () => {
  const formatter = new OpenLdapUsernameFormatter(options());

  it('binds as uid=<name>,<search base>', () => {
    expect(formatter.toBindName(formatter.toLookupName('alice'))).toBe('uid=alice,ou=people,dc=example,dc=com');
  });

  it('escapes DN metacharacters in the name, so a name cannot add RDNs', () => {
    expect(formatter.toBindName('evil,ou=admins')).toBe('uid=evil\\,ou\\=admins,ou=people,dc=example,dc=com');
    expect(formatter.toBindName('a+cn=b')).toBe('uid=a\\+cn\\=b,ou=people,dc=example,dc=com');
  });

  it('takes the attribute from the username mapping', () => {
    const f = new OpenLdapUsernameFormatter(options({ userFields: { username: 'cn' } }));
    expect(f.toBindName('Alice Archer')).toBe('cn=Alice Archer,ou=people,dc=example,dc=com');
  });

  it('keeps @ and \\ in names as typed (they are legal in a uid)', () => {
    expect(formatter.toLookupName('alice@example.com')).toBe('alice@example.com');
    expect(formatter.toLookupName('EXAMPLE\\alice')).toBe('EXAMPLE\\alice');
  });
});

describe('ActiveDirectoryUsernameFormatter (DOMAIN\\name)', () => {
  const formatter = new ActiveDirectoryUsernameFormatter(options({ activeDirectoryDomain: 'EXAMPLE' }));

  it('binds as DOMAIN\\name', () => {
    expect(formatter.toBindName(formatter.toLookupName('alice'))).toBe('EXAMPLE\\alice');
  });

  it('accepts what users type: DOMAIN\\name and name@dns.domain of the same domain', () => {
    expect(formatter.toLookupName('EXAMPLE\\alice')).toBe('alice');
    expect(formatter.toLookupName('example\\alice')).toBe('alice');
    expect(formatter.toLookupName('alice@example.test')).toBe('alice');
  });

  it('refuses another domain before any bind', () => {
    expect(() => formatter.toLookupName('OTHER\\alice')).toThrow(InvalidCredentialsError);
    expect(() => formatter.toLookupName('alice@other.test')).toThrow(InvalidCredentialsError);
  });

  it('refuses an empty name after the domain', () => {
    expect(() => formatter.toLookupName('EXAMPLE\\')).toThrow(InvalidCredentialsError);
  });

  it('binds with the bare name when no domain is configured', () => {
    const f = new ActiveDirectoryUsernameFormatter(options());
    expect(f.toBindName(f.toLookupName('ANY\\bob'))).toBe('bob');
  });
});

describe('ActiveDirectoryPrincipalUsernameFormatter (name@domain)', () => {
  const formatter = new ActiveDirectoryPrincipalUsernameFormatter(options({ activeDirectoryDomain: 'example.test' }));

  it('binds as name@domain', () => {
    expect(formatter.toBindName(formatter.toLookupName('alice'))).toBe('alice@example.test');
    expect(formatter.toBindName(formatter.toLookupName('alice@EXAMPLE.TEST'))).toBe('alice@example.test');
    expect(formatter.toBindName(formatter.toLookupName('EXAMPLE\\alice'))).toBe('alice@example.test');
  });
});

describe('domain matching', () => {
  it('treats the NetBIOS name and the DNS name as one domain', () => {
    expect(sameDomain('EXAMPLE', 'example.test')).toBe(true);
    expect(sameDomain('example.test', 'EXAMPLE')).toBe(true);
    expect(sameDomain('EXAMPLE2', 'example.test')).toBe(false);
    expect(stripActiveDirectoryDomain('a@b@example.test', 'EXAMPLE')).toBe('a@b');
  });
});
