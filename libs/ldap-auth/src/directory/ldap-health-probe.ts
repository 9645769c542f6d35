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
 * One health probe of the directory, on connections of its own (never pooled ones, so it never takes a login's
 * place): every URL at once, up as soon as one answers, so a hung first server does not add its timeout to the
 * check's. Per URL: open the socket with openLdapSocket (TCP, LDAPS or StartTLS, certificates verified as
 * configured), then bind as the service account when there is one, or read the root DSE when there is none.
 * Connections are closed either way. Every step is bounded by the configured timeouts (connect + receive for
 * the opening, receive for the operation), so a probe ends within one server's budget. Never throws.
 */
export function probeDirectory(
  options: ResolvedLdapAuthOptions,
  credentials: DirectoryProbeCredentials | undefined,
): Promise<DirectoryProbeResult> {
  const { urls } = options.server;
  if (!urls.length) return Promise.resolve({ up: false, reason: 'no directory URL is configured' });
  return new Promise((resolve) => {
    const failures: string[] = new Array<string>(urls.length);
    let pending = urls.length;
    urls.forEach((url, index) => {
      void probeOne(url, options, credentials)
        .catch((error: unknown) => messageOf(error))
        .then((failure) => {
          if (failure === undefined) return resolve({ up: true, url });
          failures[index] = `${url}: ${failure}`;
          if (--pending === 0) resolve({ up: false, reason: failures.join('; ') });
        });
    });
  });
}

/** Whether the server at `url` answers a root DSE read within the timeouts (the failover's probe). */
export async function serverAnswers(url: string, options: ResolvedLdapAuthOptions): Promise<boolean> {
  return (await probeOne(url, options, undefined).catch(() => 'failed')) === undefined;
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
