/**
 * A hand-written full sync with ldapts and plain SQL, fulfilling runLibrarySync's contract (sync-library.ts):
 * what a straightforward snapshot-then-diff sync costs on this machine, and proof that the harness's
 * scenarios (database copies, directory changes, checks) work before the library is plugged in. It handles
 * exactly the bench's data: no AD, no nested groups, no login group, no username hand-overs, no removal
 * guard, removed users deleted. Not a model for the library's correctness, only for its speed.
 *
 * Steps, all timed as syncSeconds: read every user and the synced groups (paged), read the app's LDAP
 * users, groups and memberships, diff in memory, then write in one transaction: delete removed users,
 * update changed ones, create missing groups, remove and add memberships (COPY on PostgreSQL, prepared
 * INSERTs on SQLite).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'ldapts';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openSqlite, type SqliteHandle } from './sqlite.js';
import { GROUP_FILTER, PAGE_SIZE, USER_ATTRIBUTES, USER_FILTER } from './sync-dataset.js';
import type { LibrarySyncResult, LibrarySyncScenario } from './sync-library.js';

interface DirUser {
  dn: string;
  username: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
}

interface AppUser extends DirUser {
  id: number;
  uuid: string;
}

/** The writes of one run, computed from the snapshot and the app's state. */
interface Plan {
  deleteUsers: number[];
  updateUsers: AppUser[];
  createGroups: Array<{ dn: string; name: string }>;
  /** [userId, group DN] (the group may be created by this plan). */
  addMemberships: Array<[number, string]>;
  removeMemberships: Array<[number, number]>;
}

export async function runReferenceSync(scenario: LibrarySyncScenario): Promise<LibrarySyncResult> {
  const t0 = performance.now();
  const { directory } = scenario;
  const ldap = new Client({ url: directory.url, timeout: 120_000, connectTimeout: 5_000 });
  const db = await openDatabase(scenario.database);
  try {
    await ldap.bind(directory.serviceDn, directory.servicePassword);
    const bootSeconds = (performance.now() - t0) / 1000;
    const rssAfterBootMb = Math.round(process.memoryUsage().rss / 1024 / 1024);

    const t1 = performance.now();
    // Snapshot.
    const users = new Map<string, DirUser>();
    const uuidByDn = new Map<string, string>();
    for await (const page of ldap.searchPaginated(directory.peopleDn, {
      scope: 'sub',
      filter: USER_FILTER,
      attributes: USER_ATTRIBUTES,
      paged: { pageSize: PAGE_SIZE },
    })) {
      for (const e of page.searchEntries) {
        const uuid = first(e.entryUUID)?.toLowerCase();
        const username = first(e.uid);
        if (!uuid || !username) continue;
        users.set(uuid, {
          dn: e.dn,
          username,
          email: first(e.mail),
          firstName: first(e.givenName),
          lastName: first(e.sn),
        });
        uuidByDn.set(e.dn.toLowerCase(), uuid);
      }
    }
    const wanted = new Set(scenario.syncedGroups.map((dn) => dn.toLowerCase()));
    const groups = new Map<string, { name: string; members: string[] }>();
    for await (const page of ldap.searchPaginated(directory.groupsDn, {
      scope: 'sub',
      filter: GROUP_FILTER,
      attributes: ['cn', 'member'],
      paged: { pageSize: PAGE_SIZE },
    })) {
      for (const e of page.searchEntries) {
        const dn = e.dn.toLowerCase();
        if (!wanted.has(dn)) continue;
        const members = list(e.member).flatMap((m) => uuidByDn.get(m.toLowerCase()) ?? []);
        groups.set(dn, { name: first(e.cn) ?? dn, members });
      }
    }

    // The app's state, diffed.
    const state = await db.readState(scenario.organisationId);
    const plan = diff(users, groups, state);
    await db.write(plan, scenario.organisationId);
    const syncSeconds = (performance.now() - t1) / 1000;
    return {
      syncSeconds,
      bootSeconds,
      rssAfterBootMb,
      report: {
        usersSeen: users.size,
        usersUpdated: plan.updateUsers.length,
        usersDeleted: plan.deleteUsers.length,
        groupsCreated: plan.createGroups.length,
        membershipsAdded: plan.addMemberships.length,
        membershipsRemoved: plan.removeMemberships.length,
      },
    };
  } finally {
    await ldap.unbind().catch(() => undefined);
    await db.close();
  }
}

