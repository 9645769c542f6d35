import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In, QueryFailedError } from 'typeorm';
import { GroupEntity } from '../entities/group.entity.js';
import { OrganisationEntity } from '../entities/organisation.entity.js';
import { UserEntity } from '../entities/user.entity.js';
import type { DirectoryUser } from '../directory/directory-user.js';
import type { GroupSyncPlan } from '../group-sync/group-sync.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';
import type { AppUser } from '../interfaces/app-user.interface.js';

/** Attempts at a login's transaction when a concurrent login wrote the same row first. */
const MAX_ATTEMPTS = 3;

/**
 * The one place that writes the app's users, groups and organisations. Local users and groups (no LDAP id)
 * are never changed here.
 */
@Injectable()
export class LdapUserStore {
  private readonly logger = new Logger(LdapUserStore.name);
  /** SQLite has one writer: queue our transactions instead of failing with "database is locked". */
  private sqliteQueue: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Creates or refreshes the user of a successful login, matched by the directory's stable id, applies the
   * group plan, and returns the user as the API shows it; all in one transaction, in as few statements as
   * that allows (a returning user without group changes: one read, one update, one read of the groups).
   */
  async recordLogin(
    entry: DirectoryUser,
    plan: GroupSyncPlan | null,
    defaultOrganisationId?: number,
  ): Promise<AppUser> {
    return this.transaction(async (manager) => {
      const users = manager.getRepository(UserEntity);
      // One statement reads both the entry's row and any row holding its username, so a concurrent first
      // login of the same entry is either seen here or fails our insert (and the transaction is retried).
      const rows = await users
        .createQueryBuilder('u')
        .where('u.ldap_uuid = :uuid OR LOWER(u.username) = LOWER(:username)', {
          uuid: entry.uuid,
          username: entry.username,
        })
        .getMany();
      const own = rows.find((row) => row.ldapUuid === entry.uuid);
      const holder = rows.find((row) => row !== own);
      if (holder) this.refuseUsernameTakeover(entry, holder);

      const fields = {
        username: entry.username,
        email: entry.email,
        firstName: entry.firstName,
        lastName: entry.lastName,
        ldapDn: entry.dn,
        isActive: true,
        lastLoginAt: new Date(),
      };
      let id: number;
      if (own) {
        id = own.id;
        await users.update({ id }, fields);
      } else {
        const inserted = await users.insert({ ...fields, ldapUuid: entry.uuid });
        id = (inserted.identifiers[0] as { id: number }).id;
        if (defaultOrganisationId !== undefined) {
          await manager.createQueryBuilder().relation(UserEntity, 'organisations').of(id).add(defaultOrganisationId);
        }
      }
      if (plan) await this.applyGroupPlan(manager, id, plan);
      return { id, ...pick(fields), groups: await this.groupsOf(manager, id) };
    });
  }

  /** The user as the API shows it, or null when there is no such active user. */
  async findActiveUser(id: number): Promise<AppUser | null> {
    const manager = this.dataSource.manager;
    const user = await manager.getRepository(UserEntity).findOne({ where: { id, isActive: true } });
    if (!user) return null;
    return { id: user.id, ...pick(user), groups: await this.groupsOf(manager, id) };
  }

  private async groupsOf(manager: EntityManager, userId: number): Promise<AppUser['groups']> {
    const groups = await manager
      .getRepository(GroupEntity)
      .createQueryBuilder('g')
      .innerJoin('user_groups', 'ug', 'ug.group_id = g.id')
      .where('ug.user_id = :userId', { userId })
      .orderBy('g.name')
      .getMany();
    return groups.map((g) => ({ name: g.name, ldapDn: g.ldapDn }));
  }

