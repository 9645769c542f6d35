/**
 * The login security review (StartTLS injection, the identity that bound, the pool under overload, bind
 * result codes, AD specifics), each against the real servers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import ldapjs from 'ldapjs';
import net from 'node:net';
import { Attribute } from 'ldapts';
import { appDataSource, createTestApp, logsOf, postLogin } from './support/app.js';
import { activeDirectoryEnv, openLdapEnv } from './support/env.js';
import { fixtureUser } from './support/fixtures.js';
import { testServers } from './support/servers.js';
import { HIDDEN_SELF_UID } from './support/slapd.js';
import { adminClient, adPassword, sshaPassword } from './support/directory-admin.js';
import { startRecordingProxy, type RecordingProxy } from './support/tcp-proxy.js';
import { startStartTlsInjector, type StartTlsInjector } from './support/starttls-injector.js';
import { testApps } from './support/test-app.js';

const GENERIC_401 = { statusCode: 401, message: 'Invalid username or password', error: 'Unauthorized' };
const alice = fixtureUser('alice');
const { slapd, samba } = testServers();
const slapdPort = Number(new URL(slapd.url).port);

/** Counts the LDAP operations a client sent (clear text only), by protocol operation tag. */
function operations(stream: Buffer): number[] {
  const tags: number[] = [];
  let offset = 0;
  const lengthAt = (at: number): [number, number] => {
    const first = stream[at];
    if (!(first & 0x80)) return [first, 1];
    let value = 0;
    for (let i = 1; i <= (first & 0x7f); i++) value = value * 256 + stream[at + i];
    return [value, 1 + (first & 0x7f)];
  };
  while (offset + 2 <= stream.length) {
    const [length, lengthBytes] = lengthAt(offset + 1);
    const body = offset + 1 + lengthBytes;
    const [idLength, idLengthBytes] = lengthAt(body + 1);
    tags.push(stream[body + 1 + idLengthBytes + idLength]);
    offset = body + length;
  }
  return tags;
}
const BIND_REQUEST = 0x60;
const SEARCH_REQUEST = 0x63;

