import type { LoggerService } from '@nestjs/common';
import type * as net from 'node:net';
import { type Client, type Entry, ResultCodeError } from 'ldapts';
import { LdapConnectionPool } from './ldap-connection-pool.js';
import { looksLikeDn } from '../model/dn.js';
import { describeLdapResult } from '../model/ldap-result-codes.js';
import { describeBindFailure } from './bind-failure.js';
import { clientOnSocket, LdapSocketError, openLdapSocket } from './ldap-socket.js';
import { BulkReadConnection, type BulkReadLimits } from './sync-reader/bulk-read-connection.js';
import { serverAnswers } from './ldap-health-probe.js';
import { isTimeout, ServerPreference } from './server-preference.js';
import { ROOT_DSE_ATTRIBUTES, type ServerInfo, serverInfoFromRootDse } from './server-info.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import type { UsernameFormatter } from '../formatting/username-formatter.js';
import { errorText } from '../logging/one-line.js';
import { OutageLog } from '../logging/outage-log.js';
import { ldapAuthMetrics } from '../metrics/ldap-auth-metrics.js';
import {
  DirectoryError,
  DirectoryUnavailableError,
  LdapAuthError,
  LdapConfigurationError,
  ServiceAccountBindError,
} from '../errors/ldap-auth.errors.js';

/** One pooled connection: the ldapts client, the socket we opened for it, and what its server is. */
export interface LdapConnection {
  client: Client;
  socket: net.Socket;
  server: ServerInfo;
  url: string;
}

/** Which servers connections go to now (the admin page's failover state). */
export interface ServerState {
  /** LDAP_AUTH_URL in order, each with whether it failed and is skipped until a probe sees it answer. */
  urls: Array<{ url: string; suspect: boolean }>;
  /** Where a new connection goes first. */
  preferred: string;
  /** The server of the latest connection opened, and what its root DSE said; undefined before the first. */
  latest?: { url: string; server: ServerInfo; at: Date };
}

/**
 * The directory's connections. Two pools: one whose connections bind as users logging in, one bound as the
 * service account; and, outside them, the sync's reading connection. URLs are tried in order when one cannot
 * be reached, and a server that failed is skipped until a probe sees it answer (ServerPreference); sockets (TCP,
 * TLS, StartTLS) are opened by openLdapSocket before ldapts sees them, and a connection that drops is discarded
 * rather than silently reconnected.
 *
 * After a timeout, only what comes before a user's bind is tried again on another server (the service account's
 * searches; a connection's root DSE read, in firstReachable): a bind that was sent may have been counted by the
 * server's lockout policy, and sending it again elsewhere would count it twice.
 */
export class LdapConnections {
  private readonly userPool: LdapConnectionPool<LdapConnection>;
  private readonly servicePool: LdapConnectionPool<LdapConnection>;
  private readonly preference: ServerPreference;
  private readonly serverOutages = new Map<string, OutageLog>();
  private readonly stopObserving: Array<() => void>;
  private latest?: ServerState['latest'];

  constructor(
    private readonly options: ResolvedLdapAuthOptions,
    private readonly formatter: UsernameFormatter,
    private readonly logger: LoggerService,
  ) {
    const { poolSize, poolMaxWaiting, poolWaitTimeout } = options.server;
    const limits = { size: poolSize, maxWaiting: poolMaxWaiting, waitTimeoutMs: poolWaitTimeout };
    this.preference = new ServerPreference(options.server.urls, (url) => serverAnswers(url, options), logger);
    const hooks = {
      // Not reused: a connection to a server that failed, or to a later server once the preferred one is back.
      usable: (c: LdapConnection) => c.client.isConnected && !this.preference.shouldRetire(c.url),
      // An LDAP answer (a refused bind, no such object...) leaves the connection fine; anything else may not.
      breaks: (error: unknown) => !(error instanceof ResultCodeError || error instanceof LdapAuthError),
      destroy: (c: LdapConnection) => this.dispose(c),
    };
    this.userPool = new LdapConnectionPool(limits, { ...hooks, connect: () => this.connect() });
    this.servicePool = new LdapConnectionPool(limits, { ...hooks, connect: () => this.connectAsService() });
    this.stopObserving = [
      ldapAuthMetrics.observePool('login', () => this.userPool.stats()),
      ldapAuthMetrics.observePool('service', () => this.servicePool.stats()),
    ];
  }

  /** Runs `fn` on a connection of the user pool (not bound yet, or bound by an earlier login). */
  withUserConnection<T>(fn: (connection: LdapConnection) => Promise<T>): Promise<T> {
    return this.run(this.userPool, fn);
  }

