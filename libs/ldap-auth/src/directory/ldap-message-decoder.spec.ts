import { describe, expect, it } from '@jest/globals';
import { BerWriter } from 'ldapts';
import {
  decodeLdapMessage,
  LdapDecodeError,
  LdapMessageFramer,
  LdapResponseOp,
  PAGED_RESULTS_OID,
  pagedResultsCookie,
} from './ldap-message-decoder.js';

/** A SearchResultEntry as a server sends it, written with ldapts's own BER writer. */
function searchEntry(messageId: number, dn: string, attributes: Array<[string, Array<string | Buffer>]>): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(LdapResponseOp.searchEntry);
  w.writeString(dn);
  w.startSequence();
  for (const [type, values] of attributes) {
    w.startSequence();
    w.writeString(type);
    w.startSequence(0x31);
    for (const value of values) {
      if (Buffer.isBuffer(value)) w.writeBuffer(value, 0x04);
      else w.writeString(value);
    }
    w.endSequence();
    w.endSequence();
  }
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

function searchDone(messageId: number, resultCode: number, message: string, cookie?: Buffer): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(LdapResponseOp.searchDone);
  w.writeEnumeration(resultCode);
  w.writeString('');
  w.writeString(message);
  w.endSequence();
  if (cookie) {
    w.startSequence(0xa0);
    w.startSequence();
    w.writeString(PAGED_RESULTS_OID);
    const value = new BerWriter();
    value.startSequence();
    value.writeInt(0);
    value.writeBuffer(cookie, 0x04);
    value.endSequence();
    w.writeBuffer(value.buffer, 0x04);
    w.endSequence();
    w.endSequence();
  }
  w.endSequence();
  return w.buffer;
}

const NONE = new Set<string>();

describe('decodeLdapMessage', () => {
  it('reads a search entry as ldapts shapes it (one value as itself, several as an array, none as []), names lower-cased', () => {
    const guid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const message = searchEntry(7, 'uid=zoë,ou=people,dc=example,dc=com', [
      ['uid', ['zoë']],
      ['mail', ['a@example.com', 'b@example.com']],
      ['objectGUID', [guid]],
      ['member;range=0-*', []],
    ]);
    const decoded = decodeLdapMessage(message, new Set(['objectguid']));
    expect(decoded).toEqual({
      messageId: 7,
      op: LdapResponseOp.searchEntry,
      entry: {
        dn: 'uid=zoë,ou=people,dc=example,dc=com',
        uid: 'zoë',
        mail: ['a@example.com', 'b@example.com'],
        objectguid: guid,
        'member;range=0-*': [],
      },
    });
  });

  it('decodes values as UTF-8 text unless the attribute is listed as binary', () => {
    const bytes = Buffer.from([0xff, 0x00, 0x41]);
    const message = searchEntry(1, 'cn=x', [['objectGUID', [bytes]]]);
    expect(decodeLdapMessage(message, NONE)).toMatchObject({ entry: { objectguid: bytes.toString('utf8') } });
    expect(decodeLdapMessage(message, new Set(['objectguid']))).toMatchObject({ entry: { objectguid: bytes } });
  });

  it('reads a search result with its code, message and paged-results cookie', () => {
    const decoded = decodeLdapMessage(searchDone(3, 4, 'size limit', Buffer.from('cookie')), NONE);
    expect(decoded).toMatchObject({
      messageId: 3,
      op: LdapResponseOp.searchDone,
      result: { resultCode: 4, diagnosticMessage: 'size limit' },
    });
    expect('controls' in decoded && pagedResultsCookie(decoded.controls)?.toString()).toBe('cookie');
    const last = decodeLdapMessage(searchDone(4, 0, ''), NONE);
    expect('controls' in last && pagedResultsCookie(last.controls)).toBeUndefined();
  });

  it('refuses a message whose element runs past its end, or that starts with the wrong tag', () => {
    const message = searchEntry(1, 'cn=x', [['cn', ['x']]]);
    const truncated = Buffer.from(message);
    truncated[truncated.length - 2] = 0x7f; // the last value (04 01 'x') now claims 127 bytes
    expect(() => decodeLdapMessage(truncated, NONE)).toThrow(LdapDecodeError);
    expect(() => decodeLdapMessage(Buffer.from([0x31, 0x00]), NONE)).toThrow(/expected tag 0x30/);
  });
});

describe('LdapMessageFramer', () => {
  const stream = Buffer.concat([
    searchEntry(1, 'cn=a', [['member', Array.from({ length: 3000 }, (_, i) => `uid=u${i},ou=people`)]]),
    searchEntry(1, 'cn=b', [['cn', ['b']]]),
    searchDone(1, 0, ''),
  ]);

  it.each([1, 7, 1000, 65536, stream.length])(
    'finds every message however the bytes are split (chunks of %i bytes)',
    (size) => {
      const framer = new LdapMessageFramer(1 << 20);
      const messages: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) {
        framer.push(stream.subarray(i, i + size), (m) => messages.push(Buffer.from(m)));
      }
      expect(Buffer.concat(messages).equals(stream)).toBe(true);
      expect(messages.map((m) => decodeLdapMessage(m, NONE).op)).toEqual([
        LdapResponseOp.searchEntry,
        LdapResponseOp.searchEntry,
        LdapResponseOp.searchDone,
      ]);
    },
  );

  it('refuses a message over its size limit before gathering it', () => {
    const framer = new LdapMessageFramer(1000);
    expect(() => framer.push(stream.subarray(0, 10), () => undefined)).toThrow(/over the limit of 1000/);
  });
});
