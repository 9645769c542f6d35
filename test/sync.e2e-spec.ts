/**
 * The full reconciliation (LdapSyncService) against slapd and Samba AD, on SQLite and PostgreSQL: what one
 * run changes, what it must never touch, and the safety rules.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { LdapSyncService, type SyncReport } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, createTestApp, logsOf, postLogin } from './support/app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { DIRECTORY_KINDS, directoryEnv, directoryInfo, serviceAccountEnv } from './support/env.js';
import {
  addUserToGroup,
  createGroup,
  createUser,
  deleteGroup,
  deleteUser,
  groupDn,
  removeUserFromGroup,
  renameUser,
  setAccountDisabled,
  setAttributes,
} from './support/directory-admin.js';
import type { FixtureUser } from './support/fixtures.js';

interface UserRow {
  id: number;
  username: string;
  email: string | null;
  is_active: boolean | number;
  deactivated_by_sync: boolean | number;
  ldap_dn: string | null;
}

const syncOf = (app: INestApplication) => app.get(LdapSyncService);

describe.each(DIRECTORY_KINDS)('full sync against %s', (kind) => {
  describe.each(DATABASE_KINDS)('stored in %s', (dbKind) => {
    const info = () => directoryInfo(kind);
    // Names of this combination only: suites never see each other's entries.
    const tag = `${kind === 'ad' ? 'a' : 'o'}${dbKind[0]}`;
    const person = (name: string): FixtureUser => ({
      username: `sync-${tag}-${name}`,
      password: `Sync-${name}-pass1`,
      givenName: name,
      sn: 'Sync',
      mail: `${name}.${tag}@example.com`,
    });
    const keep = person('keep');
    const gone = person('gone');
    const moved = person('moved');
    const off = person('off');
    const byApp = person('byapp');
    const spare1 = person('spare1');
    const spare2 = person('spare2');
    const everyone = [keep, gone, moved, off, byApp, spare1, spare2];
    const team = `sync-${tag}-team`;
    const doomed = `sync-${tag}-doomed`;
    const fresh = `sync-${tag}-fresh`;
    const movedNewName = `sync-${tag}-moved2`;

    let db: TestDatabase;
    let app: INestApplication;
    const q = <T>(sql: string) => appDataSource(app).query<T>(sql);
    const rowOf = async (username: string) =>
      (await q<UserRow[]>(`SELECT * FROM users WHERE username = '${username}'`))[0];
    const groupRows = () =>
      q<Array<{ id: number; name: string; ldap_dn: string | null }>>(
        'SELECT id, name, ldap_dn FROM groups ORDER BY name',
      );
    const membersOf = async (cn: string) =>
      (
        await q<Array<{ username: string }>>(
          `SELECT u.username FROM users u JOIN user_groups ug ON ug.user_id = u.id JOIN groups g ON g.id = ug.group_id WHERE g.name = '${cn}' ORDER BY u.username`,
        )
      ).map((r) => r.username);
    const sync = (options = {}) => syncOf(app).run(options);
    const appEnv = (listed: string[]) => ({
      ...directoryEnv(kind),
      ...serviceAccountEnv(kind),
      DATABASE_URL: db.url,
      LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_SYNCED_GROUPS: listed.map((cn) => groupDn(info(), cn)).join(':'),
      LDAP_SYNC_REMOVED_USERS: 'deactivate',
      LDAP_SYNC_MAX_REMOVALS: '1',
    });
    const expectSucceeded = (report: SyncReport) => {
      expect({ status: report.status, reason: report.reason }).toEqual({ status: 'succeeded', reason: undefined });
    };

    beforeAll(async () => {
      for (const user of everyone) await createUser(info(), user);
      await createGroup(info(), team, [keep.username, gone.username, moved.username]);
      await createGroup(info(), doomed, [keep.username]);
      db = await createTestDatabase(dbKind);
      app = await createTestApp(appEnv([team, doomed, fresh]));
      for (const user of everyone) await postLogin(app, user.username, user.password).expect(200);
      // A local user and a local group, which nothing LDAP does may change.
      await q(`INSERT INTO users (username, email) VALUES ('local-${tag}', 'local@app.test')`);
      await q(`INSERT INTO groups (organisation_id, name) VALUES (1, 'local-group')`);
      await q(
        `INSERT INTO user_groups (user_id, group_id) SELECT u.id, g.id FROM users u, groups g WHERE u.username = 'local-${tag}' AND g.name = 'local-group'`,
      );
      await q(
        `INSERT INTO user_groups (user_id, group_id) SELECT u.id, g.id FROM users u, groups g WHERE u.username = '${keep.username}' AND g.name = 'local-group'`,
      );
    });

    afterAll(async () => {
      await app?.close();
      await db?.drop();
      for (const cn of [team, doomed, fresh]) await deleteGroup(info(), cn).catch(() => undefined);
      for (const name of [...everyone.map((u) => u.username), movedNewName]) {
        await deleteUser(info(), name).catch(() => undefined);
      }
    });

    it('writes nothing but its run row when the directory and the app agree', async () => {
      const before = await q<unknown[]>(
        'SELECT id, username, email, ldap_dn, is_active, updated_at FROM users ORDER BY id',
      );
      const report = await sync();
      expectSucceeded(report);
      expect(report.usersSeen).toBeGreaterThanOrEqual(everyone.length);
      expect(report).toMatchObject({
        usersUpdated: 0,
        usersRemoved: 0,
        usersDeactivated: 0,
        usersReactivated: 0,
        groupsCreated: 0,
        membershipsAdded: 0,
        membershipsRemoved: 0,
      });
      expect(await q('SELECT id, username, email, ldap_dn, is_active, updated_at FROM users ORDER BY id')).toEqual(
        before,
      );
      const runs = await q<Array<{ status: string; dry_run: boolean | number; report: string }>>(
        'SELECT status, dry_run, report FROM ldap_sync_runs',
      );
      expect(runs).toHaveLength(1);
      expect(runs[0].status).toBe('succeeded');
      expect(JSON.parse(runs[0].report)).toMatchObject({ status: 'succeeded', usersUpdated: 0 });
      expect(logsOf(app).join('\n')).toMatch(/LDAP sync succeeded in \d+\.\d s: \d+ users seen, 0 updated/);
    });

    it('follows a rename to the same row and refreshes changed fields', async () => {
      const movedId = (await rowOf(moved.username)).id;
      await renameUser(info(), moved.username, movedNewName);
      await setAttributes(info(), keep.username, { mail: `changed.${tag}@example.com` });
      const report = await sync();
      expectSucceeded(report);
      expect(report.usersUpdated).toBe(2);
      const renamed = await rowOf(movedNewName);
      expect(renamed.id).toBe(movedId);
      expect(renamed.ldap_dn?.toLowerCase()).toContain(movedNewName);
      expect((await rowOf(keep.username)).email).toBe(`changed.${tag}@example.com`);
      // Memberships follow the entry (the directory's refint / AD's linked attributes moved the member value).
      expect(await membersOf(team)).toContain(movedNewName);
    });

    it('deactivates a removed user with their memberships, and a re-created entry can take the name', async () => {
      const old = await rowOf(gone.username);
      await deleteUser(info(), gone.username);
      const report = await sync();
      expectSucceeded(report);
      expect(report).toMatchObject({ usersDeactivated: 1, removals: 1 });
      const row = await rowOf(gone.username);
      expect(row).toMatchObject({ id: old.id });
      expect(Boolean(row.is_active)).toBe(false);
      expect(Boolean(row.deactivated_by_sync)).toBe(true);
      expect(await membersOf(team)).not.toContain(gone.username);
      await postLogin(app, gone.username, gone.password).expect(401);

      // A re-hire: a new entry (another stable id) with the same name logs in as a new user.
      await createUser(info(), gone);
      const res = await postLogin(app, gone.username, gone.password).expect(200);
      expect(res.body.user.id).not.toBe(old.id);
      const oldRow = (await q<UserRow[]>(`SELECT * FROM users WHERE id = ${old.id}`))[0];
      expect(oldRow.username).toBe(`${gone.username}~${old.id}`);
      expect(Boolean(oldRow.is_active)).toBe(false);
    });

    it('keeps a user deactivated in the app deactivated, and refuses their login (reason logged)', async () => {
      await q(
        `UPDATE users SET is_active = ${dbKind === 'postgres' ? 'false' : '0'} WHERE username = '${byApp.username}'`,
      );
      expectSucceeded(await sync());
      expect(Boolean((await rowOf(byApp.username)).is_active)).toBe(false);
      await postLogin(app, byApp.username, byApp.password).expect(401);
      expect(logsOf(app).join('\n')).toMatch(
        new RegExp(`Login refused for "${byApp.username}": user \\d+ was deactivated in the app`),
      );
    });

    if (kind === 'ad') {
      it('deactivates a disabled AD account and reactivates it once enabled again', async () => {
        await setAccountDisabled(info(), off.username, true);
        const disabled = await sync();
        expectSucceeded(disabled);
        expect(disabled.usersDeactivated).toBe(1);
        expect(Boolean((await rowOf(off.username)).is_active)).toBe(false);
        await setAccountDisabled(info(), off.username, false);
        const enabled = await sync();
        expect(enabled.usersReactivated).toBe(1);
        expect(Boolean((await rowOf(off.username)).is_active)).toBe(true);
        await postLogin(app, off.username, off.password).expect(200);
      });
    }

    it('sets group memberships to the directory and creates a listed group with members', async () => {
      await removeUserFromGroup(info(), keep.username, team);
      await createGroup(info(), fresh, [keep.username, spare1.username]);
      const report = await sync();
      expectSucceeded(report);
      expect(report).toMatchObject({ groupsCreated: 1, membershipsRemoved: 1, membershipRemovals: 1 });
      expect(await membersOf(team)).toEqual([movedNewName]);
      expect(await membersOf(fresh)).toEqual([keep.username, spare1.username].sort());
      expect((await groupRows()).map((g) => g.name)).toContain(fresh);
    });

    it('never deletes a listed group the read did not find: aborts until it is taken out of the list', async () => {
      await deleteGroup(info(), doomed);
      const before = await q(
        'SELECT g.id, g.name, ug.user_id FROM groups g LEFT JOIN user_groups ug ON ug.group_id = g.id ORDER BY g.id, ug.user_id',
      );
      const report = await sync({ force: true });
      expect(report.status).toBe('aborted');
      expect(report.reason).toMatch(new RegExp(`${doomed}.*take it out of LDAP_SYNCED_GROUPS`, 'i'));
      expect(
        await q(
          'SELECT g.id, g.name, ug.user_id FROM groups g LEFT JOIN user_groups ug ON ug.group_id = g.id ORDER BY g.id, ug.user_id',
        ),
      ).toEqual(before);
      // Out of the list: runs go on, and the row is left as it is.
      await app.close();
      app = await createTestApp(appEnv([team, fresh]));
      const next = await sync();
      expectSucceeded(next);
      expect(next.notes.join('\n')).toMatch(
        new RegExp(`${doomed}.* no longer in LDAP_SYNCED_GROUPS: left as it is`, 'i'),
      );
      expect(await membersOf(doomed)).toEqual([keep.username]);
    });

    it('computes a dry run like a real one, and writes nothing but its run row', async () => {
      await addUserToGroup(info(), spare2.username, team);
      const dry = await sync({ dryRun: true });
      expectSucceeded(dry);
      expect(dry).toMatchObject({ dryRun: true, membershipsAdded: 1 });
      expect(await membersOf(team)).toEqual([movedNewName]);
      const [last] = await q<Array<{ dry_run: boolean | number; status: string }>>(
        'SELECT dry_run, status FROM ldap_sync_runs ORDER BY id DESC',
      );
      expect({ dryRun: Boolean(last.dry_run), status: last.status }).toEqual({ dryRun: true, status: 'succeeded' });
      const real = await sync();
      expect(real.membershipsAdded).toBe(1);
      expect(await membersOf(team)).toEqual([movedNewName, spare2.username].sort());
    });

    it('aborts a run that would remove more than LDAP_SYNC_MAX_REMOVALS, writing nothing, unless forced', async () => {
      await deleteUser(info(), spare1.username);
      await deleteUser(info(), spare2.username);
      const before = await q('SELECT id, username, is_active FROM users ORDER BY id');
      const report = await sync();
      expect(report).toMatchObject({ status: 'aborted', removals: 2, maxRemovals: 1 });
      expect(report.reason).toMatch(/more than LDAP_SYNC_MAX_REMOVALS allows \(1\); run with --force/);
      expect(await q('SELECT id, username, is_active FROM users ORDER BY id')).toEqual(before);
      const forced = await sync({ force: true });
      expectSucceeded(forced);
      expect(forced.usersDeactivated).toBe(2);
    });

    it('never touched the local user, the local group, or their memberships', async () => {
      expect(await rowOf(`local-${tag}`)).toMatchObject({ email: 'local@app.test' });
      expect(Boolean((await rowOf(`local-${tag}`)).is_active)).toBe(true);
      expect(await membersOf('local-group')).toEqual([keep.username, `local-${tag}`].sort());
      expect((await groupRows()).find((g) => g.name === 'local-group')).toMatchObject({ ldap_dn: null });
    });

    it('aborts when the directory returns no users at all while the app has some', async () => {
      const empty = await createTestApp({
        ...directoryEnv(kind),
        ...serviceAccountEnv(kind),
        DATABASE_URL: db.url,
        // A base that holds no user entries: a typo, or a service account that may not read them.
        LDAP_AUTH_SEARCH_BASE: info().groupsDn,
      });
      try {
        const before = await q('SELECT id, username, is_active FROM users ORDER BY id');
        const report = await syncOf(empty).run();
        expect(report.status).toBe('aborted');
        expect(report.reason).toMatch(/the directory returned no user entries while the app has \d+ LDAP users/);
        expect(await q('SELECT id, username, is_active FROM users ORDER BY id')).toEqual(before);
      } finally {
        await empty.close();
      }
    });
  });
});
