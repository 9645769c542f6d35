/**
 * The demo app on a scratch database, and the hooks that close both: what every e2e file used to write out
 * again (a `started` list, a `startApp` function, an afterAll closing apps and dropping databases).
 */
import { afterAll, afterEach, beforeAll } from '@jest/globals';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { createTestApp } from './app.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';

/** Something a test starts and must stop: an app, a recording proxy, a StartTLS injector. */
export interface Closable {
  close(): Promise<void>;
}

export interface StartedTestApp extends Closable {
  readonly app: INestApplication;
  readonly db: TestDatabase;
}

export interface TestAppOptions {
  imports?: ModuleMetadata['imports'];
}

/**
 * The demo app with DATABASE_URL set to `database`: a fresh database of that kind (dropped by close()), or a
 * given one (left as it is). `env` gives the rest of the environment and may override DATABASE_URL.
 */
export async function startTestApp(
  database: DatabaseKind | TestDatabase,
  env: Record<string, string | undefined>,
  options: TestAppOptions = {},
): Promise<StartedTestApp> {
  const owned = typeof database === 'string';
  const db = owned ? await createTestDatabase(database) : database;
  let app: INestApplication;
  try {
    app = await createTestApp({ DATABASE_URL: db.url, ...env }, options);
  } catch (error) {
    if (owned) await db.drop();
    throw error;
  }
  return {
    app,
    db,
    async close() {
      await app.close();
      if (owned) await db.drop();
    },
  };
}

export interface TestApps {
  /** The block's shared database (with `sharedDatabase`), there from the block's beforeAll on. */
  readonly db: TestDatabase;
  /** startTestApp, closed by the block's hooks. */
  start(
    database: DatabaseKind | TestDatabase,
    env: Record<string, string | undefined>,
    options?: TestAppOptions,
  ): Promise<INestApplication>;
  /** Closes `resource` (a proxy the app talks through) with the apps; the newest is closed first. */
  closes<T extends Closable>(resource: T): T;
  /** The database an app of this block runs on. */
  databaseOf(app: INestApplication): TestDatabase;
}

/**
 * Registers, in the describe block (or file) that calls it, the hooks that close what its tests start: the
 * apps and `closes()` resources after each test or after the block (newest first), the databases after the
 * block. `sharedDatabase` creates one database in beforeAll for the block's apps to share.
 */
export function testApps(options: { closeAfter?: 'each' | 'all'; sharedDatabase?: DatabaseKind } = {}): TestApps {
  const open: Closable[] = [];
  const databases = new Map<INestApplication, TestDatabase>();
  let shared: TestDatabase | undefined;

  // Every resource gets its close() even when one fails; the first failure is reported.
  const closeOpen = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const resource of open.splice(0).reverse())
      await resource.close().catch((error: unknown) => failures.push(error));
    if (failures.length) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
  };

  const { sharedDatabase } = options;
  if (sharedDatabase) {
    beforeAll(async () => {
      shared = await createTestDatabase(sharedDatabase);
    });
  }
  if (options.closeAfter === 'each') afterEach(closeOpen);
  afterAll(async () => {
    try {
      await closeOpen();
    } finally {
      await shared?.drop();
      shared = undefined;
    }
  });

  return {
    get db() {
      if (!shared) throw new Error('testApps: no shared database (pass sharedDatabase, use it from beforeAll on)');
      return shared;
    },
    async start(database, env, startOptions) {
      const started = await startTestApp(database, env, startOptions);
      open.push(started);
      databases.set(started.app, started.db);
      return started.app;
    },
    closes(resource) {
      open.push(resource);
      return resource;
    },
    databaseOf(app) {
      const db = databases.get(app);
      if (!db) throw new Error('testApps: this app was not started here');
      return db;
    },
  };
}
