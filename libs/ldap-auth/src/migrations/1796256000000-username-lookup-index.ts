import type { MigrationInterface, QueryRunner } from 'typeorm';

const INDEX = 'IDX_users_username_lower';

/**
 * A login looks a user up by entry id or by username regardless of case (`LOWER(username) = LOWER(?)`, so no
 * row holds another spelling of the name). Without an index on that expression each login read the whole
 * users table: a cost that grew with the number of users. SQLite and PostgreSQL index expressions; MySQL and
 * MariaDB compare case-insensitively under their default collations and need their own answer (not here).
 */
export class UsernameLookupIndex1796256000000 implements MigrationInterface {
  name = 'UsernameLookupIndex1796256000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (!hasExpressionIndexes(queryRunner)) return;
    await queryRunner.query(`CREATE INDEX "${INDEX}" ON "users" (LOWER("username"))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (!hasExpressionIndexes(queryRunner)) return;
    await queryRunner.query(`DROP INDEX "${INDEX}"`);
  }
}

/** SQLite and PostgreSQL index an expression; MySQL and MariaDB do not (not as these migrations need). */
export function hasExpressionIndexes(queryRunner: QueryRunner): boolean {
  const type = queryRunner.connection.options.type;
  return type === 'better-sqlite3' || type === 'postgres';
}
