import type { QueryRunner } from 'typeorm';

/*
 * MySQL and MariaDB commit each schema statement at once, whatever transaction the migration runs in: a start
 * that dies half way through a migration leaves its first steps behind and no row in `migrations`, so the next
 * start runs the whole migration again. There every step asks the catalogue first and does only what is
 * missing. PostgreSQL and SQLite undo a failed migration as a whole: their steps are not checked.
 *
 * The statements themselves are ones MySQL 8 and MariaDB 10.6+ both accept: `mysql://` and `mariadb://` only
 * pick TypeORM's driver flavour, and users name either for either server.
 */

/** True on MySQL or MariaDB, under either URL scheme. */
export function isMysql(queryRunner: QueryRunner): boolean {
  const type = queryRunner.connection.options.type;
  return type === 'mysql' || type === 'mariadb';
}

/** Whether the current database has an index of that name on that table. */
export async function hasIndex(queryRunner: QueryRunner, table: string, index: string): Promise<boolean> {
  const rows = (await queryRunner.query(
    'SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ? LIMIT 1',
    [table, index],
  )) as unknown[];
  return rows.length > 0;
}

/**
 * Records a generated column's expression in TypeORM's metadata table, once: TypeORM reads it back from there
 * when it compares the schema with the entities (the catalogue's own text of it differs between the servers).
 */
export async function recordGeneratedColumn(
  queryRunner: QueryRunner,
  table: string,
  column: string,
  expression: string,
): Promise<void> {
  const metadata = `\`${queryRunner.connection.metadataTableName}\``;
  const where = 'WHERE `type` = ? AND `schema` = DATABASE() AND `table` = ? AND `name` = ?';
  const key = ['GENERATED_COLUMN', table, column];
  const rows = (await queryRunner.query(`SELECT 1 FROM ${metadata} ${where}`, key)) as unknown[];
  if (rows.length > 0) return;
  await queryRunner.query(
    `INSERT INTO ${metadata} (\`type\`, \`schema\`, \`table\`, \`name\`, \`value\`) VALUES (?, DATABASE(), ?, ?, ?)`,
    [...key, expression],
  );
}
