import { promises as dns } from 'node:dns';
import * as net from 'node:net';
import { parseLdapUrl } from './ldap-socket.js';

/**
 * The network half of `npm run ldap:check` (its steps are in check/): the URL's parts, the DNS lookup and a bare
 * TCP connection, each on its own so that the check can say which of them failed. Nothing is sent.
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
export class CheckNetworkError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'CheckNetworkError';
  }
}

export interface HostResolution {
  /** The host was an IP address: nothing to look up. */
  isIp: boolean;
  addresses: string[];
  ms: number;
}

/** Resolves the host as the system resolver (and so net.connect) does; throws CheckNetworkError. */
export async function resolveLdapHost(hostname: string, timeoutMs: number): Promise<HostResolution> {
  const started = Date.now();
  if (net.isIP(hostname)) return { isIp: true, addresses: [hostname], ms: 0 };
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      dns.lookup(hostname, { all: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CheckNetworkError(`no answer within ${timeoutMs} ms`, 'ETIMEOUT')),
          timeoutMs,
        );
      }),
    ]);
    return { isIp: false, addresses: found.map((a) => a.address), ms: Date.now() - started };
  } catch (error) {
    if (error instanceof CheckNetworkError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    throw new CheckNetworkError((error as Error).message, code);
  } finally {
    clearTimeout(timer);
  }
}

export interface TcpProbe {
  /** The address the connection reached. */
  address: string;
  ms: number;
}

/** Opens a TCP connection and closes it at once, sending nothing; throws CheckNetworkError. */
export function probeTcp(hostname: string, port: number, timeoutMs: number): Promise<TcpProbe> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new CheckNetworkError(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT'));
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
      reject(new CheckNetworkError(error.message, error.code ?? 'EUNKNOWN'));
    });
  });
}
