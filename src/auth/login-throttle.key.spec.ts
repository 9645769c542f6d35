import { describe, expect, it } from '@jest/globals';
import {
  ActiveDirectoryUsernameFormatter,
  InvalidCredentialsError,
  OpenLdapUsernameFormatter,
  resolveLdapAuthOptions,
} from '@nest-ldap-auth/ldap-auth';
import {
  accountKeyOf,
  clientKeyOf,
  foldUsername,
  loginThrottleKey,
  MAX_ACCOUNT_KEY_LENGTH,
} from './login-throttle.key.js';

const server = { url: 'ldap://127.0.0.1:389', searchBase: 'CN=Users,DC=example,DC=test' };
const ad = new ActiveDirectoryUsernameFormatter(
  resolveLdapAuthOptions({ server, usernameFormat: 'active_directory', activeDirectoryDomain: 'EXAMPLE' }),
);
const openldap = new OpenLdapUsernameFormatter(resolveLdapAuthOptions({ server }));
const adLookup = (name: string) => ad.toLookupName(name);
const plain = (name: string) => openldap.toLookupName(name);

describe('clientKeyOf', () => {
  it('keeps an IPv4 address as it is', () => {
    expect(clientKeyOf('192.0.2.7')).toBe('192.0.2.7');
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(clientKeyOf('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKeyOf('::FFFF:c000:0207')).toBe('192.0.2.7');
    expect(clientKeyOf('0:0:0:0:0:ffff:192.0.2.7')).toBe('192.0.2.7');
  });

  it('groups IPv6 addresses by /64', () => {
    const a = clientKeyOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    expect(a).toBe('2001:db8:1:2::/64');
    expect(clientKeyOf('2001:db8:1:2::1')).toBe(a);
    expect(clientKeyOf('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff')).toBe(a);
    expect(clientKeyOf('2001:db8:1:3::1')).not.toBe(a);
    expect(clientKeyOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKeyOf('::1')).toBe('0:0:0:0::/64');
    expect(clientKeyOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKeyOf('2001:db8:1:2::192.0.2.7')).toBe(a);
  });

  it('never puts | in the client part, and keeps junk short', () => {
    expect(clientKeyOf(undefined)).toBe('unknown');
    const junk = clientKeyOf(`x|${'y'.repeat(10_000)}`);
    expect(junk).not.toContain('|');
    expect(junk.length).toBeLessThan(40);
  });
});

describe('accountKeyOf', () => {
  it('gives every spelling of one AD account one bucket', () => {
    const spellings = [
      'alice',
      ' ALICE ',
      'Alice',
      'ａｌｉｃｅ', // full-width
      'ＡＬＩＣＥ',
      'EXAMPLE\\alice',
      'example\\ALICE',
      'alice@example.test',
      'ALICE@EXAMPLE.TEST',
      'ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｔｅｓｔ',
      'al\u00adice', // soft hyphen
      'al\u200bice', // zero-width space
    ];
    for (const spelling of spellings) expect([spelling, accountKeyOf(spelling, adLookup)]).toEqual([spelling, 'alice']);
  });

  it('folds case and width on OpenLDAP too, where the formatter keeps the name as typed', () => {
    expect(accountKeyOf(' ＢＯＢ ', plain)).toBe('bob');
    expect(accountKeyOf('Straße', plain)).toBe(accountKeyOf('STRASSE', plain));
    expect(accountKeyOf('a  b', plain)).toBe(accountKeyOf('a b', plain));
  });

  it('still counts a name the formatter refuses, under a short digest', () => {
    const key = accountKeyOf('alice@example.evil.com', adLookup);
    expect(key).toMatch(/^!/);
    expect(key.length).toBeLessThanOrEqual(23);
    expect(accountKeyOf('ALICE@EXAMPLE.EVIL.COM', adLookup)).toBe(key);
    expect(key).not.toBe(accountKeyOf('bob@example.evil.com', adLookup));
    expect(() => adLookup('alice@example.evil.com')).toThrow(InvalidCredentialsError);
  });

  it('keeps keys short whatever the length of the name', () => {
    const huge = 'a'.repeat(100 * 1024);
    const key = accountKeyOf(huge, plain);
    expect(key.length).toBeLessThanOrEqual(MAX_ACCOUNT_KEY_LENGTH);
    expect(accountKeyOf(huge, plain)).toBe(key);
    expect(accountKeyOf(`${huge}b`, plain)).not.toBe(key);
    expect(accountKeyOf('b'.repeat(200), plain).length).toBeLessThanOrEqual(MAX_ACCOUNT_KEY_LENGTH);
    expect(accountKeyOf('b'.repeat(200), plain)).toBe(accountKeyOf('B'.repeat(200), plain));
  });

  it('does not let padding around a real name make a new bucket', () => {
    expect(accountKeyOf(`${' '.repeat(5000)}alice${'\t'.repeat(5000)}`, plain)).toBe('alice');
  });

  it('puts anything that is not a string in one bucket', () => {
    expect(accountKeyOf(undefined, plain)).toBe('');
    expect(accountKeyOf(['alice'], plain)).toBe('');
  });
});

describe('loginThrottleKey', () => {
  it('joins the client and the account', () => {
    expect(loginThrottleKey('::ffff:10.0.0.1', 'EXAMPLE\\Alice', adLookup)).toBe('10.0.0.1|alice');
    expect(loginThrottleKey('2001:db8::5', 'bob', plain)).toBe('2001:db8:0:0::/64|bob');
  });

  it('folds the same way foldUsername does', () => {
    expect(foldUsername('  Ａlice\u00ad ')).toBe('alice');
  });
});