interface AppState {
  users: AppUser[];
  /** Normalised DN → id. */
  groups: Map<string, number>;
  memberships: Array<[number, number]>;
}

function diff(
  users: Map<string, DirUser>,
  groups: Map<string, { name: string; members: string[] }>,
  state: AppState,
): Plan {
  const plan: Plan = { deleteUsers: [], updateUsers: [], createGroups: [], addMemberships: [], removeMemberships: [] };
  const idByUuid = new Map<string, number>();
  for (const row of state.users) {
    const entry = users.get(row.uuid);
    if (!entry) {
      plan.deleteUsers.push(row.id);
      continue;
    }
    idByUuid.set(row.uuid, row.id);
    if (
      entry.dn !== row.dn ||
      entry.username !== row.username ||
      entry.email !== row.email ||
      entry.firstName !== row.firstName ||
      entry.lastName !== row.lastName
    ) {
      plan.updateUsers.push({ ...row, ...entry });
    }
  }
  const deleted = new Set(plan.deleteUsers);
  const current = new Set(state.memberships.map(([u, g]) => `${u}:${g}`));
  const desired = new Set<string>();
  for (const [dn, group] of groups) {
    const groupId = state.groups.get(dn);
    if (groupId === undefined) plan.createGroups.push({ dn, name: group.name });
    for (const uuid of group.members) {
      const userId = idByUuid.get(uuid);
      if (userId === undefined) continue;
      if (groupId === undefined) {
        plan.addMemberships.push([userId, dn]);
        continue;
      }
      const key = `${userId}:${groupId}`;
      desired.add(key);
      if (!current.has(key)) plan.addMemberships.push([userId, dn]);
    }
  }
  for (const [u, g] of state.memberships) {
    if (!deleted.has(u) && !desired.has(`${u}:${g}`)) plan.removeMemberships.push([u, g]);
  }
  return plan;
}

interface Database {
  readState(organisationId: number): Promise<AppState>;
  write(plan: Plan, organisationId: number): Promise<void>;
  close(): Promise<void>;
}

const STATE_SQL = {
  users:
    'SELECT id, ldap_uuid AS uuid, ldap_dn AS dn, username, email, first_name AS "firstName", last_name AS "lastName" ' +
    'FROM users WHERE ldap_uuid IS NOT NULL',
  groups: 'SELECT id, ldap_dn AS dn FROM groups WHERE ldap_dn IS NOT NULL AND organisation_id = $1',
  memberships:
    'SELECT ug.user_id AS u, ug.group_id AS g FROM user_groups ug JOIN groups gr ON gr.id = ug.group_id ' +
    'WHERE gr.ldap_dn IS NOT NULL AND gr.organisation_id = $1',
};
const UPDATE_USER =
  'UPDATE users SET username = $1, email = $2, first_name = $3, last_name = $4, ldap_dn = $5 WHERE id = $6';

async function openDatabase(database: LibrarySyncScenario['database']): Promise<Database> {
  return database.kind === 'postgres' ? postgres(database.url) : sqlite(database.url.slice('sqlite:'.length));
}

