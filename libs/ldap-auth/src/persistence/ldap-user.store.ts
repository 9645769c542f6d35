import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager, In } from 'typeorm';
import { GroupEntity } from '../entities/group.entity.js';
import { OrganisationEntity } from '../entities/organisation.entity.js';
import { UserEntity } from '../entities/user.entity.js';
import {
  DN_MAX_LENGTH,
  EMAIL_MAX_LENGTH,
  GROUP_DN_MAX_BYTES,
  GROUP_NAME_MAX_LENGTH,
  codePointLength,
  cut,
  hasNul,
  PERSON_NAME_MAX_LENGTH,
  USERNAME_MAX_LENGTH,
  withoutNul,
} from '../entities/column-limits.js';
import type { DirectoryUser } from '../model/directory-user.js';
import { storedUsername, usernameKey, usernameKeyFits } from '../model/username-key.js';
import type { GroupSyncPlan, GroupToJoin } from '../group-sync/group-sync.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';
import { TransactionRunner } from './transaction-runner.js';
import type { UserRow } from './user-row.js';
import { displacedUsername, fillUsernameKeys, type Query } from './username-keys.js';
import { LdapAuthEventPublisher } from '../events/ldap-auth-event.publisher.js';
import { type GroupMembershipChangedEvent, LDAP_AUTH_EVENTS } from '../events/ldap-auth.events.js';
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
  private readonly dataSource: DataSource;
  private loginSql?: LoginStatements;

  constructor(
    private readonly transactions: TransactionRunner,
    private readonly events: LdapAuthEventPublisher,
  ) {
    this.dataSource = transactions.dataSource;
  }

  /**
   * Creates or refreshes the user of a successful login, matched by the directory's stable id, applies the
   * group plan, and returns the user as the API shows it. A returning user whose entry and managed groups are
   * as stored (most logins) costs two statements (recordUnchangedLogin); anything else runs in one
   * transaction, in as few statements as that allows.
   */
  async recordLogin(
    entry: DirectoryUser,
    plan: GroupSyncPlan | null,
    defaultOrganisationId?: number,
  ): Promise<AppUser> {
    const fitted = this.fitUserToColumns(entry);
    // Of a multi-valued username attribute the stored name is chosen by storedUsername, as in the sync.
    const values = entry.usernames.length ? entry.usernames : [entry.username];
    const keys = [...new Set(values.map(usernameKey))];
    const unchanged = await this.transactions.serialized(() =>
      this.recordUnchangedLogin(entry, values, keys, fitted, plan),
    );
    if (unchanged) return unchanged;
    // Events are published once the transaction committed (a retried or failed one publishes nothing).
    let events: Array<() => void> = [];
    const user = await this.transaction(async (manager) => {
      events = [];
      const users = manager.getRepository(UserEntity);
      const query: Query = (sql, params) => manager.query(sql, params);
      // Rows an app wrote without a key get theirs first: the lookups by key below then see every name.
      const filled = await fillUsernameKeys(query, this.transactions.dialect);
      for (const note of filled.notes) this.logger.debug(note);
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
      this.checkUsername(entry, username);
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
      if (keeper) this.refuseUsernameTakeover(username, entry, keeper);
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
        for (const change of await this.applyGroupPlan(manager, id, plan, !own)) {
          events.push(() => this.events.emit(LDAP_AUTH_EVENTS.groupMembershipChanged, change));
        }
      }
      return { id, ...pick(fields), groups: await this.groupsOf(manager, id) };
    });
    for (const publish of events) publish();
    return user;
  }

  /**
   * The common login: the user's row (found by the entry's id, and no other row holding its name) already says
   * what the entry says, is active, and has exactly the managed groups the plan wants. Then nothing needs
   * writing but the login time: one read of the row with all its groups, one update guarded on the row still
   * being active (a deactivation between the two makes it miss). No transaction: the update is the only
   * write. Returns null in every other case, and the full path (recordLogin's transaction) decides. Raw,
   * parameterised SQL: TypeORM's query building and hydration were most of this path's CPU.
   */
  private async recordUnchangedLogin(
    entry: DirectoryUser,
    values: string[],
    keys: string[],
    fitted: ReturnType<LdapUserStore['fitUserToColumns']>,
    plan: GroupSyncPlan | null,
  ): Promise<AppUser | null> {
    const sql = (this.loginSql ??= loginStatements(this.dataSource));
    const runner = this.dataSource.createQueryRunner();
    try {
      const rows = (await runner.query(sql.read(keys.length), [entry.uuid, ...keys])) as LoginRow[];
      const own = rows.find((row) => row.ldap_uuid === entry.uuid);
      if (!own) return null;
      const username = storedUsername(values, own.username);
      const key = username === undefined ? undefined : usernameKey(username);
      if (own.username !== username || own.username_key !== key) return null;
      // Another row holding the name (by its key, or by its name when it has no key): the full path decides.
      if (rows.some((row) => row.id !== own.id && (row.username_key ?? usernameKey(row.username)) === key)) {
        return null;
      }
      if (!sql.hydrate(own.is_active, 'isActive') || sql.hydrate(own.deactivated_by_sync, 'deactivatedBySync')) {
        return null;
      }
      if (
        own.email !== fitted.email ||
        own.first_name !== fitted.firstName ||
        own.last_name !== fitted.lastName ||
        own.ldap_dn !== fitted.ldapDn
      ) {
        return null;
      }
      const groups = rows.filter((row) => row.id === own.id && row.group_id !== null);
      if (plan) {
        const member = new Set(
          groups.filter((g) => Number(g.group_organisation_id) === plan.organisationId).map((g) => g.group_dn),
        );
        if (!plan.join.every((g) => member.has(g.ldapDn)) || plan.leave.some((dn) => member.has(dn))) return null;
      }
      const touched = await runner.query(sql.touch, sql.touchParameters(own.id, new Date()), true);
      if (touched.affected !== 1) return null;
      return {
        id: own.id,
        username: own.username,
        email: own.email,
        firstName: own.first_name,
        lastName: own.last_name,
        groups: groups.map((g) => ({ name: g.group_name!, ldapDn: g.group_dn })),
      };
    } finally {
      await runner.release();
    }
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

  /**
   * A username held by another row is never taken over: a local user's, or an active LDAP user's whose entry
   * may be gone (the full sync removes or deactivates those, which frees the name).
   */
  private refuseUsernameTakeover(username: string, entry: DirectoryUser, holder: UserEntity): never {
    if (holder.ldapUuid === null) {
      throw new InvalidCredentialsError(
        `"${username}" is a local user of the app; a directory login never takes over a local user`,
        'username_taken',
      );
    }
    throw new InvalidCredentialsError(
      `"${username}" belongs to user ${holder.id}, whose directory entry (${holder.ldapUuid}) is not ${entry.dn}; the full sync removes stale users`,
      'username_taken',
    );
  }

  /** Applies a login's group plan; returns the memberships it changed (for the events). */
  private async applyGroupPlan(
    manager: EntityManager,
    userId: number,
    plan: GroupSyncPlan,
    newUser: boolean,
  ): Promise<GroupMembershipChangedEvent[]> {
    const groups = manager.getRepository(GroupEntity);
    const membership = manager.createQueryBuilder().relation(UserEntity, 'groups').of(userId);
    const join = plan.join.flatMap((group) => this.fitGroupToColumns(group) ?? []);
    const managedDns = [...join.map((g) => g.ldapDn), ...plan.leave];
    if (managedDns.length === 0) return [];

    if (join.length) {
      // Two first logins into a new group at once: the second insert is ignored, both then read the one row.
      // Rows in DN order, so concurrent logins lock the keys in the same order and cannot deadlock on them.
      const sql = this.transactions.dialect;
      const rows = [...join].sort((a, b) => (a.ldapDn < b.ldapDn ? -1 : a.ldapDn > b.ldapDn ? 1 : 0));
      await manager.query(
        sql.insertUnlessExists(
          'groups',
          ['organisation_id', 'name', 'ldap_dn'],
          rows.map((_, r) => `(${sql.param(3 * r + 1)}, ${sql.param(3 * r + 2)}, ${sql.param(3 * r + 3)})`).join(', '),
        ),
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

  /**
   * The entry's values checked against the columns (entities/column-limits.ts) before anything is written,
   * so every database behaves the same: PostgreSQL would fail the statement (a 500), SQLite would store
   * anything. An identifier that does not fit refuses the login; an email that does not fit is dropped (a cut
   * address is someone else's); names are cut. A NUL character (see hasNul) is handled the same way: refused,
   * dropped, or taken out. Logs say how long and what the limit is, never the whole value.
   */
  private fitUserToColumns(entry: DirectoryUser) {
    for (const [what, value, limit, column] of [['DN', entry.dn, DN_MAX_LENGTH, 'users.ldap_dn']] as const) {
      if (hasNul(value)) {
        throw new InvalidCredentialsError(
          `the entry's ${what} contains a NUL character, which ${column} cannot hold: ${preview(value)}`,
          'value_has_nul',
        );
      }
      const length = codePointLength(value);
      if (length > limit) {
        throw new InvalidCredentialsError(
          `the entry's ${what} is ${length} characters long, more than ${column} holds (${limit}): ${preview(value)}`,
          'value_too_long',
        );
      }
    }
    let email = entry.email;
    if (email !== null && hasNul(email)) {
      this.logger.warn(
        `User ${JSON.stringify(entry.username)}: the email contains a NUL character; stored as null: ${preview(email)}`,
      );
      email = null;
    }
    if (email !== null && codePointLength(email) > EMAIL_MAX_LENGTH) {
      this.logger.warn(
        `User ${JSON.stringify(entry.username)}: the email is ${codePointLength(email)} characters long, more than users.email holds (${EMAIL_MAX_LENGTH}); stored as null: ${preview(email)}`,
      );
      email = null;
    }
    const name = (column: string, value: string | null): string | null => {
      if (value !== null && hasNul(value)) {
        this.logger.warn(
          `User ${JSON.stringify(entry.username)}: ${column} contains a NUL character; stored without it`,
        );
        value = withoutNul(value);
      }
      if (value === null || codePointLength(value) <= PERSON_NAME_MAX_LENGTH) return value;
      this.logger.warn(
        `User ${JSON.stringify(entry.username)}: ${column} is ${codePointLength(value)} characters long, more than users.${column} holds (${PERSON_NAME_MAX_LENGTH}); stored cut`,
      );
      return cut(value, PERSON_NAME_MAX_LENGTH);
    };
    return {
      email,
      firstName: name('first_name', entry.firstName),
      lastName: name('last_name', entry.lastName),
      ldapDn: entry.dn,
    };
  }

  /** The name to store, checked as fitUserToColumns checks the entry (its key too: users.username_key). */
  private checkUsername(entry: DirectoryUser, username: string): void {
    if (hasNul(username)) {
      throw new InvalidCredentialsError(
        `the entry's username contains a NUL character, which users.username cannot hold: ${preview(username)}`,
        'value_has_nul',
      );
    }
    const length = codePointLength(username);
    if (length > USERNAME_MAX_LENGTH) {
      throw new InvalidCredentialsError(
        `the entry's username is ${length} characters long, more than users.username holds (${USERNAME_MAX_LENGTH}): ${preview(username)}`,
        'value_too_long',
      );
    }
    if (!usernameKeyFits(usernameKey(username))) {
      throw new InvalidCredentialsError(
        `the entry's username ${preview(username)} (${entry.dn}) folds to a key longer than users.username_key holds`,
        'value_too_long',
      );
    }
  }

  /**
   * A group to join, checked against the columns: a DN that does not fit (in characters, or in bytes for the
   * unique index) is not mirrored, which only withholds a membership; a name that does not fit is cut.
   */
  private fitGroupToColumns(group: GroupToJoin): GroupToJoin | undefined {
    if (hasNul(group.ldapDn)) {
      this.logger.warn(`Group not mirrored: its DN contains a NUL character: ${preview(group.ldapDn)}`);
      return undefined;
    }
    if (hasNul(group.name)) group = { ...group, name: withoutNul(group.name) };
    const length = codePointLength(group.ldapDn);
    const bytes = Buffer.byteLength(group.ldapDn, 'utf8');
    if (length > DN_MAX_LENGTH || bytes > GROUP_DN_MAX_BYTES) {
      this.logger.warn(
        `Group not mirrored: its DN is ${length} characters (${bytes} bytes of UTF-8) long, more than groups.ldap_dn holds (${DN_MAX_LENGTH} characters, ${GROUP_DN_MAX_BYTES} bytes): ${preview(group.ldapDn)}`,
      );
      return undefined;
    }
    if (codePointLength(group.name) <= GROUP_NAME_MAX_LENGTH) return group;
    this.logger.warn(
      `Group ${preview(group.ldapDn)}: its name is ${codePointLength(group.name)} characters long, more than groups.name holds (${GROUP_NAME_MAX_LENGTH}); stored cut`,
    );
    return { ...group, name: cut(group.name, GROUP_NAME_MAX_LENGTH) };
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

/** A row of the unchanged-login read: the user's columns, and one of its groups (null when it has none). */
interface LoginRow extends UserRow {
  username_key: string | null;
  group_id: number | null;
  group_organisation_id: number | string | null;
  group_name: string | null;
  group_dn: string | null;
}

type LoginStatements = ReturnType<typeof loginStatements>;

/**
 * The unchanged login's two statements, written once per data source in the driver's dialect (identifier
 * quoting, `?` or `$n` placeholders), with values converted as TypeORM converts them for these columns.
 */
function loginStatements(dataSource: DataSource) {
  const { driver } = dataSource;
  const q = (name: string): string => driver.escape(name);
  const postgres = dataSource.options.type === 'postgres';
  const p = (n: number): string => (postgres ? `$${n}` : '?');
  const users = dataSource.getMetadata(UserEntity);
  const column = (property: string) => users.findColumnWithPropertyName(property)!;
  // The entry's row, the rows holding one of its names' keys, and rows without a key (whose keys the caller
  // computes): each branch of the union reads an index of its own, on every database.
  const read = (keys: number): string =>
    `SELECT u.${q('id')}, u.${q('username')}, u.${q('username_key')}, u.${q('email')}, u.${q('first_name')},` +
    ` u.${q('last_name')}, u.${q('ldap_dn')}, u.${q('ldap_uuid')}, u.${q('is_active')}, u.${q('deactivated_by_sync')},` +
    ` g.${q('id')} AS ${q('group_id')}, g.${q('organisation_id')} AS ${q('group_organisation_id')},` +
    ` g.${q('name')} AS ${q('group_name')}, g.${q('ldap_dn')} AS ${q('group_dn')}` +
    ` FROM (SELECT ${q('id')} FROM ${q('users')} WHERE ${q('ldap_uuid')} = ${p(1)}` +
    ` UNION SELECT ${q('id')} FROM ${q('users')} WHERE ${q('username_key')} IN (${Array.from({ length: keys }, (_, i) => p(i + 2)).join(', ')})` +
    ` UNION SELECT ${q('id')} FROM ${q('users')} WHERE ${q('username_key')} IS NULL) m` +
    ` JOIN ${q('users')} u ON u.${q('id')} = m.${q('id')}` +
    ` LEFT JOIN ${q('user_groups')} ug ON ug.${q('user_id')} = u.${q('id')}` +
    ` LEFT JOIN ${q('groups')} g ON g.${q('id')} = ug.${q('group_id')}` +
    // The groups come ordered as the API lists them.
    ` ORDER BY g.${q('name')}`;
  const readOne = read(1);
  const touch =
    `UPDATE ${q('users')} SET ${q('last_login_at')} = ${p(1)}, ${q('updated_at')} = CURRENT_TIMESTAMP` +
    ` WHERE ${q('id')} = ${p(2)} AND ${q('is_active')} = ${p(3)} AND ${q('deactivated_by_sync')} = ${p(4)}`;
  const yes: unknown = driver.preparePersistentValue(true, column('isActive'));
  const no: unknown = driver.preparePersistentValue(false, column('deactivatedBySync'));
  return {
    read: (keys: number): string => (keys === 1 ? readOne : read(keys)),
    touch,
    touchParameters: (id: number, at: Date): unknown[] => [
      driver.preparePersistentValue(at, column('lastLoginAt')),
      id,
      yes,
      no,
    ],
    hydrate: (value: unknown, property: 'isActive' | 'deactivatedBySync'): boolean =>
      driver.prepareHydratedValue(value, column(property)) === true,
  };
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

/** An LDAP user the sync deactivated: its name may be handed to the entry that has it now. */
function isReleasedBySync(row: UserEntity): boolean {
  return row.ldapUuid !== null && !row.isActive && row.deactivatedBySync;
}

function pick(user: Pick<UserEntity, 'username' | 'email' | 'firstName' | 'lastName'>) {
  return { username: user.username, email: user.email, firstName: user.firstName, lastName: user.lastName };
}

/** Length as the databases count varchar(n): in code points, not UTF-16 units. */
/** The start of an over-long value, for logs. */
function preview(value: string): string {
  return JSON.stringify(`${Array.from(value).slice(0, 40).join('')}…`);
}
