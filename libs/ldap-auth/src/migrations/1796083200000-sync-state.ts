import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';
import { isMysql } from './mysql-catalogue.js';

/**
 * What the full sync needs to keep: who deactivated a user (the sync reactivates only users it deactivated
 * itself), and, on databases without advisory locks (SQLite), a lock row so that one run at a time writes.
 * MySQL / MariaDB: each step skips what a start that died half way already made (see mysql-catalogue.ts).
 */
export class SyncState1796083200000 implements MigrationInterface {
  name = 'SyncState1796083200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const no = driver.normalizeDefault({ default: false, type: 'boolean' } as ColumnMetadata) as string;
    const q = (name: string) => driver.escape(name);
    const mysql = isMysql(queryRunner);
    // ADD COLUMN in place on both: TypeORM's addColumn rebuilds a SQLite table (and a rebuild cascades deletes).
    if (!mysql || !(await queryRunner.hasColumn('users', 'deactivated_by_sync'))) {
      await queryRunner.query(
        `ALTER TABLE ${q('users')} ADD COLUMN ${q('deactivated_by_sync')} boolean NOT NULL DEFAULT ${no}`,
      );
    }
    // MySQL / MariaDB: utf8mb4 compared byte for byte, as in the initial schema.
    const text = mysql ? ({ charset: 'utf8mb4', collation: 'utf8mb4_bin' } as const) : {};
    const timestamp = driver.normalizeType({ type: Date });
    await queryRunner.createTable(
      new Table({
        name: 'ldap_sync_lock',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true, ...text },
          { name: 'holder', type: 'varchar', length: '255', isNullable: false, ...text },
          { name: 'acquired_at', type: timestamp, isNullable: false },
          { name: 'expires_at', type: timestamp, isNullable: false },
        ],
      }),
      mysql,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('ldap_sync_lock');
    const q = (name: string) => queryRunner.connection.driver.escape(name);
    await queryRunner.query(`ALTER TABLE ${q('users')} DROP COLUMN ${q('deactivated_by_sync')}`);
  }
}
