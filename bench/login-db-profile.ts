/**
 * Where a returning login's database time goes, per database: logs `BENCH_USERS` users in once (first logins,
 * their statements counted), then times returning logins at c=8 twice: the store alone (LdapLoginStore's
 * recordLogin, replaying the entries the first logins stored) and the whole login (LdapLoginService, with the
 * directory). Prints logins/s and CPU per login of this process and of the database's server processes
 * (PostgreSQL: the backends of the bench's database). A tool for looking, not part of `npm run bench`.
 *
 * Compiled with the bench (`npx tsc -p bench/tsconfig.build.json`), then
 *   PROFILE_DB=postgres|sqlite|mariadb BENCH_USERS=1000 PROFILE_ROUNDS=3 node dist/bench/bench/login-db-profile.js
 * (PROFILE_FIRST=1 also times first logins of the store; PROFILE_KEEP=1 keeps the database for EXPLAIN; PROFILE_SQLITE_DEFERRED=1 times SQLite without the write).
 */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import pg from 'pg';
import { DataSource, type Logger as TypeOrmLogger } from 'typeorm';
import { LdapAuthModule, LdapLoginService, databaseOptionsFromUrl } from '../libs/ldap-auth/src/index.js';
import { LdapLoginStore } from '../libs/ldap-auth/src/persistence/login/ldap-login.store.js';
import { LoginTimes } from '../libs/ldap-auth/src/persistence/login/login-times.js';
import type { TransactionRunner } from '../libs/ldap-auth/src/persistence/transaction-runner.js';
import { startSlapd } from '../test/support/slapd.js';
import { createTestDatabase } from '../test/support/databases.js';
import { createLoginBenchDatabase } from './postgres.js';
import { benchGroupDns, benchUsers, seedGroups, seedUsers } from './seed.js';

const statements: string[] = [];
let counting = false;
const counter: TypeOrmLogger = {
  logQuery: (query) => void (counting && statements.push(query)),
  logQueryError: () => undefined,
  logQuerySlow: () => undefined,
  logSchemaBuild: () => undefined,
  logMigration: () => undefined,
  log: () => undefined,
};

/** utime + stime of a process in seconds (Linux, USER_HZ 100); 0 when it is gone. */
function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const kind = process.env.PROFILE_DB ?? 'postgres';
  const users = benchUsers(Number(process.env.BENCH_USERS ?? 1000));
  const rounds = Number(process.env.PROFILE_ROUNDS ?? 3);
  const slapd = await startSlapd({ logLevel: 0 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ldap-db-profile-'));
  const db =
    kind === 'postgres'
      ? await createLoginBenchDatabase('dbprofile')
      : kind === 'mariadb'
        ? await createTestDatabase('mariadb')
        : { url: `sqlite:${path.join(dir, 'p.sqlite')}`, drop: () => Promise.resolve() };
  // A second connection reads which backends serve the bench's database (their CPU is PostgreSQL's share).
  const watcher = kind === 'postgres' ? new pg.Client({ connectionString: db.url }) : undefined;
  await watcher?.connect();
  // MariaDB: the whole server process (its threads; other users of the server count too).
  const mariadbd =
    kind === 'mariadb' ? Number(execFileSync('pgrep', ['-x', 'mariadbd'], { encoding: 'utf8' }).split('\n')[0]) : 0;
  const backends = async (): Promise<number[]> =>
    mariadbd
      ? [mariadbd]
      : watcher
        ? (
            await watcher.query<{ pid: number }>(
              'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
            )
          ).rows.map((r) => r.pid)
        : [];
  try {
    await seedUsers(slapd, users);
    await seedGroups(slapd, users, 4);
    @Module({
      imports: [
        TypeOrmModule.forRoot({ ...databaseOptionsFromUrl(db.url), logging: ['query'], logger: counter }),
        LdapAuthModule.forRoot({
          server: { url: slapd.url, searchBase: slapd.peopleDn },
          defaultOrganisationId: 1,
          groupSync: 'sync_user_groups',
          syncedGroups: benchGroupDns(slapd, 4),
        }),
      ],
    })
    class ProfileModule {}
    const app = await NestFactory.createApplicationContext(ProfileModule, { logger: ['error', 'warn'] });
    const service = app.get(LdapLoginService);
    const store = app.get(LdapLoginStore, { strict: false });
    if (kind === 'sqlite' && process.env.PROFILE_SQLITE_DEFERRED) {
      // For comparison only: SQLite's login times written behind, as elsewhere (its default writes them at once).
      const inner = store as unknown as { unchangedLogin: { times?: LoginTimes }; transactions: TransactionRunner };
      const { dataSource, dialect } = inner.transactions;
      inner.unchangedLogin.times = new LoginTimes(dataSource, dialect, console);
    }
    const recorded: Array<Parameters<LdapLoginStore['recordLogin']>> = [];
    const record = store.recordLogin.bind(store);
    store.recordLogin = (...args) => {
      recorded.push(args);
      return record(...args);
    };
    counting = true;
    await service.login(users[0].username, users[0].password);
    counting = false;
    console.log(`${kind}: statements of one first login: ${statements.length}\n  ${statements.join('\n  ')}`);
    statements.length = 0;
    for (const u of users.slice(1)) await service.login(u.username, u.password);
    store.recordLogin = record;
    counting = true;
    await service.login(users[7].username, users[7].password);
    counting = false;
    console.log(`statements of one returning login: ${statements.length}\n  ${statements.join('\n  ')}`);

    const measure = async (label: string, one: (i: number) => Promise<unknown>, times = rounds) => {
      const pids = await backends();
      const db0 = pids.map(cpuOf);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let n = 0;
      for (let r = 0; r < times; r++) {
        await Promise.all(
          Array.from({ length: 8 }, async (_, lane) => {
            for (let i = lane; i < users.length; i += 8) {
              await one(i);
              n++;
            }
          }),
        );
      }
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      // Backends the pool opened meanwhile count from their start.
      const after = [...new Set([...pids, ...(await backends())])];
      const dbSeconds = after.reduce((sum, pid) => sum + cpuOf(pid) - (db0[pids.indexOf(pid)] ?? 0), 0);
      const perLogin = (s: number) => ((s / n) * 1000).toFixed(3);
      console.log(
        `${label}: ${n} at c=8, ${Math.round(n / seconds)}/s; CPU per login: node ${perLogin((cpu.user + cpu.system) / 1e6)} ms` +
          (watcher || mariadbd ? `, ${kind} ${perLogin(dbSeconds)} ms (${after.length} backends)` : ''),
      );
    };
    for (let pass = 0; pass < 2; pass++) {
      await measure('store.recordLogin', (i) => store.recordLogin(...recorded[i]));
      await measure('service.login    ', (i) => service.login(users[i].username, users[i].password));
    }
    // PROFILE_FIRST=1: first logins of the store alone, at c=8; before each round the users' rows are deleted
    // (the groups stay, as in an app whose groups exist).
    const dataSource = app.get(DataSource);
    for (let r = 0; r < rounds && process.env.PROFILE_FIRST; r++) {
      for (const table of ['user_groups', 'user_organisations', 'users'])
        await dataSource.query(`DELETE FROM ${table}`);
      await measure('first logins     ', (i) => store.recordLogin(...recorded[i]), 1);
    }
    await app.close();
  } finally {
    await watcher?.end();
    // PROFILE_KEEP=1 leaves the database for a look (EXPLAIN) afterwards.
    if (process.env.PROFILE_KEEP) console.log(`kept ${db.url}`);
    else await db.drop();
    await slapd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
