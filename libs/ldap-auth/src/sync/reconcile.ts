import type { DirectorySnapshot, SnapshotUser } from '../model/directory-snapshot.js';
import type { AppLdapUser, AppState, SyncPlan } from '../model/sync-plan.js';
import type { RemovedUsersPolicy } from '../interfaces/ldap-auth-options.interface.js';
import { storedUsername, usernameKey } from '../model/username-key.js';

export interface ReconcileOptions {
  removedUsers: RemovedUsersPolicy;
}

/** The name the entry gives its row: of a multi-valued username, the one storedUsername picks (as a login does). */
function entryName(entry: SnapshotUser, row: AppLdapUser): string | null {
  return entry.usernames ? (storedUsername(entry.usernames, row.username) ?? null) : entry.username;
}

/**
 * The reconciliation: directory snapshot + database state → plan. Pure: no I/O, no clock, no Nest.
 *
 * - Users are matched by stable id. Found: fields refreshed (a rename or an OU move updates the same row);
 *   an AD account disabled in the directory is deactivated, enabled again is reactivated, but only when the
 *   sync itself deactivated it. Not found: deleted or deactivated (with their memberships), per policy.
 * - Users are never created here (only a login creates a user).
 * - Listed groups that exist get exactly the directory's members among the app's LDAP users; one with
 *   members but no row is created. A listed group the read did not find is never deleted (it may only be
 *   hidden from the sync account): its row is reported in `absentGroups`. Groups no longer listed are left alone.
 * - Local users and groups are not in the state, so nothing here can touch them.
 */
