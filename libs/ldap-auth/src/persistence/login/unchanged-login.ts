import type { DataSource, QueryRunner } from 'typeorm';
import { UserEntity } from '../../entities/user.entity.js';
import type { GroupSyncPlan } from '../../group-mirroring/group-sync.js';
import type { AppUser } from '../../interfaces/app-user.interface.js';
import type { DirectoryUser } from '../../model/directory-user.js';
import { storedUsername, usernameKey } from '../../model/username-key.js';
import type { UserRow } from '../user-row.js';
import type { FittedEntry } from './login-column-fit.js';
import type { LoginTimes } from './login-times.js';
import { PreparedRead } from './prepared-read.js';

/**
 * The login of a returning user whose row already says what the entry says: one read, no transaction; the
 * login time goes to `times` (written behind the request) or, without it (SQLite), with a second statement.
 */
export class UnchangedLogin {
  private statements?: LoginStatements;
  private readonly prepared: PreparedRead;

  constructor(
    private readonly dataSource: DataSource,
    private readonly times?: LoginTimes,
  ) {
    this.prepared = new PreparedRead(dataSource);
  }

  /**
   * The common login: the user's row (found by the entry's id, and no other row holding its name) already says
   * what the entry says, is active, and has exactly the managed groups the plan wants. Then nothing needs
   * writing but the login time: one read of the row with all its groups. On SQLite (in-process, where the write
   * costs little) one update guarded on the row still being active writes the time; elsewhere LoginTimes
   * writes it within a second. Without the guard, a deactivation racing the read orders after the login: the
   * token it issues is refused at its first use (findActiveUser re-reads is_active). Returns null in every
   * other case, and the full path (LdapLoginStore.recordLogin's transaction) decides. Raw, parameterised
   * SQL: TypeORM's query building and hydration were most of this path's CPU.
   */
  async record(
    entry: DirectoryUser,
    values: string[],
    keys: string[],
    fitted: FittedEntry,
    plan: GroupSyncPlan | null,
  ): Promise<UnchangedLoginResult> {
    const sql = (this.statements ??= loginStatements(this.dataSource));
    const runner = this.dataSource.createQueryRunner();
    try {
      const read = sql.read(keys.length);
      const name = `ldap_auth_login_read_${keys.length}`;
      const rows = (await this.prepared.query(runner, name, read, [entry.uuid, ...keys])) as LoginRow[];
      const user = await this.unchanged(runner, sql, rows, entry, values, fitted, plan);
      return { user, unkeyed: rows.some((row) => row.username_key === null), none: rows.length === 0 };
    } finally {
      await runner.release();
    }
  }

  private async unchanged(
    runner: QueryRunner,
    sql: LoginStatements,
    rows: LoginRow[],
    entry: DirectoryUser,
    values: string[],
    fitted: FittedEntry,
    plan: GroupSyncPlan | null,
  ): Promise<AppUser | null> {
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
    if (this.times) {
      await this.times.record(own.id, new Date());
    } else {
      const touched = await runner.query(sql.touch, sql.touchParameters(own.id, new Date()), true);
      if (touched.affected !== 1) return null;
    }
    return {
      id: own.id,
      username: own.username,
      email: own.email,
      firstName: own.first_name,
      lastName: own.last_name,
      groups: groups.map((g) => ({ name: g.group_name!, ldapDn: g.group_dn })),
    };
  }
}

export interface UnchangedLoginResult {
  /** The user, when the login was an unchanged one (and is recorded); null: the full path decides. */
  user: AppUser | null;
  /** The read met rows without a `username_key` (the full path then fills them in first). */
  unkeyed: boolean;
  /** The read found no row: no user of the entry's id, none holding one of its names, none without a key. */
  none: boolean;
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
    // updated_at stays, as LoginTimes leaves it: a login time is no change of the user.
    `UPDATE ${q('users')} SET ${q('last_login_at')} = ${p(1)}` +
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
