import { Injectable } from '@nestjs/common';
import { UserEntity } from '../../entities/user.entity.js';
import type { LinkAppUser, ProposedLink } from '../../model/user-link-plan.js';
import { usernameKey } from '../../model/username-key.js';
import { TransactionRunner } from '../transaction-runner.js';

/** Why a planned link was not written: the row or the entry changed between the plan and the write. */
export class LinkRaceError extends Error {}

/**
 * `users:link`'s side of the `users` table: reads every row's name, email and link, and links one local row to
 * one directory entry. Nothing else of the row changes: its id, name and memberships stay.
 */
@Injectable()
export class LdapLinkStore {
  constructor(private readonly transactions: TransactionRunner) {}

  async readUsers(): Promise<LinkAppUser[]> {
    const rows = await this.transactions.dataSource.query<
      Array<{ id: number | string; username: string; email: string | null; ldap_uuid: string | null }>
    >('SELECT id, username, email, ldap_uuid FROM users ORDER BY id');
    return rows.map((r) => ({ id: Number(r.id), username: r.username, email: r.email, ldapUuid: r.ldap_uuid }));
  }

  /**
   * Sets the row's `ldap_uuid`, `ldap_dn` and `username_key` in one transaction, only if the row is still local
   * and no row holds the entry's uuid (throws LinkRaceError otherwise, writing nothing).
   */
  link(link: ProposedLink): Promise<void> {
    return this.transactions.transaction(async (manager) => {
      const users = manager.getRepository(UserEntity);
      if (await users.existsBy({ ldapUuid: link.ldapUuid })) {
        throw new LinkRaceError(`the entry ${link.dn} was linked to another user meanwhile`);
      }
      const result = await users
        .createQueryBuilder()
        .update()
        .set({ ldapUuid: link.ldapUuid, ldapDn: link.dn, usernameKey: usernameKey(link.username) })
        .where('id = :id AND ldap_uuid IS NULL AND username = :username', { id: link.userId, username: link.username })
        .execute();
      if (result.affected !== 1) {
        throw new LinkRaceError(`user ${link.userId} was renamed, removed or linked meanwhile`);
      }
    });
  }
}
