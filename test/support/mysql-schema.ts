import mysql from 'mysql2/promise';
import { DataSource, type QueryRunner } from 'typeorm';
import { databaseOptionsFromUrl } from '@nest-ldap-auth/ldap-auth';
import { MYSQL_ADMIN_URL } from './databases.js';

/** A schema-changing statement: on MySQL / MariaDB each one commits at once, whatever transaction is open. */
const DDL = /^\s*(CREATE|ALTER|DROP|RENAME)\s/i;

/**
 * Everything the migrations leave in a MySQL / MariaDB database, as text to compare: each table's
 * `SHOW CREATE TABLE` (without the AUTO_INCREMENT counter, which failed inserts advance), TypeORM's metadata
 * rows (generated columns' expressions) and the names of the migrations recorded as run.
 */
export async function mysqlSchemaOf(databaseUrl: string): Promise<string[]> {
  const url = new URL(MYSQL_ADMIN_URL);
  url.pathname = new URL(databaseUrl).pathname;
  const connection = await mysql.createConnection(url.toString());
  try {
    const [tables] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME',
    );
    const dump: string[] = [];
    for (const { name } of tables as Array<{ name: string }>) {
      const [[created]] = await connection.query<mysql.RowDataPacket[]>(`SHOW CREATE TABLE \`${name}\``);
      dump.push(String(created['Create Table']).replace(/ AUTO_INCREMENT=\d+/, ''));
    }
    const names = (tables as Array<{ name: string }>).map((t) => t.name);
    if (names.includes('typeorm_metadata')) {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        'SELECT `type`, `table`, `name`, `value` FROM `typeorm_metadata` ORDER BY `table`, `name`',
      );
      dump.push(...rows.map((r) => `metadata ${JSON.stringify(r)}`));
    }
    if (names.includes('migrations')) {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT `name` FROM `migrations` ORDER BY `id`');
      dump.push(...rows.map((r) => `migration ${String(r.name)}`));
    }
    return dump;
  } finally {
    await connection.end();
  }
}

/**
 * Runs the library's migrations on `databaseUrl` as a start-up does, but the process "dies" right after the
 * `after`-th schema statement: every later statement throws, as a killed process would stop there (what was
 * not committed yet is rolled back). Resolves to true when the migrations finished before that point.
 */
export async function migrateUntilStatement(databaseUrl: string, after: number): Promise<boolean> {
  const dataSource = new DataSource({ ...databaseOptionsFromUrl(databaseUrl), migrationsRun: false });
  await dataSource.initialize();
  let statements = 0;
  const createQueryRunner = dataSource.createQueryRunner.bind(dataSource);
  dataSource.createQueryRunner = (mode) => {
    const runner: QueryRunner = createQueryRunner(mode);
    const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
    runner.query = (async (...args: unknown[]) => {
      if (statements >= after) throw new Error(`killed after schema statement ${after}`);
      const result = await query(...args);
      if (DDL.test(String(args[0]))) statements += 1;
      return result;
    }) as QueryRunner['query'];
    return runner;
  };
  try {
    await dataSource.runMigrations();
    return true;
  } catch (error) {
    if (!String(error).includes('killed after schema statement')) throw error;
    return false;
  } finally {
    await dataSource.destroy();
  }
}
