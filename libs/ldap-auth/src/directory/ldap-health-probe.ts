import type * as net from 'node:net';
import { type Client, ResultCodeError } from 'ldapts';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { describeBindFailure } from './bind-failure.js';
import { describeLdapResult } from '../model/ldap-result-codes.js';
import { clientOnSocket, openLdapSocket } from './ldap-socket.js';
import { errorText } from '../logging/one-line.js';
import { readSearchBaseFacts, searchBaseWarning } from './search-base-check.js';

/** Result codes that mean "the server cannot answer now" (busy, unavailable): the directory is down. */
const SERVER_BUSY_CODES = new Set([51, 52]);

/**
 * What one probe found. `reason` and `searchBaseWarning` name hosts and LDAP messages: they are for the log,
 * never for a response.
 */
export type DirectoryProbeResult =
  { up: true; url: string; searchBaseWarning?: string } | { up: false; reason: string };

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
 * With `checkSearchBase`, a server that answered is also asked whether the search base is within its data.
 */
export function probeDirectory(
  options: ResolvedLdapAuthOptions,
  credentials: DirectoryProbeCredentials | undefined,
  { checkSearchBase = false }: { checkSearchBase?: boolean } = {},
): Promise<DirectoryProbeResult> {
  const { urls } = options.server;
  if (!urls.length) return Promise.resolve({ up: false, reason: 'no directory URL is configured' });
  return new Promise((resolve) => {
    const failures: string[] = new Array<string>(urls.length);
    let pending = urls.length;
    urls.forEach((url, index) => {
      void probeOne(url, options, credentials, checkSearchBase)
        .catch((error: unknown): ProbeOutcome => ({ up: false, failure: messageOf(error) }))
        .then((outcome) => {
          if (outcome.up) return resolve({ up: true, url, searchBaseWarning: outcome.searchBaseWarning });
          failures[index] = `${url}: ${outcome.failure}`;
          if (--pending === 0) resolve({ up: false, reason: failures.join('; ') });
        });
    });
  });
}

/** Whether the server at `url` answers a root DSE read within the timeouts (the failover's probe). */
export async function serverAnswers(url: string, options: ResolvedLdapAuthOptions): Promise<boolean> {
  const outcome = await probeOne(url, options, undefined, false).catch(() => undefined);
  return outcome?.up === true;
}

type ProbeOutcome = { up: true; searchBaseWarning?: string } | { up: false; failure: string };

/** Whether the server at `url` answered as it should, and if not, why not. */
async function probeOne(
  url: string,
  options: ResolvedLdapAuthOptions,
  credentials: DirectoryProbeCredentials | undefined,
  checkSearchBase: boolean,
): Promise<ProbeOutcome> {
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
    return { up: false, failure: messageOf(error) };
  }
  const client = clientOnSocket(url, socket, server);
  try {
    const failure = await answers(client, credentials);
    if (failure !== undefined) return { up: false, failure };
    if (!checkSearchBase) return { up: true };
    const facts = await readSearchBaseFacts(client, url, server.searchBase, !!credentials);
    return { up: true, searchBaseWarning: searchBaseWarning(facts) };
  } finally {
    // Unbind politely, but never wait on a peer that does not answer.
    if (client.isConnected) void client.unbind().catch(() => undefined);
    socket.destroy();
  }
}

/** Undefined when the server answered as it should (a bind, or the root DSE), otherwise why not. */
async function answers(
  client: Client,
  credentials: DirectoryProbeCredentials | undefined,
): Promise<string | undefined> {
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
      return `the server cannot answer now: ${describeLdapResult(error)}`;
    }
    return messageOf(error);
  }
}

function messageOf(error: unknown): string {
  return errorText(error);
}
