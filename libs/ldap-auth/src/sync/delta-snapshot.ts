import type { DirectorySnapshot, SnapshotGroup, SnapshotUser } from '../model/directory-snapshot.js';
import type { DirectoryChanges } from '../model/directory-changes.js';
import type { AppLdapUser, AppState } from '../model/sync-plan.js';
import { tryNormalizeDn } from '../model/dn.js';

/**
 * The delta sync's planning: from what changed in the directory since the cursor and what the database holds,
 * the snapshot a full read would have produced, as far as the reconciliation can tell (sync/reconcile.ts then
 * computes the plan exactly as for a full sync). Pure: no I/O.
 *
 * The rows stand in for the entries that did not change (their stored values are what the last run read), the
 * changed entries for themselves; the groups whose membership may have changed are read again (the directory
 * layer resolves them against these users), the others keep their stored members. Where the rows cannot stand
 * in for the directory, the answer is a full read, with the reason.
 */

/** What the sync is configured to mirror (normalised DNs). */
export interface DeltaScope {
  listedGroups: readonly string[];
  loginGroup?: string;
  nestedGroups: boolean;
  memberAttribute: 'member' | 'uniqueMember' | 'memberUid';
  primaryGroups: boolean;
  /**
   * Active Directory: a disabled account is present but disabled, so a row the sync deactivated may stand for
   * an entry still there; the delta then needs the present entries and which of them are disabled.
   */
  activeDirectory: boolean;
}

export type DeltaReadPlan =
  | { fullRead: string }
  | {
      fullRead?: undefined;
      /** Every user the delta knows to be present: changed entries and rows standing in for unchanged ones. */
      users: SnapshotUser[];
      /** Listed groups to read again and resolve against `users`. */
      groupsToRead: string[];
      /** Read the login group again and keep only its members (always when anything changed). */
      readLoginGroup: boolean;
      /** The listed groups not read again: their stored members that are still present. */
      carriedGroups: SnapshotGroup[];
      /** Every listed group is read again (a row came back, a nested group changed, a memberUid rename). */
      readAll: boolean;
    };

/** Whether the delta saw anything at all: nothing changed means nothing to plan. */
export function nothingChanged(changes: DirectoryChanges, state?: { users: ReadonlyArray<{ uuid: string }> }): boolean {
  if (changes.changedUsers.length || changes.deletedUsers.size || changes.changedGroups.size) return false;
  if (!changes.presentUsers) return true;
  // A present phase names every entry still there: a row missing from it is an entry gone (ask with the state).
  return !!state && state.users.every((row) => changes.presentUsers!.has(row.uuid));
}

