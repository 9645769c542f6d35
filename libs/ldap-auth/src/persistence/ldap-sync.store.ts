import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { EntityManager, QueryRunner } from 'typeorm';
import type { AppLdapGroup, AppState, SyncPlan } from '../sync/reconcile.js';
import { TransactionRunner } from './transaction-runner.js';
import type { UserRow } from './user-row.js';
import type { SqlDialect } from './sql-dialect.js';
import { displacedUsername, fillUsernameKeys } from './username-keys.js';
import { usernameKey, usernameKeyFits } from '../model/username-key.js';
import {
  DN_MAX_LENGTH,
  EMAIL_MAX_LENGTH,
  codePointLength,
  cut,
  GROUP_DN_MAX_BYTES,
  GROUP_NAME_MAX_LENGTH,
  hasNul,
  PERSON_NAME_MAX_LENGTH,
  USERNAME_MAX_LENGTH,
  withoutNul,
} from '../entities/column-limits.js';
import { LdapSyncRunEntity } from '../entities/ldap-sync-run.entity.js';
import type { DirectorySnapshot } from '../model/directory-snapshot.js';

/** Key of the PostgreSQL advisory lock (any 64-bit number the app does not use otherwise): "ldapsync". */
const ADVISORY_LOCK_KEY = '7809644238116235';
const LOCK_NAME = 'ldap-sync';
/** MySQL's named lock (GET_LOCK names are server-wide: the database's name keeps apps sharing a server apart). */
const MYSQL_LOCK_PREFIX = 'ldap-sync:';
/** A SQLite lock row lives this long unless renewed; a crashed holder on another host frees it after this. */
const LOCK_TTL_MS = 5 * 60_000;

/** A held lock: release it when the run is over. */
export interface SyncLock {
  release(): Promise<void>;
}

export type SyncRunStatus = 'running' | 'succeeded' | 'aborted' | 'failed' | 'skipped' | 'interrupted';

/**
 * The full sync's side of the database: reads the state it reconciles, writes a plan set-based in ONE
 * transaction (a failure or a kill at any point leaves the database as it was), keeps one run at a time
 * across every process and replica, and records every run. Only LDAP-managed rows (non-null `ldap_uuid` /
 * `ldap_dn`) are ever read for change or written.
 */
@Injectable()
export class LdapSyncStore {
  private readonly logger = new Logger(LdapSyncStore.name);

  constructor(private readonly transactions: TransactionRunner) {}

  private get postgres(): boolean {
    return this.sql.kind === 'postgres';
  }

  private get sql(): SqlDialect {
    return this.transactions.dialect;
  }

  /** `groups`, quoted: a reserved word in MySQL 8. */
  private get groups(): string {
    return this.sql.id('groups');
  }

