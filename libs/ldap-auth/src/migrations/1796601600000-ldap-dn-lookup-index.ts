import type { MigrationInterface, QueryRunner } from 'typeorm';
import { hasExpressionIndexes } from './1796256000000-username-lookup-index.js';

// Spelled here, not imported: a migration stays as it was written whatever the entities become.
const INDEX = 'IDX_users_ldap_dn_lower';

/**
 * A delta sync finds the rows a group's new member values name by their DN in lower case
 * (`LOWER(ldap_dn) IN (…)`, read-delta-state.ts): without an index on that expression each such delta read the
 * whole users table (40 ms at 100,000 users). SQLite and PostgreSQL only: MySQL and MariaDB keep the whole read.
 */
export class LdapDnLookupIndex1796601600000 implements MigrationInterface {
  name = 'LdapDnLookupIndex1796601600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (!hasExpressionIndexes(queryRunner)) return;
    await queryRunner.query(`CREATE INDEX "${INDEX}" ON "users" (LOWER("ldap_dn"))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (!hasExpressionIndexes(queryRunner)) return;
    await queryRunner.query(`DROP INDEX "${INDEX}"`);
  }
}
