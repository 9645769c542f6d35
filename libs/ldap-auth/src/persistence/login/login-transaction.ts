import type { DataSource, EntityManager } from 'typeorm';
import { UserEntity } from '../../entities/user.entity.js';
import type { GroupMembershipChangedEvent } from '../../events/ldap-auth.events.js';
import { InvalidCredentialsError } from '../../errors/ldap-auth.errors.js';
import type { GroupSyncPlan } from '../../group-mirroring/group-sync.js';
import type { AppUser } from '../../interfaces/app-user.interface.js';
import type { DirectoryUser } from '../../model/directory-user.js';
import { storedUsername, usernameKey } from '../../model/username-key.js';
import type { SqlDialect } from '../sql-dialect.js';
import type { UserRow } from '../user-row.js';
import { displacedUsername, type Query } from '../username-keys.js';
import { checkUsernameFits, type FittedEntry } from './login-column-fit.js';
import { applyLoginGroupPlan, fitGroupPlan, type JoinedGroups, type LoginGroup } from './login-group-memberships.js';
import { insertPostgresUser } from './postgres-first-login.js';
import { isReleasedBySync, refuseUsernameTakeover, type StoredUser } from './username-takeover.js';

/** What the transaction did, for the events published after its commit. */
export type LoginChange =
  | { kind: 'created'; userId: number; username: string }
  | { kind: 'updated'; userId: number; username: string; changed: string[] }
  | { kind: 'reactivated'; userId: number; username: string }
  | { kind: 'released'; userId: number; username: string; from: string }
  | ({ kind: 'membership' } & GroupMembershipChangedEvent);

export interface LoginInput {
  entry: DirectoryUser;
  /** The entry's usernames, and their keys. */
  values: string[];
  keys: string[];
  fitted: FittedEntry;
  plan: GroupSyncPlan | null;
  defaultOrganisationId?: number;
  /** The rows of the entry's id and names, when known to be none (a first login's read just now found none). */
  known?: StoredUser[];
}

/**
 * A login's transaction (first logins, and returning users whose row or groups change): raw, parameterised SQL
 * in the database's dialect, as few statements as the guarantees allow. TypeORM's query building and hydration
 * were most of a first login's CPU.
 */