  /**
   * Makes the snapshot's values fit the columns, as logins do (see LdapUserStore): a username or DN that does
   * not fit is not written (the row keeps its own), an over-long email becomes null, names are cut. Returns
   * notes for the report.
   */
  fitToColumns(snapshot: DirectorySnapshot): string[] {
    const notes: string[] = [];
    // A string no longer than `max` UTF-16 units has at most `max` code points: only longer ones are counted.
    const tooLong = (value: string, max: number) => value.length > max && Array.from(value).length > max;
    for (const user of snapshot.users.values()) {
      // A NUL (see hasNul) cannot be stored on PostgreSQL: the same rule on every database, as at login.
      if (user.dn !== null && hasNul(user.dn)) {
        notes.push(`${JSON.stringify(user.dn.slice(0, 60))}…: DN contains a NUL character, not written`);
        user.dn = null;
      }
      if (user.username !== null && hasNul(user.username)) {
        notes.push(`${user.dn ?? user.uuid}: username contains a NUL character, not written`);
        user.username = null;
      }
      if (user.email !== null && hasNul(user.email)) {
        notes.push(`${user.dn ?? user.uuid}: email contains a NUL character, stored as null`);
        user.email = null;
      }
      if (user.firstName !== null && hasNul(user.firstName)) user.firstName = withoutNul(user.firstName);
      if (user.lastName !== null && hasNul(user.lastName)) user.lastName = withoutNul(user.lastName);
      if (user.username !== null && tooLong(user.username, USERNAME_MAX_LENGTH)) {
        notes.push(`${user.dn}: username longer than ${USERNAME_MAX_LENGTH} characters, not written`);
        user.username = null;
      }
      // ASCII keeps its length when folded; other names are checked against users.username_key.
      if (user.username !== null && !ASCII.test(user.username) && !usernameKeyFits(usernameKey(user.username))) {
        notes.push(
          `${user.dn ?? user.uuid}: username folds to a key longer than users.username_key holds, not written`,
        );
        user.username = null;
      }
      if (user.usernames) {
        // A multi-valued username: the values that could be stored (see storedUsername), the first as `username`.
        const usable = user.usernames.filter(
          (v) => !hasNul(v) && !tooLong(v, USERNAME_MAX_LENGTH) && usernameKeyFits(usernameKey(v)),
        );
        user.usernames = usable.length > 1 ? usable : undefined;
        user.username = usable[0] ?? null;
      }
      if (user.dn !== null && tooLong(user.dn, DN_MAX_LENGTH)) {
        notes.push(`${user.dn.slice(0, 60)}…: DN longer than ${DN_MAX_LENGTH} characters, not written`);
        user.dn = null;
      }
      if (user.email !== null && tooLong(user.email, EMAIL_MAX_LENGTH)) {
        notes.push(`${user.dn ?? user.uuid}: email longer than ${EMAIL_MAX_LENGTH} characters, stored as null`);
        user.email = null;
      }
      if (user.firstName !== null) user.firstName = cut(user.firstName, PERSON_NAME_MAX_LENGTH);
      if (user.lastName !== null) user.lastName = cut(user.lastName, PERSON_NAME_MAX_LENGTH);
    }
    // Listed groups as at login: a DN the column or its unique index cannot hold is not mirrored (the run
    // leaves its row, if any, alone rather than fail as a whole); a name is cut the way a login cuts it, so
    // the two never undo each other.
    for (const [dn, group] of snapshot.groups) {
      if (hasNul(dn) || codePointLength(dn) > DN_MAX_LENGTH || Buffer.byteLength(dn) > GROUP_DN_MAX_BYTES) {
        notes.push(
          `group ${JSON.stringify(dn.slice(0, 60))}…: DN longer than groups.ldap_dn holds (${DN_MAX_LENGTH} characters, ${GROUP_DN_MAX_BYTES} bytes) or with a NUL character, not mirrored`,
        );
        snapshot.groups.delete(dn);
        continue;
      }
      group.name = cut(withoutNul(group.name), GROUP_NAME_MAX_LENGTH);
    }
    return notes;
  }

