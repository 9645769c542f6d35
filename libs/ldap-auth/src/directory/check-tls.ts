import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { LdapSocketError, openLdapSocket } from './ldap-socket.js';
import { ldapUrlParts } from './check-network.js';

/**
 * The TLS half of `npm run ldap:check`: opens the socket as the library does (StartTLS and TLS through
 * openLdapSocket) and reports what the handshake showed, the server certificate included, in plain data.
 */

/** What the server's certificate says (the leaf, as presented). */
export interface CertificateDetails {
  subject: string;
  issuer: string;
  /** ISO dates. */
  validFrom: string;
  validTo: string;
  /** `DNS:localhost`, `IP Address:127.0.0.1`... (empty when the certificate has none). */
  subjectAltNames: string[];
  serialNumber: string;
  fingerprint256: string;
  /** Subject and issuer are the same: a self-signed certificate. */
  selfIssued: boolean;
  /** Subjects of the chain the server sent, the server's own certificate first. */
  chain: string[];
}

export interface TlsDetails {
  protocol: string | null;
  cipher: string;
  /** The chain verified against the trusted CAs and the certificate names the expected host. */
  authorized: boolean;
  /** Node's reason when not authorized: `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ERR_TLS_CERT_ALTNAME_INVALID`... */
  authorizationError?: string;
  /** The name the certificate was checked against (`servername`, else the URL's host). */
  checkedName: string;
  certificate?: CertificateDetails;
}

export interface ConnectionSettings {
  starttls: boolean;
  tlsOptions: tls.ConnectionOptions;
  /** Milliseconds to open the connection: TCP, StartTLS and TLS (the library allows connect + receive timeouts). */
  openDeadlineMs: number;
  /** Milliseconds one LDAP operation may take. */
  timeoutMs: number;
}

/** The connection could not be opened: where it stopped, and why. */
export class CheckOpenError extends Error {
  constructor(
    message: string,
    /** `starttls`: the StartTLS exchange; `tls`: the TLS handshake; `timeout`: the deadline passed. */
    readonly stage: 'starttls' | 'tls' | 'timeout' | 'connect',
    /** The server's result code when it refused StartTLS. */
    readonly resultCode?: number,
  ) {
    super(message);
    this.name = 'CheckOpenError';
  }
}

/**
 * Opens a socket as the library does (StartTLS on the raw socket, certificate checked with the configured TLS
 * options), with what its TLS handshake showed. Throws CheckOpenError.
 */
export async function openCheckSocket(
  url: string,
  settings: ConnectionSettings,
): Promise<{ socket: net.Socket; tls?: TlsDetails }> {
  let socket: net.Socket;
  try {
    socket = await openLdapSocket(url, {
      starttls: settings.starttls,
      tlsOptions: settings.tlsOptions,
      deadlineMs: settings.openDeadlineMs,
    });
  } catch (error) {
    throw toOpenError(error);
  }
  return { socket, tls: isTlsSocket(socket) ? describeTls(socket, url, settings.tlsOptions) : undefined };
}

/**
 * Opens a second connection WITHOUT verifying the certificate, only to show a certificate that failed
 * verification: the handshake completes, the certificate is read, and the socket is destroyed. Nothing but
 * the StartTLS request (when StartTLS is on) is ever written to it.
 */
export async function inspectServerCertificate(url: string, settings: ConnectionSettings): Promise<TlsDetails> {
  let socket: net.Socket;
  try {
    socket = await openLdapSocket(url, {
      starttls: settings.starttls,
      tlsOptions: { ...settings.tlsOptions, rejectUnauthorized: false },
      deadlineMs: settings.openDeadlineMs,
    });
  } catch (error) {
    throw toOpenError(error);
  }
  try {
    if (!isTlsSocket(socket)) throw new CheckOpenError('the connection is not TLS', 'tls');
    return describeTls(socket, url, settings.tlsOptions);
  } finally {
    socket.destroy();
  }
}

function toOpenError(error: unknown): CheckOpenError {
  if (error instanceof LdapSocketError) {
    const message = error.message;
    if (message.startsWith('StartTLS')) return new CheckOpenError(message, 'starttls', error.resultCode);
    if (message.startsWith('TLS')) return new CheckOpenError(message.replace(/^TLS: /, ''), 'tls');
    if (message.startsWith('timed out')) return new CheckOpenError(message, 'timeout');
    return new CheckOpenError(message, 'connect');
  }
  return new CheckOpenError(error instanceof Error ? error.message : String(error), 'connect');
}

function isTlsSocket(socket: net.Socket): socket is tls.TLSSocket {
  return 'encrypted' in socket && (socket as tls.TLSSocket).encrypted === true;
}

function describeTls(socket: tls.TLSSocket, url: string, tlsOptions: tls.ConnectionOptions): TlsDetails {
  const peer = socket.getPeerCertificate(true);
  const error = socket.authorizationError as unknown;
  return {
    protocol: socket.getProtocol(),
    cipher: socket.getCipher()?.name ?? '',
    authorized: socket.authorized,
    authorizationError: socket.authorized
      ? undefined
      : typeof error === 'string'
        ? error
        : error instanceof Error
          ? ((error as NodeJS.ErrnoException).code ?? error.message)
          : 'unknown',
    checkedName: tlsOptions.servername ?? ldapUrlParts(url).hostname,
    certificate: peer?.raw ? { ...certificateDetails(peer.raw), chain: chainSubjects(peer) } : undefined,
  };
}

/** Subjects up the chain as the server sent it (a self-signed root refers to itself). */
function chainSubjects(leaf: tls.DetailedPeerCertificate): string[] {
  const subjects: string[] = [];
  const seen = new Set<string>();
  for (let cert: tls.DetailedPeerCertificate | undefined = leaf; cert?.raw; cert = cert.issuerCertificate) {
    if (seen.has(cert.fingerprint256)) break;
    seen.add(cert.fingerprint256);
    subjects.push(oneLineName(new X509Certificate(cert.raw).subject));
  }
  return subjects;
}

function oneLineName(text: string): string {
  return text.split('\n').filter(Boolean).join(', ');
}

/** Subject, issuer, dates and names of a DER certificate. */
export function certificateDetails(der: Buffer): CertificateDetails {
  const cert = new X509Certificate(der);
  const subject = oneLineName(cert.subject);
  return {
    subject,
    issuer: oneLineName(cert.issuer),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    subjectAltNames: (cert.subjectAltName ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
    selfIssued: cert.subject === cert.issuer,
    chain: [subject],
  };
}
