import type { GroupMembershipChangedEvent } from '../../events/ldap-auth.events.js';
import type { GroupSyncPlan, GroupToJoin } from '../../group-mirroring/group-sync.js';
import type { SqlDialect } from '../sql-dialect.js';
import type { Query } from '../username-keys.js';
import { fitGroupToJoin } from './login-column-fit.js';

/** A group as the API lists it. */
export interface LoginGroup {
  name: string;
  ldapDn: string | null;
}

export interface GroupRow {
  id: number;
  name: string;
  ldap_dn: string;
}

/** A login's group plan fitted to the columns: the groups to join, and every managed DN (to join or leave). */
export interface FittedGroupPlan {
  organisationId: number;
  join: GroupToJoin[];
  leave: string[];
  managedDns: string[];
}

/** The plan's groups that fit the columns (the others are left out, with a warning). */
export function fitGroupPlan(plan: GroupSyncPlan, warn: (message: string) => void): FittedGroupPlan {
  const join: GroupToJoin[] = [];
  for (const wanted of plan.join) {
    const { group, warning } = fitGroupToJoin(wanted);
    if (warning) warn(warning);
    if (group) join.push(group);
  }
  const managedDns = [...join.map((g) => g.ldapDn), ...plan.leave];
  return { organisationId: plan.organisationId, join, leave: plan.leave, managedDns };
}

/** What a first login's insert (PostgreSQL: one statement) already read and joined of the plan's groups. */
export interface JoinedGroups {
  known: GroupRow[];
  added: number[];
}

/**
 * Applies a login's group plan in raw SQL. Returns the memberships it changed (for the events) and, for a user
 * this transaction inserted (in no other group), its groups ordered by name as the API lists them.
 */
export async function applyLoginGroupPlan(
  query: Query,
  sql: SqlDialect,
  userId: number,
  plan: FittedGroupPlan,
  newUser: boolean,
  joined?: JoinedGroups,
): Promise<{ changes: GroupMembershipChangedEvent[]; groups: LoginGroup[] }> {
  const { managedDns } = plan;
  // In DN order: every login locks group rows (inserting them, or their keys for a membership) in the same
  // order, so concurrent logins cannot deadlock on them.
  const join = [...plan.join].sort((a, b) => (a.ldapDn < b.ldapDn ? -1 : a.ldapDn > b.ldapDn ? 1 : 0));
  if (managedDns.length === 0) return { changes: [], groups: [] };

  const read = () => readGroups(query, sql, plan.organisationId, managedDns);
  let known = joined?.known ?? (await read());
  if (join.some((g) => !known.some((row) => row.ldap_dn === g.ldapDn))) {
    // Two first logins into a new group at once: the second insert is ignored, both then read the one row.
    // All the plan's groups, not only the missing ones: MySQL's upsert locks each, in DN order.
    await query(
      sql.insertUnlessExists('groups', ['organisation_id', 'name', 'ldap_dn'], sql.valuesList(join.length, 3)),
      join.flatMap((g) => [plan.organisationId, g.name, g.ldapDn]),
    );
    known = await read();
  }
  const idOf = new Map(known.map((g) => [g.ldap_dn, g.id]));
  // A user inserted by this transaction is in no group yet: nothing to read.
  const current = new Set(
    joined?.added ?? (newUser ? [] : await memberships(query, sql, userId, plan.organisationId, managedDns)),
  );
  const toAdd = [...new Set(join.map((g) => idOf.get(g.ldapDn)))].filter(
    (id): id is number => id !== undefined && !current.has(id),
  );
  const toRemove = [...new Set(plan.leave.map((dn) => idOf.get(dn)))].filter(
    (id): id is number => id !== undefined && current.has(id),
  );
  if (toRemove.length) {
    const list = toRemove.map((_, i) => sql.param(i + 2)).join(', ');
    await query(`DELETE FROM user_groups WHERE user_id = ${sql.param(1)} AND group_id IN (${list})`, [
      userId,
      ...toRemove,
    ]);
  }
  if (toAdd.length) {
    // One multi-row insert (a login joins a handful of groups, far under any statement's limits).
    await query(
      `INSERT INTO user_groups (user_id, group_id) VALUES ${sql.valuesList(toAdd.length, 2)}`,
      toAdd.flatMap((id) => [userId, id]),
    );
  }
  const byId = new Map(known.map((g) => [g.id, g]));
  const change = (groupId: number, added: boolean): GroupMembershipChangedEvent => ({
    groupId,
    groupDn: byId.get(groupId)?.ldap_dn ?? '',
    groupName: byId.get(groupId)?.name ?? '',
    added: added ? [userId] : [],
    removed: added ? [] : [userId],
    source: 'login',
  });
  // In DN order, whichever statement joined them.
  const added = new Set([...(joined?.added ?? []), ...toAdd]);
  const addedInOrder = [...new Set(join.map((g) => idOf.get(g.ldapDn)))].filter(
    (id): id is number => id !== undefined && added.has(id),
  );
  return {
    changes: [...addedInOrder.map((id) => change(id, true)), ...toRemove.map((id) => change(id, false))],
    // `known` is in the database's name order, as the API's reads list groups.
    groups: known.filter((g) => added.has(g.id)).map((g) => ({ name: g.name, ldapDn: g.ldap_dn })),
  };
}

/** The organisation's groups of those DNs, ordered by name. */
async function readGroups(query: Query, sql: SqlDialect, organisationId: number, dns: string[]): Promise<GroupRow[]> {
  const list = dns.map((_, i) => sql.param(i + 2)).join(', ');
  const rows = (await query(
    `SELECT id, name, ldap_dn FROM ${sql.id('groups')} WHERE organisation_id = ${sql.param(1)}` +
      ` AND ldap_dn IN (${list}) ORDER BY name`,
    [organisationId, ...dns],
  )) as GroupRow[];
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}

/** The ids of the user's groups among those DNs. */
async function memberships(
  query: Query,
  sql: SqlDialect,
  userId: number,
  organisationId: number,
  dns: string[],
): Promise<number[]> {
  const list = dns.map((_, i) => sql.param(i + 3)).join(', ');
  const rows = (await query(
    `SELECT ug.group_id FROM user_groups ug JOIN ${sql.id('groups')} g ON g.id = ug.group_id` +
      ` WHERE ug.user_id = ${sql.param(1)} AND g.organisation_id = ${sql.param(2)} AND g.ldap_dn IN (${list})`,
    [userId, organisationId, ...dns],
  )) as Array<{ group_id: number | string }>;
  return rows.map((row) => Number(row.group_id));
}