  /**
   * The organisation's LDAP-managed groups with the ids of their LDAP members (local users' memberships are the
   * app's own: the sync neither counts nor removes them). PostgreSQL and SQLite send each group's ids
   * as one comma-separated text (string_agg / group_concat): 200 rows instead of 300,000 at 100,000 users,
   * which spares the driver most of its row parsing. MySQL and MariaDB cut GROUP_CONCAT at
   * group_concat_max_len (1,024 bytes by default) with only a warning, so there the pairs come row by row.
   */
  private async readGroupsWithMembers(manager: EntityManager, organisationId: number): Promise<AppLdapGroup[]> {
    const where = `g.ldap_dn IS NOT NULL AND g.organisation_id = ${this.param(1)}`;
    if (this.sql.kind === 'mysql') {
      const rows = await manager.query<Array<{ id: number; ldap_dn: string; name: string }>>(
        `SELECT g.id, g.ldap_dn, g.name FROM ${this.groups} g WHERE ${where}`,
        [organisationId],
      );
      const groups = rows.map((g) => ({ id: Number(g.id), dn: g.ldap_dn, name: g.name, memberIds: [] as number[] }));
      const byId = new Map(groups.map((g) => [g.id, g]));
      const pairs = await manager.query<Array<{ user_id: number; group_id: number }>>(
        `SELECT ug.user_id, ug.group_id FROM user_groups ug JOIN ${this.groups} g ON g.id = ug.group_id ` +
          `JOIN users u ON u.id = ug.user_id WHERE ${where} AND u.ldap_uuid IS NOT NULL`,
        [organisationId],
      );
      for (const pair of pairs) byId.get(Number(pair.group_id))?.memberIds.push(Number(pair.user_id));
      return groups;
    }
    // u.id is null for a local member: both aggregates skip nulls.
    const members = this.postgres ? `string_agg(u.id::text, ',')` : `group_concat(u.id, ',')`;
    const rows = await manager.query<Array<{ id: number; ldap_dn: string; name: string; members: string | null }>>(
      `SELECT g.id, g.ldap_dn, g.name, ${members} AS members FROM ${this.groups} g ` +
        `LEFT JOIN user_groups ug ON ug.group_id = g.id LEFT JOIN users u ON u.id = ug.user_id AND u.ldap_uuid IS NOT NULL ` +
        `WHERE ${where} GROUP BY g.id, g.ldap_dn, g.name`,
      [organisationId],
    );
    return rows.map((g) => ({ id: Number(g.id), dn: g.ldap_dn, name: g.name, memberIds: parseIdList(g.members) }));
  }

  /** The LDAP-managed users, the managed groups of the organisation and their memberships, the local names. */
  async readState(organisationId: number | undefined): Promise<AppState> {
    const manager = this.transactions.dataSource.manager;
    // Three reads at once: on a server database each runs on a pooled connection of its own.
    const [users, local, groups] = await Promise.all([
      manager.query<Array<UserRow & { ldap_uuid: string; keyed: unknown }>>(
        'SELECT id, username, email, first_name, last_name, ldap_dn, ldap_uuid, is_active, deactivated_by_sync, ' +
          'CASE WHEN username_key IS NULL THEN 0 ELSE 1 END AS keyed FROM users WHERE ldap_uuid IS NOT NULL',
      ),
      manager.query<Array<{ username: string; keyed: unknown }>>(
        'SELECT username, CASE WHEN username_key IS NULL THEN 0 ELSE 1 END AS keyed FROM users WHERE ldap_uuid IS NULL',
      ),
      organisationId === undefined ? [] : this.readGroupsWithMembers(manager, organisationId),
    ]);
    return {
      users: users.map((u) => ({
        id: Number(u.id),
        uuid: u.ldap_uuid,
        username: u.username,
        email: u.email,
        firstName: u.first_name,
        lastName: u.last_name,
        dn: u.ldap_dn,
        isActive: Boolean(u.is_active),
        deactivatedBySync: Boolean(u.deactivated_by_sync),
      })),
      groups,
      // Computed from the names, whatever key a row holds: the rule is usernameKey's, on every database.
      localUsernames: new Set(local.map((l) => usernameKey(l.username))),
      unkeyedUsers: [...users, ...local].filter((u) => Number(u.keyed) === 0).length,
    };
  }

