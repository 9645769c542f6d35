import { Logger } from '@nestjs/common';
import type { DataSource, QueryRunner } from 'typeorm';

/** SQLSTATEs of a named statement the connection does not hold, or holds twice: a pooler between app and server. */
const NAMED_STATEMENTS_LOST = new Set(['26000', '42P05']);

interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * A read the login runs on every request, as a named prepared statement on PostgreSQL: the server parses and
 * plans it once per connection instead of on every login (planning was most of PostgreSQL's CPU for that read).
 * A pooler that does not keep named statements per client (PgBouncer in transaction mode before 1.21) makes
 * it fail with "prepared statement does not exist": from then on the read is sent unnamed, as elsewhere.
 */
export class PreparedRead {
  private readonly logger = new Logger(PreparedRead.name);
  private named: boolean;

  constructor(private readonly dataSource: DataSource) {
    this.named = dataSource.options.type === 'postgres';
  }

  async query(runner: QueryRunner, name: string, text: string, values: unknown[]): Promise<unknown[]> {
    if (!this.named) return (await runner.query(text, values)) as unknown[];
    // TypeORM's query() would log it; a named statement goes to the driver's client, so it is logged here.
    this.dataSource.logger.logQuery(text, values, runner);
    const client = (await runner.connect()) as PgClient;
    try {
      return (await client.query({ name, text, values })).rows;
    } catch (error) {
      if (!NAMED_STATEMENTS_LOST.has((error as { code?: string }).code ?? '')) throw error;
      this.named = false;
      this.logger.warn(
        `The database connection lost a prepared statement (a connection pooler in transaction mode?): the login read is sent unprepared from now on`,
      );
      return (await runner.query(text, values)) as unknown[];
    }
  }
}
