import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  AndFilter,
  Client,
  Control,
  EqualityFilter,
  ExtensibleFilter,
  type Filter,
  NoSuchObjectError,
  OrFilter,
  ResultCodeError,
  type SearchOptions,
} from 'ldapts';
import { LdapConnectionPool } from './ldap-connection-pool.js';
import { escapeFilterValue, firstRdnValue, looksLikeDn, tryNormalizeDn } from './ldap-escape.js';
import { type DirectoryGroup, type DirectoryUser, firstValue, toDirectoryUser } from './directory-user.js';
import { describeBindFailure } from './bind-failure.js';
import {
  AD_DOMAIN_SCOPE_CONTROL,
  AD_MATCHING_RULE_IN_CHAIN,
  AD_UUID_ATTRIBUTE,
  LDAP_AUTH_RESOLVED_OPTIONS,
  OPENLDAP_UUID_ATTRIBUTE,
} from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { UsernameFormatter } from '../formatting/username-formatter.js';
import {
  DirectoryError,
  DirectoryUnavailableError,
  InvalidCredentialsError,
  LdapConfigurationError,
} from '../errors/ldap-auth.errors.js';

/** The sockets we opened for one client, and whether they are all still open. */
interface ClientSockets {
  alive: boolean;
  sockets: net.Socket[];
}

/** Deepest nesting followed when groups are expanded by the client. */
const MAX_NESTING_DEPTH = 32;

/**
 * Reads done on one connection, bound as one identity (a user who just logged in, or the service account).
 */
export interface DirectorySession {
  /** The user's entry by bare login name; exactly one entry or an InvalidCredentialsError. */
  findUser(lookupName: string): Promise<DirectoryUser>;
  /** Which of `groupDns` (normalised) the user belongs to, directly or, with `nestedGroups`, through nesting. */
  membership(user: DirectoryUser, groupDns: readonly string[]): Promise<Set<string>>;
  /** The groups among `groupDns` (normalised) that exist, by normalised DN, with their names. */
  readGroups(groupDns: readonly string[]): Promise<Map<string, DirectoryGroup>>;
}

/**
 * The one place that speaks LDAP. Two pools: one whose connections bind as users logging in, one bound as
 * the service account. URLs are tried in order when one cannot be reached; StartTLS is awaited before any
 * bind, and a connection that drops is discarded rather than silently reconnected in clear text.
 */