  /**
   * Writes the plan in one transaction, set-based (a few statements per kind of change, never one per row).
   * Returns the ids of the groups it added members to, by normalised DN (new groups included).
   */
  async apply(plan: SyncPlan, organisationId: number | undefined): Promise<Map<string, number>> {
    return this.transactions.transaction(async (manager) => {
      const q = (sql: string, params: unknown[] = []): Promise<unknown[]> => manager.query<unknown[]>(sql, params);
      const ldapUsers = 'ldap_uuid IS NOT NULL';

      // Rows an app wrote without a key get theirs, so the checks by key below see every name.
      const filled = await fillUsernameKeys(q, this.sql);
      for (const note of filled.notes) this.logger.warn(`LDAP sync: ${note}`);

      // Names given up by removed entries' rows first, so the rows that take them can; each moves to a name
      // checked to be free.
      for (const id of plan.usernameHandovers) {
        const [row] = (await q(`SELECT username FROM users WHERE id = ${this.param(1)} AND ${ldapUsers}`, [
          id,
        ])) as Array<{
          username: string;
        }>;
        if (row) {
          const released = await displacedUsername(q, this.sql, row.username, id);
          await q(
            `UPDATE users SET username = ${this.param(1)}, username_key = ${this.param(2)} WHERE id = ${this.param(3)}`,
            [released.username, released.key, id],
          );
        }
      }

      if (plan.deleteUsers.length) {
        // Memberships explicitly (SQLite may run without foreign keys), then the rows.
        await this.forIds(plan.deleteUsers, (list) =>
          q(`DELETE FROM user_groups WHERE user_id IN ${list.sql}`, list.params),
        );
        await this.forIds(plan.deleteUsers, (list) =>
          q(`DELETE FROM user_organisations WHERE user_id IN ${list.sql}`, list.params),
        );
        await this.forIds(plan.deleteUsers, (list) =>
          q(`DELETE FROM users WHERE id IN ${list.sql} AND ${ldapUsers}`, list.params),
        );
      }

      if (plan.userUpdates.length) {
        // Two steps, so names can move between rows (a swap) without tripping the unique indexes: first to a
        // temporary name no row holds (checked here) and no key, then to the final name and key.
        const renamed = plan.userUpdates.map((u) => u.id);
        const suffix = await this.freeTemporarySuffix(manager, renamed);
        const base = this.postgres ? 'id::text' : 'id';
        await this.forIds(renamed, (list) =>
          q(
            `UPDATE users SET username = ${this.sql.concat("'~sync~'", base, this.param(list.params.length + 1))}, username_key = NULL WHERE id IN ${list.sql} AND ${ldapUsers}`,
            // PostgreSQL numbers its placeholders; elsewhere they bind in the order they appear.
            this.postgres ? [...list.params, suffix] : [suffix, ...list.params],
          ),
        );
        await this.updateUsers(manager, plan.userUpdates);
      }

      if (plan.deactivate.length) {
        await this.forIds(plan.deactivate, (list) =>
          q(
            `UPDATE users SET is_active = ${this.bool(false)}, deactivated_by_sync = ${this.bool(true)}, updated_at = CURRENT_TIMESTAMP WHERE id IN ${list.sql} AND ${ldapUsers}`,
            list.params,
          ),
        );
      }
      if (plan.reactivate.length) {
        await this.forIds(plan.reactivate, (list) =>
          q(
            `UPDATE users SET is_active = ${this.bool(true)}, deactivated_by_sync = ${this.bool(false)}, updated_at = CURRENT_TIMESTAMP WHERE id IN ${list.sql} AND ${ldapUsers} AND deactivated_by_sync = ${this.bool(true)}`,
            list.params,
          ),
        );
      }

      for (const group of plan.renameGroups) {
        await q(
          `UPDATE ${this.groups} SET name = ${this.param(1)} WHERE id = ${this.param(2)} AND ldap_dn IS NOT NULL`,
          [cut(group.name, GROUP_NAME_MAX_LENGTH), group.id],
        );
      }

      const groupIdByDn = new Map<string, number>();
      if (plan.createGroups.length || plan.addMemberships.length) {
        if (organisationId === undefined) throw new Error('groups need the default organisation');
        await this.insertRows(
          manager,
          'groups',
          [
            ['organisation_id', 'integer'],
            ['name', 'varchar'],
            ['ldap_dn', 'varchar'],
          ],
          plan.createGroups.map((g) => [organisationId, cut(g.name, GROUP_NAME_MAX_LENGTH), g.dn]),
        );
        const dns = [...new Set(plan.addMemberships.map((m) => m.groupDn))];
        const per = this.sql.rowsPerStatement(1) - 1;
        for (let i = 0; i < dns.length; i += per) {
          const chunk = dns.slice(i, i + per);
          const rows = (await q(
            `SELECT id, ldap_dn FROM ${this.groups} WHERE organisation_id = ${this.param(1)} AND ldap_dn IN (${chunk.map((_, j) => this.param(j + 2)).join(', ')})`,
            [organisationId, ...chunk],
          )) as Array<{ id: number; ldap_dn: string }>;
          for (const row of rows) groupIdByDn.set(row.ldap_dn, Number(row.id));
        }
      }

      if (plan.removeMemberships.length) {
        // Only LDAP users' memberships, whatever the plan says: a local user's are the app's own.
        const ofLdapUsers = `user_id IN (SELECT id FROM users WHERE ${ldapUsers})`;
        if (this.postgres) {
          await q(
            `DELETE FROM user_groups WHERE (user_id, group_id) IN (SELECT * FROM unnest($1::integer[], $2::integer[])) AND ${ofLdapUsers}`,
            [plan.removeMemberships.map((m) => m.userId), plan.removeMemberships.map((m) => m.groupId)],
          );
        } else {
          await this.forRows(
            plan.removeMemberships.map((m) => [m.userId, m.groupId]),
            2,
            (values, params) =>
              q(
                `DELETE FROM user_groups WHERE (user_id, group_id) IN (${this.valuesList(values)}) AND ${ofLdapUsers}`,
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
        await this.insertRows(
          manager,
          'user_groups',
          [
            ['user_id', 'integer'],
            ['group_id', 'integer'],
          ],
          rows,
        );
      }
      return groupIdByDn;
    });
  }

  // ---- one run at a time ----

  /**
   * Takes the sync lock, or returns undefined when another run (here or in another process) holds it.
   * PostgreSQL: a session advisory lock on a connection of its own (a killed process releases it with its
   * connection). SQLite: a row in `ldap_sync_lock`, renewed while the run lasts; a holder that died on this
   * host frees it at once, one elsewhere when it expires.
   */
  async tryLock(): Promise<SyncLock | undefined> {
    if (this.sql.kind === 'postgres') return this.tryAdvisoryLock();
    if (this.sql.kind === 'mysql') return this.tryNamedLock();
    return this.tryRowLock();
  }

  /**
   * MySQL / MariaDB: `GET_LOCK` with no wait, on a connection of its own held for the whole run; the server
   * frees it when that connection ends (a killed process included).
   */
  private tryNamedLock(): Promise<SyncLock | undefined> {
    let name = '';
    return this.lockOnOwnConnection(
      async (runner) => {
        const [{ db }] = (await runner.query('SELECT DATABASE() AS db')) as Array<{ db: string }>;
        // GET_LOCK names are at most 64 characters; a database name is at most 64 too.
        name = `${MYSQL_LOCK_PREFIX}${db}`.slice(0, 64);
        const [{ locked }] = (await runner.query('SELECT GET_LOCK(?, 0) AS locked', [name])) as Array<{
          locked: number | string | null;
        }>;
        return Number(locked) === 1;
      },
      (runner) => runner.query('SELECT RELEASE_LOCK(?)', [name]),
    );
  }

  /** PostgreSQL: a session advisory lock, likewise on a connection of its own, freed when it ends. */
  private tryAdvisoryLock(): Promise<SyncLock | undefined> {
    return this.lockOnOwnConnection(
      async (runner) => {
        const [{ locked }] = (await runner.query(
          `SELECT pg_try_advisory_lock(${ADVISORY_LOCK_KEY}) AS locked`,
        )) as Array<{ locked: boolean }>;
        return locked;
      },
      (runner) => runner.query(`SELECT pg_advisory_unlock(${ADVISORY_LOCK_KEY})`),
    );
  }

  /** Takes a server lock on a pooled connection kept for the run; the connection goes back when it is freed. */
  private async lockOnOwnConnection(
    take: (runner: QueryRunner) => Promise<boolean>,
    free: (runner: QueryRunner) => Promise<unknown>,
  ): Promise<SyncLock | undefined> {
    const runner: QueryRunner = this.transactions.dataSource.createQueryRunner();
    await runner.connect();
    try {
      if (!(await take(runner))) {
        await runner.release();
        return undefined;
      }
    } catch (error) {
      await runner.release();
      throw error;
    }
    return {
      release: async () => {
        try {
          await free(runner);
        } finally {
          await runner.release();
        }
      },
    };
  }

  private async tryRowLock(): Promise<SyncLock | undefined> {
    const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    const acquired = await this.transactions.transaction(async (manager) => {
      const [current] = await manager.query<Array<{ holder: string; expires_at: string }>>(
        'SELECT holder, expires_at FROM ldap_sync_lock WHERE name = ?',
        [LOCK_NAME],
      );
      if (current && !this.lockIsStale(current.holder, current.expires_at)) return false;
      const now = new Date();
      await manager.query('DELETE FROM ldap_sync_lock WHERE name = ?', [LOCK_NAME]);
      await manager.query('INSERT INTO ldap_sync_lock (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)', [
        LOCK_NAME,
        holder,
        sqliteDate(now),
        sqliteDate(new Date(now.getTime() + LOCK_TTL_MS)),
      ]);
      if (current) this.logger.warn(`Took over the sync lock from ${current.holder}, which is gone or expired`);
      return true;
    });
    if (!acquired) return undefined;
    const renew = setInterval(() => {
      void this.transactions
        .serialized(() =>
          this.transactions.dataSource.query('UPDATE ldap_sync_lock SET expires_at = ? WHERE name = ? AND holder = ?', [
            sqliteDate(new Date(Date.now() + LOCK_TTL_MS)),
            LOCK_NAME,
            holder,
          ]),
        )
        .catch(() => undefined);
    }, LOCK_TTL_MS / 5);
    renew.unref();
    return {
      release: async () => {
        clearInterval(renew);
        await this.transactions.serialized(() =>
          this.transactions.dataSource.query('DELETE FROM ldap_sync_lock WHERE name = ? AND holder = ?', [
            LOCK_NAME,
            holder,
          ]),
        );
      },
    };
  }

  private lockIsStale(holder: string, expiresAt: string): boolean {
    if (new Date(`${expiresAt.replace(' ', 'T')}Z`).getTime() < Date.now()) return true;
    const [host, pid] = holder.split(':');
    if (host !== hostname()) return false;
    try {
      process.kill(Number(pid), 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }

  // ---- the record of runs ----

  async startRun(dryRun: boolean, status: SyncRunStatus = 'running'): Promise<number> {
    return this.transactions.serialized(async () => {
      const runs = this.transactions.dataSource.getRepository(LdapSyncRunEntity);
      const result = await runs.insert({ startedAt: new Date(), status, dryRun });
      return Number((result.identifiers[0] as { id: number }).id);
    });
  }

  async finishRun(id: number, status: SyncRunStatus, report: unknown, error?: string): Promise<void> {
    await this.transactions.serialized(() =>
      this.transactions.dataSource
        .getRepository(LdapSyncRunEntity)
        .update(
          { id },
          { finishedAt: new Date(), status, report: this.reportText(report), error: this.fitText(error ?? null) },
        ),
    );
  }

  /**
   * The report as stored. MySQL's TEXT holds 65,535 bytes (PostgreSQL's and SQLite's have no such limit), and
   * a run with many notes can write more: there the notes are cut to fit, saying how many were left out.
   */
  private reportText(report: unknown): string {
    return this.sql.kind === 'mysql' ? reportWithin(report, MYSQL_TEXT_BYTES) : JSON.stringify(report);
  }

  /** An error message cut to MySQL's TEXT (whole characters); unchanged elsewhere. */
  private fitText(text: string | null): string | null {
    if (text === null || this.sql.kind !== 'mysql') return text;
    const bytes = Buffer.from(text);
    if (bytes.length <= MYSQL_TEXT_BYTES) return text;
    return new TextDecoder().decode(bytes.subarray(0, MYSQL_TEXT_BYTES - 4)).replace(/\uFFFD$/, '');
  }

  /** Marks runs left `running` by a process that died (called while holding the lock: none is running). */
  async markInterruptedRuns(): Promise<number> {
    return this.transactions.serialized(async () => {
      const result = await this.transactions.dataSource
        .getRepository(LdapSyncRunEntity)
        .update(
          { status: 'running' },
          { status: 'interrupted', finishedAt: new Date(), error: 'the process ended during the run' },
        );
      return result.affected ?? 0;
    });
  }

  // ---- SQL building ----

  private param(n: number): string {
    return this.sql.param(n);
  }

  private bool(value: boolean): string {
    return value ? 'TRUE' : 'FALSE';
  }

  /** `(p1, p2), (p3, p4)…` for rows of `width` values, numbered from 1. */
  private valuesList(rows: number, width = 2): string {
    const out: string[] = [];
    for (let r = 0; r < rows; r++) {
      out.push(`(${Array.from({ length: width }, (_, c) => this.param(r * width + c + 1)).join(', ')})`);
    }
    return out.join(', ');
  }

  private async forIds(
    ids: number[],
    run: (list: { sql: string; params: unknown[] }) => Promise<unknown>,
  ): Promise<void> {
    // PostgreSQL: one array parameter, whatever the count (one round trip, no statement of 30,000 placeholders).
    if (this.postgres) {
      await run({ sql: '(SELECT unnest($1::integer[]))', params: [ids] });
      return;
    }
    const per = this.sql.rowsPerStatement(1);
    for (let i = 0; i < ids.length; i += per) {
      const chunk = ids.slice(i, i + per);
      await run({ sql: `(${chunk.map((_, j) => this.param(j + 1)).join(', ')})`, params: chunk });
    }
  }

  private async forRows(
    rows: unknown[][],
    width: number,
    run: (count: number, params: unknown[]) => Promise<unknown>,
  ): Promise<void> {
    const per = this.sql.rowsPerStatement(width);
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      await run(chunk.length, chunk.flat());
    }
  }

  private async insertRows(
    manager: EntityManager,
    table: string,
    columns: Array<[name: string, postgresType: string]>,
    rows: unknown[][],
  ): Promise<void> {
    if (rows.length === 0) return;
    const names = columns.map(([name]) => name);
    if (this.postgres) {
      // One statement: each column an array parameter, unnested into rows.
      const arrays = columns.map((_, c) => rows.map((row) => row[c]));
      const unnest = columns.map(([, type], c) => `$${c + 1}::${type}[]`).join(', ');
      await manager.query(
        `INSERT INTO ${this.sql.id(table)} (${names.join(', ')}) SELECT * FROM unnest(${unnest}) ON CONFLICT DO NOTHING`,
        arrays,
      );
      return;
    }
    await this.forRows(rows, columns.length, (count, params) =>
      manager.query(this.sql.insertUnlessExists(table, names, this.valuesList(count, columns.length)), params),
    );
  }

  /**
   * A suffix for the temporary names `~sync~<id><suffix>` that no row holds (a local user may be named
   * `~sync~12`): '' when none of them is taken, else `~2`, `~3`… Checked in the run's transaction.
   */
  private async freeTemporarySuffix(manager: EntityManager, ids: number[]): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const suffix = attempt === 1 ? '' : `~${attempt}`;
      let taken = false;
      await this.forRows(
        ids.map((id) => [`~sync~${id}${suffix}`]),
        1,
        async (count, params) => {
          if (taken) return;
          const rows = await manager.query<unknown[]>(
            `SELECT id FROM users WHERE username IN (${Array.from({ length: count }, (_, i) => this.param(i + 1)).join(', ')})`,
            params,
          );
          taken = rows.length > 0;
        },
      );
      if (!taken) return suffix;
    }
  }

  private async updateUsers(manager: EntityManager, updates: SyncPlan['userUpdates']): Promise<void> {
    const width = 7;
    const rows = updates.map((u) => [
      u.id,
      u.username,
      u.email,
      u.firstName,
      u.lastName,
      u.dn,
      usernameKey(u.username),
    ]);
    if (this.postgres) {
      const types = ['integer', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar'];
      await manager.query(
        `UPDATE users AS u SET username = v.username, email = v.email, first_name = v.first_name, last_name = v.last_name, ldap_dn = v.ldap_dn, username_key = v.username_key, updated_at = CURRENT_TIMESTAMP ` +
          `FROM unnest(${types.map((t, c) => `$${c + 1}::${t}[]`).join(', ')}) AS v(id, username, email, first_name, last_name, ldap_dn, username_key) ` +
          'WHERE u.id = v.id AND u.ldap_uuid IS NOT NULL',
        types.map((_, c) => rows.map((row) => row[c])),
      );
      return;
    }
    if (this.sql.kind === 'mysql') {
      // MySQL has no UPDATE … FROM (VALUES …) and spells row constructors differently from MariaDB: the rows
      // come as a derived table of SELECTs, joined.
      const row = (r: number) =>
        `SELECT ${['id', 'username', 'email', 'first_name', 'last_name', 'ldap_dn', 'username_key'].map((c, i) => `${this.param(r * width + i + 1)}${r === 0 ? ` AS ${c}` : ''}`).join(', ')}`;
      await this.forRows(rows, width, (count, params) =>
        manager.query(
          `UPDATE users u JOIN (${Array.from({ length: count }, (_, r) => row(r)).join(' UNION ALL ')}) v ON u.id = v.id ` +
            'SET u.username = v.username, u.email = v.email, u.first_name = v.first_name, u.last_name = v.last_name, ' +
            'u.ldap_dn = v.ldap_dn, u.username_key = v.username_key, u.updated_at = CURRENT_TIMESTAMP(6) WHERE u.ldap_uuid IS NOT NULL',
          params,
        ),
      );
      return;
    }
    await this.forRows(rows, width, (count, params) => {
      return manager.query(
        `UPDATE users SET username = v.column2, email = v.column3, first_name = v.column4, last_name = v.column5, ldap_dn = v.column6, username_key = v.column7, updated_at = CURRENT_TIMESTAMP ` +
          `FROM (VALUES ${this.valuesList(count, width)}) AS v WHERE users.id = v.column1 AND users.ldap_uuid IS NOT NULL`,
        params,
      );
    });
  }
}

/** Printable ASCII: a name of these folds to a key of the same length. */
const ASCII = /^[\x20-\x7e]*$/;

/** MySQL's TEXT: 65,535 bytes. */
const MYSQL_TEXT_BYTES = 65_535;

/** The report as JSON of at most `maxBytes` bytes: notes are left out (and counted) until it fits. */
export function reportWithin(report: unknown, maxBytes: number): string {
  const json = JSON.stringify(report);
  if (Buffer.byteLength(json) <= maxBytes) return json;
  const { notes = [], ...rest } = report as { notes?: string[] };
  const omitted = (count: number) => `${count} more note(s) not stored: MySQL's TEXT column holds 64 KB`;
  let kept = notes.length;
  let fitted = json;
  while (Buffer.byteLength(fitted) > maxBytes && kept > 0) {
    kept = Math.floor(kept / 2);
    fitted = JSON.stringify({ ...rest, notes: [...notes.slice(0, kept), omitted(notes.length - kept)] });
  }
  return fitted;
}

/** SQLite's datetime text, as TypeORM writes it: `YYYY-MM-DD HH:MM:SS.SSS` in UTC. */
function sqliteDate(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** "12,7,301" → [12, 7, 301]; null (a group without members) → []. Digits only, as the database wrote them. */
export function parseIdList(text: string | null): number[] {
  const ids: number[] = [];
  if (!text) return ids;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 44) {
      ids.push(value);
      value = 0;
    } else if (code >= 48 && code <= 57) {
      value = value * 10 + (code - 48);
    } else {
      throw new Error(`unexpected character in a list of ids: ${JSON.stringify(text[i])}`);
    }
  }
  ids.push(value);
  return ids;
}
