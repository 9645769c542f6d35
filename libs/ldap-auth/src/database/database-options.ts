import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { LDAP_AUTH_ENTITIES } from '../entities/index.js';
import { LDAP_AUTH_MIGRATIONS } from '../migrations/index.js';
import { LdapConfigurationError } from '../errors/ldap-auth.errors.js';

export const DEFAULT_DATABASE_URL = 'sqlite:data/app.sqlite';

const SUPPORTED = 'use sqlite:<path>, postgres://…, mysql://… or mariadb://…';

/**
 * TypeORM options from a `DATABASE_URL` (`sqlite:<path>`, `postgres://…`, `mysql://…` or `mariadb://…`) with
 * the library's entities and migrations; migrations run at start-up, `synchronize` stays off.
 */
export function databaseOptionsFromUrl(url: string = DEFAULT_DATABASE_URL): DataSourceOptions {
  const common = {
    entities: LDAP_AUTH_ENTITIES,
    migrations: LDAP_AUTH_MIGRATIONS,
    migrationsRun: true,
    synchronize: false,
  } as const;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path)
      throw new LdapConfigurationError(['DATABASE_URL: "sqlite:" needs a file path, e.g. sqlite:data/app.sqlite']);
    if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
    // WAL lets readers go on while a login writes; foreign keys are off by default in SQLite.
    return { type: 'better-sqlite3', database: path, enableWAL: true, ...common };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { type: 'postgres', url, ...common };
  const mysql = /^(mysql|mariadb):\/\//.exec(url);
  if (mysql) {
    checkMysqlUrl(url);
    return {
      // TypeORM reads the two servers' catalogues differently (defaults, generated columns) when it compares the
      // schema with the entities; the migrations do not depend on it (see migrations/mysql-catalogue.ts).
      type: mysql[1] as 'mysql' | 'mariadb',
      url: `mysql://${url.slice(mysql[0].length)}`,
      // Every character a directory may hold, compared byte for byte as PostgreSQL does (the migrations give the
      // columns the same collation); dates in UTC whatever the server's zone.
      charset: 'utf8mb4_bin',
      timezone: 'Z',
      ...common,
    };
  }
  throw new LdapConfigurationError([`DATABASE_URL: "${redactUrl(url)}" is not supported; ${SUPPORTED}`]);
}

/** A MySQL URL must name a host and a database: the driver would otherwise pick defaults silently. */
function checkMysqlUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LdapConfigurationError([
      `DATABASE_URL: "${redactUrl(url)}" is not a valid URL; expected mysql://user:password@host:3306/database`,
    ]);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!parsed.hostname || !database || database.includes('/')) {
    throw new LdapConfigurationError([
      `DATABASE_URL: "${redactUrl(url)}" needs a host and a database name, e.g. mysql://user:password@host:3306/database`,
    ]);
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
