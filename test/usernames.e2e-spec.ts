/**
 * "The same username" (users.username_key): one rule, computed by the app, for logins and the full sync on
 * every database; renames through names no user can hold; every row holding a name considered; and a
 * multi-valued username attribute that keeps one stored name.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Attribute } from 'ldapts';
import { DataSource } from 'typeorm';
import {
  databaseOptionsFromUrl,
  LDAP_AUTH_MIGRATIONS,
  LdapSyncService,
  type SyncReport,
} from '@nest-ldap-auth/ldap-auth';
import { appDataSource, logsOf, postLogin } from './support/app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { DIRECTORY_KINDS, directoryEnv, directoryInfo, serviceAccountEnv } from './support/env.js';
import { adminClient, createUser, deleteUser, renameUser, sshaPassword, userDn } from './support/directory-admin.js';
import type { FixtureUser } from './support/fixtures.js';
import { testApps } from './support/test-app.js';

interface UserRow {
  id: number;
  username: string;
  email: string | null;
  ldap_uuid: string | null;
  is_active: boolean | number;
}

describe.each(DIRECTORY_KINDS)('usernames against %s', (kind) => {
  describe.each(DATABASE_KINDS)('stored in %s', (dbKind) => {
    const info = () => directoryInfo(kind);
    // Short (AD's sAMAccountName holds 20 characters) and distinct per combination.
    const tag = `${kind === 'ad' ? 'a' : 'o'}${dbKind[0]}`;
    const person = (name: string): FixtureUser => ({
      username: `${name}-${tag}`,
      password: `Names-${name.normalize('NFD').replace(/[^a-z0-9]/gi, '')}-pass1`,
      givenName: name,
      sn: 'Names',
      mail: `${encodeURIComponent(name)}.${tag}@example.com`,
    });
    const temp = person('tmp');
    const tempRenamed = `tmp2-${tag}`;
    const hired = person('hire');
    const eric = person('éric');
    const emile = person('emile0');
    const emileRenamed = `émile-${tag}`;
    const two = person('two');
    const created: string[] = [];

    const apps = testApps();
    let app: INestApplication;
    const q = <T>(sql: string, params: unknown[] = []) => appDataSource(app).query<T>(sql, params);
    const p = (n: number) => (dbKind === 'postgres' ? `$${n}` : '?');
    const rowNamed = async (username: string) =>
      (await q<UserRow[]>(`SELECT * FROM users WHERE username = ${p(1)}`, [username]))[0];
    const rowWithId = async (id: number) => (await q<UserRow[]>(`SELECT * FROM users WHERE id = ${p(1)}`, [id]))[0];
    /** A local user, written as an app writes its own users (without the key the library keeps). */
    const insertLocal = (username: string) =>
      q(`INSERT INTO users (username, email) VALUES (${p(1)}, 'local@app.test')`, [username]);
    const sync = () => app.get(LdapSyncService).run();
    const expectSucceeded = (report: SyncReport) => {
      expect({ status: report.status, reason: report.reason }).toEqual({ status: 'succeeded', reason: undefined });
    };
    const addUser = async (user: FixtureUser) => {
      await createUser(info(), user);
      created.push(user.username);
    };

    beforeAll(async () => {
      app = await apps.start(dbKind, {
        ...directoryEnv(kind),
        ...serviceAccountEnv(kind),
        // Search mode: a login may name any value of a multi-valued username (a bind DN holds only one).
        LDAP_AUTH_LOGIN_MODE: 'search',
        LDAP_SYNC_REMOVED_USERS: 'deactivate',
        LDAP_SYNC_MAX_REMOVALS: '10',
      });
    });

    afterAll(async () => {
      for (const name of [...created, tempRenamed, emileRenamed]) {
        await deleteUser(info(), name).catch(() => undefined);
      }
    });

    it('renames a user in a sync even when a local user is named like its temporary name', async () => {
      await addUser(temp);
      const { id } = (await postLogin(app, temp.username, temp.password).expect(200)).body.user as { id: number };
      await insertLocal(`~sync~${id}`);
      try {
        await renameUser(info(), temp.username, tempRenamed);
        const report = await sync();
        expectSucceeded(report);
        expect(report.usersUpdated).toBe(1);
        expect((await rowWithId(id)).username).toBe(tempRenamed);
        expect(await rowNamed(`~sync~${id}`)).toMatchObject({ ldap_uuid: null, email: 'local@app.test' });
      } finally {
        // Whatever happened, the next tests' syncs must not meet this row.
        await q(`DELETE FROM users WHERE username = ${p(1)}`, [`~sync~${id}`]);
      }
    });

    it('logs a re-hired user in when the name the departed row would move to is taken', async () => {
      await addUser(hired);
      const old = (await postLogin(app, hired.username, hired.password).expect(200)).body.user as { id: number };
      await deleteUser(info(), hired.username);
      expectSucceeded(await sync());
      await insertLocal(`${hired.username}~${old.id}`);
      await createUser(info(), hired);
      const res = await postLogin(app, hired.username, hired.password).expect(200);
      expect(res.body.user.id).not.toBe(old.id);
      const departed = await rowWithId(old.id);
      expect(departed.username).not.toBe(hired.username);
      expect(departed.username).not.toBe(`${hired.username}~${old.id}`);
      expect(departed.username.startsWith(`${hired.username}~${old.id}`)).toBe(true);
      expect(Boolean(departed.is_active)).toBe(false);
      expect(await rowNamed(`${hired.username}~${old.id}`)).toMatchObject({ ldap_uuid: null });
      // The row that moved aside keeps its new name through a sync (the entry is still gone).
      expectSucceeded(await sync());
      expect((await rowWithId(old.id)).username).toBe(departed.username);
    });

    it('treats a directory name and a local name differing only in non-ASCII case as one name, in login and sync', async () => {
      // Login: the directory's "éric-…" is the local "ÉRIC-…": refused, on every database.
      const local = eric.username.toUpperCase();
      await insertLocal(local);
      await addUser(eric);
      await postLogin(app, eric.username, eric.password).expect(401);
      expect(logsOf(app).join('\n')).toContain(`"${eric.username}" is a local user of the app`);
      expect(await rowNamed(eric.username)).toBeUndefined();
      expect(await rowNamed(local)).toMatchObject({ ldap_uuid: null, email: 'local@app.test' });

      // Sync: an entry renamed to "émile-…" next to a local "ÉMILE-…" keeps its name.
      await insertLocal(emileRenamed.toUpperCase());
      await addUser(emile);
      const { id } = (await postLogin(app, emile.username, emile.password).expect(200)).body.user as { id: number };
      await renameUser(info(), emile.username, emileRenamed);
      const report = await sync();
      expectSucceeded(report);
      expect(report.notes.join('\n')).toContain(`"${emileRenamed}" belongs to a local user of the app`);
      expect((await rowWithId(id)).username).toBe(emile.username);
      // And a login under the new name is refused the same way.
      await postLogin(app, emileRenamed, emile.password).expect(401);
      expect((await rowWithId(id)).username).toBe(emile.username);
    });

    it('considers every row holding a name, not only the first one found', async () => {
      await addUser(two);
      const old = (await postLogin(app, two.username, two.password).expect(200)).body.user as { id: number };
      await deleteUser(info(), two.username);
      expectSucceeded(await sync());
      // Two rows now hold the name: the departed one (which would give it up) and a local one (which never does).
      await insertLocal(two.username.toUpperCase());
      await createUser(info(), two);
      await postLogin(app, two.username, two.password).expect(401);
      expect(await rowWithId(old.id)).toMatchObject({ username: two.username });
      expect(await rowNamed(two.username.toUpperCase())).toMatchObject({ ldap_uuid: null });
      expect(await q<unknown[]>(`SELECT id FROM users WHERE username = ${p(1)}`, [two.username])).toHaveLength(1);
    });

    if (kind === 'openldap') {
      it('keeps one stored name for an entry with two usernames, whichever the user logs in with, and in a sync', async () => {
        const first = `mva-${tag}`;
        const second = `mvb-${tag}`;
        const password = 'Multi-value-pass1';
        const client = await adminClient(info());
        try {
          await client.add(userDn(info(), first), [
            new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'] }),
            new Attribute({ type: 'uid', values: [first, second] }),
            new Attribute({ type: 'cn', values: ['Multi Value'] }),
            new Attribute({ type: 'sn', values: ['Value'] }),
            new Attribute({ type: 'userPassword', values: [sshaPassword(password)] }),
          ]);
        } finally {
          await client.unbind();
        }
        created.push(first);
        const login = await postLogin(app, second, password).expect(200);
        const stored = login.body.user.username as string;
        const report = await sync();
        expectSucceeded(report);
        expect(report.usersUpdated).toBe(0);
        expect((await rowWithId(login.body.user.id as number)).username).toBe(stored);
        for (const name of [first, second]) {
          expect((await postLogin(app, name, password).expect(200)).body.user).toMatchObject({
            id: login.body.user.id,
            username: stored,
          });
        }
        expect((await sync()).usersUpdated).toBe(0);
      });
    }
  });
});