describe('StartTLS response injection (an on-path attacker without a certificate)', () => {
  const apps = testApps({ closeAfter: 'each', sharedDatabase: 'sqlite' });
  let injector: StartTlsInjector;
  let app: INestApplication | undefined;

  async function appBehindInjector(env: Record<string, string> = {}): Promise<INestApplication> {
    injector = apps.closes(await startStartTlsInjector(slapdPort));
    app = await apps.start(apps.db, {
      ...openLdapEnv(slapd),
      LDAP_AUTH_URL: injector.url,
      LDAP_AUTH_USE_TLS: 'true',
      LDAP_AUTH_TLS_CA_FILE: slapd.caFile,
      ...env,
    });
    return app;
  }

  it.each([
    ['bind', {}],
    [
      'search',
      {
        LDAP_AUTH_LOGIN_MODE: 'search',
        LDAP_SYNC_USER_USERNAME: slapd.serviceDn,
        LDAP_SYNC_USER_PASSWORD: slapd.servicePassword,
      },
    ],
  ])('never logs in with a wrong password in %s mode: the connection is refused (503)', async (_mode, env) => {
    app = await appBehindInjector(env);
    for (let i = 0; i < 3; i++) {
      const res = await postLogin(app, 'alice', 'wrong-password');
      expect(res.status).toBe(503);
    }
    expect(injector.injected).toBeGreaterThan(0);
    expect(logsOf(app).join('\n')).toMatch(/unexpected byte\(s\) followed the server's response/);
    // Nothing was stored for anyone.
    expect(await appDataSource(app).query('SELECT id FROM users')).toEqual([]);
  });
});

describe('the entry that is stored is the identity that bound', () => {
  describe('OpenLDAP: an entry hidden from its own user by ACL, and a same-uid entry elsewhere', () => {
    const apps = testApps();
    let app: INestApplication;
    const hiddenPassword = 'Hidden-pass1';
    const ou = `ou=contractors,${slapd.peopleDn}`;
    const twin = `uid=${HIDDEN_SELF_UID},${ou}`;

    beforeAll(async () => {
      const client = await adminClient(slapd);
      try {
        await client.add(ou, { objectClass: ['top', 'organizationalUnit'], ou: 'contractors' });
        for (const dn of [`uid=${HIDDEN_SELF_UID},${slapd.peopleDn}`, twin]) {
          await client.add(dn, {
            objectClass: ['inetOrgPerson'],
            uid: HIDDEN_SELF_UID,
            cn: dn === twin ? 'Someone Else' : 'Hidden Self',
            sn: 'x',
            userPassword: sshaPassword(dn === twin ? 'Twin-pass1' : hiddenPassword),
          });
        }
      } finally {
        await client.unbind();
      }
      app = await apps.start('sqlite', openLdapEnv(slapd));
    });
    afterAll(async () => {
      const client = await adminClient(slapd);
      for (const dn of [twin, ou, `uid=${HIDDEN_SELF_UID},${slapd.peopleDn}`]) await client.del(dn).catch(() => 0);
      await client.unbind();
    });

    it('refuses to log in as the other entry the search finds (401, reason logged), and stores nothing', async () => {
      const res = await postLogin(app, HIDDEN_SELF_UID, hiddenPassword).expect(401);
      expect(res.body).toEqual(GENERIC_401);
      expect(logsOf(app).join('\n')).toMatch(
        new RegExp(
          `Login refused for "${HIDDEN_SELF_UID}": bound as uid=${HIDDEN_SELF_UID},ou=people.*but the entry found is uid=${HIDDEN_SELF_UID},ou=contractors`,
        ),
      );
      expect(await appDataSource(app).query('SELECT id FROM users')).toEqual([]);
    });
  });

  describe('Samba AD: a user whose userPrincipalName names another user', () => {
    const apps = testApps();
    let app: INestApplication;
    const victim = { name: 'upn-victim', password: 'Victim-pass1' };
    const thief = { name: 'upn-thief', password: 'Thief-pass1' };

    beforeAll(async () => {
      const client = await adminClient(samba);
      try {
        // The thief's UPN names the victim under the NetBIOS domain (Samba refuses one that collides with a
        // sAMAccountName under the DNS realm, but not this), and AD resolves a UPN bind by explicit UPN first.
        for (const [user, upn] of [
          [victim, `${victim.name}@${samba.realm}`],
          [thief, `${victim.name}@${samba.domain}`],
        ] as const) {
          await client.add(`CN=${user.name},${samba.usersDn}`, [
            new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
            new Attribute({ type: 'sAMAccountName', values: [user.name] }),
            ...(upn ? [new Attribute({ type: 'userPrincipalName', values: [upn] })] : []),
            new Attribute({ type: 'unicodePwd', values: [adPassword(user.password)] }),
            new Attribute({ type: 'userAccountControl', values: ['512'] }),
          ]);
        }
      } finally {
        await client.unbind();
      }
      app = await apps.start('sqlite', {
        ...activeDirectoryEnv(samba),
        LDAP_AUTH_FORMAT_USERNAME: 'active_directory_principal',
        LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN: samba.domain,
      });
    });
    afterAll(async () => {
      const client = await adminClient(samba);
      for (const user of [victim, thief]) await client.del(`CN=${user.name},${samba.usersDn}`).catch(() => 0);
      await client.unbind();
    });

    it("refuses the thief's password for the victim's name (401, reason logged)", async () => {
      const res = await postLogin(app, victim.name, thief.password).expect(401);
      expect(res.body).toEqual(GENERIC_401);
      expect(logsOf(app).join('\n')).toMatch(
        /Login refused for "upn-victim": bound as "upn-victim@EXAMPLE", whose security token does not hold the objectSid of CN=upn-victim,/,
      );
      expect(await appDataSource(app).query('SELECT id FROM users')).toEqual([]);
    });

    it("logs the thief in as themself; the victim's UPN now resolves to the thief, so AD refuses the victim there", async () => {
      const res = await postLogin(app, thief.name, thief.password).expect(200);
      expect(res.body.user.username).toBe(thief.name);
      await postLogin(app, victim.name, victim.password).expect(401);
    });
  });
});

describe('the connection pool under overload and failures', () => {
  const apps = testApps({ closeAfter: 'each', sharedDatabase: 'sqlite' });
  let app: INestApplication | undefined;
  let proxy: RecordingProxy | undefined;

  it('answers a burst eight times the pool against a hung server with 503s, each within the timeouts', async () => {
    proxy = apps.closes(await startRecordingProxy(0, 'blackHole'));
    app = await apps.start(apps.db, {
      ...openLdapEnv(slapd),
      LDAP_AUTH_URL: proxy.url,
      LDAP_AUTH_POOL_SIZE: '2',
      LDAP_AUTH_CONNECT_TIMEOUT: '0.3',
      LDAP_AUTH_RECEIVE_TIMEOUT: '0.3',
      LDAP_AUTH_POOL_WAIT_TIMEOUT: '0.5',
    });
    const started = Date.now();
    const answered: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 16 }, () =>
        postLogin(app!, 'alice', alice.password).then((res) => {
          answered.push(Date.now() - started);
          return res.status;
        }),
      ),
    );
    expect(results).toEqual(Array(16).fill(503));
    // Each request is bounded by connect + one operation + the pool wait (0.3 + 0.3 + 0.5 s), not by a queue
    // that drains one failed connection attempt at a time (16 / 2 × 0.3 s = 2.4 s).
    expect(Math.max(...answered)).toBeLessThan(1_100);
  });

  it('refuses at once what does not fit the wait queue (LDAP_AUTH_POOL_MAX_WAITING)', async () => {
    proxy = apps.closes(await startRecordingProxy(0, 'blackHole'));
    app = await apps.start(apps.db, {
      ...openLdapEnv(slapd),
      LDAP_AUTH_URL: proxy.url,
      LDAP_AUTH_POOL_SIZE: '1',
      LDAP_AUTH_POOL_MAX_WAITING: '1',
      LDAP_AUTH_CONNECT_TIMEOUT: '2',
      LDAP_AUTH_RECEIVE_TIMEOUT: '2',
    });
    const results = await Promise.all(Array.from({ length: 4 }, () => postLogin(app!, 'alice', alice.password)));
    expect(results.map((r) => r.status)).toEqual([503, 503, 503, 503]);
    expect(logsOf(app).join('\n')).toMatch(/all 1 LDAP connections are busy and 1 requests are already waiting/);
  });

  it('keeps the connection after a wrong password: failed logins open no new connections', async () => {
    proxy = apps.closes(await startRecordingProxy(slapdPort));
    app = await apps.start(apps.db, { ...openLdapEnv(slapd), LDAP_AUTH_URL: proxy.url });
    proxy.reset(); // the start-up probe's connection (its own, closed)
    for (let i = 0; i < 5; i++) await postLogin(app, 'bob', `wrong-${i}`).expect(401);
    await postLogin(app, 'bob', fixtureUser('bob').password).expect(200);
    expect(proxy.connections).toBe(1);
  });

  it('in search mode, an unknown user costs the same round trips as a wrong password (a search and a bind)', async () => {
    proxy = apps.closes(await startRecordingProxy(slapdPort));
    app = await apps.start(apps.db, {
      ...openLdapEnv(slapd),
      LDAP_AUTH_URL: proxy.url,
      LDAP_AUTH_LOGIN_MODE: 'search',
      LDAP_SYNC_USER_USERNAME: slapd.serviceDn,
      LDAP_SYNC_USER_PASSWORD: slapd.servicePassword,
    });
    // Warm up both pools so connection set-up does not count.
    await postLogin(app, 'bob', fixtureUser('bob').password).expect(200);
    const count = async (username: string) => {
      proxy!.reset();
      await postLogin(app!, username, 'Wrong-pass1').expect(401);
      const ops = operations(proxy!.sent());
      return {
        binds: ops.filter((t) => t === BIND_REQUEST).length,
        searches: ops.filter((t) => t === SEARCH_REQUEST).length,
      };
    };
    const wrongPassword = await count('bob');
    const unknownUser = await count('nobody-at-all');
    expect(wrongPassword).toEqual({ binds: 1, searches: 1 });
    expect(unknownUser).toEqual(wrongPassword);
  });
});

