import type { DirectorySnapshot, SnapshotGroup, SnapshotUser } from '../model/directory-snapshot.js';
import type { DirectoryChanges } from '../model/directory-changes.js';
import type { AppLdapGroup, AppLdapUser, AppState } from '../model/sync-plan.js';
import { tryNormalizeDn } from '../model/dn.js';
import { usernameKey } from '../model/username-key.js';
import { IncompleteDirectoryReadError } from '../errors/ldap-auth.errors.js';
import type { DeltaScope } from './delta-snapshot.js';

/**
 * A delta's scope: the rows a change may concern, so that the delta reads and plans those instead of every
 * row. Pure: no I/O. What is in scope, and why nothing outside it can change:
 *   - the rows of the changed and deleted entries (by stable id): their fields, presence and names;
 *   - the rows holding a name a changed entry may take, LDAP or local (by username key): the conflicts and
 *     handovers the reconciliation decides by name (the other rows want the names they hold);
 *   - for a group read again, the rows whose membership of it may differ from the stored one: its stored
 *     members that no member value names, and the rows a value names that is no stored member's DN
 *     (memberDiff); every other row keeps its memberships.
 * Rows outside the scope are then neither compared nor removed; the removal guards still count over all
 * rows. Where the scope cannot be told this way (a present phase names the entries still there, so any row
 * may be gone; nested groups; memberUid), `scopeRefused` says why and the delta reads the whole state.
 */

export interface GroupEntryValues {
  dn: string;
  name: string;
  members: readonly string[];
}

/** Why this delta cannot be scoped (undefined: it can). */
export function scopeRefused(changes: DirectoryChanges, scope: DeltaScope): string | undefined {
  if (scope.nestedGroups) return 'nested groups are followed: a member value may be a group';
  // Who is a user at all changed: any row may come in or go out, whatever its entry did.
  if (scope.loginGroup && changes.changedGroups.has(scope.loginGroup)) return 'the login group changed';
  if (scope.memberAttribute === 'memberUid') return 'members are named by username';
  if (scope.primaryGroups || scope.activeDirectory) return 'primary groups or Active Directory';
  return undefined;
}

/**
 * The rows to read for the changed and deleted entries: by stable id, and by every name they may take. With a
 * present phase, `presence` (the rows it leaves out, and those whose entry was not there after the last run)
 * adds the rows whose entry's presence changed and, when removed users are deleted, those whose entry is gone.
 */
export function scopeQuery(
  changes: DirectoryChanges,
  presence: ReadonlyArray<{ uuid: string; now: boolean; before: boolean }> = [],
  removedAreDeleted = false,
): { uuids: string[]; usernameKeys: string[] } {
  const uuids = new Set<string>(changes.deletedUsers);
  for (const row of presence) {
    if (row.now !== row.before || (!row.now && removedAreDeleted)) uuids.add(row.uuid);
  }
  const keys = new Set<string>();
  for (const user of changes.changedUsers) {
    uuids.add(user.uuid);
    if (user.username !== null) keys.add(usernameKey(user.username));
    for (const name of user.usernames ?? []) keys.add(usernameKey(name));
  }
  return { uuids: [...uuids], usernameKeys: [...keys] };
}

/**
 * The scoped state: `users` (with their memberships) and the managed groups, each group's member ids those of
 * the scoped rows and its member count over every row.
 */
