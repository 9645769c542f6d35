/**
 * A fake LDAP server speaking just enough BER for the sync's reading connection: it accepts any bind, answers
 * unbind by closing, and hands every search to the test's script, which writes whatever a broken or hostile
 * directory would. For unit tests of the connection's bounds (libs/ldap-auth/src/directory).
 */
import * as net from 'node:net';
import { BerReader, BerWriter } from 'ldapts';
import {
  BulkReadConnection,
  type BulkReadLimits,
} from '../../libs/ldap-auth/src/directory/sync-reader/bulk-read-connection.js';
import {
  LdapMessageFramer,
  LdapResponseOp,
  PAGED_RESULTS_OID,
} from '../../libs/ldap-auth/src/directory/sync-reader/ldap-message-decoder.js';

export interface SearchSeen {
  messageId: number;
  baseDN: string;
  /** The request's timeLimit, in seconds (0: none). */
  timeLimit: number;
}

/** One client connection, as the script sees it. */
export class FakeClient {
  /** Bytes written to the client so far. */
  sent = 0;
  constructor(readonly socket: net.Socket) {}

  get closed(): boolean {
    return this.socket.destroyed || !this.socket.writable;
  }

  /** Writes messages; resolves once the socket can take more (or is gone), so a long stream keeps memory flat. */
  send(...messages: Buffer[]): Promise<void> {
    if (this.closed) return Promise.resolve();
    const data = messages.length === 1 ? messages[0] : Buffer.concat(messages);
    this.sent += data.length;
    if (this.socket.write(data)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }
}

/** How the server answers one search request. */
export type SearchScript = (search: SearchSeen, client: FakeClient) => void | Promise<void>;

export class HostileLdapServer {
  readonly searches: SearchSeen[] = [];
  readonly clients: FakeClient[] = [];
  private readonly connections: BulkReadConnection[] = [];

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(script: SearchScript): Promise<HostileLdapServer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const hostile = new HostileLdapServer(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (socket) => hostile.serve(socket, script));
    return hostile;
  }

  /** A reading connection to this server, bound (any bind succeeds). */
  async connect(timeoutMs: number, limits?: Partial<BulkReadLimits>): Promise<BulkReadConnection> {
    const socket = net.connect(this.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const connection = new BulkReadConnection(socket, timeoutMs, limits);
    this.connections.push(connection);
    await connection.bind('cn=sync,dc=example,dc=com', 'secret');
    return connection;
  }

  /** Bytes the server wrote, over every client. */
  get sent(): number {
    return this.clients.reduce((sum, c) => sum + c.sent, 0);
  }

  async stop(): Promise<void> {
    for (const connection of this.connections) connection.close();
    for (const client of this.clients) client.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket, script: SearchScript): void {
    const client = new FakeClient(socket);
    this.clients.push(client);
    socket.on('error', () => undefined); // the client refusing a read resets the connection
    const framer = new LdapMessageFramer(1 << 20);
    socket.on('data', (chunk: Buffer) =>
      framer.push(chunk, (data, start, end) => {
        const r = new BerReader(data.subarray(start, end));
        r.readSequence(0x30);
        const messageId = r.readInt() ?? 0;
        const op = r.peek();
        if (op === 0x60) void client.send(ldapResult(messageId, LdapResponseOp.bind, 0));
        else if (op === 0x42) socket.end();
        else if (op === 0x63) {
          r.readSequence(0x63);
          const baseDN = r.readString() ?? '';
          r.readEnumeration(); // scope
          r.readEnumeration(); // derefAliases
          r.readInt(); // sizeLimit
          const search = { messageId, baseDN, timeLimit: r.readInt() ?? 0 };
          this.searches.push(search);
          void script(search, client);
        }
      }),
    );
  }
}

/** A SearchResultEntry; attribute names as given. */
export function searchEntry(messageId: number, dn: string, attributes: Array<[string, Array<string | Buffer>]>) {
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

/** A SearchResultDone, with a paged-results control carrying `cookie` when given (more pages to come). */
export function searchDone(messageId: number, cookie?: Buffer, resultCode = 0): Buffer {
  if (!cookie) return ldapResult(messageId, LdapResponseOp.searchDone, resultCode);
  const value = new BerWriter();
  value.startSequence();
  value.writeInt(0);
  value.writeBuffer(cookie, 0x04);
  value.endSequence();
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(LdapResponseOp.searchDone);
  w.writeEnumeration(resultCode);
  w.writeString('');
  w.writeString('');
  w.endSequence();
  w.startSequence(0xa0);
  w.startSequence();
  w.writeString(PAGED_RESULTS_OID);
  w.writeBuffer(value.buffer, 0x04);
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

function ldapResult(messageId: number, op: number, resultCode: number): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(op);
  w.writeEnumeration(resultCode);
  w.writeString('');
  w.writeString('');
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

/**
 * Sends one search entry whose single `description` value is `valueBytes` bytes of `a`, streamed in 1 MiB
 * writes (the server never holds the whole message), and stops early once the client has closed.
 */
export async function streamHugeEntry(client: FakeClient, messageId: number, valueBytes: number): Promise<void> {
  const long = (tag: number, length: number) => {
    const header = Buffer.alloc(6);
    header[0] = tag;
    header[1] = 0x84; // four length bytes, whatever the length
    header.writeUInt32BE(length, 2);
    return header;
  };
  const type = Buffer.from([0x04, 11, ...Buffer.from('description')]);
  const dn = Buffer.from([0x04, 7, ...Buffer.from('cn=huge')]);
  const value = long(0x04, valueBytes);
  const set = long(0x31, value.length + valueBytes);
  const attribute = long(0x30, type.length + set.length + value.length + valueBytes);
  const attributes = long(0x30, attribute.length + type.length + set.length + value.length + valueBytes);
  const tail = [attribute, type, set, value];
  const tailLength = tail.reduce((n, b) => n + b.length, 0) + valueBytes;
  const op = long(LdapResponseOp.searchEntry, dn.length + attributes.length + tailLength);
  const id = Buffer.from([0x02, 0x01, messageId]);
  const message = long(0x30, id.length + op.length + dn.length + attributes.length + tailLength);
  await client.send(Buffer.concat([message, id, op, dn, attributes, ...tail]));
  const block = Buffer.alloc(1 << 20, 'a');
  for (let left = valueBytes; left > 0 && !client.closed; left -= block.length) {
    await client.send(left >= block.length ? block : block.subarray(0, left));
  }
}

/** Settles like `promise`, or rejects once `ms` have passed: a test of a read that would hang fails instead. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
