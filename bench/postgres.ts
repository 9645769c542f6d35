/**
 * The benchmarks' scratch PostgreSQL databases, on the local server (127.0.0.1:5432, trust auth), made with
 * the e2e harness's test/support/scratch-postgres.ts; each benchmark names its own.
 */
import pg from 'pg';
import { createPostgresDatabase, type ScratchPostgresDatabase } from '../test/support/scratch-postgres.js';

export type ScratchDatabase = ScratchPostgresDatabase;

/** The admin URL (a database to connect to while creating others). */
export const POSTGRES_ADMIN_URL =
  process.env.BENCH_POSTGRES_URL ?? process.env.E2E_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The login benchmark's: an empty database named after this process (the app's migrations fill it). */
export function createLoginBenchDatabase(suffix: string): Promise<ScratchDatabase> {
  // Unquoted names fold to lower case in PostgreSQL: make it so here too.
  const name = `ldap_login_bench_${process.pid}_${suffix}`.toLowerCase().replace(/\W/g, '_');
  return createPostgresDatabase(POSTGRES_ADMIN_URL, name, { replace: true });
}

let scratchCounter = 0;

/** The sync benchmark's: a new, empty database (or a copy of `template`). */
export function createScratchDatabase(purpose: string, template?: string): Promise<ScratchDatabase> {
  const name = `ldap_sync_bench_${process.pid}_${Date.now()}_${++scratchCounter}_${purpose}`.slice(0, 63);
  return createPostgresDatabase(POSTGRES_ADMIN_URL, name, { template });
}

export async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return `PostgreSQL ${rows[0].server_version.split(' ')[0]}`;
  } finally {
    await client.end();
  }
}
