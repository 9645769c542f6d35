import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { createPostgresDatabase } from './scratch-postgres.js';

/** Where the e2e suites' PostgreSQL lives: this machine's server (trust auth), overridable. */
export const POSTGRES_ADMIN_URL = process.env.E2E_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Where the e2e suites' MariaDB lives: this machine's server (root, no password), overridable. */
export const MYSQL_ADMIN_URL = process.env.E2E_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';

export type DatabaseKind = 'sqlite' | 'postgres' | 'mariadb';
export const DATABASE_KINDS: DatabaseKind[] = ['sqlite', 'postgres', 'mariadb'];

export interface TestDatabase {
  kind: DatabaseKind;
  /** Value for DATABASE_URL. */
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database of the given kind: a new SQLite file, or a new PostgreSQL / MariaDB database. */
export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-e2e-sqlite-'));
    return {
      kind,
      url: `sqlite:${join(dir, 'app.sqlite')}`,
      drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    };
  }
  const name = `ldap_e2e_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  if (kind === 'mariadb') {
    // The server's default character set, as an operator's database would have: the migrations set their own.
    await mysqlAdminQuery(`CREATE DATABASE \`${name}\``);
    const url = new URL(MYSQL_ADMIN_URL);
    url.protocol = 'mariadb:';
    url.pathname = `/${name}`;
    return { kind, url: url.toString(), drop: () => mysqlAdminQuery(`DROP DATABASE IF EXISTS \`${name}\``) };
  }
  const { url, drop } = await createPostgresDatabase(POSTGRES_ADMIN_URL, name);
  return { kind, url, drop };
}

/** SQL's boolean literal as the database writes it in a statement (SQLite has none). */
export function sqlBool(kind: DatabaseKind, value: boolean): string {
  if (kind === 'sqlite') return value ? '1' : '0';
  return value ? 'TRUE' : 'FALSE';
}

/** A statement on the MariaDB server as root; the drop also ends connections a test left open. */
export async function mysqlAdminQuery(sql: string): Promise<void> {
  const connection = await mysql.createConnection(MYSQL_ADMIN_URL);
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}
