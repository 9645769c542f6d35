import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  databaseOptionsFromUrl,
  type DirectoryUser,
  GroupSync,
  type GroupSyncPlan,
  InvalidCredentialsError,
  ldapAuthConfig,
  LdapAuthModule,
  type LdapAuthModuleExtras,
  type LdapAuthModuleOptions,
  LdapLoginService,
  normalizeDn,
  UsernameFormatter,
} from '@nest-ldap-auth/ldap-auth';
import { EmbeddedDirectory } from '@nest-ldap-auth/ldap-auth/testing';

/**
 * How an app wires the module: each forRoot/forRootAsync variant and each pluggable class, against the
 * embedded directory (a real LDAP server over TCP) and an in-memory SQLite database.
 */
let directory: EmbeddedDirectory;
const developers = 'cn=developers,ou=groups,dc=example,dc=com';

beforeAll(async () => {
  directory = await EmbeddedDirectory.start({ ldifPath: 'dev/directory.ldif' });
});
afterAll(async () => {
  await directory?.stop();
});

const baseOptions = (): LdapAuthModuleOptions => ({
  server: { url: directory.url, searchBase: 'ou=people,dc=example,dc=com' },
});

async function loginServiceFor(ldapModule: ReturnType<typeof LdapAuthModule.forRoot>) {
  const moduleRef = await Test.createTestingModule({
    imports: [TypeOrmModule.forRoot(databaseOptionsFromUrl('sqlite::memory:')), ldapModule],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return { app, login: app.get(LdapLoginService) };
}

/** Lets people log in with their e-mail address: `alice@example.com` binds as uid=alice. */
@Injectable()
class EmailFormatter extends UsernameFormatter {
  toLookupName(input: string): string {
    const [local, domain] = input.split('@');
    if (domain !== 'example.com' || !local) throw new InvalidCredentialsError('not an example.com address');
    return local;
  }

  toBindName(lookupName: string): string {
    return `uid=${lookupName},ou=people,dc=example,dc=com`;
  }
}

/** Puts every member of developers in an app group called "Engineering staff". */
@Injectable()
class StaffGroupSync extends GroupSync {
  managedGroupDns(): string[] {
    return [normalizeDn(developers)];
  }

  plan(_user: DirectoryUser, memberOf: ReadonlySet<string>): GroupSyncPlan {
    const ldapDn = normalizeDn(developers);
    return memberOf.has(ldapDn)
      ? { organisationId: 1, join: [{ ldapDn, name: 'Engineering staff' }], leave: [] }
      : { organisationId: 1, join: [], leave: [ldapDn] };
  }
}

describe('LdapAuthModule wiring', () => {
  it('forRoot with static options', async () => {
    const { app, login } = await loginServiceFor(LdapAuthModule.forRoot(baseOptions()));
    try {
      expect((await login.login('alice', 'alice-password')).username).toBe('alice');
      await expect(login.login('alice', 'wrong')).rejects.toThrow(InvalidCredentialsError);
    } finally {
      await app.close();
    }
  });

  it('forRootAsync with a factory', async () => {
    @Module({ providers: [{ provide: 'LDAP_URL', useFactory: () => directory.url }], exports: ['LDAP_URL'] })
    class UrlModule {}
    const { app, login } = await loginServiceFor(
      LdapAuthModule.forRootAsync({
        imports: [UrlModule],
        inject: ['LDAP_URL'],
        useFactory: (url: string) => ({ server: { url, searchBase: 'ou=people,dc=example,dc=com' } }),
      }),
    );
    try {
      expect((await login.login('bob', 'bob-password')).lastName).toBe('Müller');
    } finally {
      await app.close();
    }
  });

  it('forRootAsync from the environment through @nestjs/config', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { LDAP_AUTH_URL: directory.url, LDAP_AUTH_SEARCH_BASE: 'ou=people,dc=example,dc=com' });
    try {
      const { app, login } = await loginServiceFor(LdapAuthModule.forRootAsync(ldapAuthConfig.asProvider()));
      try {
        expect((await login.login('carol', 'carol-password')).firstName).toBe('Carol');
      } finally {
        await app.close();
      }
    } finally {
      process.env = saved;
    }
  });

  it('uses the username formatter the app provides', async () => {
    const extras: LdapAuthModuleExtras = { usernameFormatterClass: EmailFormatter };
    const { app, login } = await loginServiceFor(LdapAuthModule.forRoot({ ...baseOptions(), ...extras }));
    try {
      expect((await login.login('alice@example.com', 'alice-password')).username).toBe('alice');
      await expect(login.login('alice@elsewhere.org', 'alice-password')).rejects.toThrow(InvalidCredentialsError);
    } finally {
      await app.close();
    }
  });

  it('uses the group sync the app provides', async () => {
    const { app, login } = await loginServiceFor(
      LdapAuthModule.forRoot({ ...baseOptions(), defaultOrganisationId: 1, groupSyncClass: StaffGroupSync }),
    );
    try {
      expect((await login.login('alice', 'alice-password')).groups).toEqual([
        { name: 'Engineering staff', ldapDn: normalizeDn(developers) },
      ]);
      expect((await login.login('carol', 'carol-password')).groups).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('refuses options that cannot work, naming the option', async () => {
    await expect(
      loginServiceFor(LdapAuthModule.forRoot({ ...baseOptions(), groupSync: 'sync_user_groups' })),
    ).rejects.toThrow(/groupSync "sync_user_groups" needs defaultOrganisationId/);
    await expect(loginServiceFor(LdapAuthModule.forRoot({ server: { url: 'http://x' } }))).rejects.toThrow(
      /server.url: "http:\/\/x" is not an ldap/,
    );
  });
});
