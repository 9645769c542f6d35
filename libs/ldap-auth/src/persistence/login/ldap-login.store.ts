import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { OrganisationEntity } from '../../entities/organisation.entity.js';
import { UserEntity } from '../../entities/user.entity.js';
import type { DirectoryUser } from '../../model/directory-user.js';
import { usernameKey } from '../../model/username-key.js';
import type { GroupSyncPlan } from '../../group-mirroring/group-sync.js';
import { TransactionRunner } from '../transaction-runner.js';
import { retryOnceOnLostConnection } from '../lost-connection.js';
import { fillUsernameKeys } from '../username-keys.js';
import { LdapAuthEventPublisher } from '../../events/ldap-auth-event.publisher.js';
import { LDAP_AUTH_EVENTS } from '../../events/ldap-auth.events.js';
import type { AppUser } from '../../interfaces/app-user.interface.js';
import { fitEntryToColumns } from './login-column-fit.js';
import { groupsOf, LoginTransaction, type LoginChange } from './login-transaction.js';
import { UnchangedLogin } from './unchanged-login.js';
import { LoginTimes } from './login-times.js';

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
  private readonly loginTransaction: LoginTransaction;
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
    this.loginTransaction = new LoginTransaction(this.dataSource, transactions.dialect);
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
    let changes: LoginChange[] = [];
    // Only when the read just now met rows without a key (a retry always): one round trip less for most logins.
    let fill = unchanged.unkeyed;
    // The read just now found no row of the entry's id or names: the first attempt inserts without reading
    // again (a row written since fails the insert on a unique key, and the retry reads).
    let known = unchanged.none ? [] : undefined;
    const input = { entry, values, keys, fitted, plan, defaultOrganisationId };
    const user = await this.transaction(async (manager) => {
      changes = [];
      // Rows an app wrote without a key get theirs first: the lookups by key then see every name (a row
      // written without one since that read is still read, its key computed then).
      if (fill) {
        const filled = await fillUsernameKeys((text, params) => manager.query(text, params), this.transactions.dialect);
        for (const note of filled.notes) this.logger.debug(note);
      }
      fill = true;
      const attempt = { ...input, known };
      known = undefined;
      return this.loginTransaction.run(manager, attempt, changes, (message) => this.logger.warn(message));
    });
    for (const change of changes) this.publish(change, entry);
    return user;
  }

  private publish(change: LoginChange, entry: DirectoryUser): void {
    const { userId, username } = change as { userId: number; username: string };
    if (change.kind === 'created') {
      const event = { userId, username, ldapUuid: entry.uuid, dn: entry.dn, source: 'login' as const };
      this.events.emit(LDAP_AUTH_EVENTS.userCreated, event);
    } else if (change.kind === 'updated') {
      this.events.emit(LDAP_AUTH_EVENTS.userUpdated, { userId, username, changed: change.changed, source: 'login' });
    } else if (change.kind === 'reactivated') {
      this.events.emit(LDAP_AUTH_EVENTS.userReactivated, { userId, username, source: 'login' });
    } else if (change.kind === 'released') {
      this.events.emit(LDAP_AUTH_EVENTS.userUpdated, { userId, username, changed: ['username'], source: 'login' });
      this.logger.log(
        `User ${userId} (deactivated by the sync) gave the name ${JSON.stringify(change.from)} to the entry ${entry.dn}; it is now ${JSON.stringify(username)}`,
      );
    } else {
      const { kind: _kind, ...event } = change;
      this.events.emit(LDAP_AUTH_EVENTS.groupMembershipChanged, event);
    }
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
    const groups = await groupsOf((text, params) => manager.query(text, params), this.transactions.dialect, id);
    return { id: user.id, ...pick(user), groups };
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

function pick(user: Pick<UserEntity, 'username' | 'email' | 'firstName' | 'lastName'>) {
  return { username: user.username, email: user.email, firstName: user.firstName, lastName: user.lastName };
}
