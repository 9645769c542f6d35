/**
 * Every sync change on record, against slapd on SQLite, PostgreSQL and MariaDB: a run that renames a user,
 * changes an email, deactivates a user whose entry is gone and adds a membership keeps each change with its
 * values before and after in `ldap_sync_runs.changes`, and `npm run sync -- --json` and `--show <run id>` (the
 * built dist/sync.js) list them; a dry run records its plan the same way, marked as not written.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SyncChange, SyncChanges, SyncReport, SyncRunRecord } from '@nest-ldap-auth/ldap-auth';
import { postLogin } from './support/app.js';
import { DATABASE_KINDS } from './support/databases.js';
import { openLdapEnv, serviceAccountEnv } from './support/env.js';
import {
  addUserToGroup,
  createGroup,
  createUser,
  deleteGroup,
  deleteUser,
  groupDn,
  renameUser,
  setAttributes,
  userDn,
} from './support/directory-admin.js';
import { testServers } from './support/servers.js';
import { testApps } from './support/test-app.js';

const SYNC_JS = fileURLToPath(new URL('../dist/sync.js', import.meta.url));
const { slapd } = testServers();

/** `npm run sync`'s script with this environment: exit code and output. */
function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SYNC_JS, ...args],
      { env: { PATH: process.env.PATH ?? '', JWT_SECRET: 'cli-secret-cli-secret-cli-secret', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The records without the ids the database chose (users' and groups' ids), sorted by kind then user. */
function shapeOf(changes: SyncChanges): unknown[] {
  return changes.records
    .map((c: SyncChange) => ({
      kind: c.kind,
      user: c.user?.username,
      group: c.group?.name,
      before: c.before,
      after: c.after,
      reason: c.reason,
    }))
    .map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

describe.each(DATABASE_KINDS)('sync changes on record (slapd, %s)', (dbKind) => {
  const apps = testApps();
  const tag = `chg-${dbKind[0]}`;
  const person = (name: string) => ({
    username: `${tag}-${name}`,
    password: `Chg-${name}-pass1`,
    givenName: name,
    sn: 'Changes',
    mail: `${name}.${tag}@example.com`,
  });
  const renamed = person('ren');
  const gone = person('gone');
  const joiner = person('join');
  const newName = `${tag}-ren2`;
  const team = `${tag}-team`;
  let env: Record<string, string>;
  let app: INestApplication;

  beforeAll(async () => {
    for (const user of [renamed, gone, joiner]) await createUser(slapd, user);
    await createGroup(slapd, team, [renamed.username, gone.username]);
    const settings = {
      ...openLdapEnv(slapd),
      ...serviceAccountEnv('openldap'),
      LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_SYNCED_GROUPS: groupDn(slapd, team),
      LDAP_SYNC_REMOVED_USERS: 'deactivate',
      LDAP_SYNC_MAX_REMOVALS: '5',
      LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS: '5',
    };
    app = await apps.start(dbKind, settings);
    env = { ...settings, DATABASE_URL: apps.databaseOf(app).url };
    for (const user of [renamed, gone, joiner]) await postLogin(app, user.username, user.password).expect(200);
    // What the run finds: a rename (uid is the RDN: the DN follows), an email changed, an entry gone, a member
    // added.
    await renameUser(slapd, renamed.username, newName);
    await setAttributes(slapd, joiner.username, { mail: `joined.${tag}@example.com` });
    await deleteUser(slapd, gone.username);
    await addUserToGroup(slapd, joiner.username, team);
  }, 120_000);

  afterAll(async () => {
    await deleteGroup(slapd, team).catch(() => undefined);
    for (const name of [newName, gone.username, joiner.username]) await deleteUser(slapd, name).catch(() => undefined);
  });

  const expected = () =>
    [
      {
        kind: 'membership_added',
        user: joiner.username,
        group: team,
      },
      {
        kind: 'membership_removed',
        user: gone.username,
        group: team,
      },
      {
        kind: 'user_deactivated',
        user: gone.username,
        before: { is_active: true },
        after: { is_active: false },
        reason: 'removed',
      },
      {
        kind: 'user_fields_changed',
        user: joiner.username,
        before: { email: joiner.mail },
        after: { email: `joined.${tag}@example.com` },
      },
      {
        kind: 'user_renamed',
        user: renamed.username,
        before: { username: renamed.username, ldap_dn: userDn(slapd, renamed.username) },
        after: { username: newName, ldap_dn: userDn(slapd, newName) },
      },
    ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

  let dryRunId: number;

  it("records a dry run's plan, marked as not written, and --json prints it with the report", async () => {
    const { code, stdout, stderr } = await runCli(['--dry-run', '--json'], env);
    expect({ code, stderr: code ? stderr : '' }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(stdout) as SyncReport;
    expect(report.changes?.applied).toBe(false);
    expect(shapeOf(report.changes!)).toEqual(expected());
    expect(report.changes).toMatchObject({ total: 5, omitted: 0 });
    dryRunId = report.runId!;
  }, 60_000);

  it('keeps what a run changed, before and after, and --json prints it', async () => {
    const { code, stdout } = await runCli(['--json'], env);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as SyncReport;
    expect(report.status).toBe('succeeded');
    expect(report.changes?.applied).toBe(true);
    expect(report.changes?.counts).toEqual({
      user_renamed: 1,
      user_fields_changed: 1,
      user_deactivated: 1,
      membership_added: 1,
      membership_removed: 1,
    });
    expect(shapeOf(report.changes!)).toEqual(expected());

    const shown = await runCli(['--show', String(report.runId), '--json'], env);
    expect(shown.code).toBe(0);
    const run = JSON.parse(shown.stdout) as SyncRunRecord;
    expect({ id: run.id, status: run.status, dryRun: run.dryRun }).toEqual({
      id: report.runId,
      status: 'succeeded',
      dryRun: false,
    });
    expect(run.changes).toEqual(report.changes);
    expect(run.report).toMatchObject({ usersUpdated: 2, usersDeactivated: 1 });
    expect(run.report).not.toHaveProperty('changes');

    const text = await runCli(['--show', String(report.runId)], env);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^sync run ${report.runId}: succeeded, started `));
    expect(lines).toContain(
      `    user_renamed         user ${run.changes!.records.find((r) => r.kind === 'user_renamed')!.user!.id} ` +
        `"${renamed.username}": username "${renamed.username}" → "${newName}", ` +
        `ldap_dn "${userDn(slapd, renamed.username)}" → "${userDn(slapd, newName)}"`,
    );
    expect(text.stdout).toMatch(
      new RegExp(`user_deactivated +user \\d+ "${gone.username}" \\(removed\\): is_active true → false`),
    );
    expect(text.stdout).toMatch(new RegExp(`membership_added +user \\d+ "${joiner.username}" joins group "${team}"`));
  }, 60_000);

  it('shows the dry run with its plan, and refuses a run id that does not exist', async () => {
    const dry = await runCli(['--show', String(dryRunId)], env);
    expect(dry.stdout).toContain(`sync run ${dryRunId}: succeeded (dry run)`);
    expect(dry.stdout).toContain('changes planned, not written: 5');
    const missing = await runCli(['--show', '999999'], env);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toContain('no sync run with id 999999 in ldap_sync_runs');
    const bad = await runCli(['--show', 'last'], env);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--show needs a run id');
  }, 60_000);
});
