/**
 * What a sync run changed (or, in a dry run, would change), per user and group, with the values before and
 * after: derived from the plan and the state it was computed from, without I/O. Stored with the run
 * (`ldap_sync_runs.changes`), printed by `npm run sync -- --json` and `--show <run id>`.
 */
import { normalizeDn, parentDn } from './dn.js';
import type { AppLdapUser, AppState, SyncPlan } from './sync-plan.js';

export const SYNC_CHANGE_KINDS = [
  'user_renamed',
  'user_moved',
  'user_fields_changed',
  'username_released',
  'user_deactivated',
  'user_reactivated',
  'user_deleted',
  'group_created',
  'group_renamed',
  'membership_added',
  'membership_removed',
] as const;

/**
 * `user_renamed`: the username, or the entry's RDN under the same parent; `user_moved`: the entry went to
 * another parent (an OU move); `user_fields_changed`: email, first or last name; `username_released`: the row
 * of a removed entry gives its name up to a present one (a free name is picked when it is written).
 */
export type SyncChangeKind = (typeof SYNC_CHANGE_KINDS)[number];

/** Column names (as in `users` and `groups`) and their values. */
export type SyncChangeValues = Record<string, string | boolean | null>;

export interface SyncChange {
  kind: SyncChangeKind;
  /** The user row (its name before the run). */
  user?: { id: number; username: string };
  /** The group row; `id` is null for a group this run creates. */
  group?: { id: number | null; dn: string; name: string };
  before?: SyncChangeValues;
  after?: SyncChangeValues;
  /** user_deactivated: `removed` (the entry is gone) or `disabled` (the AD account is disabled). */
  reason?: 'removed' | 'disabled';
}

/**
 * A run's changes, bounded: every change is counted by kind, the first `limit` (plan order: users, groups,
 * memberships) are listed, the rest only counted (`omitted`).
 */
export interface SyncChanges {
  /** False for a dry run or a run stopped before writing: what the plan would have changed. */
  applied: boolean;
  total: number;
  counts: Partial<Record<SyncChangeKind, number>>;
  records: SyncChange[];
  /** Changes counted but not listed: beyond the cap, or left out to fit the column (see sync-run-log.ts). */
  omitted: number;
}

/** Changes listed per run at most; the rest are counted. */
export const SYNC_CHANGE_RECORD_LIMIT = 1_000;

