/**
 * The delta section's change set (10 deletes, 10 moves to another OU, 30 attribute changes, 50 membership
 * changes, all different users) and its floor: `ldapsearch -E sync=ro/<cookie>`, OpenLDAP's own client reading
 * the changed user entries from the cursor the library stored.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import {
  GROUP_ATTRIBUTES,
  GROUP_FILTER,
  groupsOfUser,
  mail,
  PEOPLE_DN,
  USER_ATTRIBUTES,
  USER_FILTER,
  userDn,
  username,
} from './sync-dataset.js';
import type { Dataset } from './sync-dataset.js';
import type { BenchDirectory } from './sync-directory.js';

const run = promisify(execFile);

export const MOVED_OU = `ou=moved,${PEOPLE_DN}`;

/**
 * Picks users none of whom `avoid` holds (the full sync's changed users: renamed, removed or moved), each
 * once: a fixed sequence, so that each run changes the same users.
 */
export function userPicker(data: Dataset, avoid: Set<number>): (ok?: (i: number) => boolean) => number {
  const n = data.shape.users;
  const picked = new Set<number>();
  let next = 7;
  return (ok = () => true) => {
    for (;;) {
      next = (next * 7919 + 13) % n;
      if (!picked.has(next) && !avoid.has(next) && ok(next)) {
        picked.add(next);
        return next;
      }
    }
  };
}

/**
 * The 100 changes as LDIF for ldapmodify (the OU they move to first). Deletes and moves leave the users'
 * member values behind (no refint on the bench's slapd): the sync ignores members that are not users.
 */
export function deltaChangesLdif(data: Dataset, pick: ReturnType<typeof userPicker>): string {
  const out = [`dn: ${MOVED_OU}\nchangetype: add\nobjectClass: organizationalUnit\nou: moved\n`];
  for (let k = 0; k < 10; k++) out.push(`dn: ${userDn(username(pick()))}\nchangetype: delete\n`);
  for (let k = 0; k < 10; k++) {
    const name = username(pick());
    out.push(
      `dn: ${userDn(name)}\nchangetype: modrdn\nnewrdn: uid=${name}\ndeleteoldrdn: 1\nnewsuperior: ${MOVED_OU}\n`,
    );
  }
  for (let k = 0; k < 30; k++) {
    const name = username(pick());
    out.push(`dn: ${userDn(name)}\nchangetype: modify\nreplace: mail\nmail: new.${mail(name)}\n`);
  }
  for (let k = 0; k < 50; k++) {
    const i = pick((u) => groupsOfUser(data, u).length > 0);
    const own = groupsOfUser(data, i);
    const join = k % 2 === 0;
    let g = own[0];
    if (join) {
      g = (own[0] + 1) % data.groups.length;
      while (own.includes(g)) g = (g + 1) % data.groups.length;
    }
    out.push(
      `dn: ${data.groups[g].dn}\nchangetype: modify\n${join ? 'add' : 'delete'}: member\nmember: ${userDn(username(i))}\n`,
    );
  }
  return out.join('\n');
}

/** The syncrepl cookies the library stored with its last delta: the users' read and each group base's. */
export async function storedCookies(databaseUrl: string): Promise<{ users: string; groups: Record<string, string> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ cursor: string }>('SELECT cursor FROM ldap_sync_cursors');
    if (rows.length !== 1) throw new Error(`expected one stored cursor, found ${rows.length}`);
    const cursor = JSON.parse(rows[0].cursor) as {
      users?: { cookie?: string };
      groups?: Record<string, { cookie: string }>;
    };
    if (!cursor.users?.cookie || !cursor.groups) {
      throw new Error(`the stored cursor is not a content-sync one: ${rows[0].cursor.slice(0, 200)}`);
    }
    const groups = Object.fromEntries(Object.entries(cursor.groups).map(([base, g]) => [base, g.cookie]));
    return { users: cursor.users.cookie, groups };
  } finally {
    await client.end();
  }
}

/**
 * `ldapsearch -E sync=ro/<cookie>` from the stored cookies: the changed user entries, then each group base's
 * changed groups (whole, every member value), as OpenLDAP's own client reads them. Seconds and entries read.
 */
export async function syncSearchFloor(
  directory: BenchDirectory,
  cookies: { users: string; groups: Record<string, string> },
): Promise<{ seconds: number; usersSeconds: number; users: number; groups: number }> {
  const t = performance.now();
  const users = await syncSearch(directory, PEOPLE_DN, cookies.users, USER_FILTER, USER_ATTRIBUTES);
  const usersSeconds = (performance.now() - t) / 1000;
  let groups = 0;
  for (const [base, cookie] of Object.entries(cookies.groups)) {
    groups += await syncSearch(directory, base, cookie, GROUP_FILTER, GROUP_ATTRIBUTES);
  }
  return { seconds: (performance.now() - t) / 1000, usersSeconds, users, groups };
}

async function syncSearch(
  directory: BenchDirectory,
  base: string,
  cookie: string,
  filter: string,
  attributes: string[],
): Promise<number> {
  const { stdout } = await run(
    'ldapsearch',
    [
      ...['-x', '-LLL', '-H', directory.url, '-D', directory.serviceDn, '-w', directory.servicePassword],
      ...['-b', base, '-E', `sync=ro/${cookie}`, filter, ...attributes],
    ],
    { maxBuffer: 1024 * 1024 * 1024 },
  );
  return (stdout.match(/^dn: /gm) ?? []).length;
}
