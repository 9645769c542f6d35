/**
 * Scratch PostgreSQL databases, made and dropped the one way: the e2e suites' (databases.ts) and the
 * benchmarks' (bench/postgres.ts), each on a server it names by an admin URL (this machine's, trust auth).
 */
import pg from 'pg';

export interface ScratchPostgresDatabase {
  name: string;
  /** postgres:// URL of the new database, for DATABASE_URL or a client. */
  url: string;
  /** Drops it, ending the sessions still on it; a second call does nothing. */
  drop(): Promise<void>;
}

/**
 * Creates database `name` (an unquoted identifier) on the server of `adminUrl`: empty, or a copy of
 * `template`. `replace` drops a database of that name first (one a killed run left behind).
 */
export async function createPostgresDatabase(
  adminUrl: string,
  name: string,
  options: { template?: string; replace?: boolean } = {},
): Promise<ScratchPostgresDatabase> {
  if (options.replace) await postgresAdminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name}`);
  await postgresAdminQuery(
    adminUrl,
    `CREATE DATABASE ${name}${options.template ? ` TEMPLATE ${options.template}` : ''}`,
  );
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await postgresAdminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** One statement on the server of `adminUrl`, on a connection of its own. */
export async function postgresAdminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