export function scopedState(
  groups: readonly AppLdapGroup[],
  users: readonly AppLdapUser[],
  memberships: ReadonlyArray<[number, number]>,
  localUsernames: Iterable<string>,
  activeUsers: number,
): AppState {
  const byId = new Map(groups.map((g) => [g.id, { ...g, memberIds: [] as number[] }]));
  const seen = new Set<string>();
  for (const [userId, groupId] of memberships) {
    const key = `${userId}:${groupId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    byId.get(groupId)?.memberIds.push(userId);
  }
  const unique = new Map(users.map((u) => [u.id, u]));
  return {
    users: [...unique.values()],
    groups: [...byId.values()],
    localUsernames: new Set(localUsernames),
    unkeyedUsers: 0,
    scoped: { activeUsers },
  };
}

/** What a member value is compared by in the database: lower case and, where it differs, the normal form. */
export function memberKeys(values: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const value of values) {
    keys.add(value.toLowerCase());
    const dn = tryNormalizeDn(value);
    if (dn) keys.add(dn);
  }
  return [...keys];
}

/** DNs matched as the snapshot reader matches member values: as written, then in normal form. */
class DnIndex<T> {
  private readonly raw = new Map<string, T>();
  private normal?: Map<string, T>;

  /** From [value, DN] pairs (null: no DN); a later holder of a DN wins, as in the reader. */
  constructor(pairs: Iterable<readonly [T, string | null]>) {
    for (const [value, dn] of pairs) if (dn !== null) this.raw.set(dn, value);
  }

  get(value: string): T | undefined {
    const exact = this.raw.get(value);
    if (exact !== undefined) return exact;
    const dn = tryNormalizeDn(value);
    if (!dn) return undefined;
    if (!this.normal) {
      this.normal = new Map();
      for (const [raw, held] of this.raw) {
        const normal = tryNormalizeDn(raw);
        if (normal) this.normal.set(normal, held);
      }
    }
    return this.normal.get(dn);
  }
}

/**
 * For the groups read again, what may have changed against their stored members (`memberIds`, whose DNs
 * are `dnOf`): `ids`, the rows that are members on one side only (a stored member no value names, one
 * without a DN, a member of another group a value names); `fresh`, the values naming no stored member of
 * any of these groups nor a scoped user (`users`): a row they name may be a new member.
 * Values are matched as written first. Only the few that miss are put in normal form, and matched against
 * the stored members no value named as written: normalising every stored DN (tens of thousands for a large
 * group) was most of a delta's time. A value that only that way would name a member named as written by
 * another value is fresh, which can only add rows to the scope (each is then reconciled in full).
 */
export function memberDiff(
  groups: ReadonlyArray<{ members: readonly string[]; memberIds: readonly number[] }>,
  dnOf: ReadonlyMap<number, string | null>,
  users: readonly SnapshotUser[],
): { ids: number[]; fresh: string[] } {
  // A later holder of a DN wins, as in the snapshot reader. Stored DN → its place in `idAt`.
  const exact = new Map<string, number>();
  const idAt: number[] = [];
  dnOf.forEach((dn, id) => {
    if (dn === null) return;
    const at = exact.get(dn);
    if (at === undefined) exact.set(dn, idAt.push(id) - 1);
    else idAt[at] = id;
  });
  // Whether some value names each stored DN as written (a typed array: no set of tens of thousands of ids).
  const namedExactly = new Uint8Array(idAt.length);
  const ids = new Set<number>();
  // Per group, its stored members and whether a value named them yet (one map: fewer allocations than two sets).
  const named = groups.map((group) => {
    const members = new Map<number, boolean>();
    for (const id of group.memberIds) members.set(id, false);
    return members;
  });
  const nameBy = (group: number, id: number) => {
    const members = named[group];
    const was = members.get(id);
    if (was === undefined) ids.add(id);
    else if (!was) members.set(id, true);
  };
  const missed: Array<{ group: number; value: string }> = [];
  groups.forEach((group, g) => {
    for (const value of group.members) {
      const at = exact.get(value);
      if (at === undefined) {
        missed.push({ group: g, value });
      } else {
        namedExactly[at] = 1;
        nameBy(g, idAt[at]);
      }
    }
  });
  const fresh = new Set<string>();
  if (missed.length) {
    const unnamed: Array<readonly [number, string]> = [];
    exact.forEach((at, dn) => namedExactly[at] || unnamed.push([idAt[at], dn]));
    const unnamedIndex = new DnIndex(unnamed);
    const scoped = new DnIndex(users.map((user) => [user.uuid, user.dn] as const));
    for (const { group, value } of missed) {
      const id = unnamedIndex.get(value);
      if (id !== undefined) nameBy(group, id);
      else if (scoped.get(value) === undefined) fresh.add(value);
    }
  }
  // The stored members no value named, or without a DN to tell.
  for (const members of named) members.forEach((was, id) => (!was || !dnOf.get(id)) && ids.add(id));
  return { ids: [...ids], fresh: [...fresh] };
}

/**
 * Whether some fresh value names none of `rows` (the rows whose DN in lower case is one of its keys): it may
 * name a row whose DN is not plain, or that has none.
 */
export function someValueUnmatched(fresh: readonly string[], rows: ReadonlyArray<{ id: number; dn: string }>): boolean {
  const index = new DnIndex(rows.map((row) => [row.id, row.dn] as const));
  return fresh.some((value) => index.get(value) === undefined);
}

/**
 * The groups read again resolved against `users` (the scoped present users) as the snapshot reader resolves
 * them (the DN as written, then the normal form; later users win a shared DN); with a login group, only its
 * members are users. Without nesting, a value that is no user is nothing.
 */
export function resolveScopedGroups(
  users: readonly SnapshotUser[],
  entries: ReadonlyMap<string, GroupEntryValues | undefined>,
  groupDns: readonly string[],
  loginGroup: string | undefined,
  entriesRead: number,
): DirectorySnapshot {
  const byRawDn = new Map<string, SnapshotUser>();
  for (const user of users) if (user.dn !== null) byRawDn.set(user.dn, user);
  let byDn: Map<string, SnapshotUser> | undefined;
  const userOf = (value: string) => {
    const exact = byRawDn.get(value);
    if (exact) return exact;
    const dn = tryNormalizeDn(value);
    if (!dn) return undefined;
    if (!byDn) {
      byDn = new Map();
      for (const [raw, user] of byRawDn) {
        const normal = tryNormalizeDn(raw);
        if (normal) byDn.set(normal, user);
      }
    }
    return byDn.get(dn);
  };
  const byUuid = new Map(users.map((user) => [user.uuid, user]));
  const members = (entry: GroupEntryValues) => {
    const found = new Map<string, SnapshotUser>();
    for (const value of entry.members) {
      const user = userOf(value);
      if (user && byUuid.has(user.uuid)) found.set(user.uuid, user);
    }
    return [...found.values()];
  };
  if (loginGroup) {
    const login = entries.get(loginGroup);
    if (!login) {
      throw new IncompleteDirectoryReadError(
        `the login group ${loginGroup} does not exist (LDAP_LOGIN_GROUP): refusing to treat every user as removed`,
      );
    }
    const inside = new Set(members(login).map((user) => user.uuid));
    for (const uuid of [...byUuid.keys()]) if (!inside.has(uuid)) byUuid.delete(uuid);
  }
  const groups = new Map<string, SnapshotGroup>();
  const missingGroups = new Set<string>();
  for (const dn of groupDns) {
    const entry = entries.get(dn);
    if (entry) groups.set(dn, { dn, name: entry.name, members: members(entry) });
    else missingGroups.add(dn);
  }
  return {
    users: byUuid,
    ordinals: users.reduce((max, user) => Math.max(max, user.ordinal + 1), 0),
    groups,
    missingGroups,
    stats: { entriesRead, pages: 0 },
  };
}
