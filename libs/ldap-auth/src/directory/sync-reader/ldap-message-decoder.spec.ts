import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { BerWriter, SizeLimitExceededError } from 'ldapts';
import { BulkReadConnection, type SearchPage } from './bulk-read-connection.js';
import {
  decodeLdapMessage,
  LdapDecodeError,
  LdapMessageFramer,
  LdapResponseOp,
  PAGED_RESULTS_OID,
  pagedResultsCookie,
} from './ldap-message-decoder.js';
// The same SearchResultEntry builder as the hostile-server tests (ldapts's own BER writer).
import { searchEntry } from '../../../../../test/support/hostile-ldap-server.js';

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
    expect('result' in decoded && pagedResultsCookie(decoded.controls)?.toString()).toBe('cookie');
    const last = decodeLdapMessage(searchDone(4, 0, ''), NONE);
    expect('result' in last && pagedResultsCookie(last.controls)).toBeUndefined();
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
        framer.push(stream.subarray(i, i + size), (data, start, end) =>
          messages.push(Buffer.from(data.subarray(start, end))),
        );
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

/**
 * A socket whose server answers each request with `answer(messageId)`, a moment later (as a real one would);
 * `writes` counts the requests sent so far.
 */
class ScriptedSocket extends EventEmitter {
  writable = true;
  writes = 0;
  constructor(private readonly answer: (messageId: number) => Buffer[]) {
    super();
  }
  write(request: Buffer): boolean {
    this.writes++;
    const messageId = decodeRequestId(request);
    setImmediate(() => this.emit('data', Buffer.concat(this.answer(messageId))));
    return true;
  }
  destroy(): void {
    this.writable = false;
  }
}

/** The message id of a request (SEQUENCE { messageID INTEGER, … }); ids here are below 128. */
function decodeRequestId(request: Buffer): number {
  const lengthBytes = request[1] >= 0x80 ? request[1] & 0x7f : 0;
  return request[2 + lengthBytes + 2];
}

