/**
 * `npm run ldap:check`: the built dist/ldap-check.js as a child process, against the real slapd and Samba AD,
 * given the environment and (for --user) the password on stdin. Every step's outcome, the exit codes, what
 * the failures name, that no password is ever printed, and that no credential crosses a connection whose
 * certificate did not verify (a recording proxy sees every byte).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CheckReport, CheckStep } from '@nest-ldap-auth/ldap-auth';
import {
  activeDirectoryEnv,
  DIRECTORY_KINDS,
  type DirectoryKind,
  groupDnOf,
  openLdapEnv,
  serviceAccountEnv,
} from './support/env.js';
import { fixtureUser, SERVICE_ACCOUNT, USERS } from './support/fixtures.js';
import { testServers } from './support/servers.js';
import { closedPort, startRecordingProxy, type RecordingProxy } from './support/tcp-proxy.js';

const CHECK_JS = fileURLToPath(new URL('../dist/ldap-check.js', import.meta.url));
const { slapd, samba } = testServers();
const alice = fixtureUser('alice');

/** Every password of the run: none may ever appear in the check's output. */
const SECRETS = [
  ...USERS.map((u) => u.password),
  SERVICE_ACCOUNT.password,
  slapd.servicePassword,
  samba.servicePassword,
  slapd.adminPassword,
  samba.adminPassword,
  'Wrong-pass1',
];

interface CheckRun {
  code: number | null;
  stdout: string;
  stderr: string;
  report: CheckReport;
}

/** Runs `npm run ldap:check`'s script with this environment, writing `stdin` (the password) to it. */
function runCheck(env: Record<string, string>, args: string[] = [], stdin = ''): Promise<CheckRun> {
  const child = spawn(process.execPath, [CHECK_JS, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined);
  child.stdin.end(stdin);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      let report = undefined as unknown as CheckReport;
      if (args.includes('--json')) report = JSON.parse(stdout) as CheckReport;
      resolve({ code, stdout, stderr, report });
    }),
  );
}

const json = (env: Record<string, string>, args: string[] = [], stdin = '') =>
  runCheck(env, ['--json', ...args], stdin);