describe('every refused bind is a 401 with its reason logged (a server that answers 19 and 48)', () => {
  let server: ldapjs.Server;
  let url: string;
  const apps = testApps();
  let app: INestApplication;

  beforeAll(async () => {
    // A real LDAP server speaking the protocol, refusing binds the way some servers refuse locked accounts
    // (ldapjs sends no diagnostic message, so the reason is the result's name and code).
    server = ldapjs.createServer();
    server.bind(
      'ou=people,dc=example,dc=com',
      (req: { dn: { toString(): string } }, _res: unknown, next: (e: unknown) => void) => {
        const dn = req.dn.toString();
        if (dn.includes('locked')) return next(new ldapjs.ConstraintViolationError('account is locked'));
        return next(new ldapjs.InappropriateAuthenticationError('account needs another mechanism'));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `ldap://127.0.0.1:${(server as unknown as { address(): net.AddressInfo }).address().port}`;
    app = await apps.start('sqlite', { LDAP_AUTH_URL: url });
  });
  afterAll(() => {
    server?.close(() => undefined);
  });

  it.each([
    ['locked', /Login refused for "locked": the server refused the bind: constraintViolation \(19\)/],
    ['policy', /Login refused for "policy": the server refused the bind: inappropriateAuthentication \(48\)/],
  ])('%s: 401 with the generic body', async (username, logged) => {
    const res = await postLogin(app, username, 'Some-pass1').expect(401);
    expect(res.body).toEqual(GENERIC_401);
    expect(logsOf(app).join('\n')).toMatch(logged);
  });
});

describe('Active Directory: users in no group, computer accounts', () => {
  const apps = testApps({ closeAfter: 'each', sharedDatabase: 'sqlite' });
  let app: INestApplication | undefined;
  const loner = { name: 'no-groups-user', password: 'Loner-pass1' };
  const computer = { name: 'WS-E2E$', password: 'Computer-pass1-long' };

  beforeAll(async () => {
    const client = await adminClient(samba);
    try {
      await client.add(`CN=${loner.name},${samba.usersDn}`, [
        new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
        new Attribute({ type: 'sAMAccountName', values: [loner.name] }),
        new Attribute({ type: 'unicodePwd', values: [adPassword(loner.password)] }),
        new Attribute({ type: 'userAccountControl', values: ['512'] }),
      ]);
      // A workstation account (userAccountControl WORKSTATION_TRUST_ACCOUNT), which any user may create.
      await client.add(`CN=WS-E2E,CN=Computers,${samba.baseDn}`, [
        new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user', 'computer'] }),
        new Attribute({ type: 'sAMAccountName', values: [computer.name] }),
        new Attribute({ type: 'unicodePwd', values: [adPassword(computer.password)] }),
        new Attribute({ type: 'userAccountControl', values: ['4096'] }),
      ]);
    } finally {
      await client.unbind();
    }
  });
  afterAll(async () => {
    const client = await adminClient(samba);
    await client.del(`CN=${loner.name},${samba.usersDn}`).catch(() => 0);
    await client.del(`CN=WS-E2E,CN=Computers,${samba.baseDn}`).catch(() => 0);
    await client.unbind();
  });

  it('logs in a user who belongs to no group, with group sync on and the domain root as search base', async () => {
    app = await apps.start(apps.db, {
      ...activeDirectoryEnv(samba),
      LDAP_AUTH_SEARCH_BASE: samba.baseDn,
      LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_SYNCED_GROUPS: `CN=developers,${samba.groupsDn}`,
    });
    const res = await postLogin(app, loner.name, loner.password).expect(200);
    expect(res.body.user.groups).toEqual([]);
    // Grouped users still get their groups in the same configuration.
    const bob = await postLogin(app, 'bob', fixtureUser('bob').password).expect(200);
    expect((bob.body as { user: { groups: Array<{ name: string }> } }).user.groups.map((g) => g.name)).toEqual([
      'developers',
    ]);
  });

  it('never lets a computer account log in (objectCategory=person with LDAP_AUTH_OBJECT_CLASS=user)', async () => {
    app = await apps.start(apps.db, {
      ...activeDirectoryEnv(samba),
      LDAP_AUTH_SEARCH_BASE: samba.baseDn,
    });
    const res = await postLogin(app, computer.name, computer.password).expect(401);
    expect(res.body).toEqual(GENERIC_401);
    expect(logsOf(app).join('\n')).toMatch(/Login refused for "WS-E2E\$": no entry matches the username/);
  });
});

describe('OpenLDAP: a user in no group', () => {
  const apps = testApps();
  let app: INestApplication;
  const loner = `uid=loner,${slapd.peopleDn}`;

  beforeAll(async () => {
    const client = await adminClient(slapd);
    await client.add(loner, {
      objectClass: ['inetOrgPerson'],
      uid: 'loner',
      cn: 'Lone Ranger',
      sn: 'Ranger',
      userPassword: sshaPassword('Loner-pass1'),
    });
    await client.unbind();
    // Search mode from the naming context's root: the old default group base, its parent (dc=com), did not exist.
    app = await apps.start('sqlite', {
      ...openLdapEnv(slapd),
      LDAP_AUTH_SEARCH_BASE: slapd.baseDn,
      LDAP_AUTH_LOGIN_MODE: 'search',
      LDAP_SYNC_USER_USERNAME: slapd.serviceDn,
      LDAP_SYNC_USER_PASSWORD: slapd.servicePassword,
      LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
      LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
      LDAP_SYNCED_GROUPS: `cn=developers,${slapd.groupsDn}`,
    });
  });
  afterAll(async () => {
    const client = await adminClient(slapd);
    await client.del(loner).catch(() => 0);
    await client.unbind();
  });

  it('logs in with no groups, and a grouped user keeps theirs', async () => {
    const res = await postLogin(app, 'loner', 'Loner-pass1').expect(200);
    expect(res.body.user.groups).toEqual([]);
    const bob = await postLogin(app, 'bob', fixtureUser('bob').password).expect(200);
    expect((bob.body as { user: { groups: Array<{ name: string }> } }).user.groups.map((g) => g.name)).toEqual([
      'developers',
    ]);
  });
});

describe('plain ldap:// without StartTLS', () => {
  const apps = testApps({ sharedDatabase: 'sqlite' });

  const startupLogs = async (env: Record<string, string>) => {
    const app = await createTestApp({ ...openLdapEnv(slapd), DATABASE_URL: apps.db.url, ...env });
    const logs = logsOf(app).filter((line) => line.includes('[LdapDirectory]'));
    await app.close();
    return logs;
  };

  it('warns at every start that passwords cross the network in clear text', async () => {
    expect(await startupLogs({})).toContainEqual(
      expect.stringMatching(
        /^WARN \[LdapDirectory\] ldap:\/\/127\.0\.0\.1:\d+ without StartTLS: passwords cross the network in clear text/,
      ),
    );
  });

  it('says so at error level with NODE_ENV=production', async () => {
    expect(await startupLogs({ NODE_ENV: 'production' })).toContainEqual(
      expect.stringMatching(/^ERROR \[LdapDirectory\] INSECURE: ldap:\/\/127\.0\.0\.1:\d+ without StartTLS/),
    );
  });

  it('is quiet with StartTLS or ldaps://', async () => {
    expect(await startupLogs({ LDAP_AUTH_USE_TLS: 'true', LDAP_AUTH_TLS_CA_FILE: slapd.caFile })).toEqual([]);
    expect(await startupLogs({ LDAP_AUTH_URL: slapd.ldapsUrl, LDAP_AUTH_TLS_CA_FILE: slapd.caFile })).toEqual([]);
  });
});
