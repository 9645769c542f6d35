import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysql } from './mysql-catalogue.js';

/**
 * `ldap_sync_runs.changes`: what each run changed (or a dry run would change), per user and group, with the
 * values before and after (model/sync-changes.ts), as JSON; null for runs that planned nothing (skipped, or
 * stopped before the plan) and for runs recorded before this migration. TEXT as the report beside it: on
 * MySQL / MariaDB that holds 64 KB, and the run log lists fewer changes there to fit (sync-run-log.ts).
 */
export class SyncRunChanges1796428800000 implements MigrationInterface {
  name = 'SyncRunChanges1796428800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = isMysql(queryRunner);
    const q = (name: string) => queryRunner.connection.driver.escape(name);
    // ADD COLUMN in place (TypeORM's addColumn rebuilds a SQLite table); MySQL: utf8mb4 byte for byte like the
    // other text columns, and skipped when a start that died after it already added it (mysql-catalogue.ts).
    const text = mysql ? ' CHARACTER SET utf8mb4 COLLATE utf8mb4_bin' : '';
    if (!mysql || !(await queryRunner.hasColumn('ldap_sync_runs', 'changes'))) {
      await queryRunner.query(`ALTER TABLE ${q('ldap_sync_runs')} ADD COLUMN ${q('changes')} text${text} NULL`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const q = (name: string) => queryRunner.connection.driver.escape(name);
    await queryRunner.query(`ALTER TABLE ${q('ldap_sync_runs')} DROP COLUMN ${q('changes')}`);
  }
}
