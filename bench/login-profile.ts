/**
 * Where a returning login's time goes: logs `BENCH_USERS` users in once (first logins), then counts the SQL
 * statements of one returning login and runs returning logins for a CPU profile (run with --cpu-prof).
 * A tool for looking, not part of `npm run bench`.
 */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { LdapAuthModule, LdapLoginService, databaseOptionsFromUrl } from '../libs/ldap-auth/src/index.js';
import { startSlapd } from '../test/support/slapd.js';
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

async function main(): Promise<void> {
  const users = benchUsers(Number(process.env.BENCH_USERS ?? 1000));
  const slapd = await startSlapd({ logLevel: 0 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ldap-profile-'));
  try {
    await seedUsers(slapd, users);
    await seedGroups(slapd, users, 4);
    const url = process.env.PROFILE_DATABASE_URL ?? `sqlite:${path.join(dir, 'p.sqlite')}`;
    @Module({
      imports: [
        TypeOrmModule.forRoot({ ...databaseOptionsFromUrl(url), logging: ['query'], logger: counter }),
        LdapAuthModule.forRoot({
          server: { url: slapd.url, searchBase: slapd.peopleDn },
          defaultOrganisationId: 1,
          groupSync: 'sync_user_groups',
          syncedGroups: benchGroupDns(slapd, 4),
        }),
      ],
    })
    class ProfileModule {}
    const app = await NestFactory.createApplicationContext(ProfileModule, { logger: ['error'] });
    const service = app.get(LdapLoginService);
    counting = true;
    await service.login(users[0].username, users[0].password);
    counting = false;
    console.log(`statements of one first login: ${statements.length}\n  ${statements.join('\n  ')}`);
    statements.length = 0;
    for (const u of users) await service.login(u.username, u.password);
    counting = true;
    const u = users[7];
    console.log(JSON.stringify(await service.login(u.username, u.password)));
    counting = false;
    console.log(`statements of one returning login: ${statements.length}\n  ${statements.join('\n  ')}`);
    const rounds = Number(process.env.PROFILE_ROUNDS ?? 3);
    // Only the returning logins are profiled (PROFILE_OUT names the file), not the seeding or first logins.
    const session = new Session();
    if (process.env.PROFILE_OUT) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let n = 0;
    for (let r = 0; r < rounds; r++) {
      await Promise.all(
        Array.from({ length: 8 }, async (_, lane) => {
          for (let i = lane; i < users.length; i += 8) {
            await service.login(users[i].username, users[i].password);
            n++;
          }
        }),
      );
    }
    const cpu = process.cpuUsage(cpu0);
    if (process.env.PROFILE_OUT) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(process.env.PROFILE_OUT, JSON.stringify(profile));
      session.disconnect();
    }
    const s = (performance.now() - t0) / 1000;
    console.log(
      `${n} returning logins at c=8: ${Math.round(n / s)}/s, CPU ${(((cpu.user + cpu.system) / 1000 / n) * 1).toFixed(3)} ms per login`,
    );
    await app.close();
  } finally {
    await slapd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
