import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { LDAP_AUTH_ENTITIES } from '../entities/index.js';
import { LDAP_AUTH_MIGRATIONS } from '../migrations/index.js';
import { LdapConfigurationError } from '../errors/ldap-auth.errors.js';

export const DEFAULT_DATABASE_URL = 'sqlite:data/app.sqlite';

/**
 * TypeORM options from a `DATABASE_URL` (`sqlite:<path>` or `postgres://…`) with the library's
 * entities and migrations; migrations run at start-up, `synchronize` stays off.
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
  throw new LdapConfigurationError([
    `DATABASE_URL: "${redactUrl(url)}" is not supported; use sqlite:<path> or postgres://…`,
  ]);
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
