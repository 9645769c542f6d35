import { type Control, ResultCodeError } from 'ldapts';
import type { BulkReadConnection } from './bulk-read-connection.js';
import type { DirectorySnapshot, ReadProgress, SnapshotGroup, SnapshotUser } from '../../model/directory-snapshot.js';
import type { Entry } from '../../model/directory-user.js';
import { tryNormalizeDn } from '../../model/dn.js';
import { describeLdapResult } from '../../model/ldap-result-codes.js';
import type { LdapUserFieldMap } from '../../interfaces/ldap-auth-options.interface.js';
import { IncompleteDirectoryReadError } from '../../errors/ldap-auth.errors.js';
import { AD_UUID_ATTRIBUTE, OPENLDAP_UUID_ATTRIBUTE } from '../../ldap-auth.constants.js';
import type { ServerInfo } from '../server-info.js';
import { type GroupEntry, GroupEntryReader, type MemberAttribute, refuseReferrals } from './group-entries.js';
import { canonicalGid, GID_ATTRIBUTE } from '../posix-groups.js';
import {
  isAccountDisabled,
  objectGuidText,
  searchControls,
  stableIdAttribute,
  userEntriesFilter,
} from '../active-directory.js';
import { errorText } from '../../logging/one-line.js';

/** AD caps pages at 1,000 entries; asking for more only gets 1,000 with a cookie. */
export const SYNC_PAGE_SIZE = 1000;
/** Deepest group nesting followed. */
const MAX_NESTING_DEPTH = 32;
/** Attributes read from every user entry, as the connection names them (lower case). */
const AD_GUID_KEY = AD_UUID_ATTRIBUTE.toLowerCase();
const OPENLDAP_UUID_KEY = OPENLDAP_UUID_ATTRIBUTE.toLowerCase();
const UAC_KEY = 'useraccountcontrol';
const GID_KEY = GID_ATTRIBUTE.toLowerCase();
export interface SnapshotReadOptions {
  searchBase: string;
  objectClass: string;
  userFields: LdapUserFieldMap;
  /** Listed groups (LDAP_SYNCED_GROUPS), normalised. */
  groupDns: readonly string[];
  /** Normalised DN of the login group: only its members count as users. */
  loginGroup?: string;
  nestedGroups: boolean;
  /** The attribute of a group entry that lists its members. */
  memberAttribute: MemberAttribute;
  /** A listed posixGroup's members include the users whose gidNumber is its own (see posix-groups.ts). */
  primaryGroups?: boolean;
  onProgress?: (progress: ReadProgress) => void;
}

/**
 * One complete read of the directory for the full sync: every user entry and, read alongside, every listed group's
 * complete membership. Reads page by page into compact records (no raw entries are kept), follows AD's
 * ranged attribute retrieval, and throws IncompleteDirectoryReadError on anything that could make the
 * read partial: an error on any page (a size or time limit included), a referral it cannot follow, a lost
 * connection. A snapshot that is returned is complete.
 */
export async function readDirectorySnapshot(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
): Promise<DirectorySnapshot> {
  const reader = new SnapshotReader(client, server, options);
  try {
    return await reader.read();
  } catch (error) {
    if (error instanceof IncompleteDirectoryReadError) throw error;
    throw new IncompleteDirectoryReadError(`the directory read failed: ${messageOf(error)}`, { cause: error });
  }
}

export class SnapshotReader {
  private readonly users = new Map<string, SnapshotUser>();
  /** DN as the server wrote it, and normalised DN, and username as read (memberUid) → user, for membership. */
  private readonly userByRawDn = new Map<string, SnapshotUser>();
  private userByDn?: Map<string, SnapshotUser>;
  private readonly userByName = new Map<string, SnapshotUser>();
  /** gidNumber → the users whose primary group it is, with primaryGroups. */
  private readonly usersByGid = new Map<string, SnapshotUser[]>();
  private readonly stats = { entriesRead: 0, pages: 0 };
  private ordinals = 0;
  /** With a login group: 1 at the ordinal of each user in it (the others are not users, nor members). */
  private inLoginGroup?: Uint8Array;
  /** A group's number at the ordinal of each user already counted as its member (no Set per group). */
  private memberStamp?: Int32Array;
  private groupsResolved = 0;
  private readonly controls?: Control[];
  private readonly groupEntries: GroupEntryReader;
  /** The attributes read from each user entry, by the lower-case name the connection gives them. */
  private readonly keys: Record<'username' | 'email' | 'firstName' | 'lastName', string | undefined>;

