/**
 * Delta-sync benchmark (`npm run bench:delta -- [--users N]`): on the sync bench's slapd (syncprov loaded) and a
 * PostgreSQL app database filled as if every user had logged in, measured in one run:
 *   - the full unchanged resync (LdapSyncService.run()), the reference;
 *   - a delta with nothing changed;
 *   - a delta after 100 changes (10 deletes, 10 moves to another OU, 30 attribute changes, 50 membership
 *     changes), against its floor: `ldapsearch -E sync=ro/<cookie>` from the same cookie (the changed user
 *     entries, nothing applied), and the memory the delta run takes above the idle process.
 * Targets (issue 18): nothing changed ≤ 50 ms and ≤ 0.05× the full resync; 100 changes ≤ 0.1× the full resync
 * and ≤ 2× the ldapsearch floor; ≤ 64 MB above idle.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { cleanUpOnExit } from './cleanups.js';
import { appTemplates } from './sync-app.js';
import {
  defaultShape,
  groupsOfUser,
  mail,
  PEOPLE_DN,
  USER_ATTRIBUTES,
  USER_FILTER,
  userDn,
  username,
  type Dataset,
} from './sync-dataset.js';
import { ldapmodify, startBenchDirectory, type BenchDirectory } from './sync-directory.js';
import {
  databaseOptionsFromUrl,
  LdapAuthModule,
  LdapSyncService,
  type SyncReport,
} from '../libs/ldap-auth/src/index.js';
import { DataSource } from 'typeorm';

const run = promisify(execFile);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { users: { type: 'string', default: '100000' }, cache: { type: 'boolean', default: true } },
  });
  const users = Number(values.users);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`delta bench: ${users} users, 200 groups, ${users * 3} memberships`);
  const { cleanups, cleanUp } = cleanUpOnExit();
  try {
    await measure(users, cleanups, log);
  } finally {
    await cleanUp();
  }
}

async function measure(users: number, cleanups: Array<() => Promise<void>>, log: (line: string) => void) {
  const { data, directory } = await startBenchDirectory(defaultShape(users), { cache: true, log });
  cleanups.push(() => directory.stop());
  const templates = await appTemplates('postgres', data);
  cleanups.push(() => templates.dispose());
  const db = await templates.fresh();
  const app = await NestFactory.createApplicationContext(benchModule(directory, db.url, data), { logger: ['error'] });
  try {
    const sync = app.get(LdapSyncService);
    const timed = async (delta: boolean): Promise<{ seconds: number; report: SyncReport }> => {
      const t = performance.now();
      const report = await sync.run({ delta });
      if (report.status !== 'succeeded') throw new Error(`sync ${report.status}: ${report.reason}`);
      return { seconds: (performance.now() - t) / 1000, report };
    };
    log('first full sync');
    await timed(false);
    const fullRuns = [await timed(false), await timed(false), await timed(false)].map((r) => r.seconds);
    const full = median(fullRuns);
    log(`full unchanged resync: ${fmt(full)} s (${fullRuns.map(fmt).join(', ')})`);
    const first = await timed(true);
    log(`first delta (no cursor: a whole content read): ${fmt(first.seconds)} s, mode ${first.report.mode}`);
    const nothingRuns = [];
    for (let i = 0; i < 5; i++) nothingRuns.push((await timed(true)).seconds);
    const nothing = median(nothingRuns);

    const cookie = await usersCookie(db.url);
    await ldapmodify(
      directory,
      `dn: ou=moved,${PEOPLE_DN}\nchangetype: add\nobjectClass: organizationalUnit\nou: moved\n`,
    );
    await ldapmodify(directory, changesLdif(data));
    const floorRuns = [];
    for (let i = 0; i < 3; i++) floorRuns.push(await syncSearchFloor(directory, cookie));
    const floor = median(floorRuns);

    global.gc?.();
    const idle = process.memoryUsage().rss;
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const changed = await timed(true);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const r = changed.report;
    const check = `mode ${r.mode}, ${r.usersRemoved} removed, ${r.usersUpdated} updated, ${r.membershipsAdded} memberships added, ${r.membershipsRemoved} removed`;
    const mb = (peak - idle) / 1024 / 1024;
    const rows = [
      ['full unchanged resync (reference)', `${fmt(full)} s`, '', ''],
      [
        'delta, nothing changed',
        `${ms(nothing)} ms`,
        `${ratio(nothing, full)} of the full resync`,
        verdict(nothing <= 0.05 && nothing <= 0.05 * full, '≤ 50 ms and ≤ 0.05×'),
      ],
      ['ldapsearch -E sync=ro/<cookie> (floor)', `${ms(floor)} ms`, '', ''],
      [
        'delta, 100 changes',
        `${ms(changed.seconds)} ms`,
        `${ratio(changed.seconds, full)} of the full resync, ${ratio(changed.seconds, floor)} of the floor`,
        verdict(changed.seconds <= 0.1 * full && changed.seconds <= 2 * floor, '≤ 0.1× full and ≤ 2× floor'),
      ],
      ['memory of the delta above idle', `${mb.toFixed(1)} MB`, '', verdict(mb <= 64, '≤ 64 MB')],
    ];
    process.stdout.write(`\nDelta sync at ${users} users on PostgreSQL (${check})\n`);
    for (const row of rows)
      process.stdout.write(`  ${row[0].padEnd(40)} ${row[1].padStart(10)}  ${row[2].padEnd(48)} ${row[3]}\n`);
  } finally {
    await app.close();
    await db.drop();
  }
}

function benchModule(directory: BenchDirectory, url: string, data: Dataset) {
  @Module({
    imports: [
      TypeOrmModule.forRoot(databaseOptionsFromUrl(url)),
      LdapAuthModule.forRoot({
        server: {
          url: directory.url,
          bindDN: directory.serviceDn,
          bindCredentials: directory.servicePassword,
          searchBase: directory.peopleDn,
          groupSearchBase: directory.groupsDn,
        },
        groupSync: 'sync_user_groups',
        syncedGroups: data.groups.map((g) => g.dn),
        defaultOrganisationId: 1,
        groupMembership: 'member',
        sync: { enabled: false, deltaInterval: 0, removedUsers: 'delete', maxRemovals: '10%' },
      }),
    ],
  })
  class DeltaBenchModule {}
  return DeltaBenchModule;
}

/** 10 deletes, 10 moves, 30 mail changes, 50 membership changes (25 joins, 25 leaves), all different users. */
function changesLdif(data: Dataset): string {
  const n = data.shape.users;
  const picked = new Set<number>();
  let next = 7;
  const pick = (ok: (i: number) => boolean = () => true): number => {
    for (;;) {
      next = (next * 7919 + 13) % n;
      if (!picked.has(next) && ok(next)) {
        picked.add(next);
        return next;
      }
    }
  };
  const out: string[] = [];
  for (let k = 0; k < 10; k++) out.push(`dn: ${userDn(username(pick()))}\nchangetype: delete\n`);
  for (let k = 0; k < 10; k++) {
    const name = username(pick());
    out.push(
      `dn: ${userDn(name)}\nchangetype: modrdn\nnewrdn: uid=${name}\ndeleteoldrdn: 1\nnewsuperior: ou=moved,${PEOPLE_DN}\n`,
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

async function usersCookie(url: string): Promise<string> {
  const ds = await new DataSource({ ...databaseOptionsFromUrl(url), migrationsRun: false }).initialize();
  try {
    const [row] = await ds.query<Array<{ cursor: string }>>('SELECT cursor FROM ldap_sync_cursors');
    return (JSON.parse(row.cursor) as { users: { cookie: string } }).users.cookie;
  } finally {
    await ds.destroy();
  }
}

/** The changed user entries from `cookie`, read by OpenLDAP's own client: what any delta must at least do. */
async function syncSearchFloor(directory: BenchDirectory, cookie: string): Promise<number> {
  const t = performance.now();
  await run(
    'ldapsearch',
    [
      '-x',
      '-LLL',
      '-H',
      directory.url,
      '-D',
      directory.serviceDn,
      '-w',
      directory.servicePassword,
      '-b',
      PEOPLE_DN,
      '-E',
      `sync=ro/${cookie}`,
      USER_FILTER,
      ...USER_ATTRIBUTES,
    ],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  return (performance.now() - t) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (s: number) => s.toFixed(2);
const ms = (s: number) => (s * 1000).toFixed(0);
const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}×`;
const verdict = (met: boolean, target: string) => `${target}: ${met ? 'met' : 'NOT met'}`;

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
