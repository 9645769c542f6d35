import type { EntityManager } from 'typeorm';
import type { SyncPlan } from '../../model/sync-plan.js';
import { usernameKey } from '../../model/username-key.js';
import { forIds, forRows, insertRows } from '../bulk-sql.js';
import type { SqlDialect } from '../sql-dialect.js';
import { displacedUsername } from '../username-keys.js';

/**
 * Writes a full sync's plan, set-based (a few statements per kind of change, never one per row), in the
 * caller's transaction. Only LDAP-managed rows (non-null `ldap_uuid` / `ldap_dn`) are written: every statement
 * says so, whatever the plan holds. The plan's values already fit the columns (sync/fit-snapshot.ts).
 * Returns the ids of the groups it added members to, by normalised DN (new groups included).
 */
export async function applySyncPlan(
  manager: EntityManager,
  sql: SqlDialect,
  plan: SyncPlan,
  organisationId: number | undefined,
): Promise<Map<string, number>> {
  const q = (text: string, params: unknown[] = []): Promise<unknown[]> => manager.query<unknown[]>(text, params);
  const ldapUsers = 'ldap_uuid IS NOT NULL';
  const postgres = sql.kind === 'postgres';
  const groups = sql.id('groups');
  const bool = (value: boolean) => (value ? 'TRUE' : 'FALSE');

  // Names given up by removed entries' rows first, so the rows that take them can; each moves to a name
  // checked to be free.
  for (const id of plan.usernameHandovers) {
    const [row] = (await q(`SELECT username FROM users WHERE id = ${sql.param(1)} AND ${ldapUsers}`, [id])) as Array<{
      username: string;
    }>;
    if (row) {
      const released = await displacedUsername(q, sql, row.username, id);
      await q(
        `UPDATE users SET username = ${sql.param(1)}, username_key = ${sql.param(2)} WHERE id = ${sql.param(3)}`,
        [released.username, released.key, id],
      );
    }
  }

  if (plan.deleteUsers.length) {
    // Memberships explicitly (SQLite may run without foreign keys), then the rows.
    await forIds(sql, plan.deleteUsers, (list) =>
      q(`DELETE FROM user_groups WHERE user_id IN ${list.sql}`, list.params),
    );
    await forIds(sql, plan.deleteUsers, (list) =>
      q(`DELETE FROM user_organisations WHERE user_id IN ${list.sql}`, list.params),
    );
    await forIds(sql, plan.deleteUsers, (list) =>
      q(`DELETE FROM users WHERE id IN ${list.sql} AND ${ldapUsers}`, list.params),
    );
  }

  if (plan.userUpdates.length) {
    // Two steps, so names can move between rows (a swap) without tripping the unique indexes: first to a
    // temporary name no row holds (checked here) and no key, then to the final name and key.
    const renamed = plan.userUpdates.map((u) => u.id);
    const suffix = await freeTemporarySuffix(manager, sql, renamed);
    const base = postgres ? 'id::text' : 'id';
    await forIds(sql, renamed, (list) =>
      q(
        `UPDATE users SET username = ${sql.concat("'~sync~'", base, sql.param(list.params.length + 1))}, username_key = NULL WHERE id IN ${list.sql} AND ${ldapUsers}`,
        // PostgreSQL numbers its placeholders; elsewhere they bind in the order they appear.
        postgres ? [...list.params, suffix] : [suffix, ...list.params],
      ),
    );
    await updateUsers(manager, sql, plan.userUpdates);
  }

  if (plan.deactivate.length) {
    await forIds(sql, plan.deactivate, (list) =>
      q(
        `UPDATE users SET is_active = ${bool(false)}, deactivated_by_sync = ${bool(true)}, updated_at = CURRENT_TIMESTAMP WHERE id IN ${list.sql} AND ${ldapUsers}`,
        list.params,
      ),
    );
  }
  if (plan.reactivate.length) {
    await forIds(sql, plan.reactivate, (list) =>
      q(
        `UPDATE users SET is_active = ${bool(true)}, deactivated_by_sync = ${bool(false)}, updated_at = CURRENT_TIMESTAMP WHERE id IN ${list.sql} AND ${ldapUsers} AND deactivated_by_sync = ${bool(true)}`,
        list.params,
      ),
    );
  }

  for (const group of plan.renameGroups) {
    await q(`UPDATE ${groups} SET name = ${sql.param(1)} WHERE id = ${sql.param(2)} AND ldap_dn IS NOT NULL`, [
      group.name,
      group.id,
    ]);
  }

  const groupIdByDn = new Map<string, number>();
  if (plan.createGroups.length || plan.addMemberships.length) {
    if (organisationId === undefined) throw new Error('groups need the default organisation');
    await insertRows(
      manager,
      sql,
      'groups',
      [
        ['organisation_id', 'integer'],
        ['name', 'varchar'],
        ['ldap_dn', 'varchar'],
      ],
      plan.createGroups.map((g) => [organisationId, g.name, g.dn]),
    );
    const dns = [...new Set(plan.addMemberships.map((m) => m.groupDn))];
    const per = sql.rowsPerStatement(1) - 1;
    for (let i = 0; i < dns.length; i += per) {
      const chunk = dns.slice(i, i + per);
      const rows = (await q(
        `SELECT id, ldap_dn FROM ${groups} WHERE organisation_id = ${sql.param(1)} AND ldap_dn IN (${chunk.map((_, j) => sql.param(j + 2)).join(', ')})`,
        [organisationId, ...chunk],
      )) as Array<{ id: number; ldap_dn: string }>;
      for (const row of rows) groupIdByDn.set(row.ldap_dn, Number(row.id));
    }
  }

  if (plan.removeMemberships.length) {
    // Only LDAP users' memberships, whatever the plan says: a local user's are the app's own.
    const ofLdapUsers = `user_id IN (SELECT id FROM users WHERE ${ldapUsers})`;
    if (postgres) {
      await q(
        `DELETE FROM user_groups WHERE (user_id, group_id) IN (SELECT * FROM unnest($1::integer[], $2::integer[])) AND ${ofLdapUsers}`,
        [plan.removeMemberships.map((m) => m.userId), plan.removeMemberships.map((m) => m.groupId)],
      );
    } else {
      await forRows(
        sql,
        plan.removeMemberships.map((m) => [m.userId, m.groupId]),
        2,
        (values, params) =>
          q(
            `DELETE FROM user_groups WHERE (user_id, group_id) IN (${sql.valuesList(values, 2)}) AND ${ofLdapUsers}`,
            params,
          ),
      );
    }
  }
  if (plan.addMemberships.length) {
    const rows = plan.addMemberships.flatMap((m) => {
      const groupId = groupIdByDn.get(m.groupDn);
      return groupId === undefined ? [] : [[m.userId, groupId]];
    });
    await insertRows(
      manager,
      sql,
      'user_groups',
      [
        ['user_id', 'integer'],
        ['group_id', 'integer'],
      ],
      rows,
    );
  }
  return groupIdByDn;
}