  constructor(
    private readonly client: BulkReadConnection,
    private readonly server: ServerInfo,
    private readonly options: SnapshotReadOptions,
  ) {
    this.controls = searchControls(server);
    this.groupEntries = new GroupEntryReader(client, options.memberAttribute, this.stats, options.primaryGroups);
    const { userFields } = options;
    this.keys = {
      username: userFields.username?.toLowerCase(),
      email: userFields.email?.toLowerCase(),
      firstName: userFields.firstName?.toLowerCase(),
      lastName: userFields.lastName?.toLowerCase(),
    };
  }

  async read(): Promise<DirectorySnapshot> {
    const { loginGroup, groupDns } = this.options;
    // The listed groups are asked for while the users' pages arrive, on the same connection: their entries
    // are decoded in the gaps while the server prepares the next page. Their members can only be matched to
    // users (and nested groups told from users) once every user is read.
    const [, topEntries] = await Promise.all([
      this.readUsers(),
      this.groupEntries.readGroupEntries([...new Set(loginGroup ? [loginGroup, ...groupDns] : groupDns)]),
    ]);
    return this.resolveTopGroups(topEntries);
  }

  /**
   * For a delta: the listed groups in `options.groupDns` (and the login group) read and resolved against
   * `users`, the users the delta knows to be present (changed entries, and unchanged rows as stored), instead
   * of a read of every user. With a login group, the users outside it are left out of the result.
   */
  async readGroupsFor(users: readonly SnapshotUser[]): Promise<DirectorySnapshot> {
    for (const user of users) this.index(user);
    this.ordinals = users.reduce((max, user) => Math.max(max, user.ordinal + 1), 0);
    const { loginGroup, groupDns } = this.options;
    const wanted = [...new Set(loginGroup ? [loginGroup, ...groupDns] : groupDns)];
    return this.resolveTopGroups(await this.groupEntries.readGroupEntries(wanted));
  }

  /** A user entry as the sync keeps it (a delta's changed entries go through here too). */
  userOf(entry: Entry): SnapshotUser {
    return this.toUser(entry);
  }

  private async resolveTopGroups(topEntries: Map<string, GroupEntry | undefined>): Promise<DirectorySnapshot> {
    const { loginGroup, groupDns } = this.options;
    const groups = new Map<string, SnapshotGroup>();
    const missingGroups = new Set<string>();
    if (loginGroup) {
      const top = topEntries.get(loginGroup);
      if (!top) {
        throw new IncompleteDirectoryReadError(
          `the login group ${loginGroup} does not exist (LDAP_LOGIN_GROUP): refusing to treat every user as removed`,
        );
      }
      const login = await this.resolveGroup(top);
      this.inLoginGroup = new Uint8Array(this.ordinals);
      for (const user of login.members) this.inLoginGroup[user.ordinal] = 1;
      for (const [uuid, user] of [...this.users]) if (!this.inLoginGroup[user.ordinal]) this.users.delete(uuid);
    }
    for (const dn of groupDns) {
      const top = topEntries.get(dn);
      if (top) groups.set(dn, await this.resolveGroup(top));
      else missingGroups.add(dn);
    }
    return { users: this.users, ordinals: this.ordinals, groups, missingGroups, stats: { ...this.stats } };
  }

  private async readUsers(): Promise<void> {
    const attributes = userAttributes(this.options, this.server);
    const pages = this.client.searchPages(
      this.options.searchBase,
      {
        scope: 'sub',
        filter: userEntriesFilter(this.options.objectClass, this.server),
        attributes,
        binaryAttributes: [AD_UUID_ATTRIBUTE],
        controls: this.controls,
      },
      SYNC_PAGE_SIZE,
    );
    for await (const page of pages) {
      refuseReferrals(page.searchReferences, this.options.searchBase);
      this.stats.pages++;
      for (const entry of page.searchEntries) this.addUser(entry);
      this.stats.entriesRead += page.searchEntries.length;
      this.options.onProgress?.({ phase: 'users', ...this.stats });
    }
  }

  private addUser(entry: Entry): void {
    this.index(this.toUser(entry));
  }

  private toUser(entry: Entry): SnapshotUser {
    const { keys } = this;
    const uuid = this.uuidOf(entry);
    // Every entry the filter matched has a stable id; one without cannot be matched to a row, and skipping it
    // would make its row look removed.
    if (!uuid) throw new IncompleteDirectoryReadError(`the entry ${entry.dn} has no stable id`);
    const username = valueOf(entry, keys.username);
    const names = keys.username ? entry[keys.username] : undefined;
    const user: SnapshotUser = {
      ordinal: this.ordinals++,
      uuid,
      dn: entry.dn,
      username,
      email: valueOf(entry, keys.email),
      firstName: valueOf(entry, keys.firstName),
      lastName: valueOf(entry, keys.lastName),
      disabled: this.server.activeDirectory && isAccountDisabled(valueOf(entry, UAC_KEY)),
    };
    if (Array.isArray(names) && names.length > 1) {
      user.usernames = names.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
    }
    const gid = this.options.primaryGroups ? canonicalGid(valueOf(entry, GID_KEY)) : undefined;
    if (gid !== undefined) user.gidNumber = gid;
    return user;
  }

