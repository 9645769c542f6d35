import { describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { ExtendedRequest } from 'ldapts';
import {
  completeMessageLength,
  LdapSocketError,
  openLdapSocket,
  parseExtendedResponse,
  STARTTLS_OID,
} from './ldap-socket.js';

/** An ExtendedResponse: 30 len 02 01 id 78 len 0a 01 code 04 00 04 len diag. */
function extendedResponse(messageId: number, resultCode: number, diagnostic = ''): Buffer {
  const diag = Buffer.from(diagnostic);
  const op = Buffer.concat([Buffer.from([0x0a, 0x01, resultCode, 0x04, 0x00, 0x04, diag.length]), diag]);
  const body = Buffer.concat([Buffer.from([0x02, 0x01, messageId, 0x78, op.length]), op]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

describe('StartTLS response framing', () => {
  it('knows when one message is complete, and not before', () => {
    const message = extendedResponse(1, 0);
    for (let i = 0; i < message.length; i++) expect(completeMessageLength(message.subarray(0, i))).toBeUndefined();
    expect(completeMessageLength(message)).toBe(message.length);
    expect(completeMessageLength(Buffer.concat([message, Buffer.from([0x30, 0x05])]))).toBe(message.length);
  });

  it('reads long-form lengths', () => {
    const body = Buffer.alloc(200, 0);
    const message = Buffer.concat([Buffer.from([0x30, 0x81, 200]), body]);
    expect(completeMessageLength(message)).toBe(203);
  });

  it('refuses what is not an LDAP message', () => {
    expect(() => completeMessageLength(Buffer.from('HTTP/1.1 200 OK\r\n'))).toThrow(LdapSocketError);
  });

  it('reads the message id, result code and diagnostic message', () => {
    expect(parseExtendedResponse(extendedResponse(1, 2, 'unsupported'))).toEqual({
      messageId: 1,
      resultCode: 2,
      diagnosticMessage: 'unsupported',
    });
  });

  it('refuses a response that is not an extended response', () => {
    const bind = Buffer.from([0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]);
    expect(() => parseExtendedResponse(bind)).toThrow(/not an extended response/);
  });
});

describe('openLdapSocket with StartTLS, against a server that answers on its own terms', () => {
  async function server(
    answer: (socket: net.Socket, request: Buffer) => void,
  ): Promise<{ url: string; close(): void }> {
    const sockets: net.Socket[] = [];
    const srv = net.createServer((socket) => {
      sockets.push(socket);
      socket.once('data', (request) => answer(socket, request));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return {
      url: `ldap://127.0.0.1:${(srv.address() as net.AddressInfo).port}`,
      close: () => {
        for (const s of sockets) s.destroy();
        srv.close();
      },
    };
  }
  const options = { starttls: true, tlsOptions: {}, deadlineMs: 2000 };

  it('sends exactly the StartTLS request as the first bytes', async () => {
    let seen: Buffer | undefined;
    const s = await server((socket, request) => {
      seen = request;
      socket.end(extendedResponse(1, 2, 'no TLS here'));
    });
    await expect(openLdapSocket(s.url, options)).rejects.toThrow(
      /StartTLS refused by the server: no TLS here \(code 2\)/,
    );
    expect(seen).toEqual(new ExtendedRequest({ messageId: 1, oid: STARTTLS_OID }).write());
    s.close();
  });

  it('refuses the connection when any byte follows the response in the same segment', async () => {
    const s = await server((socket) =>
      socket.write(Buffer.concat([extendedResponse(1, 0), Buffer.from([0x30, 0x1a, 0x02])])),
    );
    await expect(openLdapSocket(s.url, options)).rejects.toThrow(
      /3 unexpected byte\(s\) followed the server's response/,
    );
    s.close();
  });

  it('refuses the connection when bytes follow in a later segment, before the handshake', async () => {
    const s = await server((socket) => {
      socket.write(extendedResponse(1, 0));
      setTimeout(() => socket.write(Buffer.from([0x30, 0x0c, 0x02, 0x01, 0x03])), 5);
    });
    // Either the framing sees the extra bytes or the TLS handshake chokes on them: never a usable socket.
    await expect(openLdapSocket(s.url, options)).rejects.toBeInstanceOf(LdapSocketError);
    s.close();
  });

  it('refuses an answer to another message id', async () => {
    const s = await server((socket) => socket.write(extendedResponse(7, 0)));
    await expect(openLdapSocket(s.url, options)).rejects.toThrow(/answered message 7/);
    s.close();
  });

  it('gives up at the deadline when the server never answers', async () => {
    const s = await server(() => undefined);
    await expect(openLdapSocket(s.url, { ...options, deadlineMs: 50 })).rejects.toThrow(/timed out after 50 ms/);
    s.close();
  });
});