export class LoginTransaction {
  private readonly now: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly sql: SqlDialect,
  ) {
    // The database's "now" as TypeORM writes it for `updated_at`.
    this.now = String(dataSource.driver.mappedDataTypes.updateDateDefault);
  }

  async run(
    manager: EntityManager,
    input: LoginInput,
    changes: LoginChange[],
    warn: (message: string) => void,
  ): Promise<AppUser> {
    const { entry, values, keys, fitted, plan } = input;
    const query: Query = (text, params) => manager.query(text, params);
    // One statement reads the entry's row and every row holding one of its names (rows still without a key are
    // read too, and their keys computed here), so a concurrent first login of the same entry is either seen
    // here or fails our insert (and the transaction is retried, reading again).
    const rows = input.known ?? (await this.readUsers(query, entry.uuid, keys));
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
      const released = await displacedUsername(query, this.sql, holder.username, holder.id);
      await this.updateUser(query, holder.id, { username: released.username, username_key: released.key });
      changes.push({ kind: 'released', userId: holder.id, username: released.username, from: username });
    }

    const groupPlan = plan ? fitGroupPlan(plan, warn) : undefined;
    // A login proves the entry exists and may log in: a user the sync deactivated is active again.
    const columns = this.persistent(fitted, username, key);
    let id: number;
    let joined: JoinedGroups | undefined;
    if (own) {
      id = own.id;
      await this.updateUser(query, id, columns);
      const changed = changedColumns(own, { ...fitted, username });
      if (changed.length) changes.push({ kind: 'updated', userId: id, username, changed });
      if (!own.isActive) changes.push({ kind: 'reactivated', userId: id, username });
    } else {
      const row = { ...columns, ldap_uuid: entry.uuid };
      if (this.sql.kind === 'postgres') {
        ({ id, joined } = await insertPostgresUser(query, row, input.defaultOrganisationId, groupPlan));
      } else {
        id = await this.insertUser(query, row, input.defaultOrganisationId);
      }
      changes.push({ kind: 'created', userId: id, username });
    }
    let groups: LoginGroup[] | undefined;
    if (groupPlan) {
      const applied = await applyLoginGroupPlan(query, this.sql, id, groupPlan, !own, joined);
      groups = applied.groups;
      changes.push(...applied.changes.map((change) => ({ kind: 'membership' as const, ...change })));
    }
    // A user inserted here is in the plan's groups only (no other transaction sees the row yet).
    return { id, ...pick(fitted, username), groups: own ? await groupsOf(query, this.sql, id) : (groups ?? []) };
  }

  async readUsers(query: Query, uuid: string, keys: string[]): Promise<StoredUser[]> {
    const p = (n: number) => this.sql.param(n);
    const rows = (await query(
      `SELECT id, username, username_key, email, first_name, last_name, ldap_dn, ldap_uuid, is_active,` +
        ` deactivated_by_sync FROM users WHERE ldap_uuid = ${p(1)} OR username_key IN` +
        ` (${keys.map((_, i) => p(i + 2)).join(', ')}) OR username_key IS NULL`,
      [uuid, ...keys],
    )) as Array<UserRow & { username_key: string | null }>;
    return rows.map((row) => ({
      id: Number(row.id),
      username: row.username,
      usernameKey: row.username_key,
      email: row.email,
      firstName: row.first_name,
      lastName: row.last_name,
      ldapDn: row.ldap_dn,
      ldapUuid: row.ldap_uuid,
      isActive: truthy(row.is_active),
      deactivatedBySync: truthy(row.deactivated_by_sync),
    }));
  }

  /** The user's columns as the drivers take them (TypeORM's conversion of booleans and times). */
  private persistent(fitted: FittedEntry, username: string, key: string): Record<string, unknown> {
    const { driver } = this.dataSource;
    const users = this.dataSource.getMetadata(UserEntity);
    const convert = (property: string, value: unknown): unknown =>
      driver.preparePersistentValue(value, users.findColumnWithPropertyName(property)!);
    return {
      username,
      username_key: key,
      email: fitted.email,
      first_name: fitted.firstName,
      last_name: fitted.lastName,
      ldap_dn: fitted.ldapDn,
      is_active: convert('isActive', true),
      deactivated_by_sync: convert('deactivatedBySync', false),
      last_login_at: convert('lastLoginAt', new Date()),
    };
  }

  private async updateUser(query: Query, id: number, columns: Record<string, unknown>): Promise<void> {
    const names = Object.keys(columns);
    const set = names.map((name, i) => `${name} = ${this.sql.param(i + 1)}`).join(', ');
    await query(`UPDATE users SET ${set}, updated_at = ${this.now} WHERE id = ${this.sql.param(names.length + 1)}`, [
      ...Object.values(columns),
      id,
    ]);
  }

  /** SQLite, MySQL / MariaDB: inserts the user and links the organisation; returns the user's id. */
  private async insertUser(query: Query, columns: Record<string, unknown>, organisationId?: number): Promise<number> {
    const names = Object.keys(columns);
    const params = Object.values(columns);
    const insert = `INSERT INTO users (${names.join(', ')}) VALUES ${this.sql.valuesList(1, names.length)}`;
    const link = 'INSERT INTO user_organisations (user_id, organisation_id)';
    let id: number;
    if (this.sql.kind === 'sqlite') {
      const [row] = (await query(`${insert} RETURNING id`, params)) as Array<{ id: number | string }>;
      id = Number(row.id);
    } else {
      id = Number(((await query(insert, params)) as { insertId: number | string }).insertId);
    }
    if (organisationId !== undefined) await query(`${link} VALUES (?, ?)`, [id, organisationId]);
    return id;
  }
}

/** The user's groups as the API lists them (by name). */
export async function groupsOf(query: Query, sql: SqlDialect, userId: number): Promise<AppUser['groups']> {
  const rows = (await query(
    `SELECT g.name, g.ldap_dn FROM ${sql.id('groups')} g JOIN user_groups ug ON ug.group_id = g.id` +
      ` WHERE ug.user_id = ${sql.param(1)} ORDER BY g.name`,
    [userId],
  )) as Array<{ name: string; ldap_dn: string | null }>;
  return rows.map((row) => ({ name: row.name, ldapDn: row.ldap_dn }));
}

/** A boolean column as the drivers return it (PostgreSQL: boolean; SQLite, MySQL: 0 / 1). */
function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't';
}

/** The columns whose stored value differs from what the entry says now. */
function changedColumns(row: StoredUser, now: FittedEntry & { username: string }): string[] {
  const changed: string[] = [];
  if (row.username !== now.username) changed.push('username');
  if (row.email !== now.email) changed.push('email');
  if (row.firstName !== now.firstName) changed.push('first_name');
  if (row.lastName !== now.lastName) changed.push('last_name');
  if (row.ldapDn !== now.ldapDn) changed.push('ldap_dn');
  return changed;
}

function pick(fitted: FittedEntry, username: string) {
  return { username, email: fitted.email, firstName: fitted.firstName, lastName: fitted.lastName };
}
