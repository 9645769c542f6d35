import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { Client, InvalidCredentialsError } from 'ldapts';
import { createTestApp, logsOf, postLogin } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { activeDirectoryEnv } from './support/env.js';
import type { FixtureUser } from './support/fixtures.js';
import { testServers, type SambaInfo } from './support/servers.js';
import {
  applyPasswordSettings,
  createUser,
  deletePasswordSettings,
  deleteUser,
  requirePasswordChange,
  setAccountDisabled,
  setAccountExpires,
  setPasswordAsOf,
} from './support/directory-admin.js';

const GENERIC_401 = { statusCode: 401, message: 'Invalid username or password', error: 'Unauthorized' };
const DAY_MS = 24 * 3600 * 1000;
const LOCKOUT_PSO = 'e2e-lockout-st-locked';

/** Accounts of this file only: the shared fixture users stay untouched. */
function stateUser(username: string): FixtureUser {
  return {
    username,
    password: `${username}-Pass1`,
    givenName: 'State',
    sn: username,
    mail: `${username}@example.com`,
  };
}

/** A simple bind as the user, straight to Samba (not through the app). */
async function directBind(samba: SambaInfo, username: string, password: string): Promise<unknown> {
  const client = new Client({
    url: samba.url,
    timeout: 5000,
    connectTimeout: 5000,
    tlsOptions: { ca: readFileSync(samba.caFile), servername: samba.servername },
  });
  try {
    await client.bind(`${samba.domain}\\${username}`, password);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

interface AccountState {
  title: string;
  user: FixtureUser;
  /** The AD sub-code in the bind error, and what the library logs for it. */
  subCode: string;
  reason: string;
  apply(samba: SambaInfo, user: FixtureUser): Promise<void>;
}

const STATES: AccountState[] = [
  {
    title: 'a disabled account',
    user: stateUser('st-disabled'),
    subCode: '533',
    reason: 'account disabled',
    apply: (samba, user) => setAccountDisabled(samba, user.username, true),
  },
  {
    title: 'an account that must change its password',
    user: stateUser('st-must-change'),
    subCode: '773',
    reason: 'password must be changed',
    apply: (samba, user) => requirePasswordChange(samba, user.username),
  },
  {
    title: 'an expired account',
    user: stateUser('st-acct-expired'),
    subCode: '701',
    reason: 'account expired',
    apply: (samba, user) => setAccountExpires(samba, user.username, new Date(Date.now() - DAY_MS)),
  },
  {
    title: 'an expired password',
    user: stateUser('st-pwd-expired'),
    subCode: '532',
    reason: 'password expired',
    // A year old: past the domain's maximum password age (42 days).
    apply: (samba, user) => setPasswordAsOf(samba, user.username, user.password, new Date(Date.now() - 365 * DAY_MS)),
  },
  {
    title: 'a locked-out account',
    user: stateUser('st-locked'),
    subCode: '775',
    reason: 'account locked',
    async apply(samba, user) {
      // Lockout for this user only: the domain threshold stays 0, so suites that try wrong passwords on the
      // shared users never lock them.
      await applyPasswordSettings(samba, LOCKOUT_PSO, user.username, { lockoutThreshold: 2 });
      for (let attempt = 0; attempt < 2; attempt++) {
        expect(await directBind(samba, user.username, 'Not-the-password-1')).toBeInstanceOf(InvalidCredentialsError);
      }
    },
  },
];

describe('account states on Samba AD', () => {
  const { samba } = testServers();
  let app: INestApplication;
  let db: TestDatabase;

  beforeAll(async () => {
    // Left over by an earlier run against the same server (watch mode).
    await deletePasswordSettings(samba, LOCKOUT_PSO).catch(() => undefined);
    for (const { user } of STATES) {
      await deleteUser(samba, user.username).catch(() => undefined);
      await createUser(samba, user);
    }
    db = await createTestDatabase('sqlite');
    app = await createTestApp({ ...activeDirectoryEnv(samba), DATABASE_URL: db.url });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await deletePasswordSettings(samba, LOCKOUT_PSO).catch(() => undefined);
    for (const { user } of STATES) await deleteUser(samba, user.username).catch(() => undefined);
  });

  it.each(STATES.map((state) => [state.title, state] as const))(
    'refuses %s with the generic 401 and logs why',
    async (_title, state) => {
      const { user } = state;
      // The account works until the state is applied: the 401 below is the state's doing.
      await postLogin(app, user.username, user.password).expect(200);

      await state.apply(samba, user);
      const bind = await directBind(samba, user.username, user.password);
      expect(bind).toBeInstanceOf(InvalidCredentialsError);
      expect((bind as Error).message).toMatch(new RegExp(`\\bdata ${state.subCode}\\b`));

      // The right password, through the app.
      const res = await postLogin(app, user.username, user.password).expect(401);
      expect(res.body).toEqual(GENERIC_401);
      expect(logsOf(app)).toContainEqual(
        expect.stringMatching(
          new RegExp(`Login refused for "${user.username}": ${state.reason} \\(AD data ${state.subCode}\\)`),
        ),
      );
    },
  );
});
