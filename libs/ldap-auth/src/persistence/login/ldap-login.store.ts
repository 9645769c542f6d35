import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { GroupEntity } from '../../entities/group.entity.js';
import { OrganisationEntity } from '../../entities/organisation.entity.js';
import { UserEntity } from '../../entities/user.entity.js';
import type { DirectoryUser } from '../../model/directory-user.js';
import { storedUsername, usernameKey } from '../../model/username-key.js';
import type { GroupSyncPlan } from '../../group-mirroring/group-sync.js';
import { InvalidCredentialsError } from '../../errors/ldap-auth.errors.js';
import { TransactionRunner } from '../transaction-runner.js';
import { retryOnceOnLostConnection } from '../lost-connection.js';
import { displacedUsername, fillUsernameKeys, type Query } from '../username-keys.js';
import { LdapAuthEventPublisher } from '../../events/ldap-auth-event.publisher.js';
import { LDAP_AUTH_EVENTS } from '../../events/ldap-auth.events.js';
import type { AppUser } from '../../interfaces/app-user.interface.js';
import { checkUsernameFits, fitEntryToColumns } from './login-column-fit.js';
import { applyLoginGroupPlan } from './login-group-memberships.js';
import { UnchangedLogin } from './unchanged-login.js';
import { LoginTimes } from './login-times.js';
import { isReleasedBySync, refuseUsernameTakeover } from './username-takeover.js';

/** Attempts at a login's transaction when a concurrent login wrote the same row first. */
const MAX_ATTEMPTS = 3;

/**
 * What a login writes: the user's row, its login-time group memberships, and the default organisation. Local
 * users and groups (no LDAP id) are never changed here. The full sync writes through persistence/sync/.
 */
@Injectable()
export class LdapLoginStore implements OnModuleDestroy {
  private readonly logger = new Logger(LdapLoginStore.name);
  private readonly dataSource: DataSource;
  private readonly unchangedLogin: UnchangedLogin;
  /** Returning logins' times, written behind the request; none on SQLite (written with the login there). */
  private readonly loginTimes?: LoginTimes;

  constructor(
    private readonly transactions: TransactionRunner,
    private readonly events: LdapAuthEventPublisher,
  ) {
    this.dataSource = transactions.dataSource;
    if (transactions.dialect.kind !== 'sqlite') {
      this.loginTimes = new LoginTimes(this.dataSource, transactions.dialect, this.logger);
    }
    this.unchangedLogin = new UnchangedLogin(this.dataSource, this.loginTimes);
  }

  /**
   * Shutdown: the pending login times are written (before Nest closes the HTTP server and TypeORM's pool, both
   * later hooks), and logins still in flight write theirs at once.
   */
  async onModuleDestroy(): Promise<void> {
    await this.loginTimes?.close();
  }

  /**
   * Creates or refreshes the user of a successful login, matched by the directory's stable id, applies the
   * group plan, and returns the user as the API shows it. A returning user whose entry and managed groups are
   * as stored (most logins) costs one read (UnchangedLogin; its time is written behind, see LoginTimes);
   * anything else runs in one transaction, in as few statements as that allows.
   */
  recordLogin(entry: DirectoryUser, plan: GroupSyncPlan | null, defaultOrganisationId?: number): Promise<AppUser> {
    // Safe to run again: the unchanged path writes only the login time, and a transaction that lost its
    // connection did not commit (were its commit's answer lost, the second run finds the row as written).
    return retryOnceOnLostConnection('a login', () => this.recordLoginOnce(entry, plan, defaultOrganisationId));
  }

