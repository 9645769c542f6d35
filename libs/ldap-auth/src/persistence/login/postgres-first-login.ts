import type { Query } from '../username-keys.js';
import type { FittedGroupPlan, GroupRow, JoinedGroups } from './login-group-memberships.js';

/**
 * A first login's writes on PostgreSQL in one statement (each round trip was most of a first login's CPU):
 * inserts the user, links the organisation, reads the plan's groups and joins the user to those of them that
 * exist. Groups not there yet are created afterwards by applyLoginGroupPlan, in the same transaction.
 * Returns the user's id, and the groups read and joined.
 */
export async function insertPostgresUser(
  query: Query,
  columns: Record<string, unknown>,
  organisationId: number | undefined,
  plan: FittedGroupPlan | undefined,
): Promise<{ id: number; joined?: JoinedGroups }> {
  const names = Object.keys(columns);
  const params: unknown[] = Object.values(columns);
  const p = (value: unknown): string => `$${params.push(value)}`;
  const ctes = [
    `u AS (INSERT INTO users (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id)`,
  ];
  if (organisationId !== undefined) {
    ctes.push(
      `o AS (INSERT INTO user_organisations (user_id, organisation_id) SELECT id, ${p(organisationId)} FROM u)`,
    );
  }
  if (!plan || plan.managedDns.length === 0) {
    const [row] = (await query(`WITH ${ctes.join(', ')} SELECT id FROM u`, params)) as Array<{ id: number | string }>;
    return { id: Number(row.id) };
  }
  ctes.push(
    `g AS (SELECT id, name, ldap_dn FROM "groups" WHERE organisation_id = ${p(plan.organisationId)}` +
      ` AND ldap_dn = ANY(${p(plan.managedDns)}::text[]))`,
    `m AS (INSERT INTO user_groups (user_id, group_id) SELECT u.id, g.id FROM u, g` +
      ` WHERE g.ldap_dn = ANY(${p(plan.join.map((group) => group.ldapDn))}::text[]) RETURNING group_id)`,
  );
  const rows = (await query(
    `WITH ${ctes.join(', ')} SELECT u.id, g.id AS group_id, g.name, g.ldap_dn, m.group_id AS joined` +
      ` FROM u LEFT JOIN g ON true LEFT JOIN m ON m.group_id = g.id ORDER BY g.name`,
    params,
  )) as Array<{ id: number | string; group_id: number | null; name: string; ldap_dn: string; joined: number | null }>;
  const known: GroupRow[] = [];
  const added: number[] = [];
  for (const row of rows) {
    if (row.group_id === null) continue;
    known.push({ id: Number(row.group_id), name: row.name, ldap_dn: row.ldap_dn });
    if (row.joined !== null) added.push(Number(row.group_id));
  }
  return { id: Number(rows[0].id), joined: { known, added } };
}
