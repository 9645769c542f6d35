import { describe, expect, it } from '@jest/globals';
import {
  escapeDnValue,
  escapeFilterValue,
  firstRdnValue,
  looksLikeDn,
  normalizeDn,
  parentDn,
  parseDn,
  tryNormalizeDn,
} from './ldap-escape.js';

describe('escapeFilterValue (RFC 4515)', () => {
  it('escapes the filter metacharacters and NUL', () => {
    expect(escapeFilterValue('a*b(c)d\\e\0f')).toBe('a\\2ab\\28c\\29d\\5ce\\00f');
  });

  it('leaves ordinary and non-ASCII text alone', () => {
    expect(escapeFilterValue('Zoë Çelik-Ødegård @example.com')).toBe('Zoë Çelik-Ødegård @example.com');
  });

  it('turns a wildcard into a literal star, so "*" cannot match every entry', () => {
    expect(escapeFilterValue('*')).toBe('\\2a');
    expect(`(uid=${escapeFilterValue('*)(uid=*')})`).toBe('(uid=\\2a\\29\\28uid=\\2a)');
  });
});

describe('escapeDnValue (RFC 4514)', () => {
  it('escapes the DN special characters', () => {
    expect(escapeDnValue('a,b+c"d\\e<f>g;h=i')).toBe('a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i');
  });

  it('escapes a leading # or space and a trailing space', () => {
    expect(escapeDnValue('#admins')).toBe('\\#admins');
    expect(escapeDnValue(' lead')).toBe('\\ lead');
    expect(escapeDnValue('trail ')).toBe('trail\\ ');
  });

  it('escapes NUL', () => {
    expect(escapeDnValue('a\0b')).toBe('a\\00b');
  });

  it('round-trips through parseDn', () => {
    for (const value of ['o(brien)', 'Ops+Admin', ' x ', '#1', 'a\\b', 'Zoë, "Z"', 'semi;colon']) {
      expect(parseDn(`cn=${escapeDnValue(value)},dc=example`)[0][0].value).toBe(value);
    }
  });
});

describe('parseDn / normalizeDn', () => {
  it('reads hex escapes as UTF-8', () => {
    expect(parseDn('cn=Zo\\C3\\AB,dc=x')[0][0].value).toBe('Zoë');
    expect(parseDn('uid=o\\28brien\\29,ou=people')[0][0].value).toBe('o(brien)');
  });

  it('compares DNs case-insensitively and ignores spaces around separators', () => {
    expect(normalizeDn('CN=Developers, OU=Groups ,DC=Example,DC=com')).toBe(
      normalizeDn('cn=developers,ou=groups,dc=example,dc=com'),
    );
  });

  it('treats an escaped and a hex-escaped value as the same DN', () => {
    expect(normalizeDn('cn=Ops\\+Admin,dc=x')).toBe(normalizeDn('cn=Ops\\2BAdmin,dc=x'));
  });

  it('keeps multi-valued RDNs in a stable order', () => {
    expect(normalizeDn('cn=a+uid=b,dc=x')).toBe(normalizeDn('uid=b+cn=a,dc=x'));
  });

  it('rejects text that is not a DN', () => {
    expect(tryNormalizeDn('not a dn')).toBeUndefined();
    expect(() => parseDn('cn=dangling\\')).toThrow(/dangling escape/);
    expect(looksLikeDn('alice')).toBe(false);
    expect(looksLikeDn('uid=alice,ou=people')).toBe(true);
  });

  it('finds the parent and the first RDN value', () => {
    expect(parentDn('ou=people,dc=example,dc=com')).toBe('dc=example,dc=com');
    expect(parentDn('dc=com')).toBe('');
    expect(firstRdnValue('CN=Ops\\+Admin,OU=Groups')).toBe('Ops+Admin');
  });
});
