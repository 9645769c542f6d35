/**
 * `npm run users:link`: app users that predate LDAP (no ldap_uuid, refused at login) linked to their entries
 * in slapd and Samba AD, on SQLite, PostgreSQL and MariaDB, through the built dist/users-link.js (as an
 * operator runs it) and through LdapUserLinkService (for its events).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import {
  LDAP_AUTH_EVENTS,
  LdapUserLinkService,
  type LinkConflict,
  type UserLinkReport,
} from '@nest-ldap-auth/ldap-auth';
import { appDataSource, createTestApp, postLogin } from './support/app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { DIRECTORY_KINDS, directoryEnv, directoryInfo, serviceAccountEnv } from './support/env.js';
import { createUser, deleteUser } from './support/directory-admin.js';
import type { FixtureUser } from './support/fixtures.js';

const LINK_JS = fileURLToPath(new URL('../dist/users-link.js', import.meta.url));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runLink(args: string[], env: Record<string, string>): Promise<CliRun> {
  const child = spawn(process.execPath, [LINK_JS, ...args], {
    env: { PATH: process.env.PATH ?? '', JWT_SECRET: 'cli-secret-cli-secret-cli-secret', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const REPORT_KEYS = [
  'by',
  'conflicts',
  'dryRun',
  'durationMs',
  'entriesRead',
  'linked',
  'links',
  'localUsers',
  'notes',
  'status',
];
const LINK_KEYS = ['dn', 'email', 'entryUsername', 'ldapUuid', 'userId', 'username'];
const CONFLICT_KEYS = ['email', 'entries', 'kind', 'reason', 'userId', 'username'];

describe.each(DIRECTORY_KINDS)('users:link against %s', (kind) => {
  describe.each(DATABASE_KINDS)('stored in %s', (dbKind) => {
    const info = () => directoryInfo(kind);
    const tag = `${kind === 'ad' ? 'a' : 'o'}${dbKind[0]}`;
    // sAMAccountName holds 20 characters: short names.
    const person = (name: string, mail = `${name}.${tag}@example.com`): FixtureUser => ({
      username: `lk-${tag}-${name}`,
      password: `Link-${name}-pass1`,
      givenName: name,
      sn: 'Link',
      mail,
    });
    const ann = person('ann');
    const ben = person('ben');
    const cat = person('cat', `Cat.${tag}@Example.com`);
    const twin1 = person('twin1', `twin.${tag}@example.com`);
    const twin2 = person('twin2', `twin.${tag}@example.com`);
    const dan = person('dan');
    // AD only: a disabled account (the next sync would deactivate a user linked to it).
    const off = { ...person('off'), disabled: true };
    const ad = kind === 'ad';
    const everyone = [ann, ben, cat, twin1, twin2, dan, ...(ad ? [off] : [])];
    // The app's users from before LDAP: ann's exact name, ben's in another case, cat's email in another case,
    // the twins' shared email, dan's email (dan has an LDAP row already) and a name no entry has.
    const local = {
      ann: { username: ann.username, email: null },
      ben: { username: ben.username.toUpperCase(), email: null },
      cathy: { username: `cathy-${tag}`, email: `cat.${tag}@example.com` },
      twin: { username: `twin-${tag}`, email: twin1.mail },
      danOld: { username: `dan-old-${tag}`, email: dan.mail },
      ghost: { username: `ghost-${tag}`, email: `ghost.${tag}@example.com` },
      ...(ad ? { off: { username: off.username, email: null } } : {}),
    };

    let db: TestDatabase;
    let app: INestApplication;
    const events: Array<{ event: string; payload: unknown }> = [];
    const q = <T>(sql: string, params: unknown[] = []) => appDataSource(app).query<T>(sql, params);
    const users = () =>
      q<Array<{ id: number; username: string; ldap_uuid: string | null; ldap_dn: string | null }>>(
        'SELECT id, username, email, ldap_uuid, ldap_dn, username_key, is_active FROM users ORDER BY id',
      );
    const idOf = async (username: string) =>
      Number((await q<Array<{ id: number }>>(`SELECT id FROM users WHERE username = '${username}'`))[0]?.id);
    const rowById = async (id: number) => (await users()).find((u) => Number(u.id) === id);
    const cliEnv = () => ({ ...directoryEnv(kind), ...serviceAccountEnv(kind), DATABASE_URL: db.url });
    const report = (run: CliRun): UserLinkReport => {
      expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
      return JSON.parse(run.stdout) as UserLinkReport;
    };
    const conflictOf = (r: UserLinkReport, username: string) => r.conflicts.find((c) => c.username === username);

    beforeAll(async () => {
      for (const user of everyone) await createUser(info(), user);
      db = await createTestDatabase(dbKind);
      app = await createTestApp(
        { ...directoryEnv(kind), ...serviceAccountEnv(kind), DATABASE_URL: db.url },
        { imports: [EventEmitterModule.forRoot()] },
      );
      app.get(EventEmitter2).onAny((event: string | string[], payload: unknown) => {
        events.push({ event: String(event), payload });
      });
      await postLogin(app, dan.username, dan.password).expect(200);
      for (const row of Object.values(local)) {
        await q(
          `INSERT INTO users (username, email) VALUES ('${row.username}', ${row.email ? `'${row.email}'` : 'NULL'})`,
        );
      }
      await q(`INSERT INTO organisations (name) VALUES ('link-${tag}')`);
      await q(
        `INSERT INTO groups (organisation_id, name) SELECT id, 'link-local-${tag}' FROM organisations WHERE name = 'link-${tag}'`,
      );
      await q(
        `INSERT INTO user_groups (user_id, group_id) SELECT u.id, g.id FROM users u, groups g WHERE u.username IN ('${local.ann.username}', '${local.cathy.username}') AND g.name = 'link-local-${tag}'`,
      );
    });

    afterAll(async () => {
      await app?.close();
      await db?.drop();
      for (const user of everyone) await deleteUser(info(), user.username).catch(() => undefined);
    });

    it('refuses the pre-existing users at login before they are linked', async () => {
      await postLogin(app, ann.username, ann.password).expect(401);
    });

    it('--dry-run --json lists the links and the conflicts by username, and writes nothing', async () => {
      const before = await users();
      const r = report(await runLink(['--by', 'username', '--dry-run', '--json'], cliEnv()));
      expect(Object.keys(r).sort()).toEqual(REPORT_KEYS);
      expect({ status: r.status, dryRun: r.dryRun, by: r.by, linked: r.linked, localUsers: r.localUsers }).toEqual({
        status: 'succeeded',
        dryRun: true,
        by: 'username',
        linked: 0,
        localUsers: ad ? 7 : 6,
      });
      expect(r.entriesRead).toBeGreaterThanOrEqual(everyone.length);
      expect(r.links).toHaveLength(1);
      expect(Object.keys(r.links[0]).sort()).toEqual(LINK_KEYS);
      expect(r.links[0]).toMatchObject({
        userId: await idOf(ann.username),
        username: ann.username,
        entryUsername: ann.username,
      });
      expect(r.links[0].dn.toLowerCase()).toContain(ann.username);
      expect(r.conflicts.map((c: LinkConflict) => [c.username, c.kind])).toEqual([
        [local.ben.username, 'case-differs'],
        [local.cathy.username, 'no-entry'],
        [local.twin.username, 'no-entry'],
        [local.danOld.username, 'no-entry'],
        [local.ghost.username, 'no-entry'],
        ...(ad ? [[off.username, 'entry-disabled']] : []),
      ]);
      const caseConflict = conflictOf(r, local.ben.username);
      expect(Object.keys(caseConflict ?? {}).sort()).toEqual(CONFLICT_KEYS);
      expect(caseConflict?.entries.map((e) => e.username)).toEqual([ben.username]);
      expect(await users()).toEqual(before);
    });

    it('links by username the unambiguous user only; they log in with the same id and memberships', async () => {
      const annId = await idOf(ann.username);
      const r = report(await runLink(['--by', 'username', '--json'], cliEnv()));
      expect({ status: r.status, dryRun: r.dryRun, linked: r.linked }).toEqual({
        status: 'succeeded',
        dryRun: false,
        linked: 1,
      });
      expect(r.links.map((l) => l.userId)).toEqual([annId]);
      const row = await rowById(annId);
      expect(row).toMatchObject({ username: ann.username, ldap_uuid: r.links[0].ldapUuid, ldap_dn: r.links[0].dn });
      // Ben's row (a name differing in case only) is left as it was.
      expect((await users()).find((u) => u.username === local.ben.username)).toMatchObject({
        ldap_uuid: null,
        ldap_dn: null,
      });

      const login = await postLogin(app, ann.username, ann.password).expect(200);
      expect((login.body as { user: { id: number } }).user.id).toBe(annId);
      expect((await rowById(annId))?.ldap_uuid).toBe(r.links[0].ldapUuid);
      const groups = await q<Array<{ name: string }>>(
        `SELECT g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE ug.user_id = ${annId}`,
      );
      expect(groups.map((g) => g.name)).toEqual([`link-local-${tag}`]);
      await postLogin(app, ben.username, ben.password).expect(401);
    });

    it('links by email (ASCII case folded), never the ambiguous ones, and announces each link', async () => {
      const cathyId = await idOf(local.cathy.username);
      const untouched = (await users()).filter((u) =>
        [local.twin.username, local.danOld.username, local.ghost.username, local.ben.username].includes(u.username),
      );
      events.length = 0;
      const r = await app.get(LdapUserLinkService).run({ by: 'email' });
      expect({ status: r.status, reason: r.reason, linked: r.linked }).toEqual({
        status: 'succeeded',
        reason: undefined,
        linked: 1,
      });
      expect(r.links.map((l) => [l.userId, l.entryUsername])).toEqual([[cathyId, cat.username]]);
      expect(conflictOf(r, local.twin.username)).toMatchObject({ kind: 'ambiguous-entry' });
      expect(
        conflictOf(r, local.twin.username)
          ?.entries.map((e) => e.username)
          .sort(),
      ).toEqual([twin1.username, twin2.username]);
      expect(conflictOf(r, local.danOld.username)).toMatchObject({ kind: 'entry-linked' });
      expect(conflictOf(r, local.ghost.username)).toMatchObject({ kind: 'no-entry' });
      expect(conflictOf(r, local.ben.username)).toMatchObject({ kind: 'no-entry' });
      expect((await users()).filter((u) => untouched.some((t) => t.username === u.username))).toEqual(untouched);
      expect(events.filter((e) => e.event === LDAP_AUTH_EVENTS.userLinked)).toEqual([
        {
          event: LDAP_AUTH_EVENTS.userLinked,
          payload: {
            userId: cathyId,
            username: local.cathy.username,
            ldapUuid: r.links[0].ldapUuid,
            dn: r.links[0].dn,
            by: 'email',
          },
        },
      ]);

      // The entry's username is the login name: the row keeps its id and takes the directory's name.
      const login = await postLogin(app, cat.username, cat.password).expect(200);
      expect((login.body as { user: { id: number } }).user.id).toBe(cathyId);
      expect((await rowById(cathyId))?.username).toBe(cat.username);
    });

    it('prints the report for a person without --json, and refuses a wrong --by', async () => {
      const human = await runLink(['--by', 'email', '--dry-run'], cliEnv());
      expect(human.code).toBe(0);
      expect(human.stdout).toContain('dry run: nothing written');
      expect(human.stdout).toContain(`conflict (ambiguous-entry) user ${await idOf(local.twin.username)}`);
      const wrong = await runLink(['--by', 'phone'], cliEnv());
      expect({ code: wrong.code, stdout: wrong.stdout }).toEqual({ code: 64, stdout: '' });
      expect(wrong.stderr).toContain('--by takes username or email');
    });
  });
});
