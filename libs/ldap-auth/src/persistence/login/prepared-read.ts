import { Logger } from '@nestjs/common';
import type { DataSource, QueryRunner } from 'typeorm';
import { errorText } from '../../logging/one-line.js';

/**
 * SQLSTATEs of a named statement the connection does not hold, or holds twice (a pooler between app and server),
 * or can no longer run ("cached plan must not change result type": a migration changed a column it returns).
 */
const NAMED_STATEMENTS_UNUSABLE = new Set(['26000', '42P05', '0A000']);

interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * A read the login runs on every request, as a prepared statement: on PostgreSQL a named one, parsed and planned
 * once per connection instead of on every login (planning was most of PostgreSQL's CPU for that read); on MySQL /
 * MariaDB through mysql2's `execute` (prepared once per connection, parsed once; values sent apart).
 * A pooler that does not keep named statements per client (PgBouncer in transaction mode before 1.21) makes
 * PostgreSQL's fail with "prepared statement does not exist" (a migration changing a column it returns, with
 * "cached plan must not change result type"): from then on the read is sent unnamed.
 */
export class PreparedRead {
  private readonly logger = new Logger(PreparedRead.name);
  /** PostgreSQL, until a pooler lost a named statement. */
  private named: boolean;
  private readonly mysql: boolean;

  constructor(private readonly dataSource: DataSource) {
    this.named = dataSource.options.type === 'postgres';
    this.mysql = dataSource.options.type === 'mysql' || dataSource.options.type === 'mariadb';
  }

  async query(runner: QueryRunner, name: string, text: string, values: unknown[]): Promise<unknown[]> {
    // TypeORM's query() would log it; a prepared statement goes to the driver's connection, so it is logged here.
    if (this.mysql) {
      this.dataSource.logger.logQuery(text, values, runner);
      const connection = (await runner.connect()) as {
        execute(sql: string, values: unknown[], done: (error: Error | null, rows: unknown[]) => void): void;
      };
      return new Promise((resolve, reject) =>
        connection.execute(text, values, (error, rows) => (error ? reject(error) : resolve(rows))),
      );
    }
    if (!this.named) return (await runner.query(text, values)) as unknown[];
    this.dataSource.logger.logQuery(text, values, runner);
    const client = (await runner.connect()) as PgClient;
    try {
      return (await client.query({ name, text, values })).rows;
    } catch (error) {
      if (!NAMED_STATEMENTS_UNUSABLE.has((error as { code?: string }).code ?? '')) throw error;
      this.named = false;
      this.logger.warn(
        `The login's prepared read failed (${errorText(error)}; a connection pooler in transaction mode, or a migration while the app ran?): it is sent unprepared from now on`,
      );
      return (await runner.query(text, values)) as unknown[];
    }
  }
}
