import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';
import { isMysql } from './mysql-catalogue.js';

/**
 * The delta sync's state: where the last delta left each directory read (`ldap_sync_cursors`, written in the
 * same transaction as the changes it covers) and each run's mode (`ldap_sync_runs.mode`: full or delta).
 * MySQL / MariaDB: each step skips what a start that died half way already made (see mysql-catalogue.ts).
 */
export class DeltaSync1796515200000 implements MigrationInterface {
  name = 'DeltaSync1796515200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const q = (name: string) => driver.escape(name);
    const mysql = isMysql(queryRunner);
    if (!mysql || !(await queryRunner.hasColumn('ldap_sync_runs', 'mode'))) {
      await queryRunner.query(
        `ALTER TABLE ${q('ldap_sync_runs')} ADD COLUMN ${q('mode')} varchar(16) NOT NULL DEFAULT 'full'`,
      );
    }
    const text = mysql ? ({ charset: 'utf8mb4', collation: 'utf8mb4_bin' } as const) : {};
    await queryRunner.createTable(
      new Table({
        name: 'ldap_sync_cursors',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true, ...text },
          // MySQL's TEXT holds 64 KB: a longer cursor is stored without its group positions (sync-cursor-store.ts).
          { name: 'cursor', type: 'text', isNullable: false, ...text },
          { name: 'updated_at', type: driver.normalizeType({ type: Date }), isNullable: false },
        ],
      }),
      mysql,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('ldap_sync_cursors');
    const q = (name: string) => queryRunner.connection.driver.escape(name);
    await queryRunner.query(`ALTER TABLE ${q('ldap_sync_runs')} DROP COLUMN ${q('mode')}`);
  }
}
