import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

import { LdifParseError, parseLdif } from './ldif.js';

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

function parseError(text: string): LdifParseError {
  try {
    parseLdif(text);
  } catch (error) {
    if (error instanceof LdifParseError) return error;
    throw error;
  }
  throw new Error('expected an LdifParseError');
}

describe('parseLdif', () => {
  it('reads records separated by blank lines, with multi-valued attributes', () => {
    const records = parseLdif(
      [
        'dn: dc=example,dc=com',
        'objectClass: top',
        'objectClass: domain',
        'dc: example',
        '',
        'dn: uid=alice,dc=example,dc=com',
        'uid: alice',
        'mail: alice@example.com',
        'mail: a@example.com',
        '',
      ].join('\n'),
    );
    expect(records).toEqual([
      { dn: 'dc=example,dc=com', attributes: { objectClass: ['top', 'domain'], dc: ['example'] } },
      {
        dn: 'uid=alice,dc=example,dc=com',
        attributes: { uid: ['alice'], mail: ['alice@example.com', 'a@example.com'] },
      },
    ]);
  });

  it('decodes base64 values and DNs as UTF-8', () => {
    const [record] = parseLdif(
      `dn:: ${base64('cn=Zoë Çelik,dc=example,dc=com')}\nsn:: ${base64('Müller')}\ncn:${base64('x')}\n`,
    );
    expect(record).toEqual({
      dn: 'cn=Zoë Çelik,dc=example,dc=com',
      // A single colon is a plain value, even if it looks like base64.
      attributes: { sn: ['Müller'], cn: [base64('x')] },
    });
  });

  it('accepts raw UTF-8, keeps trailing spaces of values and colons inside values', () => {
    const [record] = parseLdif('dn: cn=a,dc=x\nsn: Müller\nuserPassword: pass:word \ndescription:no space\n');
    expect(record?.attributes).toEqual({ sn: ['Müller'], userPassword: ['pass:word '], description: ['no space'] });
  });

  it('skips comments, including folded comment lines, anywhere', () => {
    const records = parseLdif(
      [
        '# a comment',
        '#  folded onto',
        '  the next line',
        'version: 1',
        '',
        '# before the record',
        'dn: dc=x',
        '# inside',
        'dc: x',
      ].join('\n'),
    );
    expect(records).toEqual([{ dn: 'dc=x', attributes: { dc: ['x'] } }]);
  });

  it('unfolds continuation lines, also inside base64 values', () => {
    const encoded = base64('a long description with ümlauts in it');
    const records = parseLdif(
      [
        'dn: cn=some',
        ' one,dc=x',
        'description:: ' + encoded.slice(0, 10),
        ' ' + encoded.slice(10, 30),
        ' ' + encoded.slice(30),
        'cn: some',
        '  one',
      ].join('\n'),
    );
    expect(records).toEqual([
      {
        dn: 'cn=someone,dc=x',
        attributes: { description: ['a long description with ümlauts in it'], cn: ['some one'] },
      },
    ]);
  });

  it('handles CRLF, a byte order mark, whitespace-only separator lines and no final newline', () => {
    const records = parseLdif('\uFEFFdn: dc=a\r\ndc: a\r\n   \r\ndn: dc=b\r\ndc: b');
    expect(records.map((record) => record.dn)).toEqual(['dc=a', 'dc=b']);
    expect(records[0]?.attributes).toEqual({ dc: ['a'] });
  });

  it('merges attribute names that differ only in case, keeping the first spelling', () => {
    const [record] = parseLdif('dn: dc=x\nobjectClass: top\nobjectclass: domain\nOBJECTCLASS: dcObject\n');
    expect(record?.attributes).toEqual({ objectClass: ['top', 'domain', 'dcObject'] });
  });

  it('accepts changetype: add and attribute options', () => {
    const [record] = parseLdif('dn: dc=x\nchangetype: add\ncn;lang-de: Beispiel\n');
    expect(record?.attributes).toEqual({ 'cn;lang-de': ['Beispiel'] });
  });

  it('returns nothing for empty input', () => {
    expect(parseLdif('')).toEqual([]);
    expect(parseLdif('# only a comment\n\n')).toEqual([]);
  });

  it('reports errors with the line they are on', () => {
    expect(parseError('cn: x\n').line).toBe(1);
    expect(parseError('cn: x\n').message).toMatch(/LDIF line 1: expected "dn:"/);
    expect(parseError('dn: dc=x\ncn: a\ndn: dc=y\n').line).toBe(3);
    expect(parseError('dn: dc=x\n\n continued\n').message).toMatch(/continuation line/);
    expect(parseError('dn: dc=x\nsn:: not*base64\n')).toMatchObject({
      line: 2,
      message: expect.stringMatching(/invalid base64/),
    });
    expect(parseError(`dn: dc=x\nphoto:: ${Buffer.from([0xff, 0xfe, 0x00]).toString('base64')}\n`).message).toMatch(
      /not UTF-8/,
    );
    expect(parseError('dn: dc=x\njpegPhoto:< file:///tmp/a.jpg\n').message).toMatch(/URL values/);
    expect(parseError('dn: dc=x\nchangetype: modify\n').message).toMatch(/only content records/);
    expect(parseError('dn: dc=x\ncontrol: 1.2.3\n').message).toMatch(/controls are not supported/);
    expect(parseError('dn: dc=x\nbad name: y\n').message).toMatch(/invalid attribute name/);
    expect(parseError('dn:\n').message).toMatch(/empty DN/);
    expect(parseError('version: 2\n').message).toMatch(/unsupported LDIF version/);
  });

  it('does not echo a line without a colon (it could be a mistyped password)', () => {
    const error = parseError('dn: dc=x\nuserPassword secret-value\n');
    expect(error.line).toBe(2);
    expect(error.message).not.toContain('secret-value');
  });

  it('parses the demo seed dev/directory.ldif', () => {
    const path = fileURLToPath(new URL('../../../../dev/directory.ldif', import.meta.url));
    const records = parseLdif(readFileSync(path, 'utf8'));
    const bob = records.find((record) => record.dn === 'uid=bob,ou=people,dc=example,dc=com');
    expect(bob?.attributes.sn).toEqual(['Müller']);
    expect(records.map((record) => record.dn)).toEqual(
      expect.arrayContaining([
        'dc=example,dc=com',
        'uid=alice,ou=people,dc=example,dc=com',
        'uid=carol,ou=people,dc=example,dc=com',
        'cn=ldap-sync,ou=services,dc=example,dc=com',
        'cn=engineering,ou=groups,dc=example,dc=com',
      ]),
    );
  });
});
