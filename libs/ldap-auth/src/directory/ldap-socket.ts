import * as net from 'node:net';
import * as tls from 'node:tls';
import { BerReader, type Client, ExtendedRequest, ProtocolOperation } from 'ldapts';
import { MeasuredClient } from './measured-client.js';

/** RFC 4511 StartTLS extended operation. */
export const STARTTLS_OID = '1.3.6.1.4.1.1466.20037';
/** A StartTLS response is a few dozen bytes; anything this large is not one. */
const MAX_STARTTLS_RESPONSE_BYTES = 16 * 1024;

export interface LdapSocketOptions {
  /** StartTLS on `ldap://` URLs. */
  starttls: boolean;
  /** For `ldaps://` and StartTLS; certificates are verified unless `rejectUnauthorized: false`. */
  tlsOptions: tls.ConnectionOptions;
  /** Milliseconds for the whole opening: TCP, StartTLS exchange and TLS handshake. */
  deadlineMs: number;
}

/** The socket could not be opened, or the server's StartTLS answer was not exactly one clean response. */
export class LdapSocketError extends Error {
  constructor(
    message: string,
    /** Set when the server answered StartTLS with an LDAP result code other than success. */
    readonly resultCode?: number,
  ) {
    super(message);
    this.name = 'LdapSocketError';
  }
}

/**
 * Opens the socket of one LDAP connection, ready for LDAP messages: plain TCP, TLS from the first byte
 * (`ldaps://`), or TCP upgraded with StartTLS. The StartTLS exchange happens here, on the raw socket, and not
 * in the LDAP client: exactly one response is read, and a connection on which any other byte arrives before
 * the TLS handshake is refused. Otherwise clear-text bytes injected after the response (by anyone on the
 * path) would stay in the client's parser and be read as part of the first encrypted answer: a forged
 * successful bind (the STARTTLS injection class of CVE-2011-0411).
 */
export async function openLdapSocket(url: string, options: LdapSocketOptions): Promise<net.Socket> {
  const { hostname, port, secure } = parseLdapUrl(url);
  const opened: net.Socket[] = [];
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LdapSocketError(`timed out after ${options.deadlineMs} ms opening the connection`)),
      options.deadlineMs,
    );
  });
  const open = async (): Promise<net.Socket> => {
    if (secure) {
      return handshake(track(opened, tls.connect({ ...options.tlsOptions, host: hostname, port })));
    }
    const socket = await tcpConnect(track(opened, net.connect({ host: hostname, port })));
    if (!options.starttls) return socket;
    await startTls(socket);
    return handshake(track(opened, tls.connect({ ...options.tlsOptions, host: hostname, socket })));
  };
  try {
    return await Promise.race([open(), deadline]);
  } catch (error) {
    for (const socket of opened) socket.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function track<S extends net.Socket>(list: net.Socket[], socket: S): S {
  list.push(socket);
  // Until the LDAP client takes it over, an error must not be unhandled; the awaiting code reports it.
  socket.on('error', () => undefined);
  return socket;
}

/** Host, port (the scheme's default when none is given) and whether TLS starts at once (`ldaps://`). */
export function parseLdapUrl(url: string): { hostname: string; port: number; secure: boolean } {
  const parsed = new URL(url);
  const secure = parsed.protocol.toLowerCase() === 'ldaps:';
  let hostname = parsed.hostname;
  if (hostname.startsWith('[') && hostname.endsWith(']')) hostname = hostname.slice(1, -1);
  return { hostname: hostname || 'localhost', port: parsed.port ? Number(parsed.port) : secure ? 636 : 389, secure };
}

function tcpConnect(socket: net.Socket): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('error', (error) => reject(new LdapSocketError(error.message)));
  });
}

function handshake(socket: tls.TLSSocket): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', (error: Error) => reject(new LdapSocketError(`TLS: ${error.message}`)));
    socket.once('close', () => reject(new LdapSocketError('TLS: the connection closed during the handshake')));
  });
}

