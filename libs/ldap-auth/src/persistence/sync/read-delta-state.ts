import type { EntityManager } from 'typeorm';
import type { AppLdapGroup, AppLdapUser } from '../../model/sync-plan.js';
import { usernameKey } from '../../model/username-key.js';
import type { SqlDialect } from '../sql-dialect.js';
import type { UserRow } from '../user-row.js';
import { parseIdList, SYNC_USER_COLUMNS, toAppLdapUser } from './read-sync-state.js';

/**
 * A delta's reads of the app's state: only the rows a change may concern, instead of every LDAP user and
 * membership (see sync/delta-scope.ts for what is asked and why that is enough). PostgreSQL and SQLite: the
 * lists go in as one array (PostgreSQL) or one JSON text (SQLite) parameter; MySQL keeps the whole read.
 */

/** The rows asked for: by stable id, by username key (LDAP and local rows), by row id. */
export interface ScopedRowsQuery {
  uuids: readonly string[];
  usernameKeys: readonly string[];
  ids: readonly number[];
  /** Also every row the sync deactivated (removed users are deleted: a full run deletes those whose entry is gone). */
  deactivatedBySync?: boolean;
}

export interface ScopedRows {
  users: AppLdapUser[];
  /** Each row's memberships of the organisation's LDAP-managed groups: [userId, groupId]. */
  memberships: Array<[number, number]>;
  /** Keys (usernameKey) of the local users holding one of the asked keys. */
  localUsernames: string[];
}

/** The totals the guards count over every row, and the managed groups (members counted, none listed). */
export interface ScopedTotals {
  activeUsers: number;
  unkeyedUsers: number;
  groups: AppLdapGroup[];
}

export function canReadScoped(sql: SqlDialect): boolean {
  return sql.kind !== 'mysql';
}

/** `column IN (the list)` with the list as the n-th parameter, and that parameter's value. */
function inList(sql: SqlDialect, column: string, n: number, type: 'text' | 'int'): string {
  if (sql.kind === 'postgres') return `${column} = ANY(${sql.param(n)}::${type}[])`;
  return `${column} IN (SELECT value FROM json_each(${sql.param(n)}))`;
}

function listParam(sql: SqlDialect, values: readonly unknown[]): unknown {
  return sql.kind === 'postgres' ? values : JSON.stringify(values);
}

export async function readScopedRows(
  manager: EntityManager,
  sql: SqlDialect,
  organisationId: number | undefined,
  query: ScopedRowsQuery,
): Promise<ScopedRows> {
  const p = (values: readonly unknown[]) => listParam(sql, values);
  const [rows, local] = await Promise.all([
    manager.query<Array<UserRow & { ldap_uuid: string }>>(
      `SELECT ${SYNC_USER_COLUMNS} FROM users WHERE ldap_uuid IS NOT NULL AND (` +
        `${inList(sql, 'ldap_uuid', 1, 'text')} OR ${inList(sql, 'username_key', 2, 'text')} OR ${inList(sql, 'id', 3, 'int')}` +
        `${query.deactivatedBySync ? ' OR (NOT is_active AND deactivated_by_sync)' : ''})`,
      [p(query.uuids), p(query.usernameKeys), p(query.ids)],
    ),
    query.usernameKeys.length === 0
      ? []
      : manager.query<Array<{ username: string }>>(
          `SELECT username FROM users WHERE ldap_uuid IS NULL AND ${inList(sql, 'username_key', 1, 'text')}`,
          [p(query.usernameKeys)],
        ),
  ]);
  const users = rows.map(toAppLdapUser);
  const memberships: Array<[number, number]> = [];
  if (users.length && organisationId !== undefined) {
    const pairs = await manager.query<Array<{ user_id: number; group_id: number }>>(
      `SELECT ug.user_id, ug.group_id FROM user_groups ug JOIN ${sql.id('groups')} g ON g.id = ug.group_id ` +
        `WHERE g.ldap_dn IS NOT NULL AND g.organisation_id = ${sql.param(1)} AND ${inList(sql, 'ug.user_id', 2, 'int')}`,
      [organisationId, p(users.map((u) => u.id))],
    );
    for (const pair of pairs) memberships.push([Number(pair.user_id), Number(pair.group_id)]);
  }
  return { users, memberships, localUsernames: local.map((l) => usernameKey(l.username)) };
}

/**
 * With a present phase (`present`: the entries still there, changed ones aside): the rows the phase leaves
 * out (gone), with whether their entry was present as the last run left it (active, or not deactivated by
 * the sync), and the rows it names whose entry was not.
 */
