import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that records every byte clients send upstream: what anyone on the network path
 * would see. `blackHole` accepts connections and never answers (a hung server).
 */
export interface RecordingProxy {
  url: string;
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Everything clients sent, concatenated. */
  sent(): Buffer;
  reset(): void;
  close(): Promise<void>;
}

export async function startRecordingProxy(
  targetPort: number,
  mode: 'forward' | 'blackHole' = 'forward',
): Promise<RecordingProxy> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const state = { connections: 0 };
  const server = net.createServer((client) => {
    state.connections++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.on('data', (chunk) => chunks.push(Buffer.from(chunk)));
    if (mode === 'blackHole') return;
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `ldap://127.0.0.1:${port}`,
    port,
    get connections() {
      return state.connections;
    },
    sent: () => Buffer.concat(chunks),
    reset: () => {
      chunks.length = 0;
      state.connections = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 where nothing listens. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TCP proxy whose open connections can all be cut at once (a push stream among them), and which can close
 * every new connection as soon as it is accepted for a while (the directory out of reach).
 */
export interface DroppingProxy {
  /** `scheme://127.0.0.1:port` (TLS, if any, passes through: the client checks the server's certificate). */
  url: string;
  dropAll(): void;
  /** While on, a new connection is closed as soon as it is accepted. */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

export async function startDroppingProxy(
  targetPort: number,
  scheme: 'ldap' | 'ldaps' = 'ldap',
): Promise<DroppingProxy> {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${scheme}://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    dropAll: () => sockets.forEach((socket) => socket.destroy()),
    refuse: (on) => (refusing = on),
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}
