/**
 * The scratch app of scripts/check-package.sh: an app outside the workspace that installed the packed library
 * from its tarball. It boots against the embedded directory from `./testing` and PostgreSQL, logs alice in over
 * HTTP, checks that a wrong password is refused, and exits 0 only then. Usage: node dist/app.js <ldif> <db url>
 */
import 'reflect-metadata';
import { Controller, Module, Post, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  LDAP_AUTH_ENTITIES,
  LDAP_AUTH_MIGRATIONS,
  LdapAuthModule,
  LdapGuard,
  type AppUser,
} from '@nest-ldap-auth/ldap-auth';
import { EmbeddedDirectory } from '@nest-ldap-auth/ldap-auth/testing';

@Controller('auth')
class AuthController {
  @Post('login')
  @UseGuards(LdapGuard)
  login(@Req() req: { user: AppUser }): AppUser {
    return req.user;
  }
}

async function main(ldifPath: string, databaseUrl: string): Promise<void> {
  const directory = await EmbeddedDirectory.start({ ldifPath });

  @Module({
    imports: [
      // What a user's own TypeOrmModule must list: the library's entities and migrations.
      TypeOrmModule.forRoot({
        type: 'postgres',
        url: databaseUrl,
        entities: LDAP_AUTH_ENTITIES,
        migrations: LDAP_AUTH_MIGRATIONS,
        migrationsRun: true,
      }),
      LdapAuthModule.forRoot({ server: { url: directory.url, searchBase: 'ou=people,dc=example,dc=com' } }),
    ],
    controllers: [AuthController],
  })
  class AppModule {}

  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  try {
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    const login = (password: string): Promise<Response> =>
      fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password }),
      });

    const ok = await login('alice-password');
    const user = (await ok.json()) as Partial<AppUser>;
    if (ok.status !== 201 || user.username !== 'alice' || user.email !== 'alice@example.com')
      throw new Error(`alice's login: HTTP ${ok.status} ${JSON.stringify(user)}`);
    const refused = await login('not-her-password');
    if (refused.status !== 401) throw new Error(`a wrong password: HTTP ${refused.status}, expected 401`);
    console.log(`logged alice in (user ${user.id}) and refused a wrong password`);
  } finally {
    await app.close();
    await directory.stop();
  }
}

const [ldifPath, databaseUrl] = process.argv.slice(2);
if (!ldifPath || !databaseUrl) throw new Error('usage: node app.js <ldif> <database url>');
await main(ldifPath, databaseUrl);
