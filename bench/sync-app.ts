/**
 * The app's database for the library-sync runs: created by the library's own migrations, filled as if every
 * directory user had logged in once (the sync only updates users who exist in the app; it never creates
 * them), then copied afresh for each run. PostgreSQL copies with CREATE DATABASE … TEMPLATE, SQLite by
 * copying the file. After a run, verify() checks the tables against what the directory holds.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import { databaseOptionsFromUrl, usernameKey } from '../libs/ldap-auth/src/index.js';
import { openSqlite } from './sqlite.js';
import { createScratchDatabase, type ScratchDatabase } from './postgres.js';
import type { Dataset, ExpectedState } from './sync-dataset.js';
import { ORGANISATION_ID, USER_COLUMNS, userRow, usersCopyText } from './sync-rows.js';

export type AppDatabaseKind = 'postgres' | 'sqlite';

export interface AppDatabase {
  kind: AppDatabaseKind;
  /** DATABASE_URL form. */
  url: string;
  drop(): Promise<void>;
}

export interface Verification {
  ok: boolean;
  found: { users: number; groups: number; memberships: number; renamedFound: number };
  problems: string[];
}

/** When the pre-created users last logged in (any fixed time: the sync must not care). */
const LAST_LOGIN = '2024-06-01 12:00:00';

export interface AppTemplates {
  kind: AppDatabaseKind;
  /** Seconds to migrate and fill the "pre" template. */
  prepareSeconds: number;
  /** A fresh database as the app has it before any full sync: users only. */
  fresh(): Promise<AppDatabase>;
  /**
   * Keeps `db` (synced by `tag`'s implementation) to copy for that implementation's resync scenarios; it is
   * no longer the caller's to drop.
   */
  keepAsSynced(tag: string, db: AppDatabase): void;
  /** A copy of the synced database kept for `tag`. */
  synced(tag: string): Promise<AppDatabase>;
  dispose(): Promise<void>;
}

export async function appTemplates(kind: AppDatabaseKind, data: Dataset): Promise<AppTemplates> {
  return kind === 'postgres' ? postgresTemplates(data) : sqliteTemplates(data);
}

async function migrate(url: string): Promise<void> {
  // migrationsRun: initialize() runs LDAP_AUTH_MIGRATIONS, exactly as the app does at start-up.
  const dataSource = new DataSource(databaseOptionsFromUrl(url));
  await dataSource.initialize();
  await dataSource.destroy();
}