/** Sends the StartTLS request and reads exactly one response; resolves once the server agreed. */
async function startTls(socket: net.Socket): Promise<void> {
  const messageId = 1;
  const response = await new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    const done = (error?: LdapSocketError, message?: Buffer) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      // No byte may be read as clear text from here on: the TLS layer takes the socket over next.
      socket.pause();
      if (error) reject(error);
      else resolve(message!);
    };
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const length = completeMessageLength(received);
      if (length === undefined) {
        if (received.length > MAX_STARTTLS_RESPONSE_BYTES) done(new LdapSocketError('StartTLS: oversized response'));
        return;
      }
      if (received.length > length) {
        done(
          new LdapSocketError(
            `StartTLS: ${received.length - length} unexpected byte(s) followed the server's response; refusing the connection (injected data?)`,
          ),
        );
        return;
      }
      done(undefined, received);
    };
    const onClose = () => done(new LdapSocketError('StartTLS: the connection closed before the response'));
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(new ExtendedRequest({ messageId, oid: STARTTLS_OID }).write());
  });
  const result = parseExtendedResponse(response);
  if (result.messageId !== messageId) {
    throw new LdapSocketError(`StartTLS: the server answered message ${result.messageId}, not the request`);
  }
  if (result.resultCode !== 0) {
    throw new LdapSocketError(
      `StartTLS refused by the server: ${result.diagnosticMessage || 'no message'} (code ${result.resultCode})`,
      result.resultCode,
    );
  }
}

/** Length of the first LDAP message in `data` once it is complete, undefined while more bytes are needed. */
export function completeMessageLength(data: Buffer): number | undefined {
  const reader = new BerReader(data);
  let tag: number | null;
  try {
    tag = reader.readSequence();
  } catch (error) {
    throw new LdapSocketError(`StartTLS: malformed response (${(error as Error).message})`);
  }
  if (tag === null) return undefined;
  if (tag !== 0x30) throw new LdapSocketError(`StartTLS: malformed response (tag 0x${tag.toString(16)})`);
  const total = reader.offset + reader.length;
  return data.length >= total ? total : undefined;
}

/** Reads messageID and resultCode (and the diagnostic message) of one ExtendedResponse (RFC 4511 4.12). */
export function parseExtendedResponse(message: Buffer): {
  messageId: number;
  resultCode: number;
  diagnosticMessage: string;
} {
  try {
    const reader = new BerReader(message);
    reader.readSequence(0x30);
    const messageId = reader.readInt();
    const operation = reader.readSequence();
    if (operation !== ProtocolOperation.LDAP_RES_EXTENSION) {
      throw new Error(`operation 0x${(operation ?? 0).toString(16)} is not an extended response`);
    }
    const resultCode = reader.readEnumeration();
    reader.readString(); // matchedDN
    const diagnosticMessage = reader.readString() ?? '';
    if (messageId === null || resultCode === null) throw new Error('truncated');
    return { messageId, resultCode, diagnosticMessage };
  } catch (error) {
    if (error instanceof LdapSocketError) throw error;
    throw new LdapSocketError(`StartTLS: malformed response (${(error as Error).message})`);
  }
}

/**
 * An ldapts client on a socket openLdapSocket opened (already TLS where TLS is due). It may use that one socket
 * only: if it drops, ldapts would otherwise reconnect on its own, without TLS and unauthenticated.
 */
export function clientOnSocket(
  url: string,
  socket: net.Socket,
  timeouts: { timeout: number; connectTimeout: number },
): Client {
  let handedOver = false;
  const handOver = () => {
    if (handedOver) throw new Error('connection lost');
    handedOver = true;
    return socket;
  };
  return new MeasuredClient({
    url,
    timeout: timeouts.timeout,
    connectTimeout: timeouts.connectTimeout,
    strictDN: false,
    createConnection: handOver,
    createSecureConnection: handOver as never,
  });
}