function step(report: CheckReport, id: string): CheckStep {
  const found = report.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step ${id} in ${report.steps.map((s) => s.id).join(', ')}`);
  return found;
}

const statuses = (report: CheckReport) => Object.fromEntries(report.steps.map((s) => [s.id, s.status]));

/** No password of the run in anything the check printed, on stdout or stderr. */
function expectNoSecrets(run: CheckRun): void {
  for (const secret of SECRETS) {
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  }
}

/** Whether `secret` crossed the wire in clear text (as UTF-8, the way an LDAP simple bind carries it). */
const leaked = (proxy: RecordingProxy, secret: string) => proxy.sent().includes(Buffer.from(secret, 'utf8'));

/** The full configuration on each server: TLS, the service account, listed groups, a login group, nesting. */
function fullEnv(kind: DirectoryKind): Record<string, string> {
  const groups = ['developers', 'admins', 'engineering'].map((cn) => groupDnOf(kind, cn)).join(':');
  return {
    ...(kind === 'openldap'
      ? { ...openLdapEnv(slapd), LDAP_AUTH_USE_TLS: 'true', LDAP_AUTH_TLS_CA_FILE: slapd.caFile }
      : activeDirectoryEnv(samba)),
    ...serviceAccountEnv(kind),
    LDAP_SYNCED_GROUPS: groups,
    LDAP_AUTH_FORMAT_SEARCH_FILTERS: 'login_group_search_filter',
    LDAP_LOGIN_GROUP: groupDnOf(kind, 'app-users'),
    LDAP_NESTED_GROUPS: 'true',
    LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
    LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
  };
}

describe.each(DIRECTORY_KINDS)('ldap:check on %s', (kind) => {
  const ad = kind === 'ad';

  it('passes every step with a working configuration (exit 0)', async () => {
    const run = await json(fullEnv(kind));
    expectNoSecrets(run);
    expect(run.code).toBe(0);
    expect(run.report.ok).toBe(true);
    // The harness's slapd certificate lives a week: one that expires within 30 days is a warning.
    const validTo = (step(run.report, 'url1.tls').data?.certificate as { validTo: string }).validTo;
    const expiresSoon = new Date(validTo).getTime() - Date.now() < 30 * 86_400_000;
    expect(statuses(run.report)).toEqual({
      'url1.dns': 'ok',
      'url1.tcp': 'ok',
      ...(ad ? {} : { 'url1.starttls': 'ok' }),
      'url1.tls': expiresSoon ? 'warn' : 'ok',
      rootDse: 'ok',
      serviceBind: 'ok',
      searchBase: 'ok',
      users: 'ok',
      group1: 'ok',
      group2: 'ok',
      group3: 'ok',
      group4: 'ok',
    });
    expect(step(run.report, 'url1.tls').summary).toMatch(
      expiresSoon
        ? /certificate verified .*LDAP_AUTH_TLS_CA_FILE.*, but it expires in \d+ days$/
        : /certificate verified .*LDAP_AUTH_TLS_CA_FILE/,
    );
    expect(step(run.report, 'url1.tls').details.join('\n')).toMatch(/subject .*\n.*issuer .*\n.*expires .*days left/);
    expect(run.report.server).toMatchObject({ activeDirectory: ad });
    expect(step(run.report, 'rootDse').summary).toMatch(ad ? /^Active Directory/ : /^not Active Directory/);
    expect(step(run.report, 'serviceBind').summary).toMatch(
      ad ? /bound as EXAMPLE\\ldap-sync/ : /bound as cn=ldap-sync,/,
    );
    expect(step(run.report, 'users').summary).toMatch(ad ? /objectCategory=person/ : /^\d+ entries match/);
    expect(step(run.report, 'group1').summary).toMatch(/exists: "developers", \d+ direct member values/);
  });

  it('with --user alice and her password on stdin: the DN, fields, groups and "may log in"', async () => {
    const run = await json(fullEnv(kind), ['--user', 'alice'], `${alice.password}\n`);
    expectNoSecrets(run);
    expect(run.code).toBe(0);
    expect(step(run.report, 'user.name').summary).toMatch(
      ad ? /binds as EXAMPLE\\alice/ : /binds as uid=alice,ou=people,dc=example,dc=com/,
    );
    expect(run.report.user).toMatchObject({
      name: 'alice',
      dn: ad ? `CN=alice,${samba.usersDn}` : `uid=alice,${slapd.peopleDn}`,
      username: 'alice',
      email: alice.mail,
      firstName: alice.givenName,
      lastName: alice.sn,
      mayLogIn: true,
    });
    expect(run.report.user?.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const groups = Object.fromEntries((run.report.user?.groups ?? []).map((g) => [g.dn, g]));
    expect(groups[groupDnOf(kind, 'developers')]).toMatchObject({ member: true, how: 'direct' });
    expect(groups[groupDnOf(kind, 'admins')]).toMatchObject({ member: true, how: 'direct' });
    // engineering holds developers: alice is in it through nesting only.
    expect(groups[groupDnOf(kind, 'engineering')]).toMatchObject({ member: true, how: 'nested' });
    expect(groups[groupDnOf(kind, 'app-users')]).toMatchObject({ member: true, how: 'direct' });
    expect(step(run.report, 'user.login').details.join('\n')).toMatch(/would join developers, admins, engineering/);
  });

  it('prints a readable report, one line per step', async () => {
    const run = await runCheck(fullEnv(kind), ['--user', 'alice'], `${alice.password}\n`);
    expectNoSecrets(run);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.filter((l) => /^\[(ok|warn|FAIL|skip)\]/.test(l)).length).toBeGreaterThanOrEqual(14);
    expect(run.stdout).toMatch(/^\[ok\] {3}user entry: /m);
    expect(run.stdout).toMatch(/^\[ok\] {3}login decision: this user may log in/m);
    expect(run.stdout).toMatch(/passed \(exit 0\)\n$/);
  });

  it('a user outside the login group may not log in (exit 1), and the report says why', async () => {
    const dave = fixtureUser('dave');
    const run = await json(fullEnv(kind), ['--user', 'dave'], `${dave.password}\n`);
    expectNoSecrets(run);
    expect(run.code).toBe(1);
    expect(step(run.report, 'user.bind').status).toBe('ok');
    expect(step(run.report, 'user.login')).toMatchObject({
      status: 'fail',
      variables: ['LDAP_LOGIN_GROUP', 'LDAP_NESTED_GROUPS'],
    });
    expect(step(run.report, 'user.login').summary).toMatch(/may NOT log in: .* not a member of the login group/);
    expect(run.report.user).toMatchObject({ mayLogIn: false });
  });

  it('a wrong user password fails the user bind and goes no further', async () => {
    const run = await json(fullEnv(kind), ['--user', 'alice'], 'Wrong-pass1\n');
    expectNoSecrets(run);
    expect(run.code).toBe(1);
    expect(step(run.report, 'user.bind')).toMatchObject({ status: 'fail' });
    expect(step(run.report, 'user.bind').summary).toMatch(
      ad ? /wrong password \(AD data 52e\)/ : /wrong username or password/,
    );
    expect(['user.entry', 'user.groups', 'user.login'].map((id) => step(run.report, id).status)).toEqual([
      'skip',
      'skip',
      'skip',
    ]);
  });

  it('a wrong service password fails naming LDAP_SYNC_USER_PASSWORD; the steps that need it are skipped', async () => {
    const run = await json({ ...fullEnv(kind), LDAP_SYNC_USER_PASSWORD: 'Wrong-pass1' });
    expectNoSecrets(run);
    expect(run.code).toBe(1);
    const bind = step(run.report, 'serviceBind');
    expect(bind.status).toBe('fail');
    expect(bind.variables).toContain('LDAP_SYNC_USER_PASSWORD');
    expect(bind.hint).toMatch(/LDAP_SYNC_USER_PASSWORD/);
    for (const id of ['searchBase', 'users', 'group1']) expect(step(run.report, id).status).toBe('skip');
  });

  it('a search base that does not exist fails naming LDAP_AUTH_SEARCH_BASE', async () => {
    const base = ad ? `OU=Nowhere,${samba.baseDn}` : `ou=nowhere,${slapd.baseDn}`;
    const run = await json({ ...fullEnv(kind), LDAP_AUTH_SEARCH_BASE: base });
    expectNoSecrets(run);
    expect(run.code).toBe(1);
    expect(step(run.report, 'searchBase')).toMatchObject({ status: 'fail', variables: ['LDAP_AUTH_SEARCH_BASE'] });
    expect(step(run.report, 'searchBase').summary).toMatch(/does not exist \(code 32/);
    expect(step(run.report, 'users').status).toBe('skip');
  });

  it('a listed group that does not exist fails naming LDAP_SYNCED_GROUPS', async () => {
    const missing = groupDnOf(kind, 'no-such-group');
    const run = await json({ ...fullEnv(kind), LDAP_SYNCED_GROUPS: `${groupDnOf(kind, 'developers')}:${missing}` });
    expectNoSecrets(run);
    expect(run.code).toBe(1);
    expect(step(run.report, 'group1').status).toBe('ok');
    expect(step(run.report, 'group2')).toMatchObject({
      status: 'fail',
      title: `group ${missing}`,
      variables: ['LDAP_SYNCED_GROUPS'],
    });
  });
});

describe('ldap:check with a certificate that does not verify: the TLS step fails and no credential is sent', () => {
  let proxy: RecordingProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  const cases: Array<{ name: string; env: () => Promise<Record<string, string>>; servicePassword: string }> = [
    {
      name: 'StartTLS on slapd with Samba’s CA',
      servicePassword: slapd.servicePassword,
      env: async () => {
        proxy = await startRecordingProxy(Number(new URL(slapd.url).port));
        return { ...fullEnv('openldap'), LDAP_AUTH_URL: proxy.url, LDAP_AUTH_TLS_CA_FILE: samba.caFile };
      },
    },
    {
      name: 'LDAPS on Samba with slapd’s CA',
      servicePassword: samba.servicePassword,
      env: async () => {
        proxy = await startRecordingProxy(Number(new URL(samba.url).port));
        return {
          ...fullEnv('ad'),
          LDAP_AUTH_URL: proxy.url.replace('ldap://', 'ldaps://'),
          LDAP_AUTH_TLS_CA_FILE: slapd.caFile,
        };
      },
    },
  ];

  it.each(cases)('$name', async ({ env, servicePassword }) => {
    const run = await json(await env(), ['--user', 'alice'], `${alice.password}\n`);
    expectNoSecrets(run);
    expect(run.code).toBe(1);
    const tls = step(run.report, 'url1.tls');
    expect(tls.status).toBe('fail');
    expect(tls.summary).toMatch(
      /NOT verified \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)/,
    );
    expect(tls.variables).toContain('LDAP_AUTH_TLS_CA_FILE');
    expect(tls.hint).toMatch(/LDAP_AUTH_TLS_CA_FILE/);
    expect(tls.details.join('\n')).toMatch(/subject .*\n.*issuer /);
    const later = run.report.steps.filter((s) => !s.id.startsWith('url1.'));
    expect(later.length).toBeGreaterThanOrEqual(8);
    expect(later.every((s) => s.status === 'skip')).toBe(true);
    expect(proxy!.connections).toBeGreaterThan(0);
    expect(leaked(proxy!, alice.password)).toBe(false);
    expect(leaked(proxy!, servicePassword)).toBe(false);
  });

  it('with LDAP_AUTH_TLS_REJECT_UNAUTHORIZED=false as well: still no credential on the unverified connection', async () => {
    const env = { ...(await cases[0].env()), LDAP_AUTH_TLS_REJECT_UNAUTHORIZED: 'false' };
    const run = await json(env, ['--user', 'alice'], `${alice.password}\n`);
    expectNoSecrets(run);
    expect(run.code).toBe(1);
    expect(step(run.report, 'url1.tls')).toMatchObject({ status: 'fail' });
    expect(step(run.report, 'url1.tls').hint).toMatch(/LDAP_AUTH_TLS_REJECT_UNAUTHORIZED=false .* sends no credential/);
    expect(step(run.report, 'serviceBind').status).toBe('skip');
    expect(step(run.report, 'user.name').status).toBe('skip');
    expect(leaked(proxy!, alice.password)).toBe(false);
    expect(leaked(proxy!, slapd.servicePassword)).toBe(false);
  });

  it('ldaps:// on a plain LDAP port fails the handshake and says which port speaks TLS', async () => {
    const run = await json({ ...fullEnv('openldap'), LDAP_AUTH_URL: slapd.url.replace('ldap://', 'ldaps://') });
    expectNoSecrets(run);
    expect(run.code).toBe(1);
    expect(step(run.report, 'url1.tls')).toMatchObject({
      status: 'fail',
      variables: ['LDAP_AUTH_URL', 'LDAP_AUTH_TLS_CA_FILE'],
    });
    expect(step(run.report, 'url1.tls').summary).toMatch(/^TLS handshake failed/);
    expect(step(run.report, 'url1.tls').hint).toMatch(/is this port speaking TLS\?/);
  });

  it('plain ldap:// on an LDAPS port: the root DSE read fails, pointing at the URL', async () => {
    const run = await json({
      ...openLdapEnv(slapd),
      LDAP_AUTH_URL: slapd.ldapsUrl.replace('ldaps://', 'ldap://'),
      LDAP_AUTH_RECEIVE_TIMEOUT: '1',
    });
    expect(run.code).toBe(1);
    expect(step(run.report, 'rootDse')).toMatchObject({ status: 'fail', variables: ['LDAP_AUTH_URL'] });
    expect(step(run.report, 'rootDse').hint).toMatch(/needs ldaps:\/\//);
  });

  it('a certificate for another name fails naming LDAP_AUTH_TLS_SERVERNAME', async () => {
    const run = await json({ ...fullEnv('openldap'), LDAP_AUTH_TLS_SERVERNAME: 'ldap.elsewhere.test' });
    expectNoSecrets(run);
    expect(run.code).toBe(1);
    const tls = step(run.report, 'url1.tls');
    expect(tls.summary).toMatch(
      /hostname mismatch, ERR_TLS_CERT_ALTNAME_INVALID\): it names DNS:localhost, IP Address:127.0.0.1, not "ldap.elsewhere.test"/,
    );
    expect(tls.variables).toEqual(['LDAP_AUTH_TLS_SERVERNAME']);
  });
});

describe('ldap:check with several URLs, and without TLS or a service account', () => {
  it('an unreachable URL before a good one is a warning: the library fails over (exit 0)', async () => {
    const port = await closedPort();
    const run = await json({ ...fullEnv('openldap'), LDAP_AUTH_URL: `ldap://127.0.0.1:${port} ${slapd.url}` });
    expectNoSecrets(run);
    expect(run.code).toBe(0);
    expect(step(run.report, 'url1.tcp')).toMatchObject({ status: 'warn', variables: ['LDAP_AUTH_URL'] });
    expect(step(run.report, 'url1.tcp').summary).toMatch(/connection refused/);
    expect(step(run.report, 'url1.tcp').hint).toMatch(`fails over to ${slapd.url}`);
    expect(step(run.report, 'url1.tls').status).toBe('skip');
    expect(['url2.dns', 'url2.tcp', 'url2.starttls'].map((id) => step(run.report, id).status)).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
    // ok, or a warning only for the harness certificate's short life.
    expect(step(run.report, 'url2.tls').summary).toMatch(/^TLSv1\.\d, certificate verified/);
    expect(run.report.server?.url).toBe(slapd.url);
    expect(step(run.report, 'users').status).toBe('ok');
  });

  it('when no URL can be reached, it fails (exit 1) and the directory steps are skipped', async () => {
    const [a, b] = [await closedPort(), await closedPort()];
    const run = await json({ ...fullEnv('openldap'), LDAP_AUTH_URL: `ldap://127.0.0.1:${a},ldap://127.0.0.1:${b}` });
    expect(run.code).toBe(1);
    expect([step(run.report, 'url1.tcp').status, step(run.report, 'url2.tcp').status]).toEqual(['fail', 'fail']);
    expect(step(run.report, 'rootDse').summary).toMatch(/^no URL of LDAP_AUTH_URL passed/);
  });

  it('a host that does not resolve fails at DNS', async () => {
    const run = await json({
      ...fullEnv('openldap'),
      LDAP_AUTH_URL: 'ldap://no-such-host.invalid',
      LDAP_AUTH_CONNECT_TIMEOUT: '3',
    });
    expect(run.code).toBe(1);
    expect(step(run.report, 'url1.dns')).toMatchObject({ status: 'fail', variables: ['LDAP_AUTH_URL'] });
    expect(step(run.report, 'url1.dns').summary).toMatch(/cannot resolve no-such-host\.invalid/);
    expect(step(run.report, 'url1.tcp').status).toBe('skip');
  });

  it('plain LDAP is a warning, and no service account skips the steps that need one (exit 0)', async () => {
    const run = await json(openLdapEnv(slapd), ['--user', 'alice'], `${alice.password}\n`);
    expectNoSecrets(run);
    expect(run.code).toBe(0);
    expect(step(run.report, 'url1.tls')).toMatchObject({ status: 'warn' });
    expect(step(run.report, 'url1.tls').summary).toMatch(/clear text/);
    expect(step(run.report, 'serviceBind').status).toBe('skip');
    expect(step(run.report, 'serviceBind').summary).toMatch(/LDAP_SYNC_USER_USERNAME/);
    expect(step(run.report, 'searchBase').status).toBe('skip');
    expect(step(run.report, 'user.login').status).toBe('ok');
  });

  it('search login mode finds the entry with the service account, then binds as its DN', async () => {
    const run = await json(
      { ...fullEnv('ad'), LDAP_AUTH_LOGIN_MODE: 'search' },
      ['--user', 'alice'],
      `${alice.password}\n`,
    );
    expectNoSecrets(run);
    expect(run.code).toBe(0);
    expect(step(run.report, 'user.search').summary).toBe(`found CN=alice,${samba.usersDn}`);
    expect(step(run.report, 'user.bind').summary).toBe(`bound as CN=alice,${samba.usersDn}`);
  });
});

describe('ldap:check arguments and configuration', () => {
  it('an invalid configuration is exit 2, naming the variable, before anything is contacted', async () => {
    const run = await json({ LDAP_AUTH_URL: 'http://ldap.example.com', LDAP_SYNC_USER_PASSWORD: 'Sync-pass1' });
    expectNoSecrets(run);
    expect(run.code).toBe(2);
    expect(run.report.exitCode).toBe(2);
    expect(step(run.report, 'configuration').variables).toEqual(
      expect.arrayContaining(['LDAP_AUTH_URL', 'LDAP_SYNC_USER_USERNAME']),
    );
  });

  it('refuses a password in the arguments without echoing it (exit 64)', async () => {
    const run = await runCheck(openLdapEnv(slapd), ['--user', 'alice', '--password', alice.password]);
    expect(run.code).toBe(64);
    expectNoSecrets(run);
    expect(run.stderr).toMatch(/never taken from the arguments/);
    const unknown = await runCheck(openLdapEnv(slapd), ['--verbose']);
    expect(unknown.code).toBe(64);
  });
});
