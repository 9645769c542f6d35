import type * as net from 'node:net';
import { ResultCodeError } from 'ldapts';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { describeBindFailure } from './bind-failure.js';
import { clientOnSocket, openLdapSocket } from './ldap-socket.js';
import { errorText } from '../logging/one-line.js';

/** Result codes that mean "the server cannot answer now" (busy, unavailable): the directory is down. */
const SERVER_BUSY_CODES = new Set([51, 52]);

/** What one probe found. `reason` names hosts and LDAP messages: it is for the log, never for a response. */
export type DirectoryProbeResult = { up: true; url: string } | { up: false; reason: string };

/** The service account to bind as (a DN and its password), when one is configured. */
export interface DirectoryProbeCredentials {
  dn: string;
  password: string;
}

/**
 * One health probe of the directory, on a connection of its own (never a pooled one, so it never takes a
 * login's place): for each URL in order until one answers, open the socket with openLdapSocket (TCP, LDAPS or
 * StartTLS, certificates verified as configured), then bind as the service account when there is one, or read
 * the root DSE when there is none. The connection is closed either way. Every step is bounded by the
 * configured timeouts (connect + receive for the opening, receive for the operation). Never throws.
 */
export async function probeDirectory(
  options: ResolvedLdapAuthOptions,
  credentials: DirectoryProbeCredentials | undefined,
): Promise<DirectoryProbeResult> {
  const failures: string[] = [];
  for (const url of options.server.urls) {
    const failure = await probeOne(url, options, credentials);
    if (failure === undefined) return { up: true, url };
    failures.push(`${url}: ${failure}`);
  }
  return { up: false, reason: failures.join('; ') || 'no directory URL is configured' };
}

/** Undefined when the server at `url` answered as it should, otherwise why not. */
async function probeOne(
  url: string,
  options: ResolvedLdapAuthOptions,
  credentials: DirectoryProbeCredentials | undefined,
): Promise<string | undefined> {
  const { server } = options;
  let socket: net.Socket;
  try {
    socket = await openLdapSocket(url, {
      starttls: server.starttls,
      tlsOptions: server.tlsOptions,
      // As for the pools' connections: the StartTLS exchange is an LDAP operation within the opening.
      deadlineMs: server.connectTimeout + server.timeout,
    });
  } catch (error) {
    return messageOf(error);
  }
  const client = clientOnSocket(url, socket, server);
  try {
    if (credentials) {
      await client.bind(credentials.dn, credentials.password);
    } else {
      await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['supportedLDAPVersion'] });
    }
    return undefined;
  } catch (error) {
    if (error instanceof ResultCodeError) {
      if (credentials) return `the service account could not bind: ${describeBindFailure(error)}`;
      // The server answered; it just would not show its root DSE to an anonymous client.
      if (!SERVER_BUSY_CODES.has(error.code)) return undefined;
      return `the server cannot answer now: ${error.message} (code ${error.code})`;
    }
    return messageOf(error);
  } finally {
    // Unbind politely, but never wait on a peer that does not answer.
    if (client.isConnected) void client.unbind().catch(() => undefined);
    socket.destroy();
  }
}

function messageOf(error: unknown): string {
  return errorText(error);
}
