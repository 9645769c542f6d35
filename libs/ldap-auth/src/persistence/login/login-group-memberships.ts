import { type EntityManager, In } from 'typeorm';
import { GroupEntity } from '../../entities/group.entity.js';
import { UserEntity } from '../../entities/user.entity.js';
import type { GroupMembershipChangedEvent } from '../../events/ldap-auth.events.js';
import type { GroupSyncPlan, GroupToJoin } from '../../group-mirroring/group-sync.js';
import type { SqlDialect } from '../sql-dialect.js';
import { fitGroupToJoin } from './login-column-fit.js';

/** Applies a login's group plan; returns the memberships it changed (for the events). */
export async function applyLoginGroupPlan(
  manager: EntityManager,
  sql: SqlDialect,
  userId: number,
  plan: GroupSyncPlan,
  newUser: boolean,
  warn: (message: string) => void,
): Promise<GroupMembershipChangedEvent[]> {
  const groups = manager.getRepository(GroupEntity);
  const membership = manager.createQueryBuilder().relation(UserEntity, 'groups').of(userId);
  const join: GroupToJoin[] = [];
  for (const wanted of plan.join) {
    const { group, warning } = fitGroupToJoin(wanted);
    if (warning) warn(warning);
    if (group) join.push(group);
  }
  const managedDns = [...join.map((g) => g.ldapDn), ...plan.leave];
  if (managedDns.length === 0) return [];

  if (join.length) {
    // Two first logins into a new group at once: the second insert is ignored, both then read the one row.
    // Rows in DN order, so concurrent logins lock the keys in the same order and cannot deadlock on them.
    const rows = [...join].sort((a, b) => (a.ldapDn < b.ldapDn ? -1 : a.ldapDn > b.ldapDn ? 1 : 0));
    await manager.query(
      sql.insertUnlessExists('groups', ['organisation_id', 'name', 'ldap_dn'], sql.valuesList(rows.length, 3)),
      rows.flatMap((g) => [plan.organisationId, g.name, g.ldapDn]),
    );
  }
  const known = await groups.find({ where: { organisationId: plan.organisationId, ldapDn: In(managedDns) } });
  const idOf = new Map(known.map((g) => [g.ldapDn, g.id]));
  // A user inserted by this transaction is in no group yet: nothing to read.
  const current = new Set(
    newUser
      ? []
      : (
          await groups
            .createQueryBuilder('g')
            .innerJoin('user_groups', 'ug', 'ug.group_id = g.id')
            .where('ug.user_id = :userId', { userId })
            .andWhere('g.organisation_id = :org', { org: plan.organisationId })
            .andWhere('g.ldap_dn IN (:...dns)', { dns: managedDns })
            .getMany()
        ).map((g) => g.id),
  );
  const toAdd = join.map((g) => idOf.get(g.ldapDn)!).filter((id) => id !== undefined && !current.has(id));
  const toRemove = plan.leave
    .map((dn) => idOf.get(dn))
    .filter((id): id is number => id !== undefined && current.has(id));
  if (toAdd.length || toRemove.length) await membership.addAndRemove(toAdd, toRemove);
  const byId = new Map(known.map((g) => [g.id, g]));
  const change = (groupId: number, added: boolean): GroupMembershipChangedEvent => ({
    groupId,
    groupDn: byId.get(groupId)?.ldapDn ?? '',
    groupName: byId.get(groupId)?.name ?? '',
    added: added ? [userId] : [],
    removed: added ? [] : [userId],
    source: 'login',
  });
  return [...toAdd.map((id) => change(id, true)), ...toRemove.map((id) => change(id, false))];
}
