/** Scratch PostgreSQL databases for the login benchmark, on the local server (127.0.0.1:5432, trust auth). */
import pg from 'pg';

/** The admin URL (a database to connect to while creating others); the sync benchmark reads the same. */
const ADMIN_URL =
  process.env.BENCH_POSTGRES_URL ?? process.env.E2E_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database named after this process (the app's migrations fill it). */
export async function createScratchDatabase(suffix: string): Promise<ScratchDatabase> {
  // Unquoted names fold to lower case in PostgreSQL: make it so here too.
  const name = `ldap_login_bench_${process.pid}_${suffix}`.toLowerCase().replace(/\W/g, '_');
  await admin(`DROP DATABASE IF EXISTS ${name}`);
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
