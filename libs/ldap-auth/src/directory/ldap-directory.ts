import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ResultCodeError } from 'ldapts';
import { escapeDnValue } from '../model/ldap-escape.js';
import { normalizeDn } from '../model/dn.js';
import type { DirectoryGroup, DirectoryUser } from '../model/directory-user.js';
import type { DirectorySnapshot, ReadProgress, SnapshotUser } from '../model/directory-snapshot.js';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { UsernameFormatter } from '../formatting/username-formatter.js';
import {
  DeltaUnavailableError,
  DirectoryUnavailableError,
  IncompleteDirectoryReadError,
  InvalidCredentialsError,
} from '../errors/ldap-auth.errors.js';
import { bindFailureCode, describeBindFailure } from './bind-failure.js';
import { type LdapConnection, LdapConnections, readRootDse, type ServerState } from './ldap-connections.js';
import { findUser } from './user-lookup.js';
import { GroupMembership, type MembershipDetail } from './group-membership.js';
import { verifyBoundIdentity } from './bound-identity.js';
import { boundConnectionOf, ForestDomainCache } from './identity-reads.js';
import { readDirectorySnapshot, SnapshotReader, type SnapshotReadOptions } from './sync-reader/snapshot-reader.js';
import { type GroupEntry, GroupEntryReader } from './sync-reader/group-entries.js';
import { type DeltaRead, readDirectoryChanges } from './sync-reader/delta-reader.js';
import { ContentSyncUnavailableError } from './sync-reader/content-sync.js';
import { watchDirectoryChanges } from './sync-reader/change-watch.js';
import type { ServerInfo } from './server-info.js';
import type { SyncCursor } from '../model/sync-cursor.js';
import { errorText } from '../logging/one-line.js';
import { countsPrimaryGroups } from './posix-groups.js';

/** Result codes of a refused bind that mean "the server cannot answer now", not "this login is wrong". */
const SERVER_BUSY_CODES = new Set([51, 52]);

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
  /** membership(), and which of those groups the user is in directly (for ldap:check). */
  membershipDetail(
    user: DirectoryUser,
    groupDns: readonly string[],
    known?: ReadonlyMap<string, DirectoryGroup>,
  ): Promise<MembershipDetail>;
  /** The groups among `groupDns` (normalised) that exist, by normalised DN, with their names. */
  readGroups(groupDns: readonly string[]): Promise<Map<string, DirectoryGroup>>;
}

/**
 * The one place that speaks LDAP: logins, the service account's reads and the sync's read, on the connections
 * of LdapConnections (pools, failover). What is read lives beside it: user-lookup.ts, group-membership.ts,
 * bound-identity.ts, sync-reader/; Active Directory's quirks in active-directory.ts.
 */
