import { promises as dns } from 'node:dns';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import {
  AndFilter,
  Client,
  Control,
  EqualityFilter,
  type Entry,
  type Filter,
  NoSuchObjectError,
  ResultCodeError,
  SizeLimitExceededError,
} from 'ldapts';
import { clientOnSocket, LdapSocketError, openLdapSocket, parseLdapUrl } from './ldap-socket.js';
import { rangedValues } from './ranged-attribute.js';
import { describeBindFailure } from './bind-failure.js';
import { ROOT_DSE_ATTRIBUTES, type ServerInfo, serverInfoFromRootDse } from './server-info.js';
import { allValues, firstValue } from '../model/directory-user.js';
import { firstRdnValue } from '../model/ldap-escape.js';
import { AD_DOMAIN_SCOPE_CONTROL } from '../ldap-auth.constants.js';

/**
 * The LDAP-speaking half of `npm run ldap:check` (the step runner is in diagnostics/): each stage of opening
 * a connection on its own (DNS, TCP, StartTLS and TLS through openLdapSocket), the server certificate, and
 * the few reads the check makes. Nothing here decides what is ok; it reports what happened, errors included,
 * in plain data.
 */

/** Host, port and transport of an `ldap://` / `ldaps://` URL (as openLdapSocket reads it). */
export interface LdapUrlParts {
  hostname: string;
  port: number;
  secure: boolean;
}

export function ldapUrlParts(url: string): LdapUrlParts {
  return parseLdapUrl(url);
}

/** A network-level failure, with Node's error code (`ENOTFOUND`, `ECONNREFUSED`, `ETIMEDOUT`...). */
export class DiagnosticNetworkError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'DiagnosticNetworkError';
  }
}

export interface HostResolution {
  /** The host was an IP address: nothing to look up. */
  isIp: boolean;
  addresses: string[];
  ms: number;
}

/** Resolves the host as the system resolver (and so net.connect) does; throws DiagnosticNetworkError. */
export async function resolveLdapHost(hostname: string, timeoutMs: number): Promise<HostResolution> {
  const started = Date.now();
  if (net.isIP(hostname)) return { isIp: true, addresses: [hostname], ms: 0 };
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      dns.lookup(hostname, { all: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new DiagnosticNetworkError(`no answer within ${timeoutMs} ms`, 'ETIMEOUT')),
          timeoutMs,
        );
      }),
    ]);
    return { isIp: false, addresses: found.map((a) => a.address), ms: Date.now() - started };
  } catch (error) {
    if (error instanceof DiagnosticNetworkError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    throw new DiagnosticNetworkError((error as Error).message, code);
  } finally {
    clearTimeout(timer);
  }
}

export interface TcpProbe {
  /** The address the connection reached. */
  address: string;
  ms: number;
}

/** Opens a TCP connection and closes it at once, sending nothing; throws DiagnosticNetworkError. */
export function probeTcp(hostname: string, port: number, timeoutMs: number): Promise<TcpProbe> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DiagnosticNetworkError(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      const address = socket.remoteAddress ?? hostname;
      socket.destroy();
      resolve({ address, ms: Date.now() - started });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new DiagnosticNetworkError(error.message, error.code ?? 'EUNKNOWN'));
    });
  });
}

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
export class DiagnosticOpenError extends Error {
  constructor(
    message: string,
    /** `starttls`: the StartTLS exchange; `tls`: the TLS handshake; `timeout`: the deadline passed. */
    readonly stage: 'starttls' | 'tls' | 'timeout' | 'connect',
    /** The server's result code when it refused StartTLS. */
    readonly resultCode?: number,
  ) {
    super(message);
    this.name = 'DiagnosticOpenError';
  }
}

/** Directory errors of the check's reads, with the LDAP result code when the server answered with one. */
export class DiagnosticLdapError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'DiagnosticLdapError';
  }
}

export type BindOutcome = { ok: true } | { ok: false; code: number; reason: string };

export interface RootDseDetails {
  /** The server answered the root DSE read (an empty answer or a refusal leaves this false). */
  readable: boolean;
  server: ServerInfo;
  /** Naming contexts as the server spells them (defaultNamingContext first on AD). */
  namingContexts: string[];
  vendor?: string;
  dnsHostName?: string;
}

export interface EntryCount {
  /** Entries counted (a lower bound unless `complete`). */
  count: number;
  pages: number;
  complete: boolean;
  /** Why counting stopped early: the cap was reached, or the server's size limit (code 4). */
  stoppedBy?: 'cap' | 'sizeLimit';
  /** Continuation references the server returned (not followed). */
  referrals: number;
  filter: string;
}

