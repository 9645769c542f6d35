import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import {
  type MigrationInterface,
  type QueryRunner,
  Table,
  TableForeignKey,
  TableIndex,
  type TableColumnOptions,
} from 'typeorm';
import { hasIndex, isMysql, recordGeneratedColumn } from './mysql-catalogue.js';

/**
 * The tables of spec.md, written with TypeORM's schema API so one migration serves SQLite and PostgreSQL
 * (and any other driver). Types and defaults come from the driver, the same way the entities get theirs.
 *
 * MySQL / MariaDB (added later; what this migration does elsewhere is unchanged): text columns are utf8mb4
 * compared byte for byte (utf8mb4_bin), as PostgreSQL compares them, whatever the database's default; and the
 * unique `(organisation_id, ldap_dn)` index is on a SHA-256 of the DN instead (see createMysqlGroupKey). There
 * each step skips what a start that died half way already made (see mysql-catalogue.ts).
 */
export class InitialSchema1764028800000 implements MigrationInterface {
  name = 'InitialSchema1764028800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const mysql = isMysql(queryRunner);
    // MySQL: a table made by an earlier, interrupted run is kept (each is made in one statement, keys included).
    const createTable = (table: Table) => queryRunner.createTable(table, mysql);
    const timestamp = driver.normalizeType({ type: Date });
    const createDate = driver.mappedDataTypes.createDate as string;
    const updateDate = driver.mappedDataTypes.updateDate as string;
    // Defaults as the driver writes them for the entities (SQLite: 1/0, PostgreSQL: true/false).
    const bool = (value: boolean) => driver.normalizeDefault({ default: value, type: 'boolean' } as ColumnMetadata);
    // MySQL's datetime keeps no fraction unless told; the entities' date columns have 6 digits there.
    const datePrecision = driver.mappedDataTypes.createDatePrecision;
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
      ...(mysql ? MYSQL_TEXT : {}),
    });

    await createTable(new Table({ name: 'organisations', columns: [id(), text('name', 255, false)] }));

    await createTable(
      new Table({
        name: 'users',
        columns: [
          id(),
          { ...text('username', 255, false), isUnique: !mysql },
          text('email', 255),
          text('first_name', 255),
          text('last_name', 255),
          { name: 'is_active', type: 'boolean', default: bool(true), isNullable: false },
          text('ldap_dn', 1024),
          { ...text('ldap_uuid', 64), isUnique: !mysql },
          { name: 'last_login_at', type: timestamp, isNullable: true },
          {
            name: 'created_at',
            type: createDate,
            precision: datePrecision,
            default: driver.mappedDataTypes.createDateDefault,
            isNullable: false,
          },
          {
            name: 'updated_at',
            type: updateDate,
            precision: datePrecision,
            default: driver.mappedDataTypes.updateDateDefault,
            ...(mysql ? { onUpdate: driver.mappedDataTypes.updateDateDefault } : {}),
            isNullable: false,
          },
        ],
        // MySQL has no unique constraints, only unique indexes: under the names TypeORM gives the entity's.
        indices: mysql
          ? ['username', 'ldap_uuid'].map(
              (column) =>
                new TableIndex({
                  name: queryRunner.connection.namingStrategy.indexName('users', [column]),
                  columnNames: [column],
                  isUnique: true,
                }),
            )
          : undefined,
      }),
    );

    await createTable(
      new Table({
        name: 'groups',
        columns: [
          id(),
          { name: 'organisation_id', type: 'integer', isNullable: false },
          text('name', 255, false),
          text('ldap_dn', 1024),
        ],
        indices: mysql
          ? []
          : [
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
    if (mysql) await createMysqlGroupKey(queryRunner);

    await createTable(joinTable('user_organisations', ['user_id', 'users'], ['organisation_id', 'organisations']));
    await createTable(joinTable('user_groups', ['user_id', 'users'], ['group_id', 'groups']));

    await createTable(
      new Table({
        name: 'ldap_sync_runs',
        columns: [
          id(),
          { name: 'started_at', type: timestamp, isNullable: false },
          { name: 'finished_at', type: timestamp, isNullable: true },
          text('status', 32, false),
          { name: 'dry_run', type: 'boolean', default: bool(false), isNullable: false },
          { name: 'report', type: 'text', isNullable: true, ...(mysql ? MYSQL_TEXT : {}) },
          { name: 'error', type: 'text', isNullable: true, ...(mysql ? MYSQL_TEXT : {}) },
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

/** MySQL / MariaDB text columns: every character, compared byte for byte. */
const MYSQL_TEXT = { charset: 'utf8mb4', collation: 'utf8mb4_bin' } as const;

/**
 * MySQL / MariaDB: InnoDB keys hold at most 3,072 bytes and a utf8mb4 DN may take 4 per character, so the
 * unique index cannot be on `ldap_dn` itself (a prefix index would make DNs sharing their start collide, and
 * MariaDB's own hashed UNIQUE accepted duplicates under concurrency before MDEV-37199). `ldap_dn_key` is the
 * SHA-256 of the DN's UTF-8 bytes, computed by the server (a stored generated column: no writer can forget or
 * fake it), and the unique index, under the entity's index name, is on it: a concurrent first login's insert
 * of the same group waits on that key and is then ignored, as on PostgreSQL. NULL for local groups, as is
 * `ldap_dn`, so any number of those may exist.
 */
async function createMysqlGroupKey(queryRunner: QueryRunner): Promise<void> {
  // TypeORM keeps a generated column's expression in its metadata table, and reads it back when it compares
  // the schema with the entities.
  const metadataColumn = (name: string, type = 'varchar', isNullable = true): TableColumnOptions => ({
    name,
    type,
    length: type === 'varchar' ? '255' : undefined,
    isNullable,
  });
  await queryRunner.createTable(
    new Table({
      name: queryRunner.connection.metadataTableName,
      columns: [
        metadataColumn('type', 'varchar', false),
        metadataColumn('database'),
        metadataColumn('schema'),
        metadataColumn('table'),
        metadataColumn('name'),
        metadataColumn('value', 'text'),
      ],
    }),
    true,
  );
  const expression = 'UNHEX(SHA2(`ldap_dn`, 256))';
  if (!(await queryRunner.hasColumn('groups', 'ldap_dn_key'))) {
    // Written out rather than through addColumn: TypeORM adds NULL after the expression unless told the server
    // is MariaDB (which refuses it); without it both servers accept the column, nullable as wanted.
    await queryRunner.query(`ALTER TABLE \`groups\` ADD \`ldap_dn_key\` binary(32) AS (${expression}) STORED`);
  }
  await recordGeneratedColumn(queryRunner, 'groups', 'ldap_dn_key', expression);
  if (!(await hasIndex(queryRunner, 'groups', 'UQ_groups_organisation_ldap_dn'))) {
    await queryRunner.createIndex(
      'groups',
      new TableIndex({
        name: 'UQ_groups_organisation_ldap_dn',
        columnNames: ['organisation_id', 'ldap_dn_key'],
        isUnique: true,
      }),
    );
  }
}
