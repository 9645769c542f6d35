/**
 * The four ways of logging in that the benchmark compares. Each one resolves 'ok' for a login that succeeded
 * and returned the right user, 'refused' for one the directory (or the library) turned down, and throws for
 * anything else (server unreachable, protocol error).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Client, InvalidCredentialsError as LdapInvalidCredentials } from 'ldapts';
import PassportLdapStrategy from 'passport-ldapauth';
import {
  InvalidCredentialsError,
  LdapAuthModule,
  LdapDirectory,
  LdapLoginService,
  OpenLdapUsernameFormatter,
  databaseOptionsFromUrl,
  resolveLdapAuthOptions,
} from '../libs/ldap-auth/src/index.js';
import type { SlapdInfo } from '../test/support/slapd.js';

export type Outcome = 'ok' | 'refused';

export interface LoginImplementation {
  /** Row label in the table. */
  name: string;
  /** Short key for the JSON file. */
  key: string;
  login(username: string, password: string): Promise<Outcome>;
  close(): Promise<void>;
}

/** What every implementation reads from the user's entry (the library's list, so the work is the same). */
const USER_ATTRIBUTES = ['uid', 'mail', 'givenName', 'sn', 'entryUUID', 'objectGUID', 'memberOf'];
const TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;

/** A hand-written ldapts login: new connection, bind as the user, read the user's own entry, unbind. */
export function rawLdapts(slapd: SlapdInfo): LoginImplementation {
  return {
    name: 'raw ldapts, new connection per login',
    key: 'raw-ldapts',
    async login(username, password) {
      const client = new Client({ url: slapd.url, timeout: TIMEOUT_MS, connectTimeout: CONNECT_TIMEOUT_MS });
      try {
        try {
          await client.bind(`uid=${username},${slapd.peopleDn}`, password);
        } catch (error) {
          if (error instanceof LdapInvalidCredentials) return 'refused';
          throw error;
        }
        const { searchEntries } = await client.search(slapd.peopleDn, {
          scope: 'sub',
          filter: `(&(objectClass=inetOrgPerson)(uid=${username}))`,
          attributes: USER_ATTRIBUTES,
          sizeLimit: 2,
        });
        return searchEntries.length === 1 && searchEntries[0].uid === username ? 'ok' : 'refused';
      } finally {
        await client.unbind().catch(() => undefined);
      }
    },
    close: () => Promise.resolve(),
  };
}

interface PassportLike {
  authenticate(req: unknown): void;
  success(user: unknown): void;
  fail(challenge?: unknown): void;
  error(error: Error): void;
}

/**
 * passport-ldapauth as an app would use it: one Strategy; passport calls it on a per-request copy whose
 * success/fail/error it sets (Object.create, as passport's authenticate middleware does). Each login opens
 * a service-account connection and a user connection (ldapauth-fork), then closes both.
 */
export function passportLdapauth(slapd: SlapdInfo): LoginImplementation {
  const strategy = new PassportLdapStrategy({
    server: {
      url: slapd.url,
      bindDN: slapd.serviceDn,
      bindCredentials: slapd.servicePassword,
      searchBase: slapd.peopleDn,
      searchFilter: '(uid={{username}})',
      searchAttributes: USER_ATTRIBUTES,
      timeout: TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
    },
  }) as unknown as PassportLike;
  return {
    name: 'passport-ldapauth',
    key: 'passport-ldapauth',
    login(username, password) {
      return new Promise<Outcome>((resolve, reject) => {
        const request = Object.create(strategy) as PassportLike;
        request.success = (user) => resolve((user as { uid?: unknown }).uid === username ? 'ok' : 'refused');
        request.fail = () => resolve('refused');
        request.error = (error) => reject(error);
        request.authenticate({ body: { username, password }, query: {} });
      });
    },
    close: () => Promise.resolve(),
  };
}

/** The library's LDAP path alone: LdapDirectory's pooled user connections, bind then findUser. */
export function ourDirectory(slapd: SlapdInfo, poolSize?: number): LoginImplementation {
  const options = resolveLdapAuthOptions({ server: { url: slapd.url, searchBase: slapd.peopleDn, poolSize } });
  const formatter = new OpenLdapUsernameFormatter(options);
  const directory = new LdapDirectory(options, formatter);
  return {
    name: poolSize ? `ours: LdapDirectory, poolSize ${poolSize}` : 'ours: LdapDirectory',
    key: poolSize ? `ours-directory-pool${poolSize}` : 'ours-directory',
    async login(username, password) {
      try {
        const user = await directory.withUserSession(formatter.toBindName(username), password, (session) =>
          session.findUser(username),
        );
        return user.username === username ? 'ok' : 'refused';
      } catch (error) {
        if (error instanceof InvalidCredentialsError) return 'refused';
        throw error;
      }
    },
    close: () => directory.onApplicationShutdown(),
  };
}

/** The whole login: LdapLoginService in a Nest application context, recording each login in SQLite. */
export async function ourFullLogin(slapd: SlapdInfo): Promise<LoginImplementation> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ldap-bench-sqlite-'));
  let app: INestApplicationContext | undefined;
  try {
    @Module({
      imports: [
        TypeOrmModule.forRoot(databaseOptionsFromUrl(`sqlite:${path.join(dir, 'bench.sqlite')}`)),
        LdapAuthModule.forRoot({ server: { url: slapd.url, searchBase: slapd.peopleDn } }),
      ],
    })
    class BenchModule {}
    // Errors only: the service logs every login (and every refusal, as a warning).
    app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const context = app;
  const service = context.get(LdapLoginService);
  return {
    name: 'ours: full login (LdapLoginService + SQLite)',
    key: 'ours-full-login-sqlite',
    async login(username, password) {
      try {
        const user = await service.login(username, password);
        return user.username === username ? 'ok' : 'refused';
      } catch (error) {
        if (error instanceof InvalidCredentialsError) return 'refused';
        throw error;
      }
    },
    async close() {
      try {
        await context.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