export function planDeltaRead(changes: DirectoryChanges, state: AppState, scope: DeltaScope): DeltaReadPlan {
  const changedByUuid = new Map(changes.changedUsers.map((user) => [user.uuid, user]));
  const rowByUuid = new Map(state.users.map((row) => [row.uuid, row]));
  const deletePhase = !changes.presentUsers;

  if (scope.activeDirectory && (!changes.presentUsers || !changes.disabledUsers)) {
    return { fullRead: 'on Active Directory the delta needs the entries present and which are disabled' };
  }
  if (scope.primaryGroups && (changes.changedUsers.length || changes.changedGroups.size)) {
    return { fullRead: 'POSIX primary groups count, and the rows do not keep gidNumber' };
  }
  if (deletePhase && scope.loginGroup && changes.changedGroups.has(scope.loginGroup)) {
    // Rows the sync took out of the login group may be back in it; only a present phase says they still exist.
    return { fullRead: 'the login group changed and the directory sent deletions, not the entries still present' };
  }

  let ordinal = 0;
  const users: SnapshotUser[] = [];
  // The rows whose entry becomes present again (or newly has a row): which groups list them is unknown.
  let returning = false;
  // Listed groups some member of which changed name or DN: its member values may no longer match.
  const touchedRows = new Set<number>();
  for (const changed of changes.changedUsers) {
    const row = rowByUuid.get(changed.uuid);
    // Entries without a row matter to no table (only a login creates a user): not kept.
    if (!row) continue;
    users.push({ ...changed, ordinal: ordinal++ });
    if (!presentBefore(row)) returning = true;
    if (!sameDn(changed.dn, row.dn) || (scope.memberAttribute === 'memberUid' && changed.username !== row.username))
      touchedRows.add(row.id);
  }
  for (const row of state.users) {
    if (changedByUuid.has(row.uuid)) continue;
    if (!stillPresent(row, changes, deletePhase)) continue;
    users.push(rowAsEntry(row, ordinal++, changes.disabledUsers?.has(row.uuid) ?? false));
  }

  const listed = new Set(scope.listedGroups);
  const anyChange = changes.changedUsers.length > 0 || changes.changedGroups.size > 0 || changes.deletedUsers.size > 0;
  // A group that is not listed may be nested in one that is (the tree is not kept): every listed group is read.
  const childChanged =
    scope.nestedGroups &&
    scope.memberAttribute !== 'memberUid' &&
    [...changes.changedGroups].some((dn) => !listed.has(dn) && dn !== scope.loginGroup);
  const memberUidRename = scope.memberAttribute === 'memberUid' && touchedRows.size > 0;
  const readAll = returning || childChanged || memberUidRename;

  const groupRow = new Map(state.groups.map((group) => [group.dn, group]));
  const present = new Map(users.map((user) => [rowByUuid.get(user.uuid)!.id, user]));
  const groupsToRead: string[] = [];
  const carriedGroups: SnapshotGroup[] = [];
  for (const dn of scope.listedGroups) {
    const row = groupRow.get(dn);
    const touched = row?.memberIds.some((id) => touchedRows.has(id)) ?? false;
    if (readAll || changes.changedGroups.has(dn) || touched) {
      groupsToRead.push(dn);
      continue;
    }
    const members: SnapshotUser[] = [];
    for (const id of row?.memberIds ?? []) {
      const user = present.get(id);
      if (user) members.push(user);
    }
    carriedGroups.push({ dn, name: row?.name ?? '', members });
  }
  if (groupsToRead.length || (scope.loginGroup && anyChange)) {
    // Matching member values needs every present user's DN; a row whose DN did not fit its column has none.
    const withoutDn = users.find((user) => user.dn === null);
    if (withoutDn && scope.memberAttribute !== 'memberUid') {
      return { fullRead: `a group must be read again and user ${withoutDn.uuid} has no stored DN to match` };
    }
  }
  return { users, groupsToRead, readLoginGroup: !!scope.loginGroup && anyChange, carriedGroups, readAll };
}

/**
 * Whether the row's entry was present (and a user) as the last run left it. Outside AD, the sync deactivates
 * a row only when its entry is gone or outside the login group. On AD it may also be a disabled entry still
 * there: "not present" then only costs a read of every listed group for a changed entry (its memberships are
 * read instead of carried), never a wrong answer; and unchanged rows are told apart by the presence scan.
 */
function presentBefore(row: AppLdapUser): boolean {
  return row.isActive || !row.deactivatedBySync;
}

/** Whether an unchanged entry's row stands for an entry that is there now. */
function stillPresent(row: AppLdapUser, changes: DirectoryChanges, deletePhase: boolean): boolean {
  if (!deletePhase) return changes.presentUsers!.has(row.uuid);
  // Unchanged since the last run: as present, or as gone, as it was then.
  return !changes.deletedUsers.has(row.uuid) && presentBefore(row);
}

/**
 * The entry an unchanged row stands for: the values the last run stored are what it read; whether it is
 * disabled (AD) comes from the presence scan.
 */
function rowAsEntry(row: AppLdapUser, ordinal: number, disabled: boolean): SnapshotUser {
  return {
    ordinal,
    uuid: row.uuid,
    dn: row.dn,
    username: row.username,
    email: row.email,
    firstName: row.firstName,
    lastName: row.lastName,
    disabled,
  };
}

function sameDn(a: string | null, b: string | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  const left = tryNormalizeDn(a);
  return left !== undefined && left === tryNormalizeDn(b);
}

/**
 * The snapshot a full read would have produced: the groups read again (and, with the login group read again,
 * only its members as users), the carried groups with the members still there.
 */
export function composeDeltaSnapshot(
  plan: Exclude<DeltaReadPlan, { fullRead: string }>,
  read: DirectorySnapshot | undefined,
): DirectorySnapshot {
  const users = read?.users ?? new Map(plan.users.map((user) => [user.uuid, user]));
  const groups = new Map(read?.groups ?? []);
  for (const group of plan.carriedGroups) {
    groups.set(group.dn, { ...group, members: group.members.filter((member) => users.has(member.uuid)) });
  }
  return {
    users,
    ordinals: plan.users.length,
    groups,
    missingGroups: read?.missingGroups ?? new Set(),
    stats: read?.stats ?? { entriesRead: 0, pages: 0 },
  };
}