/**
 * A suffix for the temporary names `~sync~<id><suffix>` that no row holds (a local user may be named
 * `~sync~12`): '' when none of them is taken, else `~2`, `~3`… Checked in the run's transaction.
 */
async function freeTemporarySuffix(manager: EntityManager, sql: SqlDialect, ids: number[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const suffix = attempt === 1 ? '' : `~${attempt}`;
    let taken = false;
    await forRows(
      sql,
      ids.map((id) => [`~sync~${id}${suffix}`]),
      1,
      async (count, params) => {
        if (taken) return;
        const rows = await manager.query<unknown[]>(
          `SELECT id FROM users WHERE username IN (${Array.from({ length: count }, (_, i) => sql.param(i + 1)).join(', ')})`,
          params,
        );
        taken = rows.length > 0;
      },
    );
    if (!taken) return suffix;
  }
}

/** The rows' new names, keys and fields: one statement per chunk of rows (one in all on PostgreSQL). */
async function updateUsers(manager: EntityManager, sql: SqlDialect, updates: SyncPlan['userUpdates']): Promise<void> {
  const width = 7;
  const rows = updates.map((u) => [u.id, u.username, u.email, u.firstName, u.lastName, u.dn, usernameKey(u.username)]);
  if (sql.kind === 'postgres') {
    const types = ['integer', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar'];
    await manager.query(
      `UPDATE users AS u SET username = v.username, email = v.email, first_name = v.first_name, last_name = v.last_name, ldap_dn = v.ldap_dn, username_key = v.username_key, updated_at = CURRENT_TIMESTAMP ` +
        `FROM unnest(${types.map((t, c) => `$${c + 1}::${t}[]`).join(', ')}) AS v(id, username, email, first_name, last_name, ldap_dn, username_key) ` +
        'WHERE u.id = v.id AND u.ldap_uuid IS NOT NULL',
      types.map((_, c) => rows.map((row) => row[c])),
    );
    return;
  }
  if (sql.kind === 'mysql') {
    // MySQL has no UPDATE … FROM (VALUES …) and spells row constructors differently from MariaDB: the rows
    // come as a derived table of SELECTs, joined.
    const row = (r: number) =>
      `SELECT ${['id', 'username', 'email', 'first_name', 'last_name', 'ldap_dn', 'username_key'].map((c, i) => `${sql.param(r * width + i + 1)}${r === 0 ? ` AS ${c}` : ''}`).join(', ')}`;
    await forRows(sql, rows, width, (count, params) =>
      manager.query(
        `UPDATE users u JOIN (${Array.from({ length: count }, (_, r) => row(r)).join(' UNION ALL ')}) v ON u.id = v.id ` +
          'SET u.username = v.username, u.email = v.email, u.first_name = v.first_name, u.last_name = v.last_name, ' +
          'u.ldap_dn = v.ldap_dn, u.username_key = v.username_key, u.updated_at = CURRENT_TIMESTAMP(6) WHERE u.ldap_uuid IS NOT NULL',
        params,
      ),
    );
    return;
  }
  await forRows(sql, rows, width, (count, params) => {
    return manager.query(
      `UPDATE users SET username = v.column2, email = v.column3, first_name = v.column4, last_name = v.column5, ldap_dn = v.column6, username_key = v.column7, updated_at = CURRENT_TIMESTAMP ` +
        `FROM (VALUES ${sql.valuesList(count, width)}) AS v WHERE users.id = v.column1 AND users.ldap_uuid IS NOT NULL`,
      params,
    );
  });
}
