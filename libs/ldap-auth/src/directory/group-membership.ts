import { type Client, EqualityFilter, type Filter, NoSuchObjectError, OrFilter, ResultCodeError } from 'ldapts';
import { firstRdnValue, tryNormalizeDn } from '../model/dn.js';
import { type DirectoryGroup, type DirectoryUser, firstValue } from '../model/directory-user.js';
import { ListedGroupMatcher } from '../model/listed-groups.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { DirectoryError } from '../errors/ldap-auth.errors.js';
import type { LdapConnection } from './ldap-connections.js';
import { deriveGroupSearchBase } from './server-info.js';
import { memberOfInChainFilter, searchControls } from './active-directory.js';

/** Deepest nesting followed when groups are expanded by the client. */
const MAX_NESTING_DEPTH = 32;

type MembershipSource = Exclude<ResolvedLdapAuthOptions['groupMembership'], 'auto'>;

/** The options group reads use. */
export type GroupMembershipOptions = Pick<ResolvedLdapAuthOptions, 'server' | 'groupMembership' | 'nestedGroups'>;

/** A user's groups at login: which listed groups the user is in, and which listed groups exist. */
export class GroupMembership {
  /** Per URL: whether the server's schema defines memberOf (OpenLDAP with the memberof overlay). */
  private readonly memberOfSupport = new Map<string, Promise<boolean>>();

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
    const wanted = new Set(groupDns);
    if (wanted.size === 0) return new Set();
    const { client } = connection;
    const source = await this.membershipSource(connection);

    if (this.options.nestedGroups && connection.server.activeDirectory) {
      // AD answers nesting itself: ask, per wanted group, whether the user's entry is in its chain.
      const found = new Set<string>();
      for (const dn of wanted) {
        const filter = memberOfInChainFilter(dn);
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
   * Where membership is read, decided per server and never per entry: AD, and OpenLDAP with the memberof
   * overlay, keep memberOf (an entry without it is in no group); other servers are searched on `member`.
   */
  private async membershipSource(connection: LdapConnection): Promise<MembershipSource> {
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
    source: MembershipSource,
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