export async function readPresence(
  manager: EntityManager,
  sql: SqlDialect,
  present: readonly string[],
): Promise<Array<{ uuid: string; now: boolean; before: boolean }>> {
  // On PostgreSQL one text split by the server: an array parameter of 100,000 values costs the driver far more.
  const asText = sql.kind === 'postgres' && !present.some((uuid) => uuid.includes(','));
  const list = asText
    ? `SELECT unnest(string_to_array(${sql.param(1)}::text, ',')) AS uuid`
    : sql.kind === 'postgres'
      ? `SELECT unnest(${sql.param(1)}::text[]) AS uuid`
      : `SELECT value AS uuid FROM json_each(?)`;
  const before = '(u.is_active OR NOT u.deactivated_by_sync)';
  const rows = await manager.query<Array<{ ldap_uuid: string; now: unknown; before: unknown }>>(
    `SELECT u.ldap_uuid, CASE WHEN p.uuid IS NULL THEN 0 ELSE 1 END AS now, CASE WHEN ${before} THEN 1 ELSE 0 END AS before ` +
      `FROM users u LEFT JOIN (${list}) p ON p.uuid = u.ldap_uuid ` +
      `WHERE u.ldap_uuid IS NOT NULL AND (p.uuid IS NULL OR NOT ${before})`,
    [asText ? present.join(',') : listParam(sql, present)],
  );
  return rows.map((row) => ({ uuid: row.ldap_uuid, now: Number(row.now) === 1, before: Number(row.before) === 1 }));
}

export async function readScopedTotals(
  manager: EntityManager,
  sql: SqlDialect,
  organisationId: number | undefined,
): Promise<ScopedTotals> {
  const where = `g.ldap_dn IS NOT NULL AND g.organisation_id = ${sql.param(1)}`;
  const [[counts], groups, members, localMembers] = await Promise.all([
    manager.query<Array<{ active: unknown; unkeyed: unknown }>>(
      'SELECT SUM(CASE WHEN ldap_uuid IS NOT NULL AND is_active THEN 1 ELSE 0 END) AS active, ' +
        'SUM(CASE WHEN username_key IS NULL THEN 1 ELSE 0 END) AS unkeyed FROM users',
    ),
    organisationId === undefined
      ? []
      : manager.query<Array<{ id: number; ldap_dn: string; name: string }>>(
          `SELECT g.id, g.ldap_dn, g.name FROM ${sql.id('groups')} g WHERE ${where}`,
          [organisationId],
        ),
    // Every membership, then those of local users taken off: counting the LDAP users' own by joining every
    // membership to its user cost four times as much (300,000 memberships: 80 against 20 ms).
    organisationId === undefined
      ? []
      : manager.query<Array<{ group_id: number; n: unknown }>>(
          `SELECT ug.group_id, COUNT(*) AS n FROM user_groups ug JOIN ${sql.id('groups')} g ON g.id = ug.group_id ` +
            `WHERE ${where} GROUP BY ug.group_id`,
          [organisationId],
        ),
    organisationId === undefined
      ? []
      : manager.query<Array<{ group_id: number; n: unknown }>>(
          `SELECT ug.group_id, COUNT(*) AS n FROM user_groups ug JOIN ${sql.id('groups')} g ON g.id = ug.group_id ` +
            `JOIN users u ON u.id = ug.user_id WHERE ${where} AND u.ldap_uuid IS NULL GROUP BY ug.group_id`,
          [organisationId],
        ),
  ]);
  const count = new Map(members.map((m) => [Number(m.group_id), Number(m.n)]));
  for (const m of localMembers) count.set(Number(m.group_id), (count.get(Number(m.group_id)) ?? 0) - Number(m.n));
  return {
    activeUsers: Number(counts?.active ?? 0),
    unkeyedUsers: Number(counts?.unkeyed ?? 0),
    groups: groups.map((g) => ({
      id: Number(g.id),
      dn: g.ldap_dn,
      name: g.name,
      memberIds: [],
      memberCount: count.get(Number(g.id)) ?? 0,
    })),
  };
}

/** The stored LDAP members of some groups: their ids by group, and each member's DN. */
export interface StoredMembers {
  memberIds: Map<number, number[]>;
  dnOf: Map<number, string | null>;
}

/**
 * The LDAP members of the groups `groupIds`: per group one text of ids and one of their DNs, one per line in the
 * same order (by id on PostgreSQL; SQLite feeds both aggregates in one pass), so the driver parses a few texts,
 * not a row per membership, and the server builds no JSON (three times the time). A DN holding a line break,
 * which no directory writes but a hostile one could, cannot be split that way: then the DNs come as JSON.
 */