export function reconcile(snapshot: DirectorySnapshot, state: AppState, options: ReconcileOptions): SyncPlan {
  const plan: SyncPlan = {
    userUpdates: [],
    usernameHandovers: [],
    deactivate: [],
    removedIds: [],
    reactivate: [],
    deleteUsers: [],
    createGroups: [],
    renameGroups: [],
    absentGroups: [],
    addMemberships: [],
    removeMemberships: [],
    removals: 0,
    membershipRemovals: 0,
    listedMemberships: 0,
    notes: [],
  };

  const removed: AppLdapUser[] = [];
  // Rows whose entry is present, and that entry at the same index (two arrays: no pair per user).
  const presentRows: AppLdapUser[] = [];
  const presentEntries: SnapshotUser[] = [];
  // Row id by the snapshot's ordinal (0: the app has no row for that entry; row ids start at 1): an array, not a
  // hash map.
  const userIdOf = new Float64Array(snapshot.ordinals);
  for (const user of state.users) {
    const entry = snapshot.users.get(user.uuid);
    if (entry) {
      presentRows.push(user);
      presentEntries.push(entry);
      userIdOf[entry.ordinal] = user.id;
    } else {
      removed.push(user);
    }
  }

  // Removals first: what they free (usernames) is known before names are handed around.
  const removedIds = new Set(removed.map((u) => u.id));
  plan.removedIds = [...removedIds];
  for (const user of removed) {
    if (options.removedUsers === 'delete') {
      plan.deleteUsers.push(user.id);
      plan.removals++;
    } else if (user.isActive) {
      plan.deactivate.push(user.id);
      plan.removals++;
    }
  }

  // Who holds which name (every row holding it: rows written outside the library may share one) and what each
  // present row is called once this run is done, to refuse a rename onto a name still in use. Built only when
  // some name changes (a resync without renames skips 200,000 map writes at 100,000 users).
  let names: { holdersOf: Map<string, AppLdapUser[]>; finalKeyOf: Map<number, string> } | undefined;
  const nameIndex = () => {
    if (names) return names;
    const index = { holdersOf: new Map<string, AppLdapUser[]>(), finalKeyOf: new Map<number, string>() };
    for (const user of state.users) {
      const key = usernameKey(user.username);
      const holders = index.holdersOf.get(key);
      if (holders) holders.push(user);
      else index.holdersOf.set(key, [user]);
    }
    presentRows.forEach((user, i) =>
      index.finalKeyOf.set(user.id, usernameKey(entryName(presentEntries[i], user) ?? user.username)),
    );
    return (names = index);
  };

  for (let i = 0; i < presentRows.length; i++) {
    const user = presentRows[i];
    const entry = presentEntries[i];
    let username = user.username;
    const wantedName = entryName(entry, user);
    if (wantedName !== null && wantedName !== user.username) {
      const { holdersOf, finalKeyOf } = nameIndex();
      const wanted = usernameKey(wantedName);
      // Every other row holding the name must give it up: a removed entry's row hands it over; a present
      // one must be renamed away in this same run (a swap: the store renames in two steps).
      const others = (holdersOf.get(wanted) ?? []).filter((holder) => holder.id !== user.id);
      const keeper = others.find((holder) => !removedIds.has(holder.id) && finalKeyOf.get(holder.id) === wanted);
      if (state.localUsernames.has(wanted)) {
        plan.notes.push(
          `user ${user.id} keeps the name "${user.username}": "${wantedName}" belongs to a local user of the app`,
        );
      } else if (keeper) {
        plan.notes.push(
          `user ${user.id} keeps the name "${user.username}": "${wantedName}" is also the name of user ${keeper.id}`,
        );
      } else {
        for (const holder of others) {
          // A removed entry's row (deleted by this run, or kept deactivated) gives its name to the present one.
          if (
            removedIds.has(holder.id) &&
            options.removedUsers === 'deactivate' &&
            !plan.usernameHandovers.includes(holder.id)
          ) {
            plan.usernameHandovers.push(holder.id);
          }
        }
        username = wantedName;
      }
    }
    const dn = entry.dn ?? user.dn;
    if (
      username !== user.username ||
      entry.email !== user.email ||
      entry.firstName !== user.firstName ||
      entry.lastName !== user.lastName ||
      dn !== user.dn
    ) {
      plan.userUpdates.push({
        id: user.id,
        username,
        email: entry.email,
        firstName: entry.firstName,
        lastName: entry.lastName,
        dn,
      });
    }
    if (entry.disabled && user.isActive) {
      plan.deactivate.push(user.id);
      plan.removals++;
    } else if (!entry.disabled && !user.isActive && user.deactivatedBySync) {
      plan.reactivate.push(user.id);
    }
  }

  // Groups. Member ids are compared as sorted typed arrays, merged in one pass: at 300,000 memberships that
  // is far lighter than a Set per group on each side.
  const groupByDn = new Map(state.groups.map((g) => [g.dn, g]));
  const removedAreDeleted = options.removedUsers === 'delete';

  for (const group of snapshot.groups.values()) {
    const ids = new Float64Array(group.members.length);
    let count = 0;
    for (const member of group.members) {
      const id = userIdOf[member.ordinal];
      if (id > 0) ids[count++] = id;
    }
    // Distinct entries are distinct rows (ldap_uuid is unique), so there are no duplicates to drop.
    const wanted = ids.subarray(0, count).sort();
    const row = groupByDn.get(group.dn);
    if (!row) {
      if (count === 0) continue;
      plan.createGroups.push({ dn: group.dn, name: group.name });
      for (const userId of wanted) plan.addMemberships.push({ userId, groupDn: group.dn });
      continue;
    }
    if (row.name !== group.name) plan.renameGroups.push({ id: row.id, name: group.name });
    plan.listedMemberships += row.memberCount ?? row.memberIds.length;
    const current = Float64Array.from(row.memberIds).sort();
    let w = 0;
    let c = 0;
    while (w < wanted.length || c < current.length) {
      if (c === current.length || (w < wanted.length && wanted[w] < current[c])) {
        plan.addMemberships.push({ userId: wanted[w++], groupDn: row.dn });
      } else if (w === wanted.length || current[c] < wanted[w]) {
        const userId = current[c++];
        // Removed users' memberships go with them (deleted rows cascade; deactivated ones are taken out here)
        // and count under the user removal guard; the others are what the membership guard weighs.
        const removedUser = removedIds.has(userId);
        if (!(removedAreDeleted && removedUser)) plan.removeMemberships.push({ userId, groupId: row.id });
        if (!removedUser) plan.membershipRemovals++;
      } else {
        w++;
        c++;
      }
    }
  }

  const rowDns = new Set<string>();
  for (const row of state.groups) {
    rowDns.add(row.dn);
    if (snapshot.groups.has(row.dn)) continue;
    if (snapshot.missingGroups.has(row.dn)) plan.absentGroups.push({ id: row.id, dn: row.dn });
    else plan.notes.push(`group ${row.id} (${row.dn}) is no longer in LDAP_SYNCED_GROUPS: left as it is`);
  }
  for (const dn of snapshot.missingGroups) {
    // Without a row there is nothing an empty answer could wrongly delete: the run goes on.
    if (!rowDns.has(dn)) plan.notes.push(`listed group ${dn} was not found (or may not be read): not mirrored`);
  }

  return plan;
}