describe('BulkReadConnection.searchPages (over a scripted socket)', () => {
  const options = { scope: 'sub' as const, filter: '(objectClass=*)', attributes: ['uid'] };
  const page = (id: number, n: number, cookie?: string) => [
    ...Array.from({ length: n }, (_, i) => searchEntry(id, `uid=p${id}-${i},dc=x`, [['uid', [`p${id}-${i}`]]])),
    searchDone(id, 0, '', cookie ? Buffer.from(cookie) : undefined),
  ];

  it('asks for the next page before the caller gets the current one', async () => {
    const socket = new ScriptedSocket((id) => page(id, 2, id < 3 ? `c${id}` : undefined));
    const connection = new BulkReadConnection(socket as unknown as net.Socket, 5_000);
    const requestsWhenHandedOut: number[] = [];
    const pages: SearchPage[] = [];
    for await (const p of connection.searchPages('dc=x', options, 2)) {
      requestsWhenHandedOut.push(socket.writes);
      pages.push(p);
    }
    expect(pages.map((p) => p.searchEntries.map((e) => e.uid))).toEqual([
      ['p1-0', 'p1-1'],
      ['p2-0', 'p2-1'],
      ['p3-0', 'p3-1'],
    ]);
    // Page 1 handed out once page 2 was asked for; the last page once nothing more was.
    expect(requestsWhenHandedOut).toEqual([2, 3, 3]);
  });

  it("a later page's failure reaches the caller, after the pages before it", async () => {
    const socket = new ScriptedSocket((id) => (id === 1 ? page(1, 1, 'c1') : [searchDone(id, 4, 'size limit')]));
    const connection = new BulkReadConnection(socket as unknown as net.Socket, 5_000);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const p of connection.searchPages('dc=x', options, 1))
          seen.push(...p.searchEntries.map((e) => e.dn));
      })(),
    ).rejects.toBeInstanceOf(SizeLimitExceededError);
    expect(seen).toEqual(['uid=p1-0,dc=x']);
  });

  it('a caller that stops early leaves no request waiting and no unhandled rejection', async () => {
    const socket = new ScriptedSocket((id) => page(id, 1, `c${id}`));
    const connection = new BulkReadConnection(socket as unknown as net.Socket, 5_000);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      for await (const p of connection.searchPages('dc=x', options, 1)) {
        expect(p.searchEntries).toHaveLength(1);
        break;
      }
      connection.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
      await expect(connection.search('dc=x', options)).rejects.toThrow(/Connection closed/);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

/** A socket that answers nothing until told: the test sends the server's messages, in any order. */
class ManualSocket extends EventEmitter {
  writable = true;
  readonly requests: number[] = [];
  write(request: Buffer): boolean {
    this.requests.push(decodeRequestId(request));
    return true;
  }
  destroy(): void {
    this.writable = false;
  }
}

describe('BulkReadConnection: several searches at once on one connection', () => {
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('matches interleaved responses to their search by message id, each with its own binary attributes', async () => {
    const socket = new ManualSocket();
    const connection = new BulkReadConnection(socket as unknown as net.Socket, 5_000);
    const guid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const users = connection.search('ou=people,dc=x', {
      scope: 'sub',
      filter: '(objectClass=*)',
      attributes: ['objectGUID'],
      binaryAttributes: ['objectGUID'],
    });
    const group = connection.search('cn=g,dc=x', { scope: 'base', filter: '(objectClass=*)', attributes: ['member'] });
    await tick();
    const [u, g] = socket.requests;
    expect(u).not.toBe(g);
    // The server interleaves the two searches' messages, in one chunk and across chunks.
    const stream = Buffer.concat([
      searchEntry(u, 'uid=a,dc=x', [['objectGUID', [guid]]]),
      searchEntry(g, 'cn=g,dc=x', [['member', ['uid=a,dc=x', 'uid=b,dc=x']]]),
      searchEntry(u, 'uid=b,dc=x', [['objectGUID', [guid]]]),
      searchDone(g, 0, ''),
      searchDone(u, 0, ''),
    ]);
    socket.emit('data', stream.subarray(0, 50));
    socket.emit('data', stream.subarray(50));
    const [usersPage, groupPage] = await Promise.all([users, group]);
    expect(usersPage.searchEntries).toEqual([
      { dn: 'uid=a,dc=x', objectguid: guid },
      { dn: 'uid=b,dc=x', objectguid: guid },
    ]);
    expect(groupPage.searchEntries).toEqual([{ dn: 'cn=g,dc=x', member: ['uid=a,dc=x', 'uid=b,dc=x'] }]);
  });

  it('a failure of one search leaves the other running; a lost connection fails every search in progress', async () => {
    const socket = new ManualSocket();
    const connection = new BulkReadConnection(socket as unknown as net.Socket, 5_000);
    const options = { scope: 'base' as const, filter: '(objectClass=*)', attributes: ['cn'] };
    const first = connection.search('cn=a,dc=x', options);
    const second = connection.search('cn=b,dc=x', options);
    const third = connection.search('cn=c,dc=x', options);
    await tick();
    const [a, b] = socket.requests;
    socket.emit('data', searchDone(a, 4, 'size limit'));
    await expect(first).rejects.toBeInstanceOf(SizeLimitExceededError);
    socket.emit('data', Buffer.concat([searchEntry(b, 'cn=b,dc=x', [['cn', ['b']]]), searchDone(b, 0, '')]));
    await expect(second).resolves.toMatchObject({ searchEntries: [{ dn: 'cn=b,dc=x', cn: 'b' }] });
    socket.emit('close');
    await expect(third).rejects.toThrow(/Connection closed/);
  });

  it('a response to no search in progress ends the connection', async () => {
    const socket = new ManualSocket();
    const connection = new BulkReadConnection(socket as unknown as net.Socket, 5_000);
    const search = connection.search('cn=a,dc=x', { scope: 'base', filter: '(objectClass=*)', attributes: ['cn'] });
    await tick();
    socket.emit('data', searchDone(socket.requests[0] + 5, 0, ''));
    await expect(search).rejects.toThrow(/unexpected response to message/);
  });
});
