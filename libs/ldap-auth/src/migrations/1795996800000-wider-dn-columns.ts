import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysql } from './mysql-catalogue.js';

/** Sizes of `users.ldap_dn` and `groups.ldap_dn` before and after. Numbers of their own: see column-limits.ts. */
const BEFORE = 1024;
const AFTER = 2048;
const GROUPS_DN_INDEX = 'UQ_groups_organisation_ldap_dn';

/**
 * Widens `users.ldap_dn` and `groups.ldap_dn` from 1,024 to 2,048 characters: DNs of deep trees and long RDNs
 * go past 1,024. Both directions keep every row, ids and memberships included.
 *
 * MySQL / MariaDB: the unique index is on `groups.ldap_dn_key` (the SHA-256 of the DN, see the initial
 * schema), which a wider `ldap_dn` does not change; the columns are modified in place, which a re-run after
 * a start that died half way simply repeats.
 */
export class WiderDnColumns1795996800000 implements MigrationInterface {
  name = 'WiderDnColumns1795996800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await resizeDnColumns(queryRunner, AFTER);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Refuse rather than cut: a cut DN names another entry, or none.
    // LENGTH counts characters on PostgreSQL and SQLite, bytes on MySQL (CHAR_LENGTH counts characters).
    const q = (name: string) => queryRunner.connection.driver.escape(name);
    const length = isMysql(queryRunner) ? 'CHAR_LENGTH' : 'LENGTH';
    const rows = (await queryRunner.query(
      `SELECT (SELECT COUNT(*) FROM ${q('users')} WHERE ${length}(${q('ldap_dn')}) > ${BEFORE}) AS ${q('users')}, ` +
        `(SELECT COUNT(*) FROM ${q('groups')} WHERE ${length}(${q('ldap_dn')}) > ${BEFORE}) AS ${q('groups')}`,
    )) as Array<{ users: number | string; groups: number | string }>;
    const { users, groups } = rows[0];
    if (Number(users) > 0 || Number(groups) > 0) {
      throw new Error(
        `Cannot revert ${this.name}: ${users} user(s) and ${groups} group(s) have a DN longer than ${BEFORE} characters; ` +
          'delete those rows (or clear their ldap_dn) first',
      );
    }
    await resizeDnColumns(queryRunner, BEFORE);
  }
}

async function resizeDnColumns(queryRunner: QueryRunner, length: number): Promise<void> {
  const type = queryRunner.connection.options.type;
  if (type === 'postgres') {
    // Widening a varchar only changes the catalogue: no table rewrite, and the index is kept.
    for (const table of ['users', 'groups']) {
      await queryRunner.query(`ALTER TABLE "${table}" ALTER COLUMN "ldap_dn" TYPE character varying(${length})`);
    }
    return;
  }
  if (type === 'better-sqlite3') {
    await resizeSqliteDnColumns(queryRunner, length);
    return;
  }
  if (isMysql(queryRunner)) {
    // In place, keeping the column's character set and collation (a MODIFY that omits them resets them).
    for (const table of ['users', 'groups']) {
      await queryRunner.query(
        `ALTER TABLE \`${table}\` MODIFY \`ldap_dn\` varchar(${length}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL`,
      );
    }
    return;
  }
  throw new Error(`${WiderDnColumns1795996800000.name} supports PostgreSQL, SQLite, MySQL and MariaDB, not ${type}`);
}

/**
 * SQLite never enforces a varchar length, but TypeORM reads the declared one and compares it with the
 * entities, so the declaration has to change too. SQLite cannot alter a column's type; TypeORM's way (rebuild
 * the table: create a copy, drop the original) would, when foreign keys are on (as they are while a migration
 * is reverted), cascade the DROP into user_groups and user_organisations, and it resets the AUTOINCREMENT
 * counter so ids of deleted users come back. Instead the column is replaced in place: add the new one, copy,
 * drop the old one, rename (SQLite 3.35+). Only the column's position in the table changes.
 */
async function resizeSqliteDnColumns(queryRunner: QueryRunner, length: number): Promise<void> {
  await queryRunner.query(`DROP INDEX "${GROUPS_DN_INDEX}"`);
  for (const table of ['users', 'groups']) {
    await queryRunner.query(`ALTER TABLE "${table}" ADD COLUMN "ldap_dn_resized" varchar(${length})`);
    await queryRunner.query(`UPDATE "${table}" SET "ldap_dn_resized" = "ldap_dn"`);
    await queryRunner.query(`ALTER TABLE "${table}" DROP COLUMN "ldap_dn"`);
    await queryRunner.query(`ALTER TABLE "${table}" RENAME COLUMN "ldap_dn_resized" TO "ldap_dn"`);
  }
  await queryRunner.query(`CREATE UNIQUE INDEX "${GROUPS_DN_INDEX}" ON "groups" ("organisation_id", "ldap_dn")`);
}
