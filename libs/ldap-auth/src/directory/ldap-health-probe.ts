import type * as net from 'node:net';
import { type Client, ResultCodeError } from 'ldapts';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { describeBindFailure } from './bind-failure.js';
import { describeLdapResult, describeLdapResultCode } from '../model/ldap-result-codes.js';
import { clientOnSocket, openLdapSocket } from './ldap-socket.js';
import { errorText } from '../logging/one-line.js';
import { readSearchBaseFacts, searchBaseWarning } from './search-base-check.js';

/** Result codes that mean "the server cannot answer now" (busy, unavailable): the directory is down. */
const SERVER_BUSY_CODES = new Set([51, 52]);

/**
 * The service account's state, apart from whether the directory answers (logins do not need it in bind mode;
 * the full sync does). Result codes only, no host or server message, so a health response may show it.
 */
export type ServiceAccountState = 'ok' | 'not configured' | 'no answer' | `refused: ${string}`;

/**
 * What one probe found. `reason`, `serviceAccountReason` and `searchBaseWarning` name hosts and LDAP messages:
 * they are for the log, never for a response.
 */
export type DirectoryProbeResult =
  | {
      up: true;
      url: string;
      serviceAccount: ServiceAccountState;
      serviceAccountReason?: string;
      searchBaseWarning?: string;
    }
  | { up: false; reason: string };

/** The service account to bind as (a DN and its password), when one is configured. */
export interface DirectoryProbeCredentials {
  dn: string;
  password: string;
}

/**
 * One health probe of the directory, on connections of its own (never pooled ones, so it never takes a login's
 * place): every URL at once, up as soon as one answers, so a hung first server does not add its timeout to the
 * check's. Per URL: open the socket with openLdapSocket (TCP, LDAPS or StartTLS, certificates verified as
 * configured) and read the root DSE: up when the server answers (what logins need). Then, when there is a
 * service account, bind as it and report its state apart, so a wrong sync password does not read as an outage.
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
          if (outcome.up) return resolve({ ...outcome, url });
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

type ProbeOutcome =
  | { up: true; serviceAccount: ServiceAccountState; serviceAccountReason?: string; searchBaseWarning?: string }
  | { up: false; failure: string };

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
    const failure = await answers(client);
    if (failure !== undefined) return { up: false, failure };
    const account = credentials ? await serviceAccountState(client, credentials) : { state: 'not configured' as const };
    const outcome = { up: true as const, serviceAccount: account.state, serviceAccountReason: account.reason };
    if (!checkSearchBase) return outcome;
    const facts = await readSearchBaseFacts(client, url, server.searchBase, account.state === 'ok');
    return { ...outcome, searchBaseWarning: searchBaseWarning(facts) };
  } finally {
    // Unbind politely, but never wait on a peer that does not answer.
    if (client.isConnected) void client.unbind().catch(() => undefined);
    socket.destroy();
  }
}

/** Undefined when the server answered a root DSE read (even with a refusal), otherwise why not. */
async function answers(client: Client): Promise<string | undefined> {
  try {
    await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['supportedLDAPVersion'] });
    return undefined;
  } catch (error) {
    // The server answered; it just would not show its root DSE to an anonymous client.
    if (error instanceof ResultCodeError && !SERVER_BUSY_CODES.has(error.code)) return undefined;
    if (error instanceof ResultCodeError) return `the server cannot answer now: ${describeLdapResult(error)}`;
    return messageOf(error);
  }
}

/** The service account's bind on a server that answers: its state, and for the log why it failed. */
async function serviceAccountState(
  client: Client,
  credentials: DirectoryProbeCredentials,
): Promise<{ state: ServiceAccountState; reason?: string }> {
  try {
    await client.bind(credentials.dn, credentials.password);
    return { state: 'ok' };
  } catch (error) {
    if (error instanceof ResultCodeError) {
      return { state: `refused: ${describeLdapResultCode(error.code)}`, reason: describeBindFailure(error) };
    }
    return { state: 'no answer', reason: messageOf(error) };
  }
}

function messageOf(error: unknown): string {
  return errorText(error);
}
