import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type * as net from 'node:net';
import {
  AndFilter,
  Client,
  Control,
  EqualityFilter,
  ExtensibleFilter,
  type Entry,
  type Filter,
  NoSuchObjectError,
  OrFilter,
  ResultCodeError,
  type SearchOptions,
} from 'ldapts';
import { LdapConnectionPool } from './ldap-connection-pool.js';
import {
  escapeDnValue,
  escapeFilterValue,
  firstRdnValue,
  looksLikeDn,
  normalizeDn,
  tryNormalizeDn,
} from '../model/ldap-escape.js';
import { type DirectoryGroup, type DirectoryUser, firstValue, toDirectoryUser } from '../model/directory-user.js';
import { bindFailureCode, describeBindFailure } from './bind-failure.js';
import { clientOnSocket, LdapSocketError, openLdapSocket } from './ldap-socket.js';
import { readDirectorySnapshot } from './sync-reader/snapshot-reader.js';
import { ListedGroupMatcher } from '../model/listed-groups.js';
import { BulkReadConnection } from './sync-reader/bulk-read-connection.js';
import { verifyBoundIdentity } from './bound-identity.js';
import { boundConnectionOf, ForestDomainCache } from './identity-reads.js';
import type { DirectorySnapshot, ReadProgress } from '../model/directory-snapshot.js';
import { deriveGroupSearchBase, ROOT_DSE_ATTRIBUTES, type ServerInfo, serverInfoFromRootDse } from './server-info.js';
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
  LdapAuthError,
  LdapConfigurationError,
} from '../errors/ldap-auth.errors.js';

/** One pooled connection: the ldapts client, the socket we opened for it, and what its server is. */
interface LdapConnection {
  client: Client;
  socket: net.Socket;
  server: ServerInfo;
  url: string;
}

/** Result codes of a refused bind that mean "the server cannot answer now", not "this login is wrong". */
const SERVER_BUSY_CODES = new Set([51, 52]);
/** Deepest nesting followed when groups are expanded by the client. */
const MAX_NESTING_DEPTH = 32;
/** AD's security identifier attribute (binary). */
const AD_SID_ATTRIBUTE = 'objectSid';

/**
 * Reads done on one connection, bound as one identity (a user who just logged in, or the service account).
 */
export interface DirectorySession {
  /**
   * The user's entry by bare login name; exactly one entry or an InvalidCredentialsError. On a session bound
   * as a user, the entry must also be the identity that bound, or the login is refused.
   */
  findUser(lookupName: string): Promise<DirectoryUser>;
  /**
   * Which of `groupDns` (normalised) the user belongs to, directly or, with `nestedGroups`, through nesting.
   * `known` (from readGroups) lets a group match under its entry's DN as the server spells it too.
   */
  membership(
    user: DirectoryUser,
    groupDns: readonly string[],
    known?: ReadonlyMap<string, DirectoryGroup>,
  ): Promise<Set<string>>;
  /** The groups among `groupDns` (normalised) that exist, by normalised DN, with their names. */
  readGroups(groupDns: readonly string[]): Promise<Map<string, DirectoryGroup>>;
}

/**
 * The one place that speaks LDAP. Two pools: one whose connections bind as users logging in, one bound as
 * the service account. URLs are tried in order when one cannot be reached; sockets (TCP, TLS, StartTLS) are
 * opened by openLdapSocket before ldapts sees them, and a connection that drops is discarded rather than
 * silently reconnected.
 */
