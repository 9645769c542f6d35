import type { EntityManager } from 'typeorm';
import type { AppLdapGroup, AppLdapUser, AppState } from '../../model/sync-plan.js';
import { usernameKey } from '../../model/username-key.js';
import type { SqlDialect } from '../sql-dialect.js';
import type { UserRow } from '../user-row.js';

/**
 * The LDAP-managed users, the managed groups of the organisation and their memberships, and the local users'
 * names: what the full sync compares the directory with. Local rows are read for their names only.
 */
export async function readSyncState(
  manager: EntityManager,
  sql: SqlDialect,
  organisationId: number | undefined,
): Promise<AppState> {
  // Three reads at once: on a server database each runs on a pooled connection of its own.
  const [users, local, groups] = await Promise.all([
    manager.query<Array<UserRow & { ldap_uuid: string; keyed: unknown }>>(
      `SELECT ${SYNC_USER_COLUMNS}, ` +
        'CASE WHEN username_key IS NULL THEN 0 ELSE 1 END AS keyed FROM users WHERE ldap_uuid IS NOT NULL',
    ),
    manager.query<Array<{ username: string; keyed: unknown }>>(
      'SELECT username, CASE WHEN username_key IS NULL THEN 0 ELSE 1 END AS keyed FROM users WHERE ldap_uuid IS NULL',
    ),
    organisationId === undefined ? [] : readGroupsWithMembers(manager, sql, organisationId),
  ]);
  return {
    users: users.map(toAppLdapUser),
    groups,
    // Computed from the names, whatever key a row holds: the rule is usernameKey's, on every database.
    localUsernames: new Set(local.map((l) => usernameKey(l.username))),
    unkeyedUsers: [...users, ...local].filter((u) => Number(u.keyed) === 0).length,
  };
}

/** The columns the sync reads of an LDAP user row. */
export const SYNC_USER_COLUMNS =
  'id, username, email, first_name, last_name, ldap_dn, ldap_uuid, is_active, deactivated_by_sync';

export function toAppLdapUser(u: UserRow & { ldap_uuid: string }): AppLdapUser {
  return {
    id: Number(u.id),
    uuid: u.ldap_uuid,
    username: u.username,
    email: u.email,
    firstName: u.first_name,
    lastName: u.last_name,
    dn: u.ldap_dn,
    isActive: Boolean(u.is_active),
    deactivatedBySync: Boolean(u.deactivated_by_sync),
  };
}

/**
 * The organisation's LDAP-managed groups with the ids of their LDAP members (local users' memberships are the
 * app's own: the sync neither counts nor removes them). PostgreSQL and SQLite send each group's ids
 * as one comma-separated text (string_agg / group_concat): 200 rows instead of 300,000 at 100,000 users,
 * which spares the driver most of its row parsing. MySQL and MariaDB cut GROUP_CONCAT at
 * group_concat_max_len (1,024 bytes by default) with only a warning, so there the pairs come row by row.
 */
async function readGroupsWithMembers(
  manager: EntityManager,
  sql: SqlDialect,
  organisationId: number,
): Promise<AppLdapGroup[]> {
  const groupsTable = sql.id('groups');
  const where = `g.ldap_dn IS NOT NULL AND g.organisation_id = ${sql.param(1)}`;
  if (sql.kind === 'mysql') {
    const rows = await manager.query<Array<{ id: number; ldap_dn: string; name: string }>>(
      `SELECT g.id, g.ldap_dn, g.name FROM ${groupsTable} g WHERE ${where}`,
      [organisationId],
    );
    const groups = rows.map((g) => ({ id: Number(g.id), dn: g.ldap_dn, name: g.name, memberIds: [] as number[] }));
    const byId = new Map(groups.map((g) => [g.id, g]));
    const pairs = await manager.query<Array<{ user_id: number; group_id: number }>>(
      `SELECT ug.user_id, ug.group_id FROM user_groups ug JOIN ${groupsTable} g ON g.id = ug.group_id ` +
        `JOIN users u ON u.id = ug.user_id WHERE ${where} AND u.ldap_uuid IS NOT NULL`,
      [organisationId],
    );
    for (const pair of pairs) byId.get(Number(pair.group_id))?.memberIds.push(Number(pair.user_id));
    return groups;
  }
  // u.id is null for a local member: both aggregates skip nulls.
  const members = sql.kind === 'postgres' ? `string_agg(u.id::text, ',')` : `group_concat(u.id, ',')`;
  const rows = await manager.query<Array<{ id: number; ldap_dn: string; name: string; members: string | null }>>(
    `SELECT g.id, g.ldap_dn, g.name, ${members} AS members FROM ${groupsTable} g ` +
      `LEFT JOIN user_groups ug ON ug.group_id = g.id LEFT JOIN users u ON u.id = ug.user_id AND u.ldap_uuid IS NOT NULL ` +
      `WHERE ${where} GROUP BY g.id, g.ldap_dn, g.name`,
    [organisationId],
  );
  return rows.map((g) => ({ id: Number(g.id), dn: g.ldap_dn, name: g.name, memberIds: parseIdList(g.members) }));
}

/** "12,7,301" → [12, 7, 301]; null (a group without members) → []. Digits only, as the database wrote them. */
export function parseIdList(text: string | null): number[] {
  const ids: number[] = [];
  if (!text) return ids;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 44) {
      ids.push(value);
      value = 0;
    } else if (code >= 48 && code <= 57) {
      value = value * 10 + (code - 48);
    } else {
      throw new Error(`unexpected character in a list of ids: ${JSON.stringify(text[i])}`);
    }
  }
  ids.push(value);
  return ids;
}