@Injectable()
export class LdapDirectory implements OnApplicationShutdown {
  private readonly logger = new Logger(LdapDirectory.name);
  private readonly userPool: LdapConnectionPool;
  private readonly servicePool: LdapConnectionPool;
  /** Whether a client's sockets are all still open (see createClient). */
  private readonly liveness = new WeakMap<Client, ClientSockets>();

  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly formatter: UsernameFormatter,
  ) {
    const size = options.server.poolSize;
    const usable = (client: Client) => client.isConnected && this.liveness.get(client)?.alive !== false;
    const dispose = (client: Client) => this.dispose(client);
    this.userPool = new LdapConnectionPool(() => this.connect(), size, usable, dispose);
    this.servicePool = new LdapConnectionPool(() => this.connectAsService(), size, usable, dispose);
    if (options.server.tlsOptions.rejectUnauthorized === false) {
      this.logger.warn(
        'TLS certificate verification is OFF (LDAP_AUTH_TLS_REJECT_UNAUTHORIZED=false): anyone on the path can read passwords.',
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.userPool.close(), this.servicePool.close()]);
  }

  /** Binds as `bindName` (a DN or an AD logon name) and runs `fn` on that connection. */
  async withUserSession<T>(
    bindName: string,
    password: string,
    fn: (session: DirectorySession) => Promise<T>,
  ): Promise<T> {
    // Servers treat a name with an empty password as an anonymous bind: it must never be sent.
    if (!password) throw new InvalidCredentialsError('empty password');
    return this.run(this.userPool, async (client) => {
      try {
        await client.bind(bindName, password);
      } catch (error) {
        if (error instanceof ResultCodeError && (error.code === 49 || error.code === 53)) {
          throw new InvalidCredentialsError(describeBindFailure(error));
        }
        throw error;
      }
      return fn(this.session(client));
    });
  }

  /** Runs `fn` on a connection bound as the service account. */
  async withServiceSession<T>(fn: (session: DirectorySession) => Promise<T>): Promise<T> {
    return this.run(this.servicePool, (client) => fn(this.session(client)));
  }

  /** Resolves when some directory server answers (reads the root DSE); throws DirectoryUnavailableError otherwise. */
  async ping(): Promise<void> {
    await this.run(this.userPool, readRootDse);
  }

  /** Maps failures below LDAP (refused, timed out, TLS) to DirectoryUnavailableError, the rest to DirectoryError. */
  private async run<T>(pool: LdapConnectionPool, fn: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await pool.use(fn);
    } catch (error) {
      if (error instanceof InvalidCredentialsError || error instanceof LdapConfigurationError) throw error;
      if (error instanceof DirectoryUnavailableError || error instanceof DirectoryError) throw error;
      if (error instanceof ResultCodeError) {
        throw new DirectoryError(`the directory refused a request: ${error.message} (code ${error.code})`, {
          cause: error,
        });
      }
      throw new DirectoryUnavailableError(`the directory did not answer: ${messageOf(error)}`, { cause: error });
    }
  }

  private session(client: Client): DirectorySession {
    return {
      findUser: (lookupName) => this.findUser(client, lookupName),
      membership: (user, groupDns) => this.membership(client, user, groupDns),
      readGroups: (dns) => this.readGroups(client, dns),
    };
  }

  private isActiveDirectory(user?: DirectoryUser): boolean {
    if (user) return user.isActiveDirectory;
    return this.options.usernameFormat !== 'openldap' || this.options.objectClass.toLowerCase() === 'user';
  }

  private searchControls(): Control[] | undefined {
    // Without it a subtree search from an AD domain root also returns referrals to other partitions.
    return this.isActiveDirectory() ? [new Control(AD_DOMAIN_SCOPE_CONTROL, { critical: false })] : undefined;
  }

  private userFilter(lookupName: string): Filter | string {
    const { searchFilter } = this.options.server;
    if (searchFilter) return searchFilter.replaceAll('{{username}}', escapeFilterValue(lookupName));
    return new AndFilter({
      filters: [
        new EqualityFilter({ attribute: 'objectClass', value: this.options.objectClass }),
        new EqualityFilter({ attribute: this.options.userFields.username, value: lookupName }),
      ],
    });
  }

  private userAttributes(): string[] {
    const { userFields, server } = this.options;
    const names = [
      userFields.username,
      userFields.email,
      userFields.firstName,
      userFields.lastName,
      ...server.searchAttributes,
      OPENLDAP_UUID_ATTRIBUTE,
      AD_UUID_ATTRIBUTE,
      'memberOf',
    ];
    return [...new Set(names.filter((n): n is string => !!n))];
  }

  private async findUser(client: Client, lookupName: string): Promise<DirectoryUser> {
    const options: SearchOptions = {
      scope: 'sub',
      filter: this.userFilter(lookupName),
      attributes: this.userAttributes(),
      explicitBufferAttributes: [AD_UUID_ATTRIBUTE],
      // Two are enough to know the name is ambiguous.
      sizeLimit: 2,
    };
    let entries;
    try {
      ({ searchEntries: entries } = await client.search(
        this.options.server.searchBase,
        options,
        this.searchControls(),
      ));
    } catch (error) {
      if (error instanceof NoSuchObjectError) {
        throw new DirectoryError(
          `the search base "${this.options.server.searchBase}" does not exist (LDAP_AUTH_SEARCH_BASE)`,
          { cause: error },
        );
      }
      throw error;
    }
    if (entries.length !== 1) {
      throw new InvalidCredentialsError(
        entries.length === 0 ? 'no entry matches the username' : 'more than one entry matches the username',
      );
    }
    const user = toDirectoryUser(entries[0], this.options.userFields);
    if (!user) {
      throw new InvalidCredentialsError(
        `the entry ${entries[0].dn} has no ${this.options.userFields.username} or no entryUUID/objectGUID`,
      );
    }
    return user;
  }

  private async membership(client: Client, user: DirectoryUser, groupDns: readonly string[]): Promise<Set<string>> {
    const wanted = new Set(groupDns);
    const found = new Set<string>();
    if (wanted.size === 0) return found;
    const source = this.options.groupMembership;
    const ad = this.isActiveDirectory(user);

    if (this.options.nestedGroups && ad) {
      // AD answers nesting itself: ask, per wanted group, whether the user's entry is in its chain.
      for (const dn of wanted) {
        const filter = new ExtensibleFilter({ matchType: 'memberOf', rule: AD_MATCHING_RULE_IN_CHAIN, value: dn });
        const { searchEntries } = await client.search(user.dn, { scope: 'base', filter, attributes: ['1.1'] });
        if (searchEntries.length) found.add(dn);
      }
      return found;
    }

    const direct = await this.directGroups(client, user, source);
    for (const dn of direct) if (wanted.has(dn)) found.add(dn);
    if (!this.options.nestedGroups || source === 'memberUid') return found;

    // Expand upwards level by level; `seen` stops cycles.
    const attribute = source === 'uniqueMember' ? 'uniqueMember' : 'member';
    const seen = new Set(direct);
    let frontier = [...direct];
    for (let depth = 0; frontier.length && depth < MAX_NESTING_DEPTH && found.size < wanted.size; depth++) {
      const filter = new OrFilter({ filters: frontier.map((dn) => new EqualityFilter({ attribute, value: dn })) });
      const parents = await this.searchDns(client, filter);
      frontier = parents.filter((dn) => !seen.has(dn));
      for (const dn of frontier) {
        seen.add(dn);
        if (wanted.has(dn)) found.add(dn);
      }
    }
    return found;
  }

  /** Normalised DNs of the groups the user is directly in. */
  private async directGroups(
    client: Client,
    user: DirectoryUser,
    source: ResolvedLdapAuthOptions['groupMembership'],
  ): Promise<string[]> {
    if (source === 'memberOf' || (source === 'auto' && user.memberOf?.length)) {
      return (user.memberOf ?? []).map(tryNormalizeDn).filter((dn): dn is string => !!dn);
    }
    const filter =
      source === 'memberUid'
        ? new EqualityFilter({ attribute: 'memberUid', value: user.username })
        : new EqualityFilter({ attribute: source === 'uniqueMember' ? 'uniqueMember' : 'member', value: user.dn });
    return this.searchDns(client, filter);
  }

  private async searchDns(client: Client, filter: Filter): Promise<string[]> {
    const dns: string[] = [];
    const pages = client.searchPaginated(
      this.options.server.groupSearchBase,
      { scope: 'sub', filter, attributes: ['1.1'], paged: { pageSize: 500 } },
      this.searchControls(),
    );
    for await (const page of pages) {
      for (const entry of page.searchEntries) {
        const dn = tryNormalizeDn(entry.dn);
        if (dn) dns.push(dn);
      }
    }
    return dns;
  }

  private async readGroups(client: Client, dns: readonly string[]): Promise<Map<string, DirectoryGroup>> {
    const groups = new Map<string, DirectoryGroup>();
    for (const dn of dns) {
      try {
        const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['cn'] });
        const entry = searchEntries[0];
        if (entry) groups.set(dn, { dn: entry.dn, name: firstValue(entry, 'cn') ?? firstRdnValue(entry.dn) });
      } catch (error) {
        if (!(error instanceof NoSuchObjectError)) throw error;
      }
    }
    return groups;
  }

  /** Opens a connection to the first server that answers. */
  private async connect(): Promise<Client> {
    const failures: string[] = [];
    for (const url of this.options.server.urls) {
      const client = this.createClient(url);
      try {
        await withDeadline(
          this.establish(client, url),
          this.options.server.connectTimeout + this.options.server.timeout,
          `connecting to ${url}`,
        );
        return client;
      } catch (error) {
        await this.dispose(client);
        if (error instanceof ResultCodeError) {
          // The server answered but refused (StartTLS not supported, ...): not a reason to try plain text.
          throw new DirectoryError(`${url}: ${error.message} (code ${error.code})`, { cause: error });
        }
        failures.push(`${url}: ${messageOf(error)}`);
        this.logger.warn(`Cannot reach ${url}: ${messageOf(error)}`);
      }
    }
    throw new DirectoryUnavailableError(`no directory server could be reached (${failures.join('; ')})`);
  }

  private async connectAsService(): Promise<Client> {
    const client = await this.connect();
    const { dn, password } = this.serviceCredentials();
    try {
      await client.bind(dn, password);
      return client;
    } catch (error) {
      await this.dispose(client);
      if (error instanceof ResultCodeError && (error.code === 49 || error.code === 53)) {
        throw new DirectoryError(
          `the service account could not bind (LDAP_SYNC_USER_USERNAME / LDAP_SYNC_USER_PASSWORD): ${describeBindFailure(error)}`,
        );
      }
      throw error;
    }
  }

  private serviceCredentials(): { dn: string; password: string } {
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

  /**
   * Closes a client for good. ldapts' unbind waits for a close it never sees on a StartTLS socket (and would
   * hold a timer for the whole operation timeout), so we also destroy the sockets ourselves; a client whose
   * socket is already gone gets no unbind at all.
   */
  private async dispose(client: Client): Promise<void> {
    const state = this.liveness.get(client);
    const unbound = state?.alive === false ? Promise.resolve() : client.unbind().catch(() => undefined);
    for (const socket of state?.sockets ?? []) socket.destroy();
    await unbound;
  }

  private createClient(url: string): Client {
    const { server } = this.options;
    // Each client opens one socket (plus one TLS upgrade for StartTLS): if it drops, ldapts would reconnect
    // on its own, without StartTLS and unauthenticated. Refusing a second one makes the pool discard it.
    // ldapts also misses the close of a StartTLS-upgraded socket, so we watch the sockets ourselves.
    const state: ClientSockets = { alive: true, sockets: [] };
    const once = <F extends (...args: never[]) => net.Socket>(open: F): F => {
      let used = false;
      return ((...args: Parameters<F>) => {
        if (used) throw new Error('connection lost');
        used = true;
        const socket = open(...args);
        state.sockets.push(socket);
        socket.once('close', () => (state.alive = false));
        return socket;
      }) as F;
    };
    const client = new Client({
      url,
      timeout: server.timeout,
      connectTimeout: server.connectTimeout,
      // ldapts speaks TLS from the first byte whenever tlsOptions are given: only for ldaps:// URLs.
      tlsOptions: url.toLowerCase().startsWith('ldaps://') ? server.tlsOptions : undefined,
      strictDN: false,
      createConnection: once(net.connect),
      createSecureConnection: once(tls.connect),
    });
    this.liveness.set(client, state);
    return client;
  }

  private async establish(client: Client, url: string): Promise<void> {
    const { server } = this.options;
    if (server.starttls && url.toLowerCase().startsWith('ldap://')) {
      const host = new URL(url).hostname;
      // Checked against the certificate; a separate servername option wins (an IP, a load balancer).
      await client.startTLS({ host, ...server.tlsOptions });
      return;
    }
    await readRootDse(client);
  }
}

/** Root DSE read: opens the socket (and TLS) now, so an unreachable server is found before any bind. */
async function readRootDse(client: Client): Promise<void> {
  try {
    await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
  } catch (error) {
    // The server answered: it is reachable even if it does not let anonymous clients read the root DSE.
    if (!(error instanceof ResultCodeError)) throw error;
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
