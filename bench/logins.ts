/**
 * The four ways of logging in that the benchmark compares. Each one resolves 'ok' for a login that succeeded
 * and returned the right user, 'refused' for one the directory (or the library) turned down, and throws for
 * anything else (server unreachable, protocol error).
 */
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Client, InvalidCredentialsError as LdapInvalidCredentials } from 'ldapts';
import PassportLdapStrategy from 'passport-ldapauth';
import {
  InvalidCredentialsError,
  LdapAuthModule,
  LdapLoginService,
  OpenLdapUsernameFormatter,
  databaseOptionsFromUrl,
  resolveLdapAuthOptions,
} from '../libs/ldap-auth/src/index.js';
// Internal, not part of the package's surface: this file reads the directory through it directly.
import { LdapDirectory } from '../libs/ldap-auth/src/directory/ldap-directory.js';
import type { SlapdInfo } from '../test/support/slapd.js';
import type { DatabaseServer } from './cpu.js';

export type Outcome = 'ok' | 'refused';

export interface LoginImplementation {
  /** Row label in the table. */
  name: string;
  /** Short key for the JSON file. */
  key: string;
  /** The app's own process when it runs in one (the HTTP scenario), for its CPU. */
  pid?: number;
  /** The port an app in its own process listens on (HTTP scenario). */
  port?: number;
  /** The database server whose processes' CPU the cells measure (PostgreSQL's or MariaDB's). */
  postgres?: DatabaseServer;
  login(username: string, password: string): Promise<Outcome>;
  /** BENCH_APP_PROFILE: an app in its own process writes its CPU profile so far (one file per mode). */
  profileSoFar?(): Promise<void>;
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

/**
 * The fair raw baseline: hand-written ldapts on persistent connections. A login takes an idle connection (or
 * opens one, up to `poolSize`; beyond that it waits its turn), binds as the user, reads the entry, and puts the
 * connection back still open. What the library's pooled path does, minus everything the library adds.
 */
export function rawLdaptsPooled(slapd: SlapdInfo, poolSize: number): LoginImplementation {
  const idle: Client[] = [];
  const waiting: Array<(client: Client) => void> = [];
  const all = new Set<Client>();
  const acquire = (): Promise<Client> => {
    const client = idle.pop();
    if (client) return Promise.resolve(client);
    if (all.size < poolSize) {
      const fresh = new Client({ url: slapd.url, timeout: TIMEOUT_MS, connectTimeout: CONNECT_TIMEOUT_MS });
      all.add(fresh);
      return Promise.resolve(fresh);
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (client: Client, healthy: boolean): void => {
    if (!healthy) {
      // A connection in an unknown state is not handed on: the next login opens a new one.
      all.delete(client);
      void client.unbind().catch(() => undefined);
      const next = waiting.shift();
      if (next) void acquire().then(next);
      return;
    }
    const next = waiting.shift();
    if (next) next(client);
    else idle.push(client);
  };
  return {
    name: `raw ldapts, pooled (${poolSize})`,
    key: `raw-ldapts-pool${poolSize}`,
    async login(username, password) {
      const client = await acquire();
      let healthy = false;
      try {
        try {
          await client.bind(`uid=${username},${slapd.peopleDn}`, password);
        } catch (error) {
          // A refused bind leaves the connection open and anonymous: still usable.
          if (error instanceof LdapInvalidCredentials) {
            healthy = true;
            return 'refused';
          }
          throw error;
        }
        const { searchEntries } = await client.search(slapd.peopleDn, {
          scope: 'sub',
          filter: `(&(objectClass=inetOrgPerson)(uid=${username}))`,
          attributes: USER_ATTRIBUTES,
          sizeLimit: 2,
        });
        healthy = true;
        return searchEntries.length === 1 && searchEntries[0].uid === username ? 'ok' : 'refused';
      } finally {
        release(client, healthy);
      }
    },
    async close() {
      await Promise.all([...all].map((client) => client.unbind().catch(() => undefined)));
      all.clear();
      idle.length = 0;
    },
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

/**
 * The whole login: LdapLoginService in a Nest application context, recording each login in the database
 * (`databaseUrl`), with the groups mirrored at login (LDAP_SYNCED_GROUPS) as the HTTP scenario's demo app does.
 */
export async function ourFullLogin(
  slapd: SlapdInfo,
  database: { url: string; label: string; key: string },
  groupDns: string[],
  organisationId: number,
  poolSize?: number,
): Promise<LoginImplementation> {
  @Module({
    imports: [
      TypeOrmModule.forRoot(databaseOptionsFromUrl(database.url)),
      LdapAuthModule.forRoot({
        server: { url: slapd.url, searchBase: slapd.peopleDn, poolSize },
        groupSync: 'sync_user_groups',
        defaultOrganisationId: organisationId,
        syncedGroups: groupDns,
      }),
    ],
  })
  class BenchModule {}
  // Errors only: the service logs every login (and every refusal, as a warning).
  const context: INestApplicationContext = await NestFactory.createApplicationContext(BenchModule, {
    logger: ['error'],
  });
  const service = context.get(LdapLoginService);
  return {
    name: `ours: full login (LdapLoginService + ${database.label})`,
    postgres: databaseServerOf(database.key),
    key: `ours-full-login-${database.key}`,
    async login(username, password) {
      try {
        const user = await service.login(username, password);
        return user.username === username ? 'ok' : 'refused';
      } catch (error) {
        if (error instanceof InvalidCredentialsError) return 'refused';
        throw error;
      }
    },
    close: () => context.close(),
  };
}

/** The server process of a database kind or URL scheme (none for SQLite, which runs in the app). */
export function databaseServerOf(kind: string): DatabaseServer | undefined {
  if (kind === 'postgres' || kind === 'postgresql') return 'postgres';
  if (kind === 'mariadb' || kind === 'mysql') return 'mariadbd';
  return undefined;
}