export async function readStoredMembers(
  manager: EntityManager,
  sql: SqlDialect,
  groupIds: readonly number[],
): Promise<StoredMembers> {
  const stored: StoredMembers = { memberIds: new Map(), dnOf: new Map() };
  if (groupIds.length === 0) return stored;
  const pg = sql.kind === 'postgres';
  // PostgreSQL may aggregate in parallel workers: both texts ordered by id pair them whatever the plan.
  const ids = pg ? `string_agg(u.id::text, ',' ORDER BY u.id)` : `group_concat(u.id, ',')`;
  const dns = pg
    ? `string_agg(COALESCE(u.ldap_dn, ''), E'\\n' ORDER BY u.id)`
    : `group_concat(COALESCE(u.ldap_dn, ''), char(10))`;
  const broken = pg ? `bool_or(strpos(u.ldap_dn, E'\\n') > 0)` : `MAX(instr(u.ldap_dn, char(10)) > 0)`;
  const from =
    `FROM user_groups ug JOIN users u ON u.id = ug.user_id ` +
    `WHERE u.ldap_uuid IS NOT NULL AND ${inList(sql, 'ug.group_id', 1, 'int')} GROUP BY ug.group_id`;
  const groups = await manager.query<Array<{ group_id: number; ids: string; dns: string; broken: unknown }>>(
    `SELECT ug.group_id, ${ids} AS ids, ${dns} AS dns, ${broken} AS broken ${from}`,
    [listParam(sql, groupIds)],
  );
  if (groups.some((group) => group.broken === true || Number(group.broken) === 1)) {
    return readStoredMembersAsJson(manager, sql, groupIds);
  }
  for (const group of groups) {
    const memberIds = parseIdList(group.ids);
    const memberDns = group.dns.split('\n');
    if (memberDns.length !== memberIds.length) {
      throw new Error(`group ${group.group_id}: ${memberIds.length} member ids but ${memberDns.length} DNs`);
    }
    stored.memberIds.set(Number(group.group_id), memberIds);
    // No DN and an empty one count alike (memberDiff takes either as "named by no value").
    for (let i = 0; i < memberIds.length; i++) stored.dnOf.set(memberIds[i], memberDns[i] || null);
  }
  return stored;
}

/** readStoredMembers for DNs that a line break would split: ids by group, every member's DN once in JSON. */
async function readStoredMembersAsJson(
  manager: EntityManager,
  sql: SqlDialect,
  groupIds: readonly number[],
): Promise<StoredMembers> {
  const stored: StoredMembers = { memberIds: new Map(), dnOf: new Map() };
  const pg = sql.kind === 'postgres';
  const ids = pg ? `string_agg(u.id::text, ',')` : `group_concat(u.id, ',')`;
  const pairs = pg ? 'json_agg(json_build_array(u.id, u.ldap_dn))' : 'json_group_array(json_array(u.id, u.ldap_dn))';
  const [groups, [dns]] = await Promise.all([
    manager.query<Array<{ group_id: number; members: string | null }>>(
      `SELECT ug.group_id, ${ids} AS members FROM user_groups ug JOIN users u ON u.id = ug.user_id ` +
        `WHERE u.ldap_uuid IS NOT NULL AND ${inList(sql, 'ug.group_id', 1, 'int')} GROUP BY ug.group_id`,
      [listParam(sql, groupIds)],
    ),
    manager.query<Array<{ members: unknown }>>(
      `SELECT ${pairs} AS members FROM users u WHERE u.ldap_uuid IS NOT NULL AND u.id IN ` +
        `(SELECT ug.user_id FROM user_groups ug WHERE ${inList(sql, 'ug.group_id', 1, 'int')})`,
      [listParam(sql, groupIds)],
    ),
  ]);
  for (const group of groups) stored.memberIds.set(Number(group.group_id), parseIdList(group.members));
  const text = dns?.members ?? null;
  const list = (typeof text === 'string' ? JSON.parse(text) : (text ?? [])) as Array<[unknown, unknown]>;
  for (const [id, dn] of list) stored.dnOf.set(Number(id), typeof dn === 'string' ? dn : null);
  return stored;
}

/** The LDAP rows whose DN in lower case is one of `keys` (lower-cased or normalised DNs), with that DN. */
export async function readRowsByDnKey(
  manager: EntityManager,
  sql: SqlDialect,
  keys: readonly string[],
): Promise<Array<{ id: number; dn: string }>> {
  if (keys.length === 0) return [];
  const rows = await manager.query<Array<{ id: number; ldap_dn: string }>>(
    `SELECT id, ldap_dn FROM users WHERE ldap_uuid IS NOT NULL AND ${inList(sql, 'LOWER(ldap_dn)', 1, 'text')}`,
    [listParam(sql, keys)],
  );
  return rows.map((row) => ({ id: Number(row.id), dn: row.ldap_dn }));
}

/**
 * The LDAP rows whose DN may compare otherwise than in lower case (not plain, see model/dn.ts: other
 * characters, spaces at a separator, an empty part, not one `=` per RDN), or that have none.
 */
export async function readNotPlainRows(manager: EntityManager, sql: SqlDialect): Promise<number[]> {
  const dn = 'ldap_dn';
  const notPlain =
    (sql.kind === 'postgres' ? `${dn} ~ '[^-A-Za-z0-9=,._ ]'` : `${dn} GLOB '*[^-A-Za-z0-9=,._ ]*'`) +
    ['% ,%', '%, %', '% =%', '%= %', ' %', '% ', '%,,%', '%=,%', '%,=%', ',%', '%,', '%=', '=%']
      .map((pattern) => ` OR ${dn} LIKE '${pattern}'`)
      .join('') +
    ` OR LENGTH(${dn}) - LENGTH(REPLACE(${dn}, '=', '')) <> LENGTH(${dn}) - LENGTH(REPLACE(${dn}, ',', '')) + 1`;
  const rows = await manager.query<Array<{ id: number }>>(
    `SELECT id FROM users WHERE ldap_uuid IS NOT NULL AND (${dn} IS NULL OR ${notPlain})`,
  );
  return rows.map((row) => Number(row.id));
}
