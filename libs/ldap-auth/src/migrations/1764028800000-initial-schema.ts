import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import {
  type MigrationInterface,
  type QueryRunner,
  Table,
  TableForeignKey,
  TableIndex,
  type TableColumnOptions,
} from 'typeorm';

/**
 * The tables of spec.md, written with TypeORM's schema API so one migration serves SQLite and PostgreSQL
 * (and any other driver). Types and defaults come from the driver, the same way the entities get theirs.
 */
export class InitialSchema1764028800000 implements MigrationInterface {
  name = 'InitialSchema1764028800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const timestamp = driver.normalizeType({ type: Date });
    const createDate = driver.mappedDataTypes.createDate as string;
    const updateDate = driver.mappedDataTypes.updateDate as string;
    // Defaults as the driver writes them for the entities (SQLite: 1/0, PostgreSQL: true/false).
    const bool = (value: boolean) => driver.normalizeDefault({ default: value, type: 'boolean' } as ColumnMetadata);
    const id = (): TableColumnOptions => ({
      name: 'id',
      type: 'integer',
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'increment',
    });
    const text = (name: string, length: number, nullable = true): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable: nullable,
    });

    await queryRunner.createTable(new Table({ name: 'organisations', columns: [id(), text('name', 255, false)] }));

    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          id(),
          { ...text('username', 255, false), isUnique: true },
          text('email', 255),
          text('first_name', 255),
          text('last_name', 255),
          { name: 'is_active', type: 'boolean', default: bool(true), isNullable: false },
          text('ldap_dn', 1024),
          { ...text('ldap_uuid', 64), isUnique: true },
          { name: 'last_login_at', type: timestamp, isNullable: true },
          {
            name: 'created_at',
            type: createDate,
            default: driver.mappedDataTypes.createDateDefault,
            isNullable: false,
          },
          {
            name: 'updated_at',
            type: updateDate,
            default: driver.mappedDataTypes.updateDateDefault,
            isNullable: false,
          },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'groups',
        columns: [
          id(),
          { name: 'organisation_id', type: 'integer', isNullable: false },
          text('name', 255, false),
          text('ldap_dn', 1024),
        ],
        indices: [
          new TableIndex({
            name: 'UQ_groups_organisation_ldap_dn',
            columnNames: ['organisation_id', 'ldap_dn'],
            isUnique: true,
          }),
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['organisation_id'],
            referencedTableName: 'organisations',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );

    const joinTable = (name: string, left: [string, string], right: [string, string]) =>
      new Table({
        name,
        columns: [
          { name: left[0], type: 'integer', isPrimary: true },
          { name: right[0], type: 'integer', isPrimary: true },
        ],
        indices: [new TableIndex({ columnNames: [left[0]] }), new TableIndex({ columnNames: [right[0]] })],
        foreignKeys: [
          new TableForeignKey({
            columnNames: [left[0]],
            referencedTableName: left[1],
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
            onUpdate: 'CASCADE',
          }),
          new TableForeignKey({
            columnNames: [right[0]],
            referencedTableName: right[1],
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
            onUpdate: 'CASCADE',
          }),
        ],
      });
    await queryRunner.createTable(
      joinTable('user_organisations', ['user_id', 'users'], ['organisation_id', 'organisations']),
    );
    await queryRunner.createTable(joinTable('user_groups', ['user_id', 'users'], ['group_id', 'groups']));

    await queryRunner.createTable(
      new Table({
        name: 'ldap_sync_runs',
        columns: [
          id(),
          { name: 'started_at', type: timestamp, isNullable: false },
          { name: 'finished_at', type: timestamp, isNullable: true },
          text('status', 32, false),
          { name: 'dry_run', type: 'boolean', default: bool(false), isNullable: false },
          { name: 'report', type: 'text', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['ldap_sync_runs', 'user_groups', 'user_organisations', 'groups', 'users', 'organisations']) {
      await queryRunner.dropTable(table);
    }
  }
}