export interface GroupDetails {
  dn: string;
  name: string;
  objectClasses: string[];
  /** The entry is of a group class (group, groupOfNames, groupOfUniqueNames, posixGroup). */
  isGroup: boolean;
  /** Values of the member attribute (direct members), AD's ranged retrieval followed. */
  memberValues: number;
}

const GROUP_CLASSES = ['group', 'groupofnames', 'groupofuniquenames', 'posixgroup'];
/** Most ranged-retrieval rounds followed for one group's members (1,500 values each on AD). */
const MAX_RANGE_ROUNDS = 10_000;

/**
 * Opens a connection as the library does (openLdapSocket: StartTLS on the raw socket, certificate checked
 * with the configured TLS options) and hands it to an ldapts client. Throws DiagnosticOpenError.
 */
export async function openDiagnosticConnection(
  url: string,
  settings: ConnectionSettings,
): Promise<DiagnosticConnection> {
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
  const tlsDetails = isTlsSocket(socket) ? describeTls(socket, url, settings.tlsOptions) : undefined;
  return new DiagnosticConnection(url, socket, settings, tlsDetails);
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
    if (!isTlsSocket(socket)) throw new DiagnosticOpenError('the connection is not TLS', 'tls');
    return describeTls(socket, url, settings.tlsOptions);
  } finally {
    socket.destroy();
  }
}

