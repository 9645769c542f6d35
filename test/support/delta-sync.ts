/**
 * What the delta sync's e2e tests share: the app's environment, the app's LDAP rows and memberships as they are,
 * one run, the stored cursor (read and edited), and the check that a full sync would change nothing after a delta.
 */
import { expect } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { LdapSyncService, type SyncReport } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, postLogin } from './app.js';
import { activeDirectoryEnv, openLdapEnv } from './env.js';
import type { SambaInfo, SlapdInfo } from './servers.js';

export interface Row {
  username: string;
  email: string | null;
  ldap_dn: string | null;
  is_active: number | boolean;
}

/**
 * The app on `databaseUrl` against `directory`, as the delta suites run it: syncs only when a test runs one, no
 * removal limits (the tests remove most users on purpose), synced groups kept as user_groups rows.
 */
export function deltaSyncEnv(directory: SlapdInfo | SambaInfo, databaseUrl: string): Record<string, string> {
  return {
    ...(directory.kind === 'slapd' ? openLdapEnv(directory) : activeDirectoryEnv(directory)),
    DATABASE_URL: databaseUrl,
    LDAP_SYNC_USER_USERNAME: directory.kind === 'slapd' ? directory.serviceDn : directory.serviceUser,
    LDAP_SYNC_USER_PASSWORD: directory.servicePassword,
    LDAP_SYNC_ENABLED: 'false',
    LDAP_SYNC_MAX_REMOVALS: '100%',
    LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS: '100%',
    LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
    LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
  };
}

/** Logs each user in, which must succeed: a sync only keeps users the app already has. */
export async function logInAll(app: INestApplication, users: Array<{ username: string; password: string }>) {
  for (const user of users) expect((await postLogin(app, user.username, user.password)).status).toBe(200);
}

export async function rows(app: INestApplication): Promise<Map<string, Row>> {
  const list = await appDataSource(app).query<Row[]>(
    'SELECT username, email, ldap_dn, is_active FROM users WHERE ldap_uuid IS NOT NULL ORDER BY username',
  );
  return new Map(list.map((row) => [row.username, row]));
}

/** `group:username` for every membership, sorted. */
export async function memberships(app: INestApplication): Promise<string[]> {
  const list = await appDataSource(app).query<Array<{ username: string; name: string }>>(
    'SELECT u.username, g.name FROM user_groups ug JOIN users u ON u.id = ug.user_id JOIN groups g ON g.id = ug.group_id ORDER BY g.name, u.username',
  );
  return list.map((m) => `${m.name}:${m.username}`);
}

export const runSync = (app: INestApplication, delta = true): Promise<SyncReport> =>
  app.get(LdapSyncService).run({ delta });

/** The eight counts of what a sync changed (or would change, on a dry run). */
export function changeCounts(report: SyncReport): number[] {
  return [
    report.usersUpdated,
    report.usersRemoved,
    report.usersDeactivated,
    report.usersReactivated,
    report.groupsCreated,
    report.groupsRenamed,
    report.membershipsAdded,
    report.membershipsRemoved,
  ];
}

/** A full sync's plan on the delta's tables: it must find nothing to change. */
export async function expectFullSyncFindsNothing(app: INestApplication, afterDelta?: SyncReport): Promise<void> {
  const report = await app.get(LdapSyncService).run({ dryRun: true });
  expect(report.status).toBe('succeeded');
  // The delta's mode beside the counts: a failure says which kind of run left the tables wrong.
  expect({ afterDelta: afterDelta?.mode, fullSyncWouldChange: changeCounts(report) }).toEqual({
    afterDelta: afterDelta?.mode,
    fullSyncWouldChange: [0, 0, 0, 0, 0, 0, 0, 0],
  });
}

/** The stored delta cursor (JSON parsed), or undefined. */
export async function storedCursor(app: INestApplication): Promise<Record<string, unknown> | undefined> {
  const [row] = await appDataSource(app).query<Array<{ cursor: string }>>('SELECT cursor FROM ldap_sync_cursors');
  return row ? (JSON.parse(row.cursor) as Record<string, unknown>) : undefined;
}

/** Replaces fields of the stored cursor, as another DC or a restore would make it look. */
export async function editStoredCursor(app: INestApplication, fields: Record<string, unknown>): Promise<void> {
  const cursor = await storedCursor(app);
  if (!cursor) throw new Error('no stored cursor to edit');
  await appDataSource(app).query('UPDATE ldap_sync_cursors SET cursor = ?', [JSON.stringify({ ...cursor, ...fields })]);
}

export async function cursorStored(app: INestApplication): Promise<boolean> {
  return (await storedCursor(app)) !== undefined;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