  /** Creates the organisation (named `Default`) if no organisation has that id. Returns whether it did. */
  async ensureOrganisation(id: number): Promise<boolean> {
    return this.transaction(async (manager) => {
      const organisations = manager.getRepository(OrganisationEntity);
      if (await organisations.existsBy({ id })) return false;
      await organisations.insert({ id, name: 'Default' });
      if (this.dataSource.options.type === 'postgres') {
        // An explicit id does not move the serial sequence; move it so later inserts do not collide.
        await manager.query(
          `SELECT setval(pg_get_serial_sequence('organisations', 'id'), (SELECT MAX(id) FROM organisations))`,
        );
      }
      this.logger.log(
        `Created organisation ${id} ("Default"): LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID named an organisation that did not exist`,
      );
      return true;
    });
  }

  /** A username held by another row is never taken over: a local user's, or a deleted entry's that the sync has not removed yet. */
  private refuseUsernameTakeover(entry: DirectoryUser, holder: UserEntity): never {
    if (holder.ldapUuid === null) {
      throw new InvalidCredentialsError(
        `"${entry.username}" is a local user of the app; a directory login never takes over a local user`,
      );
    }
    throw new InvalidCredentialsError(
      `"${entry.username}" belongs to user ${holder.id}, whose directory entry (${holder.ldapUuid}) is not ${entry.dn}; the full sync removes stale users`,
    );
  }

  private async applyGroupPlan(manager: EntityManager, userId: number, plan: GroupSyncPlan): Promise<void> {
    const groups = manager.getRepository(GroupEntity);
    const membership = manager.createQueryBuilder().relation(UserEntity, 'groups').of(userId);
    const managedDns = [...plan.join.map((g) => g.ldapDn), ...plan.leave];
    if (managedDns.length === 0) return;

    if (plan.join.length) {
      // Two first logins into a new group at once: the second insert is ignored, both then read the one row.
      await groups
        .createQueryBuilder()
        .insert()
        .values(plan.join.map((g) => ({ organisationId: plan.organisationId, name: g.name, ldapDn: g.ldapDn })))
        .orIgnore()
        .execute();
    }
    const known = await groups.find({ where: { organisationId: plan.organisationId, ldapDn: In(managedDns) } });
    const idOf = new Map(known.map((g) => [g.ldapDn, g.id]));
    const current = new Set(
      (
        await groups
          .createQueryBuilder('g')
          .innerJoin('user_groups', 'ug', 'ug.group_id = g.id')
          .where('ug.user_id = :userId', { userId })
          .andWhere('g.organisation_id = :org', { org: plan.organisationId })
          .andWhere('g.ldap_dn IN (:...dns)', { dns: managedDns })
          .getMany()
      ).map((g) => g.id),
    );
    const toAdd = plan.join.map((g) => idOf.get(g.ldapDn)!).filter((id) => id !== undefined && !current.has(id));
    const toRemove = plan.leave
      .map((dn) => idOf.get(dn))
      .filter((id): id is number => id !== undefined && current.has(id));
    if (toAdd.length || toRemove.length) await membership.addAndRemove(toAdd, toRemove);
  }

  /** A transaction, retried when a concurrent one inserted the same unique row first. */
  private async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.serialized(() => this.dataSource.transaction(work));
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !isUniqueViolation(error)) throw error;
        this.logger.debug(`A concurrent login wrote the same row first; retrying (attempt ${attempt + 1})`);
      }
    }
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    if (this.dataSource.options.type !== 'better-sqlite3') return fn();
    const run = this.sqliteQueue.then(fn, fn);
    this.sqliteQueue = run.catch(() => undefined);
    return run;
  }
}

function pick(user: Pick<UserEntity, 'username' | 'email' | 'firstName' | 'lastName'>) {
  return { username: user.username, email: user.email, firstName: user.firstName, lastName: user.lastName };
}

function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string } | undefined;
  return driverError?.code === '23505' || /^SQLITE_CONSTRAINT(_UNIQUE|_PRIMARYKEY)?$/.test(driverError?.code ?? '');
}