function toOpenError(error: unknown): DiagnosticOpenError {
  if (error instanceof LdapSocketError) {
    const message = error.message;
    if (message.startsWith('StartTLS')) return new DiagnosticOpenError(message, 'starttls', error.resultCode);
    if (message.startsWith('TLS')) return new DiagnosticOpenError(message.replace(/^TLS: /, ''), 'tls');
    if (message.startsWith('timed out')) return new DiagnosticOpenError(message, 'timeout');
    return new DiagnosticOpenError(message, 'connect');
  }
  return new DiagnosticOpenError(error instanceof Error ? error.message : String(error), 'connect');
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

/**
 * One LDAP connection of the check, on a socket opened by openDiagnosticConnection. It may use that one
 * socket only (no silent reconnection without TLS), like the library's pooled connections.
 */
export class DiagnosticConnection {
  private readonly client: Client;
  private server?: ServerInfo;

  constructor(
    readonly url: string,
    private readonly socket: net.Socket,
    settings: ConnectionSettings,
    /** Set on `ldaps://` and StartTLS connections. */
    readonly tls?: TlsDetails,
  ) {
    this.client = clientOnSocket(url, socket, { timeout: settings.timeoutMs, connectTimeout: settings.openDeadlineMs });
  }

  /** The root DSE, read before any bind (as the library does on every new connection). */
  async readRootDse(): Promise<RootDseDetails> {
    let entry: Entry | undefined;
    try {
      const { searchEntries } = await this.client.search('', {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: [...ROOT_DSE_ATTRIBUTES, 'vendorName', 'vendorVersion', 'dnsHostName'],
      });
      entry = searchEntries[0];
    } catch (error) {
      if (!(error instanceof ResultCodeError)) throw asLdapError(error);
    }
    this.server = serverInfoFromRootDse(entry);
    const spelled = entry
      ? [...(allValues(entry, 'defaultNamingContext') ?? []), ...(allValues(entry, 'namingContexts') ?? [])]
      : [];
    const vendor = entry ? [firstValue(entry, 'vendorName'), firstValue(entry, 'vendorVersion')].filter(Boolean) : [];
    return {
      readable: !!entry,
      server: this.server,
      namingContexts: [...new Set(spelled)],
      vendor: vendor.length ? vendor.join(' ') : undefined,
      dnsHostName: entry ? (firstValue(entry, 'dnsHostName') ?? undefined) : undefined,
    };
  }

  /** A simple bind; a refusal is an outcome, anything else (a lost connection, a timeout) throws. */
  async bind(dn: string, password: string): Promise<BindOutcome> {
    // Servers treat a name with an empty password as an anonymous bind: never send one.
    if (!password) return { ok: false, code: 49, reason: 'empty password (not sent)' };
    try {
      await this.client.bind(dn, password);
      return { ok: true };
    } catch (error) {
      if (error instanceof ResultCodeError) return { ok: false, code: error.code, reason: describeBindFailure(error) };
      throw asLdapError(error);
    }
  }

  /** Whether an entry exists (a base search; code 32 means no). */
  async entryExists(dn: string): Promise<boolean> {
    try {
      const { searchEntries } = await this.client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['1.1'],
      });
      return searchEntries.length > 0;
    } catch (error) {
      if (error instanceof NoSuchObjectError) return false;
      throw asLdapError(error);
    }
  }

  /**
   * Counts the user entries under `base` as the sync reads them (objectClass, and objectCategory=person on
   * AD), page by page, stopping once `cap` is reached.
   */
  async countUsers(base: string, objectClass: string, options: { pageSize: number; cap: number }): Promise<EntryCount> {
    const ad = this.server?.activeDirectory ?? false;
    const filters: Filter[] = [new EqualityFilter({ attribute: 'objectClass', value: objectClass })];
    if (ad && objectClass.toLowerCase() === 'user') {
      filters.push(new EqualityFilter({ attribute: 'objectCategory', value: 'person' }));
    }
    const filter = filters.length === 1 ? filters[0] : new AndFilter({ filters });
    const result: EntryCount = { count: 0, pages: 0, complete: false, referrals: 0, filter: filter.toString() };
    const pages = this.client.searchPaginated(
      base,
      { scope: 'sub', filter, attributes: ['1.1'], paged: { pageSize: options.pageSize } },
      this.controls(),
    );
    try {
      for await (const page of pages) {
        result.pages++;
        result.count += page.searchEntries.length;
        result.referrals += page.searchReferences.length;
        if (result.count >= options.cap) {
          result.stoppedBy = 'cap';
          return result;
        }
      }
    } catch (error) {
      if (error instanceof SizeLimitExceededError) {
        result.stoppedBy = 'sizeLimit';
        return result;
      }
      throw asLdapError(error);
    }
    result.complete = true;
    return result;
  }

  /** A group entry with the number of values of its member attribute; undefined when it does not exist. */
  async readGroup(dn: string, memberAttribute: string): Promise<GroupDetails | undefined> {
    let entry: Entry | undefined;
    try {
      const { searchEntries } = await this.client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['cn', 'objectClass', memberAttribute],
      });
      entry = searchEntries[0];
    } catch (error) {
      if (error instanceof NoSuchObjectError) return undefined;
      throw asLdapError(error);
    }
    if (!entry) return undefined;
    const objectClasses = allValues(entry, 'objectClass') ?? [];
    return {
      dn: entry.dn,
      name: firstValue(entry, 'cn') ?? firstRdnValue(entry.dn),
      objectClasses,
      isGroup: objectClasses.some((c) => GROUP_CLASSES.includes(c.toLowerCase())),
      memberValues: await this.countMemberValues(entry, memberAttribute),
    };
  }

  /** Values of `attribute`, following AD's ranged retrieval (`member;range=0-1499`, then `1500-*`...). */
  private async countMemberValues(entry: Entry, attribute: string): Promise<number> {
    const first = ranged(entry, attribute, 0);
    if (!first) return allValues(entry, attribute)?.length ?? 0;
    let count = first.values.length;
    let high = first.high;
    for (let round = 0; high !== '*' && round < MAX_RANGE_ROUNDS; round++) {
      const from = Number(high) + 1;
      let next: Entry | undefined;
      try {
        const { searchEntries } = await this.client.search(entry.dn, {
          scope: 'base',
          filter: '(objectClass=*)',
          attributes: [`${attribute};range=${from}-*`],
        });
        next = searchEntries[0];
      } catch (error) {
        throw asLdapError(error);
      }
      const following = next ? ranged(next, attribute, from) : undefined;
      if (!following || following.low !== from) {
        throw new DiagnosticLdapError(`ranged retrieval of ${attribute} on ${entry.dn} did not continue at ${from}`);
      }
      count += following.values.length;
      high = following.high;
    }
    return count;
  }

  private controls(): Control[] | undefined {
    // Without it a subtree search from an AD domain root also returns referrals to other partitions.
    return this.server?.activeDirectory ? [new Control(AD_DOMAIN_SCOPE_CONTROL, { critical: false })] : undefined;
  }

  /** Unbinds politely, never waiting on a peer that does not answer. */
  async close(): Promise<void> {
    const unbound = this.client.isConnected ? this.client.unbind().catch(() => undefined) : undefined;
    this.socket.destroy();
    await unbound;
  }
}

function ranged(entry: Entry, attribute: string, low: number) {
  try {
    return rangedValues(entry, attribute, low);
  } catch (error) {
    throw new DiagnosticLdapError((error as Error).message);
  }
}

function asLdapError(error: unknown): DiagnosticLdapError {
  if (error instanceof DiagnosticLdapError) return error;
  if (error instanceof ResultCodeError) {
    const words = error.message
      .split('\n')[0]
      .replace(/\s*Code: 0x[0-9a-f]+$/i, '')
      .trim();
    return new DiagnosticLdapError(`${words || error.name} (code ${error.code})`, error.code);
  }
  return new DiagnosticLdapError(error instanceof Error ? error.message : String(error));
}