  /** Runs `fn` on a connection bound as the service account. */
  withServiceConnection<T>(fn: (connection: LdapConnection) => Promise<T>): Promise<T> {
    return this.run(this.servicePool, fn, true);
  }

  /** The failover state: the URLs, which failed, where connections go, the latest server connected to. */
  serverState(): ServerState {
    const urls = this.options.server.urls.map((url) => ({ url, suspect: this.preference.isSuspect(url) }));
    return { urls, preferred: this.preference.order()[0], latest: this.latest };
  }

  async close(): Promise<void> {
    for (const stop of this.stopObserving) stop();
    this.preference.close();
    await Promise.all([this.userPool.close(), this.servicePool.close()]);
  }

  /** Maps failures below LDAP (refused, timed out, TLS) to DirectoryUnavailableError, the rest to DirectoryError. */
  private async run<T>(
    pool: LdapConnectionPool<LdapConnection>,
    fn: (connection: LdapConnection) => Promise<T>,
    retryTimeout = false,
  ): Promise<T> {
    let timedOut = false;
    const watched = async (connection: LdapConnection): Promise<T> => {
      try {
        return await fn(connection);
      } catch (error) {
        if (isTimeout(error)) {
          timedOut = true;
          this.preference.failed(connection.url, messageOf(error));
        }
        throw error;
      }
    };
    try {
      try {
        return await pool.use(watched);
      } catch (error) {
        // Once, on a connection to another server (the one that timed out is now skipped).
        if (!(retryTimeout && timedOut)) throw error;
        return await pool.use(fn);
      }
    } catch (error) {
      if (error instanceof LdapAuthError) throw error;
      if (error instanceof ResultCodeError) {
        throw new DirectoryError(`the directory refused a request: ${describeLdapResult(error)}`, {
          cause: error,
        });
      }
      throw new DirectoryUnavailableError(`the directory did not answer: ${messageOf(error)}`, { cause: error });
    }
  }

  /** Opens a connection to the first server that answers, and learns what kind of server it is. */
  private connect(): Promise<LdapConnection> {
    const { server } = this.options;
    return this.firstReachable(
      async (url, socket) => {
        const connection: LdapConnection = {
          client: clientOnSocket(url, socket, server),
          socket,
          url,
          server: serverInfoFromRootDse(undefined),
        };
        try {
          connection.server = serverInfoFromRootDse(await readRootDse(connection.client));
          this.latest = { url, server: connection.server, at: new Date() };
          return connection;
        } catch (error) {
          await this.dispose(connection);
          throw error;
        }
      },
      (socket) => socket.destroy(),
    );
  }

  /**
   * The sync's reading connection: the first server that answers, bound as the service account. Its own, outside
   * the pools: the read is long, and it decodes its responses itself. The caller closes it.
   */
  async connectForBulkRead(
    limits?: Partial<BulkReadLimits>,
  ): Promise<{ reader: BulkReadConnection; server: ServerInfo }> {
    const { dn, password } = this.serviceCredentials();
    const reader = await this.firstReachable(
      (_url, socket) => Promise.resolve(new BulkReadConnection(socket, this.options.server.timeout, limits)),
      (socket) => socket.destroy(),
    );
    try {
      await reader.bind(dn, password);
    } catch (error) {
      reader.close();
      if (error instanceof ResultCodeError) {
        throw new ServiceAccountBindError(
          `the service account could not bind (LDAP_SYNC_USER_USERNAME / LDAP_SYNC_USER_PASSWORD): ${describeBindFailure(error)}`,
        );
      }
      throw new DirectoryUnavailableError(`the directory did not answer: ${messageOf(error)}`, { cause: error });
    }
    try {
      const { searchEntries } = await reader.search('', {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ROOT_DSE_ATTRIBUTES,
      });
      return { reader, server: serverInfoFromRootDse(searchEntries[0]) };
    } catch (error) {
      if (error instanceof ResultCodeError) return { reader, server: serverInfoFromRootDse(undefined) };
      reader.close();
      throw new DirectoryUnavailableError(`the directory did not answer: ${messageOf(error)}`, { cause: error });
    }
  }

