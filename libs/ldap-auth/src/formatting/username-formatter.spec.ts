import { describe, expect, it } from '@jest/globals';
import { resolveLdapAuthOptions } from '../config/resolve-options.js';
import type { LdapAuthModuleOptions } from '../interfaces/ldap-auth-options.interface.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';
import { OpenLdapUsernameFormatter } from './openldap-username.formatter.js';
import {
  ActiveDirectoryPrincipalUsernameFormatter,
  ActiveDirectoryUsernameFormatter,
  dnsDomainOfDn,
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
  // As in AD: users under CN=Users of the domain whose DNS name is example.test.
  const adBase = { url: 'ldap://127.0.0.1:389', searchBase: 'CN=Users,DC=example,DC=test' };
  const formatter = new ActiveDirectoryUsernameFormatter(options({ activeDirectoryDomain: 'EXAMPLE', server: adBase }));

  it('binds as DOMAIN\\name', () => {
    expect(formatter.toBindName(formatter.toLookupName('alice'))).toBe('EXAMPLE\\alice');
  });

  it('accepts what users type: DOMAIN\\name and name@dns.domain of the same domain', () => {
    expect(formatter.toLookupName('EXAMPLE\\alice')).toBe('alice');
    expect(formatter.toLookupName('example\\alice')).toBe('alice');
    expect(formatter.toLookupName('alice@example.test')).toBe('alice');
    expect(formatter.toLookupName('alice@EXAMPLE.TEST')).toBe('alice');
    expect(formatter.toLookupName('alice@EXAMPLE')).toBe('alice');
  });

  it('refuses another domain before any bind', () => {
    expect(() => formatter.toLookupName('OTHER\\alice')).toThrow(InvalidCredentialsError);
    expect(() => formatter.toLookupName('alice@other.test')).toThrow(InvalidCredentialsError);
  });

  it('refuses a DNS domain that merely starts with the NetBIOS name', () => {
    expect(() => formatter.toLookupName('alice@example.evil.com')).toThrow(InvalidCredentialsError);
    expect(() => formatter.toLookupName('example.evil.com\\alice')).toThrow(InvalidCredentialsError);
    expect(() => formatter.toLookupName('alice@example.test.evil.com')).toThrow(InvalidCredentialsError);
    expect(() => formatter.toLookupName('alice@example')).not.toThrow();
  });

  it('refuses every name@dns.domain when the search base names no DNS domain', () => {
    const f = new ActiveDirectoryUsernameFormatter(
      options({ activeDirectoryDomain: 'EXAMPLE', server: { ...adBase, searchBase: 'o=example' } }),
    );
    expect(() => f.toLookupName('alice@example.test')).toThrow(InvalidCredentialsError);
    expect(() => f.toLookupName('alice@example.evil.com')).toThrow(InvalidCredentialsError);
    expect(f.toLookupName('EXAMPLE\\alice')).toBe('alice');
    expect(f.toLookupName('alice@example')).toBe('alice');
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
  it('with a DNS name configured, accepts it and its first label as the NetBIOS name', () => {
    expect(sameDomain('example.test', 'example.test')).toBe(true);
    expect(sameDomain('EXAMPLE.TEST', 'example.test')).toBe(true);
    expect(sameDomain('EXAMPLE', 'example.test')).toBe(true);
    expect(sameDomain('EXAMPLE2', 'example.test')).toBe(false);
    expect(sameDomain('example.evil.com', 'example.test')).toBe(false);
    expect(sameDomain('test', 'example.test')).toBe(false);
  });

  it('with a NetBIOS name configured, accepts a DNS name only when it is the known one', () => {
    expect(sameDomain('example', 'EXAMPLE')).toBe(true);
    expect(sameDomain('example.test', 'EXAMPLE')).toBe(false);
    expect(sameDomain('example.test', 'EXAMPLE', 'example.test')).toBe(true);
    expect(sameDomain('Example.Test', 'EXAMPLE', 'example.test')).toBe(true);
    expect(sameDomain('example.evil.com', 'EXAMPLE')).toBe(false);
    expect(sameDomain('example.evil.com', 'EXAMPLE', 'example.test')).toBe(false);
    expect(sameDomain('example.test.evil.com', 'EXAMPLE', 'example.test')).toBe(false);
  });

  it('splits at the last @', () => {
    expect(stripActiveDirectoryDomain('a@b@example.test', 'EXAMPLE', 'example.test')).toBe('a@b');
    expect(() => stripActiveDirectoryDomain('a@b@example.test', 'EXAMPLE')).toThrow(InvalidCredentialsError);
  });

  it('reads the DNS name from the trailing DC components of a DN', () => {
    expect(dnsDomainOfDn('CN=Users,DC=example,DC=test')).toBe('example.test');
    expect(dnsDomainOfDn('ou=people, dc=Corp ,dc=Example,dc=com')).toBe('corp.example.com');
    expect(dnsDomainOfDn('DC=example,DC=test')).toBe('example.test');
    expect(dnsDomainOfDn('dc=a,ou=people,o=example')).toBeUndefined();
    expect(dnsDomainOfDn('o=example')).toBeUndefined();
    expect(dnsDomainOfDn('not a dn')).toBeUndefined();
  });
});