@Injectable()
export class LdapDirectory implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LdapDirectory.name);
  private readonly connections: LdapConnections;
  private readonly groups: GroupMembership;
  /** Per URL: the AD forest's domains, for the login's identity check. */
  private readonly forestDomains = new ForestDomainCache();

  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    formatter: UsernameFormatter,
  ) {
    this.connections = new LdapConnections(options, formatter, this.logger);
    this.groups = new GroupMembership(options);
  }

  /** Warns at every start about transports that expose passwords (here, once the app's logger is in place). */
  onApplicationBootstrap(): void {
    this.connections.warnAboutTransport();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connections.close();
  }

  /** Binds as `bindName` (a DN or an AD logon name) and runs `fn` on that connection. */
  async withUserSession<T>(
    bindName: string,
    password: string,
    fn: (session: DirectorySession) => Promise<T>,
  ): Promise<T> {
    // Servers treat a name with an empty password as an anonymous bind: it must never be sent.
    if (!password) throw new InvalidCredentialsError('empty password', 'invalid_input');
    return this.connections.withUserConnection(async (connection) => {
      await this.bindAsUser(connection, bindName, password);
      return fn(this.session(connection, bindName));
    });
  }

  /** Which servers connections go to now, and the latest one connected to (see LdapConnections). */
  serverState(): ServerState {
    return this.connections.serverState();
  }

  /** Runs `fn` on a connection bound as the service account. */
  async withServiceSession<T>(fn: (session: DirectorySession) => Promise<T>): Promise<T> {
    return this.connections.withServiceConnection((connection) => fn(this.session(connection)));
  }

  /**
   * A bind that cannot succeed (a DN that does not exist), costing the same round trips as a real one: so a
   * search-mode login for an unknown user takes as long as one with a wrong password. Never throws.
   */
  async decoyBind(password: string): Promise<void> {
    const dn = `cn=${escapeDnValue(randomUUID())},${this.options.server.searchBase}`;
    await this.connections
      .withUserConnection((connection) => this.bindAsUser(connection, dn, password || 'x').catch(() => undefined))
      .catch(() => undefined);
  }

  /**
   * The whole directory as the full sync needs it, read with the service account; throws
   * IncompleteDirectoryReadError (or DirectoryUnavailableError) rather than return a partial snapshot.
   */
  async readSnapshot(onProgress?: (progress: ReadProgress) => void): Promise<DirectorySnapshot> {
    const connection = await this.connections.connectForBulkRead();
    try {
      return await readDirectorySnapshot(
        connection.reader,
        connection.server,
        this.readOptions(connection.server, onProgress),
      );
    } finally {
      connection.reader.close();
    }
  }

  /**
   * For the delta sync: what changed since `cursor` (see sync-reader/delta-reader.ts). Throws
   * DeltaUnavailableError when the server cannot tell.
   */
  async readChanges(cursor: SyncCursor | undefined): Promise<DeltaRead> {
    const connection = await this.connections.connectForBulkRead();
    try {
      return await readDirectoryChanges(
        connection.reader,
        connection.server,
        this.readOptions(connection.server),
        cursor,
      );
    } catch (error) {
      if (error instanceof DeltaUnavailableError || error instanceof IncompleteDirectoryReadError) throw error;
      // Advertised, but refused to this account (unavailableCriticalExtension, insufficientAccessRights).
      if (error instanceof ContentSyncUnavailableError || (error instanceof ResultCodeError && error.code === 50)) {
        const what = connection.server.contentSync ? 'content synchronisation' : 'the read of changes';
        throw new DeltaUnavailableError(`the directory refused ${what}: ${errorText(error)}`);
      }
      throw new IncompleteDirectoryReadError(`the directory read failed: ${errorText(error)}`, { cause: error });
    } finally {
      connection.reader.close();
    }
  }

  /**
   * For pushed changes: keeps the directory's change stream open (see sync-reader/change-watch.ts) until it
   * ends, the connection fails or `signal` aborts; `onChange` is called as changes are written.
   */
  async watchChanges(cursor: SyncCursor | undefined, onChange: () => void, signal: AbortSignal): Promise<void> {
    // No deadline: the stream stays open for as long as the app runs.
    const connection = await this.connections.connectForBulkRead({ deadlineMs: 2 ** 31 - 1 });
    const abort = () => connection.reader.close();
    signal.addEventListener('abort', abort);
    try {
      if (signal.aborted) return;
      await watchDirectoryChanges(
        connection.reader,
        connection.server,
        this.readOptions(connection.server),
        cursor,
        onChange,
      );
    } finally {
      signal.removeEventListener('abort', abort);
      connection.reader.close();
    }
  }

  /**
   * For the delta sync: the listed groups `groupDns` (and the login group, with `loginGroup`) read again and
   * resolved against `users` (the present users the delta knows) instead of a read of every user.
   */
  async readGroupsFor(
    users: readonly SnapshotUser[],
    groupDns: readonly string[],
    loginGroup: boolean,
  ): Promise<DirectorySnapshot> {
    const connection = await this.connections.connectForBulkRead();
    try {
      const options = this.readOptions(connection.server);
      const reader = new SnapshotReader(connection.reader, connection.server, {
        ...options,
        groupDns,
        loginGroup: loginGroup ? options.loginGroup : undefined,
      });
      return await reader.readGroupsFor(users);
    } catch (error) {
      if (error instanceof IncompleteDirectoryReadError) throw error;
      throw new IncompleteDirectoryReadError(`the directory read failed: ${errorText(error)}`, { cause: error });
    } finally {
      connection.reader.close();
    }
  }

  /**
   * For a scoped delta: the entries of the groups `dns` with their member values as written (undefined: no
   * such entry), not resolved to users; and how many entries that read.
   */
  async readGroupEntries(
    dns: readonly string[],
  ): Promise<{ entries: Map<string, GroupEntry | undefined>; entriesRead: number }> {
    const connection = await this.connections.connectForBulkRead();
    try {
      const stats = { entriesRead: 0 };
      const { memberAttribute } = this.readOptions(connection.server);
      const entries = await new GroupEntryReader(connection.reader, memberAttribute, stats).readGroupEntries(dns);
      return { entries, entriesRead: stats.entriesRead };
    } catch (error) {
      if (error instanceof IncompleteDirectoryReadError) throw error;
      throw new IncompleteDirectoryReadError(`the directory read failed: ${errorText(error)}`, { cause: error });
    } finally {
      connection.reader.close();
    }
  }

  private readOptions(server: ServerInfo, onProgress?: (progress: ReadProgress) => void): SnapshotReadOptions {
    const {
      server: config,
      objectClass,
      userFields,
      syncedGroups,
      loginGroup,
      nestedGroups,
      groupMembership,
    } = this.options;
    return {
      searchBase: config.searchBase,
      objectClass,
      userFields,
      groupDns: syncedGroups.map(normalizeDn),
      loginGroup: loginGroup ? normalizeDn(loginGroup) : undefined,
      nestedGroups,
      memberAttribute:
        groupMembership === 'uniqueMember' || groupMembership === 'memberUid' ? groupMembership : 'member',
      primaryGroups: countsPrimaryGroups(groupMembership, server.activeDirectory),
      onProgress,
    };
  }

  /** Resolves when some directory server answers (reads the root DSE); throws DirectoryUnavailableError otherwise. */
  async ping(): Promise<void> {
    await this.connections.withUserConnection((connection) => readRootDse(connection.client));
  }

  /**
   * The service account's bind DN and password as the service pool binds with them (a plain name through the
   * username formatter), or undefined when no service account is configured. For the health probe.
   */
  serviceBindCredentials(): { dn: string; password: string } | undefined {
    const { server, serviceAccount } = this.options;
    if (!(server.bindDN && server.bindCredentials) && !serviceAccount?.password) return undefined;
    return this.connections.serviceCredentials();
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
        const user = await findUser(connection, this.options, lookupName);
        if (boundAs !== undefined) {
          const bound = boundConnectionOf(connection.client, connection.server, connection.url, this.forestDomains);
          await verifyBoundIdentity(bound, boundAs, user);
        }
        return user;
      },
      membership: (user, groupDns, known) => this.groups.membership(connection, user, groupDns, known),
      membershipDetail: (user, groupDns, known) => this.groups.membershipDetail(connection, user, groupDns, known),
      readGroups: (dns) => this.groups.readGroups(connection.client, dns),
    };
  }
}