  /** Tries the URLs in order and returns what `open` made of the first socket that opened and worked. */
  private async firstReachable<T>(
    open: (url: string, socket: net.Socket) => Promise<T>,
    discard: (socket: net.Socket) => void,
  ): Promise<T> {
    const { server } = this.options;
    const failures: string[] = [];
    for (const url of this.preference.order()) {
      let socket: net.Socket | undefined;
      try {
        socket = await openLdapSocket(url, {
          starttls: server.starttls,
          tlsOptions: server.tlsOptions,
          deadlineMs: server.connectTimeout + server.timeout,
        });
        const opened = await open(url, socket);
        this.preference.answered(url);
        this.serverOutage(url).succeeded(`${url} is reachable again`);
        return opened;
      } catch (error) {
        if (socket) discard(socket);
        if (error instanceof LdapSocketError && error.resultCode !== undefined) {
          // The server answered but refused StartTLS: a configuration problem, and never a reason for plain text.
          throw new DirectoryError(`${url}: ${error.message}`, { cause: error });
        }
        failures.push(`${url}: ${messageOf(error)}`);
        this.serverOutage(url).failed(messageOf(error), `Cannot use ${url}: ${messageOf(error)}`);
        this.preference.failed(url, messageOf(error));
      }
    }
    throw new DirectoryUnavailableError(`no directory server could be reached (${failures.join('; ')})`);
  }

  /** Per server: a server down is logged when it goes and comes back, counted in between (not per login). */
  private serverOutage(url: string): OutageLog {
    let log = this.serverOutages.get(url);
    if (!log) {
      log = new OutageLog(this.logger, `connections to ${url} failed`, { firstLevel: 'warn' });
      this.serverOutages.set(url, log);
    }
    return log;
  }

  private async connectAsService(): Promise<LdapConnection> {
    const connection = await this.connect();
    const { dn, password } = this.serviceCredentials();
    try {
      await connection.client.bind(dn, password);
      return connection;
    } catch (error) {
      await this.dispose(connection);
      if (error instanceof ResultCodeError) {
        throw new ServiceAccountBindError(
          `the service account could not bind (LDAP_SYNC_USER_USERNAME / LDAP_SYNC_USER_PASSWORD): ${describeBindFailure(error)}`,
        );
      }
      // Remembered, but the bind is not sent again elsewhere: the next request's connection goes to another server.
      if (isTimeout(error)) this.preference.failed(connection.url, messageOf(error));
      throw error;
    }
  }

  /** The service account's bind DN and password; a plain name goes through the username formatter. */
  serviceCredentials(): { dn: string; password: string } {
    const { server, serviceAccount } = this.options;
    if (server.bindDN && server.bindCredentials) return { dn: server.bindDN, password: server.bindCredentials };
    if (serviceAccount?.password) {
      const name = serviceAccount.username;
      return {
        dn: looksLikeDn(name) ? name : this.formatter.toBindName(this.formatter.toLookupName(name)),
        password: serviceAccount.password,
      };
    }
    throw new LdapConfigurationError(['no service account: set LDAP_SYNC_USER_USERNAME and LDAP_SYNC_USER_PASSWORD']);
  }

  /** Closes a connection for good: unbind politely, but never wait on a peer that does not answer. */
  private async dispose(connection: LdapConnection): Promise<void> {
    const unbound = connection.client.isConnected ? connection.client.unbind().catch(() => undefined) : undefined;
    connection.socket.destroy();
    await unbound;
  }

  /** Warns about transports that expose passwords. */
  warnAboutTransport(): void {
    const { server } = this.options;
    if (server.tlsOptions.rejectUnauthorized === false) {
      this.logger.warn(
        'TLS certificate verification is OFF (LDAP_AUTH_TLS_REJECT_UNAUTHORIZED=false): anyone on the path can read passwords.',
      );
    }
    const plain = server.urls.filter((url) => url.toLowerCase().startsWith('ldap://'));
    if (plain.length && !server.starttls) {
      const message = `${plain.join(', ')} without StartTLS: passwords cross the network in clear text. Use ldaps:// (recommended) or LDAP_AUTH_USE_TLS=true.`;
      if (process.env.NODE_ENV === 'production') this.logger.error(`INSECURE: ${message}`);
      else this.logger.warn(message);
    }
  }
}

/** Root DSE read; undefined when the server answered but would not show it. Throws when it did not answer. */
export async function readRootDse(client: Client): Promise<Entry | undefined> {
  try {
    const { searchEntries } = await client.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ROOT_DSE_ATTRIBUTES,
    });
    return searchEntries[0];
  } catch (error) {
    if (error instanceof ResultCodeError) return undefined;
    throw error;
  }
}

function messageOf(error: unknown): string {
  return errorText(error);
}
