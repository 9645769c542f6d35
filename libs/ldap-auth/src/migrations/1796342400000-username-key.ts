import type { MigrationInterface, QueryRunner } from 'typeorm';
import { fillUsernameKeys } from '../persistence/username-keys.js';
import { SqlDialect } from '../persistence/sql-dialect.js';
import { hasIndex, isMysql } from './mysql-catalogue.js';

const KEY_INDEX = 'UQ_users_username_key';
const LOWER_INDEX = 'IDX_users_username_lower';

/**
 * `users.username_key`: the one rule for "the same username" (model/username-key.ts), computed by the app
 * and stored, so every database compares names alike (SQLite's LOWER() folds ASCII only, PostgreSQL's
 * follows the database's locale) and MySQL / MariaDB, which index no expressions, can look names up by
 * index. Unique; null allowed (rows an app writes without it, which the library fills in later).
 *
 * Existing rows get their keys here. Two rows that already are the same name (possible under the old
 * ASCII-only rule) are not failed on: the older keeps the key, the other is left without one and logged
 * (logins and the sync still treat it as holding its name). The LOWER(username) index, now unused, goes.
 */
export class UsernameKey1796342400000 implements MigrationInterface {
  name = 'UsernameKey1796342400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = isMysql(queryRunner);
    const q = (name: string) => queryRunner.connection.driver.escape(name);
    // ADD COLUMN in place (TypeORM's addColumn rebuilds a SQLite table); MySQL: compared byte for byte, as the
    // other text columns.
    const text = mysql ? ' CHARACTER SET utf8mb4 COLLATE utf8mb4_bin' : '';
    // MySQL commits each statement: a start that died in here left some steps done (see mysql-catalogue.ts).
    if (!mysql || !(await queryRunner.hasColumn('users', 'username_key'))) {
      await queryRunner.query(`ALTER TABLE ${q('users')} ADD COLUMN ${q('username_key')} varchar(255)${text} NULL`);
    }
    const { filled, notes } = await fillUsernameKeys(
      (sql, params) => queryRunner.query(sql, params) as Promise<unknown>,
      SqlDialect.of(queryRunner.connection),
    );
    const logger = queryRunner.connection.logger;
    logger.log('info', `${this.name}: ${filled} username key(s) written`);
    for (const note of notes) logger.log('warn', `${this.name}: ${note}`);
    if (!mysql || !(await hasIndex(queryRunner, 'users', KEY_INDEX))) {
      await queryRunner.query(`CREATE UNIQUE INDEX ${q(KEY_INDEX)} ON ${q('users')} (${q('username_key')})`);
    }
    if (!mysql) await queryRunner.query(`DROP INDEX ${q(LOWER_INDEX)}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const mysql = isMysql(queryRunner);
    const q = (name: string) => queryRunner.connection.driver.escape(name);
    if (!mysql) await queryRunner.query(`CREATE INDEX ${q(LOWER_INDEX)} ON ${q('users')} (LOWER(${q('username')}))`);
    await queryRunner.query(mysql ? `DROP INDEX ${q(KEY_INDEX)} ON ${q('users')}` : `DROP INDEX ${q(KEY_INDEX)}`);
    await queryRunner.query(`ALTER TABLE ${q('users')} DROP COLUMN ${q('username_key')}`);
  }
}
