/**
 * The alternative a Nest developer has today, for the HTTP benchmark: `POST /auth/login` guarded by
 * passport-ldapauth through @nestjs/passport, then what such an app writes by hand: find the user with their
 * groups, find or create each group of memberOf, TypeORM `save()` of the user and their groups, and a JWT as
 * the demo app signs it. The same tables as the library's (its entities and migrations), so the database work
 * is comparable. Run as a child process by login.bench.ts, configured by the environment:
 *   PORT, DATABASE_URL, BENCH_LDAP_URL, BENCH_LDAP_SEARCH_BASE, BENCH_LDAP_BIND_DN, BENCH_LDAP_BIND_PASSWORD,
 *   BENCH_ORGANISATION_ID, JWT_SECRET
 */
import 'reflect-metadata';
import { createSecretKey } from 'node:crypto';
import { Controller, HttpCode, Injectable, Module, Post, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Request } from 'express';
import PassportLdapStrategy from 'passport-ldapauth';
import { DataSource } from 'typeorm';
import { GroupEntity, OrganisationEntity, UserEntity, databaseOptionsFromUrl } from '../libs/ldap-auth/src/index.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const ORGANISATION_ID = Number(env('BENCH_ORGANISATION_ID'));

/** What passport-ldapauth hands to `validate`: the entry's attributes as ldapjs reads them. */
interface LdapEntry {
  dn: string;
  uid: string;
  mail?: string;
  givenName?: string;
  sn?: string;
  entryUUID: string;
  memberOf?: string | string[];
}

@Injectable()
class LdapStrategy extends PassportStrategy(PassportLdapStrategy, 'ldapauth') {
  constructor() {
    super({
      server: {
        url: env('BENCH_LDAP_URL'),
        bindDN: env('BENCH_LDAP_BIND_DN'),
        bindCredentials: env('BENCH_LDAP_BIND_PASSWORD'),
        searchBase: env('BENCH_LDAP_SEARCH_BASE'),
        searchFilter: '(uid={{username}})',
        searchAttributes: ['uid', 'mail', 'givenName', 'sn', 'entryUUID', 'memberOf'],
      },
    });
  }

  validate(entry: LdapEntry): LdapEntry {
    return entry;
  }
}

@Controller('auth')
class AuthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly jwt: JwtService,
  ) {}

  @Post('login')
  @HttpCode(200)
  @UseGuards(AuthGuard('ldapauth'))
  async login(@Req() req: Request) {
    const entry = req.user as LdapEntry;
    const users = this.dataSource.getRepository(UserEntity);
    const groups = this.dataSource.getRepository(GroupEntity);
    const user =
      (await users.findOne({ where: { ldapUuid: entry.entryUUID }, relations: { groups: true } })) ??
      users.create({ ldapUuid: entry.entryUUID });
    Object.assign(user, {
      username: entry.uid,
      email: entry.mail ?? null,
      firstName: entry.givenName ?? null,
      lastName: entry.sn ?? null,
      ldapDn: entry.dn,
      isActive: true,
      lastLoginAt: new Date(),
    });
    const memberOf = entry.memberOf === undefined ? [] : [entry.memberOf].flat();
    user.groups = [];
    for (const dn of memberOf) {
      const group =
        (await groups.findOneBy({ organisationId: ORGANISATION_ID, ldapDn: dn })) ??
        (await groups.save({ organisationId: ORGANISATION_ID, ldapDn: dn, name: /^cn=([^,]+)/i.exec(dn)?.[1] ?? dn }));
      user.groups.push(group);
    }
    await users.save(user);
    const accessToken = await this.jwt.signAsync({ sub: String(user.id), username: user.username });
    return {
      accessToken,
      user: {
        id: user.id,
        username: user.username,
        email: user.email,
        firstName: user.firstName,
        lastName: user.lastName,
        groups: user.groups.map((g) => ({ name: g.name, ldapDn: g.ldapDn })),
      },
    };
  }
}

@Module({
  imports: [
    TypeOrmModule.forRoot(databaseOptionsFromUrl(env('DATABASE_URL'))),
    PassportModule,
    // Signed as the demo app signs (a KeyObject, see src/app.module.ts): the comparison is about the login.
    JwtModule.register({ secret: createSecretKey(Buffer.from(env('JWT_SECRET'))), signOptions: { expiresIn: '1h' } }),
  ],
  controllers: [AuthController],
  providers: [LdapStrategy],
})
class PassportAppModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(PassportAppModule, { logger: ['error', 'warn'] });
  const organisations = app.get(DataSource).getRepository(OrganisationEntity);
  if (!(await organisations.existsBy({ id: ORGANISATION_ID }))) {
    await organisations.insert({ id: ORGANISATION_ID, name: 'Default' });
  }
  app.enableShutdownHooks();
  await app.listen(Number(env('PORT')), '127.0.0.1');
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
