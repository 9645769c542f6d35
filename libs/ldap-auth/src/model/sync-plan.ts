/**
 * The full sync's vocabulary on the database side: what the app holds as far as the sync may touch it, and the
 * plan the reconciliation (sync/reconcile.ts) computes from it. Pure data, shared by the planner, the writer
 * (persistence/sync/) and the service, so none of them imports another for a type.
 */

/** An LDAP-managed user row (non-null `ldap_uuid`). */
export interface AppLdapUser {
  id: number;
  uuid: string;
  username: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  dn: string | null;
  isActive: boolean;
  /** The sync deactivated this user (only then may the sync reactivate it). */
  deactivatedBySync: boolean;
}

/** An LDAP-managed group row (non-null `ldap_dn`) of the default organisation. */
export interface AppLdapGroup {
  id: number;
  /** Normalised DN. */
  dn: string;
  name: string;
  /** Ids of its LDAP member users (local users' memberships are not the sync's), in any order. */
  memberIds: number[];
  /** In a scoped state: how many LDAP members it has in all (memberIds then holds only the scoped rows'). */
  memberCount?: number;
}

/** What the database holds, as far as the sync may touch it. */
export interface AppState {
  users: AppLdapUser[];
  /** With their members. */
  groups: AppLdapGroup[];
  /** The keys (usernameKey) of local users' names (null `ldap_uuid`): never taken over. */
  localUsernames: Set<string>;
  /** Rows without a stored `username_key` (written by the app without it): a run that writes fills them in. */
  unkeyedUsers?: number;
  /**
   * A delta's scoped state: only the rows a change may concern (sync/delta-scope.ts). Rows not in it are left
   * as they are; the guards' bases are counted over every row.
   */
  scoped?: { activeUsers: number };
}

export interface UserUpdate {
  id: number;
  username: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  dn: string | null;
}

/** What one run changes, computed without I/O from a snapshot and the database state. */
export interface SyncPlan {
  /** Rows whose fields differ from their entry (username, email, names, DN). */
  userUpdates: UserUpdate[];
  /** Rows of removed entries (kept deactivated) whose username a present entry now has: renamed out of the way first. */
  usernameHandovers: number[];
  deactivate: number[];
  /** Of the users above (and of deleteUsers): those whose entry is gone (the rest were disabled in AD). */
  removedIds: number[];
  reactivate: number[];
  deleteUsers: number[];
  createGroups: Array<{ dn: string; name: string }>;
  renameGroups: Array<{ id: number; name: string }>;
  /**
   * Rows of listed groups the read got no entry for. A deleted group and one hidden from the sync account look
   * the same, so such a row is never deleted or emptied: the run must not go on (see ldap-sync.service.ts).
   */
  absentGroups: Array<{ id: number; dn: string }>;
  /** Memberships to add; `groupDn` (normalised) also names groups created by this plan. */
  addMemberships: Array<{ userId: number; groupDn: string }>;
  removeMemberships: Array<{ userId: number; groupId: number }>;
  /** Users that would be deleted or deactivated by this run (the removal guard counts these). */
  removals: number;
  /** Memberships taken from users who stay (those of removed users go with them): the membership guard's count. */
  membershipRemovals: number;
  /** The LDAP users' memberships of the listed groups read, before this run: the membership guard's base. */
  listedMemberships: number;
  /** Things the run leaves alone, with the reason (for the log and the report). */
  notes: string[];
}

/** Counts for the report. */
export function planCounts(plan: SyncPlan) {
  return {
    usersUpdated: plan.userUpdates.length,
    usersRemoved: plan.deleteUsers.length,
    usersDeactivated: plan.deactivate.length,
    usersReactivated: plan.reactivate.length,
    groupsCreated: plan.createGroups.length,
    groupsRenamed: plan.renameGroups.length,
    membershipsAdded: plan.addMemberships.length,
    membershipsRemoved: plan.removeMemberships.length,
  };
}

/** Whether the plan writes anything at all. */
export function planIsEmpty(plan: SyncPlan): boolean {
  return Object.values(planCounts(plan)).every((n) => n === 0) && plan.usernameHandovers.length === 0;
}