@Injectable()
export class LdapDirectory implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LdapDirectory.name);
  private readonly userPool: LdapConnectionPool<LdapConnection>;
  private readonly servicePool: LdapConnectionPool<LdapConnection>;
  /** Per URL: whether the server's schema defines memberOf (OpenLDAP with the memberof overlay). */
  private readonly memberOfSupport = new Map<string, Promise<boolean>>();
  /** Per URL: the AD forest's domains, for the login's identity check. */
  private readonly forestDomains = new ForestDomainCache();

  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly formatter: UsernameFormatter,
  ) {
    const { poolSize, poolMaxWaiting, poolWaitTimeout } = options.server;
    const limits = { size: poolSize, maxWaiting: poolMaxWaiting, waitTimeoutMs: poolWaitTimeout };
    const hooks = {
      usable: (c: LdapConnection) => c.client.isConnected,
      // An LDAP answer (a refused bind, no such object...) leaves the connection fine; anything else may not.
      breaks: (error: unknown) => !(error instanceof ResultCodeError || error instanceof LdapAuthError),
      destroy: (c: LdapConnection) => this.dispose(c),
    };
    this.userPool = new LdapConnectionPool(limits, { ...hooks, connect: () => this.connect() });
    this.servicePool = new LdapConnectionPool(limits, { ...hooks, connect: () => this.connectAsService() });
  }

  /** Warns at every start about transports that expose passwords (here, once the app's logger is in place). */
  onApplicationBootstrap(): void {
    this.warnAboutTransport();
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
    if (!password) throw new InvalidCredentialsError('empty password', 'invalid_input');
    return this.run(this.userPool, async (connection) => {
      await this.bindAsUser(connection, bindName, password);
      return fn(this.session(connection, bindName));
    });
  }

  /** Runs `fn` on a connection bound as the service account. */
  async withServiceSession<T>(fn: (session: DirectorySession) => Promise<T>): Promise<T> {
    return this.run(this.servicePool, (connection) => fn(this.session(connection)));
  }

  /**
   * A bind that cannot succeed (a DN that does not exist), costing the same round trips as a real one: so a
   * search-mode login for an unknown user takes as long as one with a wrong password. Never throws.
   */
  async decoyBind(password: string): Promise<void> {
    const dn = `cn=${escapeDnValue(randomUUID())},${this.options.server.searchBase}`;
    await this.run(this.userPool, (connection) =>
      this.bindAsUser(connection, dn, password || 'x').catch(() => undefined),
    ).catch(() => undefined);
  }

  /**
   * The whole directory as the full sync needs it, read with the service account; throws
   * IncompleteDirectoryReadError (or DirectoryUnavailableError) rather than return a partial snapshot.
   */
  async readSnapshot(onProgress?: (progress: ReadProgress) => void): Promise<DirectorySnapshot> {
    const { server, objectClass, userFields, syncedGroups, loginGroup, nestedGroups, groupMembership } = this.options;
    // A connection of its own, outside the pools: the read is long, and it decodes its responses itself.
    const connection = await this.connectForBulkRead();
    try {
      return await readDirectorySnapshot(connection.reader, connection.server, {
        searchBase: server.searchBase,
        objectClass,
        userFields,
        groupDns: syncedGroups.map(normalizeDn),
        loginGroup: loginGroup ? normalizeDn(loginGroup) : undefined,
        nestedGroups,
        memberAttribute:
          groupMembership === 'uniqueMember' || groupMembership === 'memberUid' ? groupMembership : 'member',
        onProgress,
      });
    } finally {
      connection.reader.close();
    }
  }

  /** Resolves when some directory server answers (reads the root DSE); throws DirectoryUnavailableError otherwise. */
  async ping(): Promise<void> {
    await this.run(this.userPool, (connection) => readRootDse(connection.client));
  }

  /** Maps failures below LDAP (refused, timed out, TLS) to DirectoryUnavailableError, the rest to DirectoryError. */
  private async run<T>(
    pool: LdapConnectionPool<LdapConnection>,
    fn: (connection: LdapConnection) => Promise<T>,
  ): Promise<T> {
    try {
      return await pool.use(fn);
    } catch (error) {
      if (error instanceof LdapAuthError) throw error;
      if (error instanceof ResultCodeError) {
        throw new DirectoryError(`the directory refused a request: ${error.message} (code ${error.code})`, {
          cause: error,
        });
      }
      throw new DirectoryUnavailableError(`the directory did not answer: ${messageOf(error)}`, { cause: error });
    }
  }

  private async bindAsUser(connection: LdapConnection, bindName: string, password: string): Promise<void> {
    try {
      await connection.client.bind(bindName, password);
    } catch (error) {
      if (!(error instanceof ResultCodeError)) throw error;
      // Every refusal is a failed login (wrong password, locked, disabled, policy...), except a server that
      // says it cannot answer right now.
      if (SERVER_BUSY_CODES.has(error.code)) {
        throw new DirectoryUnavailableError(`the directory cannot take binds now: ${describeBindFailure(error)}`);
      }
      throw new InvalidCredentialsError(describeBindFailure(error), bindFailureCode(error));
    }
  }

  private session(connection: LdapConnection, boundAs?: string): DirectorySession {
    return {
      findUser: async (lookupName) => {
        const user = await this.findUser(connection, lookupName);
        if (boundAs !== undefined) {
          const bound = boundConnectionOf(connection.client, connection.server, connection.url, this.forestDomains);
          await verifyBoundIdentity(bound, boundAs, user);
        }
        return user;
      },
      membership: (user, groupDns, known) => this.membership(connection, user, groupDns, known),
      readGroups: (dns) => this.readGroups(connection.client, dns),
    };
  }

  private searchControls(connection: LdapConnection): Control[] | undefined {
    // Without it a subtree search from an AD domain root also returns referrals to other partitions.
    return connection.server.activeDirectory ? [new Control(AD_DOMAIN_SCOPE_CONTROL, { critical: false })] : undefined;
  }

  private userFilter(connection: LdapConnection, lookupName: string): Filter | string {
    const { searchFilter } = this.options.server;
    // A function replacer: a string one would read `$&`, `$'`... in the name as patterns.
    if (searchFilter) return searchFilter.replaceAll('{{username}}', () => escapeFilterValue(lookupName));
    const filters = [
      new EqualityFilter({ attribute: 'objectClass', value: this.options.objectClass }),
      new EqualityFilter({ attribute: this.options.userFields.username, value: lookupName }),
    ];
    // On AD computer accounts are of class user too, and any domain user may create some.
    if (connection.server.activeDirectory && this.options.objectClass.toLowerCase() === 'user') {
      filters.push(new EqualityFilter({ attribute: 'objectCategory', value: 'person' }));
    }
    return new AndFilter({ filters });
  }

  private userAttributes(connection: LdapConnection): string[] {
    const { userFields, server } = this.options;
    const names = [
      userFields.username,
      userFields.email,
      userFields.firstName,
      userFields.lastName,
      ...server.searchAttributes,
      connection.server.activeDirectory ? AD_UUID_ATTRIBUTE : OPENLDAP_UUID_ATTRIBUTE,
      'memberOf',
      ...(connection.server.activeDirectory ? [AD_SID_ATTRIBUTE, 'sAMAccountName'] : []),
    ];
    return [...new Set(names.filter((n): n is string => !!n))];
  }

  private async findUser(connection: LdapConnection, lookupName: string): Promise<DirectoryUser> {
    const options: SearchOptions = {
      scope: 'sub',
      filter: this.userFilter(connection, lookupName),
      attributes: this.userAttributes(connection),
      explicitBufferAttributes: [AD_UUID_ATTRIBUTE, AD_SID_ATTRIBUTE],
      // Two are enough to know the name is ambiguous.
      sizeLimit: 2,
    };
    let entries;
    try {
      ({ searchEntries: entries } = await connection.client.search(
        this.options.server.searchBase,
        options,
        this.searchControls(connection),
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
        entries.length === 0 ? 'unknown_user' : 'ambiguous_username',
      );
    }
    const activeDirectory = connection.server.activeDirectory;
    const user = toDirectoryUser(entries[0], this.options.userFields, { activeDirectory, lookupName });
    if (!user) {
      throw new InvalidCredentialsError(
        `the entry ${entries[0].dn} has no ${this.options.userFields.username} or no ${activeDirectory ? AD_UUID_ATTRIBUTE : OPENLDAP_UUID_ATTRIBUTE}`,
      );
    }
    return user;
  }

  private async membership(
    connection: LdapConnection,
    user: DirectoryUser,
    groupDns: readonly string[],
    known?: ReadonlyMap<string, DirectoryGroup>,
  ): Promise<Set<string>> {
    const wanted = new Set(groupDns);
    if (wanted.size === 0) return new Set();
    const { client } = connection;
    const source = await this.membershipSource(connection);
    const ad = connection.server.activeDirectory;

    if (this.options.nestedGroups && ad) {
      // AD answers nesting itself: ask, per wanted group, whether the user's entry is in its chain.
      const found = new Set<string>();
      for (const dn of wanted) {
        const filter = new ExtensibleFilter({ matchType: 'memberOf', rule: AD_MATCHING_RULE_IN_CHAIN, value: dn });
        const { searchEntries } = await client.search(user.dn, { scope: 'base', filter, attributes: ['1.1'] });
        if (searchEntries.length) found.add(dn);
      }
      return found;
    }

    // A group counts only under a name the server gave it (see ListedGroupMatcher): never by folding.
    const listed = new ListedGroupMatcher(wanted, known);
    const direct = await this.directGroups(connection, user, source);
    const found = listed.match(direct);
    if (!this.options.nestedGroups || source === 'memberUid') return found;

    // Expand upwards level by level; `seen` stops cycles.
    const attribute = source === 'uniqueMember' ? 'uniqueMember' : 'member';
    const seen = new Set(direct);
    let frontier = [...direct];
    for (let depth = 0; frontier.length && depth < MAX_NESTING_DEPTH && found.size < wanted.size; depth++) {
      const filter = new OrFilter({ filters: frontier.map((dn) => new EqualityFilter({ attribute, value: dn })) });
      const parents = await this.searchDns(connection, filter);
      frontier = parents.filter((dn) => !seen.has(dn));
      for (const dn of frontier) {
        seen.add(dn);
        for (const key of listed.keysOf(dn)) found.add(key);
      }
    }
    return found;
  }

  /**
   * Where membership is read, decided per server and never per entry: AD, and OpenLDAP with the memberof
   * overlay, keep memberOf (an entry without it is in no group); other servers are searched on `member`.
   */
  private async membershipSource(
    connection: LdapConnection,
  ): Promise<Exclude<ResolvedLdapAuthOptions['groupMembership'], 'auto'>> {
    const configured = this.options.groupMembership;
    if (configured !== 'auto') return configured;
    if (connection.server.activeDirectory) return 'memberOf';
    let known = this.memberOfSupport.get(connection.url);
    if (!known) {
      known = schemaDefines(connection, 'memberOf');
      this.memberOfSupport.set(connection.url, known);
      known.catch(() => this.memberOfSupport.delete(connection.url));
    }
    return (await known) ? 'memberOf' : 'member';
  }

  /** Normalised DNs of the groups the user is directly in. */
  private async directGroups(
    connection: LdapConnection,
    user: DirectoryUser,
    source: Exclude<ResolvedLdapAuthOptions['groupMembership'], 'auto'>,
  ): Promise<string[]> {
    if (source === 'memberOf') {
      return (user.memberOf ?? []).map(tryNormalizeDn).filter((dn): dn is string => !!dn);
    }
    const filter =
      source === 'memberUid'
        ? new EqualityFilter({ attribute: 'memberUid', value: user.username })
        : new EqualityFilter({ attribute: source === 'uniqueMember' ? 'uniqueMember' : 'member', value: user.dn });
    return this.searchDns(connection, filter);
  }

  private async searchDns(connection: LdapConnection, filter: Filter): Promise<string[]> {
    const dns: string[] = [];
    const pages = connection.client.searchPaginated(
      this.groupSearchBase(connection),
      { scope: 'sub', filter, attributes: ['1.1'], paged: { pageSize: 500 } },
      this.searchControls(connection),
    );
    for await (const page of pages) {
      for (const entry of page.searchEntries) {
        const dn = tryNormalizeDn(entry.dn);
        if (dn) dns.push(dn);
      }
    }
    return dns;
  }

  /** LDAP_GROUP_SEARCH_BASE, or one level above the user search base but never above its naming context. */
  private groupSearchBase(connection: LdapConnection): string {
    const { groupSearchBase, searchBase } = this.options.server;
    if (groupSearchBase) return groupSearchBase;
    const derived = deriveGroupSearchBase(searchBase, connection.server.namingContexts);
    if (derived === undefined) {
      throw new DirectoryError(
        `cannot derive where groups are: the server names no naming context holding "${searchBase}"; set LDAP_GROUP_SEARCH_BASE`,
      );
    }
    return derived;
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
          return connection;
        } catch (error) {
          await this.dispose(connection);
          throw error;
        }
      },
      (socket) => socket.destroy(),
    );
  }

  /** The sync's reading connection: the first server that answers, bound as the service account. */
  private async connectForBulkRead(): Promise<{ reader: BulkReadConnection; server: ServerInfo }> {
    const { dn, password } = this.serviceCredentials();
    const reader = await this.firstReachable(
      (_url, socket) => Promise.resolve(new BulkReadConnection(socket, this.options.server.timeout)),
      (socket) => socket.destroy(),
    );
    try {
      await reader.bind(dn, password);
    } catch (error) {
      reader.close();
      if (error instanceof ResultCodeError) {
        throw new DirectoryError(
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
    for (const url of server.urls) {
      let socket: net.Socket | undefined;
      try {
        socket = await openLdapSocket(url, {
          starttls: server.starttls,
          tlsOptions: server.tlsOptions,
          deadlineMs: server.connectTimeout + server.timeout,
        });
        return await open(url, socket);
      } catch (error) {
        if (socket) discard(socket);
        if (error instanceof LdapSocketError && error.resultCode !== undefined) {
          // The server answered but refused StartTLS: a configuration problem, and never a reason for plain text.
          throw new DirectoryError(`${url}: ${error.message}`, { cause: error });
        }
        failures.push(`${url}: ${messageOf(error)}`);
        this.logger.warn(`Cannot use ${url}: ${messageOf(error)}`);
      }
    }
    throw new DirectoryUnavailableError(`no directory server could be reached (${failures.join('; ')})`);
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

  /** Closes a connection for good: unbind politely, but never wait on a peer that does not answer. */
  private async dispose(connection: LdapConnection): Promise<void> {
    const unbound = connection.client.isConnected ? connection.client.unbind().catch(() => undefined) : undefined;
    connection.socket.destroy();
    await unbound;
  }

  private warnAboutTransport(): void {
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

  /**
   * The service account's bind DN and password as the service pool binds with them (a plain name through the
   * username formatter), or undefined when no service account is configured. For the health probe.
   */
  serviceBindCredentials(): { dn: string; password: string } | undefined {
    const { server, serviceAccount } = this.options;
    if (!(server.bindDN && server.bindCredentials) && !serviceAccount?.password) return undefined;
    return this.serviceCredentials();
  }
}

/** Root DSE read; undefined when the server answered but would not show it. Throws when it did not answer. */
async function readRootDse(client: Client): Promise<Entry | undefined> {
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

/** Whether the server's schema defines `attribute` (read once per server: the schema is large). */
async function schemaDefines(connection: LdapConnection, attribute: string): Promise<boolean> {
  const base = connection.server.subschemaSubentry ?? 'cn=Subschema';
  try {
    const { searchEntries } = await connection.client.search(base, {
      scope: 'base',
      filter: '(objectClass=subschema)',
      attributes: ['attributeTypes'],
    });
    const types = searchEntries[0]?.attributeTypes ?? [];
    const values = (Array.isArray(types) ? types : [types]).map(String);
    // `NAME 'memberOf'` or `NAME ( 'alias' 'memberOf' )` in an attribute type description (RFC 4512).
    const pattern = new RegExp(`NAME\\s+(\\(\\s*)?('[^']*'\\s+)*'${attribute}'`, 'i');
    return values.some((value) => pattern.test(value));
  } catch (error) {
    if (error instanceof ResultCodeError) return false;
    throw error;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
