/**
 * What one complete read of the directory found, reduced to what the reconciliation needs. Built only from
 * complete reads: a reader that could not read everything throws instead of returning a snapshot.
 */

/** A user entry, as compact as the sync can keep 100,000s of them. */
export interface SnapshotUser {
  /**
   * Its position in the read (0, 1, 2…; distinct, below `DirectorySnapshot.ordinals`): a consumer keeps what it
   * knows of each user in an array indexed by it, instead of hashing 100,000s of objects or strings.
   */
  ordinal: number;
  /** Stable id (entryUUID / objectGUID text), lower-case. */
  uuid: string;
  /** Null when it cannot be stored (longer than the column): the row keeps its own. */
  dn: string | null;
  /** Null when the entry has no value for the username attribute, or one too long to store (the row keeps its name). */
  username: string | null;
  /**
   * Every value of a multi-valued username attribute, in the directory's order (undefined when it has one
   * value: most entries): the row keeps the one storedUsername picks, as a login does.
   */
  usernames?: string[];
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  /** AD: userAccountControl has ACCOUNTDISABLE (0x2). Always false elsewhere. */
  disabled: boolean;
  /** Its gidNumber, canonical, when POSIX primary groups count (see directory/posix-groups.ts). */
  gidNumber?: string;
}

/** A listed group that exists, with its complete membership (nested groups resolved when that is on). */
export interface SnapshotGroup {
  /** Normalised DN (the form `groups.ldap_dn` stores). */
  dn: string;
  /** Its `cn`. */
  name: string;
  /** The users that are members, each once: the same objects as in `users` (map them by `ordinal`). */
  members: SnapshotUser[];
}

export interface DirectorySnapshot {
  /** Every user entry under the search base matching the user filter (and in the login group, when set), by uuid. */
  users: Map<string, SnapshotUser>;
  /** Every user's `ordinal` is below this. */
  ordinals: number;
  /** The listed groups (LDAP_SYNCED_GROUPS) that were read, by normalised DN. */
  groups: Map<string, SnapshotGroup>;
  /**
   * Listed groups the read got no entry for (noSuchObject, or an empty answer), normalised: deleted, or hidden
   * from the sync account by access rules; the two look the same, so this is never proof of a deletion.
   */
  missingGroups: Set<string>;
  /** Counters, for the report and the progress line. */
  stats: { entriesRead: number; pages: number };
}

/** Where a read is, for a progress line. */
export interface ReadProgress {
  phase: 'users' | 'groups';
  entriesRead: number;
  pages: number;
}