/** The plan's changes as records, the first `limit` listed, all counted. */
export function describeSyncChanges(
  plan: SyncPlan,
  state: AppState,
  { applied, limit = SYNC_CHANGE_RECORD_LIMIT }: { applied: boolean; limit?: number },
): SyncChanges {
  const changes: SyncChanges = { applied, total: 0, counts: {}, records: [], omitted: 0 };
  const add = (kind: SyncChangeKind, record: () => SyncChange) => {
    changes.total++;
    changes.counts[kind] = (changes.counts[kind] ?? 0) + 1;
    if (changes.records.length < limit) changes.records.push(record());
    else changes.omitted++;
  };
  const addAll = (kind: SyncChangeKind, count: number, record: (i: number) => SyncChange) => {
    for (let i = 0; i < count; i++) add(kind, () => record(i));
  };

  // Built on first use: a run that changes nothing (the common case) makes no map of 100,000 users.
  let usersById: Map<number, AppLdapUser> | undefined;
  const userOf = (id: number) => (usersById ??= new Map(state.users.map((u) => [u.id, u]))).get(id);
  const userRef = (id: number) => ({ id, username: userOf(id)?.username ?? '' });

  for (const update of plan.userUpdates) {
    const before = userOf(update.id);
    if (!before) continue;
    const user = { id: update.id, username: before.username };
    const dnChanged = update.dn !== before.dn;
    const moved = dnChanged && !sameParent(before.dn, update.dn);
    const renamed = update.username !== before.username || (dnChanged && !moved);
    if (renamed) {
      const [b, a] = diff([
        ['username', before.username, update.username],
        ['ldap_dn', moved ? null : before.dn, moved ? null : update.dn],
      ]);
      add('user_renamed', () => ({ kind: 'user_renamed', user, before: b, after: a }));
    }
    if (moved) {
      add('user_moved', () => ({
        kind: 'user_moved',
        user,
        before: { ldap_dn: before.dn },
        after: { ldap_dn: update.dn },
      }));
    }
    const [b, a] = diff([
      ['email', before.email, update.email],
      ['first_name', before.firstName, update.firstName],
      ['last_name', before.lastName, update.lastName],
    ]);
    if (Object.keys(b).length)
      add('user_fields_changed', () => ({ kind: 'user_fields_changed', user, before: b, after: a }));
  }
  for (const id of plan.usernameHandovers) {
    add('username_released', () => ({
      kind: 'username_released',
      user: userRef(id),
      before: { username: userRef(id).username },
    }));
  }
  const removed = new Set(plan.removedIds);
  for (const id of plan.deactivate) {
    add('user_deactivated', () => ({
      kind: 'user_deactivated',
      user: userRef(id),
      before: { is_active: true },
      after: { is_active: false },
      reason: removed.has(id) ? 'removed' : 'disabled',
    }));
  }
  for (const id of plan.reactivate) {
    add('user_reactivated', () => ({
      kind: 'user_reactivated',
      user: userRef(id),
      before: { is_active: false },
      after: { is_active: true },
    }));
  }
  for (const id of plan.deleteUsers) {
    add('user_deleted', () => {
      const row = userOf(id);
      return {
        kind: 'user_deleted',
        user: userRef(id),
        before: { ldap_dn: row?.dn ?? null, is_active: row?.isActive ?? null },
      };
    });
  }

  const groupsById = new Map(state.groups.map((g) => [g.id, g]));
  const groupsByDn = new Map(state.groups.map((g) => [g.dn, g]));
  const created = new Map(plan.createGroups.map((g) => [g.dn, g]));
  addAll('group_created', plan.createGroups.length, (i) => {
    const { dn, name } = plan.createGroups[i];
    return { kind: 'group_created', group: { id: null, dn, name }, after: { name, ldap_dn: dn } };
  });
  addAll('group_renamed', plan.renameGroups.length, (i) => {
    const { id, name } = plan.renameGroups[i];
    const row = groupsById.get(id);
    const group = { id, dn: row?.dn ?? '', name: row?.name ?? '' };
    return { kind: 'group_renamed', group, before: { name: row?.name ?? null }, after: { name } };
  });
  addAll('membership_added', plan.addMemberships.length, (i) => {
    const { userId, groupDn } = plan.addMemberships[i];
    const row = groupsByDn.get(groupDn);
    const group = { id: row?.id ?? null, dn: groupDn, name: row?.name ?? created.get(groupDn)?.name ?? '' };
    return { kind: 'membership_added', user: userRef(userId), group };
  });
  addAll('membership_removed', plan.removeMemberships.length, (i) => {
    const { userId, groupId } = plan.removeMemberships[i];
    const row = groupsById.get(groupId);
    return {
      kind: 'membership_removed',
      user: userRef(userId),
      group: { id: groupId, dn: row?.dn ?? '', name: row?.name ?? '' },
    };
  });
  return changes;
}

/** The columns whose values differ, as a pair of before / after value maps. */
function diff(columns: Array<[string, string | null, string | null]>): [SyncChangeValues, SyncChangeValues] {
  const before: SyncChangeValues = {};
  const after: SyncChangeValues = {};
  for (const [column, a, b] of columns) {
    if (a === b) continue;
    before[column] = a;
    after[column] = b;
  }
  return [before, after];
}

/** Whether two DNs sit under the same parent entry; DNs that cannot be parsed count as moved when they differ. */
function sameParent(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  try {
    return normalizeDn(parentDn(a)) === normalizeDn(parentDn(b));
  } catch {
    return false;
  }
}