  /** Keeps a user and indexes it for matching group members to it. */
  private index(user: SnapshotUser): void {
    const { uuid, username, gidNumber: gid } = user;
    this.users.set(uuid, user);
    // Member values are mostly the DN exactly as the server writes it: a plain lookup; the index of normalised
    // DNs is built only if some value misses (see memberUser).
    if (user.dn !== null) this.userByRawDn.set(user.dn, user);
    // memberUid is compared as the server compares it (caseExactIA5Match, RFC 2307), as the login's search does.
    if (username && this.options.memberAttribute === 'memberUid') this.userByName.set(username, user);
    if (gid !== undefined) {
      const sharing = this.usersByGid.get(gid);
      if (sharing) sharing.push(user);
      else this.usersByGid.set(gid, [user]);
    }
  }

  private uuidOf(entry: Entry): string | undefined {
    if (this.server.activeDirectory) return objectGuidText(entry[AD_GUID_KEY]);
    return valueOf(entry, OPENLDAP_UUID_KEY)?.toLowerCase();
  }

  /** A group's complete membership among the users read, nested groups read and expanded when that is on. */
  private async resolveGroup(top: GroupEntry): Promise<SnapshotGroup> {
    const members: SnapshotUser[] = [];
    const stamp = (this.memberStamp ??= new Int32Array(this.ordinals));
    const groupNumber = ++this.groupsResolved;
    const add = (user: SnapshotUser) => {
      if (stamp[user.ordinal] !== groupNumber && (!this.inLoginGroup || this.inLoginGroup[user.ordinal])) {
        stamp[user.ordinal] = groupNumber;
        members.push(user);
      }
    };
    // Primary-group users count for the listed group itself, not through nesting (as at login).
    if (top.gidNumber !== undefined) for (const user of this.usersByGid.get(top.gidNumber) ?? []) add(user);
    const seen = new Set<string>([top.dn]);
    let frontier = [top];
    for (let depth = 0; frontier.length && depth <= MAX_NESTING_DEPTH; depth++) {
      const childDns: string[] = [];
      for (const group of frontier) {
        for (const value of group.members) {
          const user = this.memberUser(value);
          if (user) {
            add(user);
            continue;
          }
          if (!this.options.nestedGroups || this.options.memberAttribute === 'memberUid') continue;
          const childDn = tryNormalizeDn(value);
          if (!childDn || seen.has(childDn)) continue;
          seen.add(childDn);
          childDns.push(childDn);
        }
      }
      frontier = [];
      for (const child of (await this.groupEntries.readGroupEntries(childDns, true)).values())
        if (child) frontier.push(child);
    }
    this.options.onProgress?.({ phase: 'groups', ...this.stats });
    return { dn: top.dn, name: top.name, members };
  }

  private memberUser(value: string): SnapshotUser | undefined {
    if (this.options.memberAttribute === 'memberUid') return this.userByName.get(value);
    const exact = this.userByRawDn.get(value);
    if (exact) return exact;
    const dn = tryNormalizeDn(value);
    return dn ? this.normalizedDnIndex().get(dn) : undefined;
  }

  /** Normalised DN → every user read, built on the first member value that is not a DN as read. */
  private normalizedDnIndex(): Map<string, SnapshotUser> {
    if (!this.userByDn) {
      this.userByDn = new Map();
      for (const [rawDn, user] of this.userByRawDn) {
        const dn = tryNormalizeDn(rawDn);
        if (dn) this.userByDn.set(dn, user);
      }
    }
    return this.userByDn;
  }
}

/** The attributes read from each user entry. */
export function userAttributes(options: SnapshotReadOptions, server: ServerInfo): string[] {
  const { userFields } = options;
  return [
    userFields.username,
    userFields.email,
    userFields.firstName,
    userFields.lastName,
    stableIdAttribute(server.activeDirectory),
    ...(server.activeDirectory ? ['userAccountControl'] : []),
    ...(options.primaryGroups ? [GID_ATTRIBUTE] : []),
  ].filter((a): a is string => !!a);
}

/** The first value of an attribute, named in lower case as the connection gives attribute names. */
function valueOf(entry: Entry, key: string | undefined): string | null {
  if (!key) return null;
  const value = entry[key];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return null;
  return typeof first === 'string' ? first : first.toString('utf8');
}

/** The code of an LDAP answer in words (`noSuchObject (32)`), other errors as they say. */
function messageOf(error: unknown): string {
  if (error instanceof ResultCodeError) return describeLdapResult(error);
  return errorText(error);
}