/** Where UsernameKey1796342400000 is in the list (later migrations come after it). */
const USERNAME_KEY_MIGRATION = LDAP_AUTH_MIGRATIONS.findIndex((m) => m.name === 'UsernameKey1796342400000');

describe.each(DATABASE_KINDS)('the username_key migration on %s', (dbKind) => {
  let db: TestDatabase;
  let ds: DataSource;
  const p = (n: number) => (dbKind === 'postgres' ? `$${n}` : '?');

  beforeAll(async () => {
    db = await createTestDatabase(dbKind);
    // The schema as it was before the migration, with rows the old ASCII-only rule let in side by side.
    const before = LDAP_AUTH_MIGRATIONS.slice(0, USERNAME_KEY_MIGRATION);
    ds = new DataSource({
      ...databaseOptionsFromUrl(db.url),
      migrations: before,
      migrationsRun: false,
      logging: false,
    });
    await ds.initialize();
    await ds.runMigrations();
    for (const [username, uuid] of [
      ['Éric', null],
      ['éric', 'uuid-eric'],
      ['bob', 'uuid-bob'],
      ['ＢＯＢ２', null],
    ] as const) {
      await ds.query(`INSERT INTO users (username, ldap_uuid) VALUES (${p(1)}, ${p(2)})`, [username, uuid]);
    }
    await ds.destroy();
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('fills every key, keeps going past two rows of one name (the older keeps the key), and reverts', async () => {
    ds = new DataSource({ ...databaseOptionsFromUrl(db.url), migrationsRun: false, logging: false });
    await ds.initialize();
    await ds.runMigrations();
    const rows = await ds.query<Array<{ username: string; username_key: string | null }>>(
      'SELECT username, username_key FROM users ORDER BY id',
    );
    expect(rows).toEqual([
      { username: 'Éric', username_key: 'éric' },
      { username: 'éric', username_key: null },
      { username: 'bob', username_key: 'bob' },
      { username: 'ＢＯＢ２', username_key: 'bob2' },
    ]);
    // The key is unique: a second row of the same name is refused by the database itself.
    await expect(
      ds.query(`INSERT INTO users (username, username_key) VALUES (${p(1)}, ${p(2)})`, ['BOB', 'bob']),
    ).rejects.toThrow();
    // Undone with the migrations that came after it, newest first.
    for (let i = USERNAME_KEY_MIGRATION; i < LDAP_AUTH_MIGRATIONS.length; i++) await ds.undoLastMigration();
    const columns = (await ds.query<Array<Record<string, unknown>>>('SELECT * FROM users'))[0];
    expect(Object.keys(columns)).not.toContain('username_key');
    await ds.runMigrations();
    expect(await ds.query('SELECT username, username_key FROM users ORDER BY id')).toEqual(rows);
  });
});
