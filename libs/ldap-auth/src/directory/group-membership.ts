import { type Client, EqualityFilter, type Filter, NoSuchObjectError, OrFilter } from 'ldapts';
import { firstRdnValue, tryNormalizeDn } from '../model/dn.js';
import { type DirectoryGroup, type DirectoryUser, firstValue } from '../model/directory-user.js';
import { ListedGroupMatcher } from '../model/listed-groups.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { DirectoryError } from '../errors/ldap-auth.errors.js';
import type { LdapConnection } from './ldap-connections.js';
import { deriveGroupSearchBase } from './server-info.js';
import { memberOfInChainFilter, searchControls } from './active-directory.js';
import { canonicalGid, countsPrimaryGroups, GID_ATTRIBUTE, primaryGroupFilter } from './posix-groups.js';

/** Deepest nesting followed when groups are expanded by the client. */
const MAX_NESTING_DEPTH = 32;

type MembershipSource = Exclude<ResolvedLdapAuthOptions['groupMembership'], 'auto'>;

/** The options group reads use. */
export type GroupMembershipOptions = Pick<ResolvedLdapAuthOptions, 'server' | 'groupMembership' | 'nestedGroups'>;

/** The listed groups a user is in, and those of them the user is in directly (not through nesting). */
export interface MembershipDetail {
  groups: Set<string>;
  direct: Set<string>;
}

/** A user's groups at login: which listed groups the user is in, and which listed groups exist. */
export class GroupMembership {
  constructor(private readonly options: GroupMembershipOptions) {}

  /**
   * Which of `groupDns` (normalised) the user belongs to, directly or, with `nestedGroups`, through nesting.
   * `known` (from readGroups) lets a group match under its entry's DN as the server spells it too.
   */
  async membership(
    connection: LdapConnection,
    user: DirectoryUser,
    groupDns: readonly string[],
    known?: ReadonlyMap<string, DirectoryGroup>,
  ): Promise<Set<string>> {
    return (await this.membershipDetail(connection, user, groupDns, known)).groups;
  }

  /** membership(), and which of those groups the user is in directly (a primary group counts as direct). */
  async membershipDetail(
    connection: LdapConnection,
    user: DirectoryUser,
    groupDns: readonly string[],
    known?: ReadonlyMap<string, DirectoryGroup>,
  ): Promise<MembershipDetail> {
    const wanted = new Set(groupDns);
    if (wanted.size === 0) return { groups: new Set(), direct: new Set() };
    const { client } = connection;
    const source = this.membershipSource(connection);
    // A group counts only under a name the server gave it (see ListedGroupMatcher): never by folding.
    const listed = new ListedGroupMatcher(wanted, known);

    if (this.options.nestedGroups && connection.server.activeDirectory) {
      // AD answers nesting itself: ask, per wanted group, whether the user's entry is in its chain.
      const found = new Set<string>();
      for (const dn of wanted) {
        const filter = memberOfInChainFilter(dn);
        const { searchEntries } = await client.search(user.dn, { scope: 'base', filter, attributes: ['1.1'] });
        if (searchEntries.length) found.add(dn);
      }
      return { groups: found, direct: listed.match(normalizedMemberOf(user)) };
    }

    const direct = await this.directGroups(connection, user, source);
    const found = listed.match(direct);
    // A primary group counts for itself only, not through nesting: the full sync counts it on the listed group.
    for (const dn of await this.primaryGroups(connection, user)) for (const key of listed.keysOf(dn)) found.add(key);
    const directFound = new Set(found);
    if (!this.options.nestedGroups || source === 'memberUid') return { groups: found, direct: directFound };

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
    return { groups: found, direct: directFound };
  }

  /** The groups among `dns` (normalised) that exist, by normalised DN, with their names. */
  async readGroups(client: Client, dns: readonly string[]): Promise<Map<string, DirectoryGroup>> {
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

  /**
   * Where membership is read, per server, never per entry. AD keeps memberOf as the back link of `member`.
   * Elsewhere `member` itself: a schema that defines memberOf (msuser, some NIS schemas) does not mean anything
   * fills it, and the full sync reads `member` (login and sync must agree; with the memberof overlay both agree).
   */
  private membershipSource(connection: LdapConnection): MembershipSource {
    const configured = this.options.groupMembership;
    if (configured !== 'auto') return configured;
    return connection.server.activeDirectory ? 'memberOf' : 'member';
  }

  /** Normalised DNs of the posixGroups whose gidNumber is the user's (see posix-groups.ts). */
  private async primaryGroups(connection: LdapConnection, user: DirectoryUser): Promise<string[]> {
    if (!countsPrimaryGroups(this.options.groupMembership, connection.server.activeDirectory)) return [];
    const gid = canonicalGid(firstValue(user.attributes, GID_ATTRIBUTE));
    return gid === undefined ? [] : this.searchDns(connection, primaryGroupFilter(gid));
  }

  /** Normalised DNs of the groups the user is directly in. */
  private async directGroups(
    connection: LdapConnection,
    user: DirectoryUser,
    source: MembershipSource,
  ): Promise<string[]> {
    if (source === 'memberOf') {
      return normalizedMemberOf(user);
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
      searchControls(connection.server),
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
}

function normalizedMemberOf(user: DirectoryUser): string[] {
  return (user.memberOf ?? []).map(tryNormalizeDn).filter((dn): dn is string => !!dn);
}