async function postgresTemplates(data: Dataset): Promise<AppTemplates> {
  const t0 = performance.now();
  const pre = await createScratchDatabase('app_pre');
  const synced = new Map<string, ScratchDatabase>();
  try {
    await migrate(pre.url);
    const client = new pg.Client({ connectionString: pre.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [ORGANISATION_ID, 'Default']);
      // The app's rows as logins wrote them: with their username keys.
      const users = usersCopyText(data, (i) => [LAST_LOGIN, usernameKey(userRow(data, i).username)]);
      await pipeline(
        Readable.from(users),
        client.query(
          copyFrom(`COPY users (${[...USER_COLUMNS, 'last_login_at', 'username_key'].join(', ')}) FROM STDIN`),
        ),
      );
      await client.query('INSERT INTO user_organisations (user_id, organisation_id) SELECT id, $1 FROM users', [
        ORGANISATION_ID,
      ]);
      for (const table of ['organisations', 'users']) {
        await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT MAX(id) FROM ${table}))`);
      }
      await client.query('COMMIT');
      await client.query('VACUUM ANALYZE');
    } finally {
      await client.end();
    }
  } catch (error) {
    await pre.drop();
    throw error;
  }
  const prepareSeconds = (performance.now() - t0) / 1000;
  const wrap = (db: ScratchDatabase): AppDatabase & { scratch: ScratchDatabase } => ({
    kind: 'postgres',
    url: db.url,
    drop: () => db.drop(),
    scratch: db,
  });
  return {
    kind: 'postgres',
    prepareSeconds,
    fresh: async () => wrap(await createScratchDatabase('app_run', pre.name)),
    keepAsSynced(tag, db) {
      synced.set(tag, (db as ReturnType<typeof wrap>).scratch);
    },
    async synced(tag) {
      const kept = synced.get(tag);
      if (!kept) throw new Error(`no synced database kept for ${tag}`);
      return wrap(await createScratchDatabase('app_run', kept.name));
    },
    async dispose() {
      for (const db of synced.values()) await db.drop();
      await pre.drop();
    },
  };
}

async function sqliteTemplates(data: Dataset): Promise<AppTemplates> {
  const t0 = performance.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ldap-sync-bench-app-'));
  const preFile = path.join(dir, 'pre.sqlite');
  const syncedFiles = new Map<string, string>();
  let copies = 0;
  try {
    await migrate(`sqlite:${preFile}`);
    const db = openSqlite(preFile);
    try {
      const insertUser = db.prepare(
        `INSERT INTO users (${[...USER_COLUMNS, 'last_login_at', 'username_key'].join(', ')}) VALUES (${[...USER_COLUMNS, 'x', 'k'].map(() => '?').join(', ')})`,
      );
      const insertMembership = db.prepare('INSERT INTO user_organisations (user_id, organisation_id) VALUES (?, ?)');
      db.transaction(() => {
        db.prepare('INSERT INTO organisations (id, name) VALUES (?, ?)').run(ORGANISATION_ID, 'Default');
        for (let i = 0; i < data.shape.users; i++) {
          const r = userRow(data, i);
          insertUser.run(
            r.id,
            r.username,
            r.email,
            r.firstName,
            r.lastName,
            1,
            r.ldapDn,
            r.ldapUuid,
            LAST_LOGIN,
            usernameKey(r.username),
          );
          insertMembership.run(r.id, ORGANISATION_ID);
        }
      })();
      // One self-contained file to copy: no WAL left beside it.
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const prepareSeconds = (performance.now() - t0) / 1000;
  const copyOf = async (from: string): Promise<AppDatabase> => {
    const file = path.join(dir, `run-${++copies}.sqlite`);
    await copyFile(from, file);
    return {
      kind: 'sqlite',
      url: `sqlite:${file}`,
      drop: async () => {
        for (const suffix of ['', '-wal', '-shm']) await rm(`${file}${suffix}`, { force: true });
      },
    };
  };
  return {
    kind: 'sqlite',
    prepareSeconds,
    fresh: () => copyOf(preFile),
    keepAsSynced(tag, db) {
      const file = db.url.slice('sqlite:'.length);
      // The sync's process has exited; fold its WAL into the file so a plain copy is complete.
      const handle = openSqlite(file);
      try {
        handle.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        handle.close();
      }
      syncedFiles.set(tag, file);
    },
    synced: async (tag) => {
      const file = syncedFiles.get(tag);
      if (!file) throw new Error(`no synced database kept for ${tag}`);
      return copyOf(file);
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Counts what the sync is responsible for and compares it with what the directory holds. */
export async function verify(db: AppDatabase, expected: ExpectedState): Promise<Verification> {
  const renamedSample = expected.renamed.slice(0, 50);
  const queries = {
    users: 'SELECT COUNT(*) AS n FROM users WHERE ldap_uuid IS NOT NULL AND is_active = TRUE',
    groups: 'SELECT COUNT(*) AS n FROM groups WHERE ldap_dn IS NOT NULL',
    memberships:
      'SELECT COUNT(*) AS n FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE g.ldap_dn IS NOT NULL',
  };
  let found: Verification['found'];
  if (db.kind === 'postgres') {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const count = async (sql: string, values: unknown[] = []): Promise<number> =>
        Number((await client.query<{ n: string }>(sql, values)).rows[0].n);
      found = {
        users: await count(queries.users),
        groups: await count(queries.groups),
        memberships: await count(queries.memberships),
        renamedFound: renamedSample.length
          ? await count('SELECT COUNT(*) AS n FROM users WHERE username = ANY($1)', [renamedSample])
          : 0,
      };
    } finally {
      await client.end();
    }
  } else {
    const handle = openSqlite(db.url.slice('sqlite:'.length));
    try {
      const count = (sql: string, values: unknown[] = []): number =>
        Number((handle.prepare(sql).get(...values) as { n: number }).n);
      found = {
        users: count(queries.users.replace('TRUE', '1')),
        groups: count(queries.groups),
        memberships: count(queries.memberships),
        renamedFound: renamedSample.length
          ? count(
              `SELECT COUNT(*) AS n FROM users WHERE username IN (${renamedSample.map(() => '?').join(', ')})`,
              renamedSample,
            )
          : 0,
      };
    } finally {
      handle.close();
    }
  }
  const problems: string[] = [];
  for (const key of ['users', 'groups', 'memberships'] as const) {
    if (found[key] !== expected[key]) problems.push(`${key}: ${found[key]}, expected ${expected[key]}`);
  }
  if (found.renamedFound !== renamedSample.length) {
    problems.push(`renamed users: ${found.renamedFound} of ${renamedSample.length} sampled have their new username`);
  }
  return { ok: problems.length === 0, found, problems };
}