async function postgres(url: string): Promise<Database> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    async readState(org) {
      const users = await client.query<AppUser>(STATE_SQL.users);
      const groups = await client.query<{ id: number; dn: string }>(STATE_SQL.groups, [org]);
      const memberships = await client.query<{ u: number; g: number }>({ text: STATE_SQL.memberships, values: [org] });
      return {
        users: users.rows,
        groups: new Map(groups.rows.map((g) => [g.dn, g.id])),
        memberships: memberships.rows.map((m) => [m.u, m.g]),
      };
    },
    async write(plan, org) {
      await client.query('BEGIN');
      if (plan.deleteUsers.length) await client.query('DELETE FROM users WHERE id = ANY($1)', [plan.deleteUsers]);
      for (const u of plan.updateUsers) {
        await client.query(UPDATE_USER, [u.username, u.email, u.firstName, u.lastName, u.dn, u.id]);
      }
      const groupIds = new Map<string, number>();
      if (plan.createGroups.length) {
        const { rows } = await client.query<{ id: number; dn: string }>(
          'INSERT INTO groups (organisation_id, name, ldap_dn) SELECT $1, * FROM unnest($2::text[], $3::text[]) RETURNING id, ldap_dn AS dn',
          [org, plan.createGroups.map((g) => g.name), plan.createGroups.map((g) => g.dn)],
        );
        for (const r of rows) groupIds.set(r.dn, r.id);
      }
      if (plan.removeMemberships.length) {
        await client.query(
          'DELETE FROM user_groups WHERE (user_id, group_id) IN (SELECT * FROM unnest($1::int[], $2::int[]))',
          [plan.removeMemberships.map(([u]) => u), plan.removeMemberships.map(([, g]) => g)],
        );
      }
      if (plan.addMemberships.length) {
        const existing = await client.query<{ id: number; dn: string }>(STATE_SQL.groups, [org]);
        for (const r of existing.rows) groupIds.set(r.dn, r.id);
        const text = plan.addMemberships.map(([u, dn]) => `${u}\t${groupIds.get(dn)}\n`).join('');
        await pipeline(
          Readable.from([text]),
          client.query(copyFrom('COPY user_groups (user_id, group_id) FROM STDIN')),
        );
      }
      await client.query('COMMIT');
    },
    close: () => client.end(),
  };
}

function sqlite(file: string): Promise<Database> {
  const db: SqliteHandle = openSqlite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  const all = <T>(sql: string, ...values: unknown[]): T[] =>
    db.prepare(sql.replace(/\$\d/g, '?')).all(...values) as T[];
  return Promise.resolve({
    readState(org) {
      const users = all<AppUser>(STATE_SQL.users);
      const groups = all<{ id: number; dn: string }>(STATE_SQL.groups, org);
      const memberships = all<{ u: number; g: number }>(STATE_SQL.memberships, org);
      return Promise.resolve({
        users,
        groups: new Map(groups.map((g) => [g.dn, g.id])),
        memberships: memberships.map((m) => [m.u, m.g] as [number, number]),
      });
    },
    write(plan, org) {
      const deleteUser = db.prepare('DELETE FROM users WHERE id = ?');
      const updateUser = db.prepare(UPDATE_USER.replace(/\$\d/g, '?'));
      const insertGroup = db.prepare('INSERT INTO groups (organisation_id, name, ldap_dn) VALUES (?, ?, ?)');
      const groupId = db.prepare('SELECT id FROM groups WHERE organisation_id = ? AND ldap_dn = ?');
      const removeMembership = db.prepare('DELETE FROM user_groups WHERE user_id = ? AND group_id = ?');
      const addMembership = db.prepare('INSERT INTO user_groups (user_id, group_id) VALUES (?, ?)');
      db.transaction(() => {
        for (const id of plan.deleteUsers) deleteUser.run(id);
        for (const u of plan.updateUsers) updateUser.run(u.username, u.email, u.firstName, u.lastName, u.dn, u.id);
        for (const g of plan.createGroups) insertGroup.run(org, g.name, g.dn);
        for (const [u, g] of plan.removeMemberships) removeMembership.run(u, g);
        const ids = new Map<string, number>();
        for (const [u, dn] of plan.addMemberships) {
          let id = ids.get(dn);
          if (id === undefined) {
            id = (groupId.get(org, dn) as { id: number }).id;
            ids.set(dn, id);
          }
          addMembership.run(u, id);
        }
      })();
      return Promise.resolve();
    },
    close() {
      db.close();
      return Promise.resolve();
    },
  });
}

function list(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function first(value: unknown): string | null {
  return list(value)[0] ?? null;
}