  private async recordLoginOnce(
    entry: DirectoryUser,
    plan: GroupSyncPlan | null,
    defaultOrganisationId?: number,
  ): Promise<AppUser> {
    const { fields: fitted, warnings } = fitEntryToColumns(entry);
    for (const warning of warnings) this.logger.warn(warning);
    // Of a multi-valued username attribute the stored name is chosen by storedUsername, as in the sync.
    const values = entry.usernames.length ? entry.usernames : [entry.username];
    const keys = [...new Set(values.map(usernameKey))];
    const unchanged = await this.transactions.serialized(() =>
      this.unchangedLogin.record(entry, values, keys, fitted, plan),
    );
    if (unchanged.user) return unchanged.user;
    // Events are published once the transaction committed (a retried or failed one publishes nothing).
    let events: Array<() => void> = [];
    // Only when the read just now met rows without a key (a retry always): one round trip less for most logins.
    let fill = unchanged.unkeyed;
    const user = await this.transaction(async (manager) => {
      events = [];
      const users = manager.getRepository(UserEntity);
      const query: Query = (sql, params) => manager.query(sql, params);
      // Rows an app wrote without a key get theirs first: the lookups by key below then see every name (a row
      // written without one since that read is still read below, its key computed here).
      if (fill) {
        const filled = await fillUsernameKeys(query, this.transactions.dialect);
        for (const note of filled.notes) this.logger.debug(note);
      }
      fill = true;
      // One statement reads the entry's row and every row holding one of its names (rows still without a key
      // are read too, and their keys computed here), so a concurrent first login of the same entry is either
      // seen here or fails our insert (and the transaction is retried).
      const rows = await users
        .createQueryBuilder('u')
        .where('u.ldap_uuid = :uuid OR u.username_key IN (:...keys) OR u.username_key IS NULL', {
          uuid: entry.uuid,
          keys,
        })
        .getMany();
      const own = rows.find((row) => row.ldapUuid === entry.uuid);
      const username = storedUsername(values, own?.username) ?? entry.username;
      checkUsernameFits(entry, username);
      const key = usernameKey(username);
      const holders = rows.filter((row) => row !== own && (row.usernameKey ?? usernameKey(row.username)) === key);
      if (own && !own.isActive && !own.deactivatedBySync) {
        throw new InvalidCredentialsError(
          `user ${own.id} was deactivated in the app; only the app can reactivate them`,
          'deactivated_in_app',
        );
      }
      // Every row holding the name counts: one that may not give it up refuses the login, whatever the others.
      const keeper = holders.find((holder) => !isReleasedBySync(holder));
      if (keeper) refuseUsernameTakeover(username, entry, keeper);
      for (const holder of holders) {
        // A removed entry's row the sync kept deactivated gives its name to the entry that now has it.
        const released = await displacedUsername(query, this.transactions.dialect, holder.username, holder.id);
        await users.update({ id: holder.id }, { username: released.username, usernameKey: released.key });
        events.push(() =>
          this.events.emit(LDAP_AUTH_EVENTS.userUpdated, {
            userId: holder.id,
            username: released.username,
            changed: ['username'],
            source: 'login',
          }),
        );
        this.logger.log(
          `User ${holder.id} (deactivated by the sync) gave the name ${JSON.stringify(username)} to the entry ${entry.dn}; it is now ${JSON.stringify(released.username)}`,
        );
      }

      // A login proves the entry exists and may log in: a user the sync deactivated is active again.
      const fields = {
        ...fitted,
        username,
        usernameKey: key,
        isActive: true,
        deactivatedBySync: false,
        lastLoginAt: new Date(),
      };
      let id: number;
      if (own) {
        id = own.id;
        await users.update({ id }, fields);
        const userId = id;
        const changed = changedColumns(own, { ...fitted, username });
        if (changed.length) {
          events.push(() =>
            this.events.emit(LDAP_AUTH_EVENTS.userUpdated, {
              userId,
              username,
              changed,
              source: 'login',
            }),
          );
        }
        if (!own.isActive) {
          events.push(() => this.events.emit(LDAP_AUTH_EVENTS.userReactivated, { userId, username, source: 'login' }));
        }
      } else {
        const inserted = await users.insert({ ...fields, ldapUuid: entry.uuid });
        id = (inserted.identifiers[0] as { id: number }).id;
        if (defaultOrganisationId !== undefined) {
          await manager.createQueryBuilder().relation(UserEntity, 'organisations').of(id).add(defaultOrganisationId);
        }
        const userId = id;
        events.push(() =>
          this.events.emit(LDAP_AUTH_EVENTS.userCreated, {
            userId,
            username,
            ldapUuid: entry.uuid,
            dn: entry.dn,
            source: 'login',
          }),
        );
      }
      if (plan) {
        const warn = (message: string) => this.logger.warn(message);
        const sql = this.transactions.dialect;
        for (const change of await applyLoginGroupPlan(manager, sql, id, plan, !own, warn)) {
          events.push(() => this.events.emit(LDAP_AUTH_EVENTS.groupMembershipChanged, change));
        }
      }
      return { id, ...pick(fields), groups: await this.groupsOf(manager, id) };
    });
    for (const publish of events) publish();
    return user;
  }

  /**
   * The user as the API shows it, or null when there is no such active user. A read: run again once when the
   * database connection was lost, then DatabaseUnavailableError.
   */
  findActiveUser(id: number): Promise<AppUser | null> {
    return retryOnceOnLostConnection('a user lookup', () => this.findActiveUserOnce(id));
  }

  private async findActiveUserOnce(id: number): Promise<AppUser | null> {
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
      // MySQL's AUTO_INCREMENT moves past an explicit id by itself; PostgreSQL's serial sequence does not.
      if (this.transactions.dialect.kind === 'postgres') {
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

  /** A transaction, retried when a concurrent one inserted the same unique row first. */
  private async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactions.transaction(work);
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !this.transactions.dialect.isRetryable(error)) throw error;
        this.logger.debug(
          `A concurrent login wrote the same row first (or deadlocked); retrying (attempt ${attempt + 1})`,
        );
      }
    }
  }
}

/** The columns whose stored value differs from what the entry says now. */
function changedColumns(
  row: UserEntity,
  now: { username: string; email: string | null; firstName: string | null; lastName: string | null; ldapDn: string },
): string[] {
  const changed: string[] = [];
  if (row.username !== now.username) changed.push('username');
  if (row.email !== now.email) changed.push('email');
  if (row.firstName !== now.firstName) changed.push('first_name');
  if (row.lastName !== now.lastName) changed.push('last_name');
  if (row.ldapDn !== now.ldapDn) changed.push('ldap_dn');
  return changed;
}

function pick(user: Pick<UserEntity, 'username' | 'email' | 'firstName' | 'lastName'>) {
  return { username: user.username, email: user.email, firstName: user.firstName, lastName: user.lastName };
}
