import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LdapConfigurationError } from '@nest-ldap-auth/ldap-auth';
import { AppConfigurationError } from '../src/config/app.config.js';
import { createTestApp } from './support/app.js';
import { closedPort } from './support/tcp-proxy.js';
import { directoryEnv, serviceAccountEnv } from './support/env.js';
import { fixtureUser } from './support/fixtures.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'main.js');
const SYNC = join(ROOT, 'dist', 'sync.js');
const APP_HEADING = "Invalid app configuration (the demo app's variables):";
const LDAP_HEADING =
  "Invalid LDAP configuration (the @nest-ldap-auth/ldap-auth library's variables, see docs/configuration.md):";

/** How many times `text` holds `word`. */
const occurrences = (text: string, word: string) => text.split(word).length - 1;

/** The demo's environment for a child process: this machine's, minus anything LDAP or app-specific. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('LDAP_') || ['DATABASE_URL', 'JWT_SECRET', 'NODE_ENV', 'PORT', 'HOST'].includes(key))
      delete env[key];
  }
  return { ...env, ...extra };
}

describe('bad configuration stops start-up with a message that names the variable', () => {
  it.each([
    [
      { LDAP_AUTH_CONNECT_TIMEOUT: 'abc' },
      LdapConfigurationError,
      /LDAP_AUTH_CONNECT_TIMEOUT must be a number of seconds greater than 0 \(got "abc"\)/,
    ],
    [
      { LDAP_AUTH_USER_FIELDS: 'username' },
      LdapConfigurationError,
      /LDAP_AUTH_USER_FIELDS must be field=attribute pairs/,
    ],
    [
      { LDAP_AUTH_SYNC_USER_RELATIONS: 'custom_auth.ldap.sync_user_groups' },
      LdapConfigurationError,
      /needs LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID/,
    ],
    [{ LDAP_AUTH_URL: 'ldap://127.0.0.1:99999' }, LdapConfigurationError, /has port "99999"/],
    [{ DATABASE_URL: 'oracle://db' }, AppConfigurationError, /DATABASE_URL: "oracle:\/\/db" is not supported/],
  ])('%p', async (env, errorClass, message) => {
    const attempt = createTestApp({ LDAP_AUTH_URL: 'ldap://127.0.0.1:1', DATABASE_URL: 'sqlite::memory:', ...env });
    await expect(attempt).rejects.toThrow(errorClass);
    await expect(attempt).rejects.toThrow(message);
  });
});

describe('the demo as `npm start` runs it', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(MAIN)) {
      const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
    }
    dir = mkdtempSync(join(tmpdir(), 'ldap-demo-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs dist/main.js (or `script`) until it prints `until` or exits; returns its output and exit code. */
  function run(
    env: Record<string, string>,
    until?: RegExp,
    script = MAIN,
    nodeArgs: string[] = [],
  ): Promise<{ child: ChildProcess; output: string; code: number | null }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [...nodeArgs, script], {
        cwd: ROOT,
        env: childEnv(env),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (until?.test(output)) resolve({ child, output, code: null });
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      // 'close', not 'exit': by then everything the process wrote has been read.
      child.on('close', (code) => resolve({ child, output, code }));
    });
  }

  it('exits with status 1 and names the variable when one is wrong', async () => {
    const { output, code } = await run({
      LDAP_AUTH_URL: 'ldap://127.0.0.1:1',
      LDAP_AUTH_USE_TLS: 'perhaps',
      DATABASE_URL: `sqlite:${join(dir, 'a.sqlite')}`,
    });
    expect(code).toBe(1);
    expect(output).toContain('Start-up failed: the configuration is invalid (1 problem)');
    expect(output).toContain(
      `${LDAP_HEADING}\n  - LDAP_AUTH_USE_TLS must be true, false, 1, 0, yes or no (got "perhaps")`,
    );
    expect(output).not.toContain(APP_HEADING);
  });

  /** Variables wrong in the app and in the library at once, and what each message must say. */
  const MANY_WRONG = {
    env: {
      PORT: '99999',
      JWT_SECRET: 'short',
      LOGIN_THROTTLE_TTL: 'soon',
      DATABASE_URL: 'oracle://app:hunter2@db.example/app',
      LDAP_AUTH_URL: 'ldap://127.0.0.1:99999',
      LDAP_AUTH_USE_TLS: 'perhaps',
      LDAP_AUTH_CONNECT_TIMEOUT: 'abc',
      LDAP_AUTH_USER_FIELDS: 'username',
      LDAP_SYNC_CRON: '61 * * * *',
    },
    app: {
      PORT: 'PORT must be a port number from 1 to 65535, or 0 for any free port (got "99999")',
      JWT_SECRET: 'JWT_SECRET must be at least 16 characters (it has 5)',
      LOGIN_THROTTLE_TTL: 'LOGIN_THROTTLE_TTL must be a whole number greater than 0 (got "soon")',
      DATABASE_URL:
        'DATABASE_URL: "oracle://app:***@db.example/app" is not supported; use sqlite:<path>, postgres://…, mysql://… or mariadb://…',
    },
    ldap: {
      LDAP_AUTH_URL:
        'LDAP_AUTH_URL: "ldap://127.0.0.1:99999" has port "99999"; a port must be a number from 1 to 65535',
      LDAP_AUTH_USE_TLS: 'LDAP_AUTH_USE_TLS must be true, false, 1, 0, yes or no (got "perhaps")',
      LDAP_AUTH_CONNECT_TIMEOUT: 'LDAP_AUTH_CONNECT_TIMEOUT must be a number of seconds greater than 0 (got "abc")',
      LDAP_AUTH_USER_FIELDS: 'LDAP_AUTH_USER_FIELDS must be field=attribute pairs',
      LDAP_SYNC_CRON: 'LDAP_SYNC_CRON must be a cron expression of 5 or 6 fields',
    },
  };

  /** One message: both headings, every variable once under its own, no stack trace, no dump of fields. */
  function expectOneMessage(output: string, first: string): void {
    expect(output.trim().startsWith(`${first}: the configuration is invalid (9 problems); nothing was started.`)).toBe(
      true,
    );
    expect(occurrences(output, first)).toBe(1);
    const appAt = output.indexOf(APP_HEADING);
    const ldapAt = output.indexOf(LDAP_HEADING);
    expect([appAt, ldapAt].every((at) => at > 0)).toBe(true);
    for (const [name, message] of Object.entries(MANY_WRONG.app)) {
      expect([name, occurrences(output, name)]).toEqual([name, 1]);
      const at = output.indexOf(`  - ${message}`);
      expect([name, at > appAt && at < ldapAt]).toEqual([name, true]);
    }
    for (const [name, message] of Object.entries(MANY_WRONG.ldap)) {
      expect([name, occurrences(output, name)]).toEqual([name, 1]);
      expect([name, output.indexOf(`  - ${message}`) > ldapAt]).toEqual([name, true]);
    }
    expect(output).not.toMatch(/^ {4}at /m);
    expect(output).not.toContain('problems: [');
    expect(output).not.toContain('hunter2');
    expect(output).not.toContain('ERROR');
  }

  it('lists every wrong variable of the app and of the library in one message, and exits non-zero', async () => {
    const { output, code } = await run(MANY_WRONG.env);
    expect(code).toBe(1);
    expectOneMessage(output, 'Start-up failed');
  });

  it('does the same for npm run sync', async () => {
    const { output, code } = await run(MANY_WRONG.env, undefined, SYNC);
    expect(code).toBe(1);
    expectOneMessage(output, 'Sync failed to start');
  });

  it('names LDAP_DEV_DIRECTORY_LDIF when its file is missing', async () => {
    const missing = join(dir, 'missing.ldif');
    const { output, code } = await run({
      LDAP_DEV_DIRECTORY_LDIF: missing,
      JWT_SECRET: 'a-long-enough-secret-for-tests',
      DATABASE_URL: `sqlite:${join(dir, 'l.sqlite')}`,
    });
    expect(code).toBe(1);
    expect(output).toContain(
      `${APP_HEADING}\n  - LDAP_DEV_DIRECTORY_LDIF: cannot read ${missing} (no such file); it must be an LDIF file`,
    );
    expect(output).not.toContain('ENOENT');
    expect(output).not.toMatch(/^ {4}at /m);
  });

  /**
   * Preloaded with `node --import`: on SIGUSR2 the process says whether ldapjs (CommonJS, so in the require
   * cache once anything imported it) is loaded.
   */
  const LDAPJS_PROBE = `data:text/javascript,${encodeURIComponent(`
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/');
    process.on('SIGUSR2', () => {
      const loaded = Object.keys(require.cache).some((file) => file.includes('/node_modules/ldapjs/'));
      process.stdout.write('ldapjs loaded: ' + loaded + '\\n');
    });`)}`;

  /** Starts the demo with the probe, and asks it once listening whether ldapjs was loaded. */
  async function ldapjsLoaded(env: Record<string, string>): Promise<boolean> {
    const { child, output } = await run(
      { PORT: String(await closedPort()), JWT_SECRET: 'a-long-enough-secret-for-tests', NO_COLOR: '1', ...env },
      /Listening on/,
      MAIN,
      ['--import', LDAPJS_PROBE],
    );
    try {
      expect(output).toMatch(/Listening on/);
      const answer = new Promise<string>((resolve) => {
        let text = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const match = /ldapjs loaded: (true|false)/.exec(text);
          if (match) resolve(match[1]);
        });
      });
      child.kill('SIGUSR2');
      return (await answer) === 'true';
    } finally {
      child.kill('SIGTERM');
    }
  }

  it('a production start never loads ldapjs or the embedded directory (./testing is imported only for it)', async () => {
    const loaded = await ldapjsLoaded({
      NODE_ENV: 'production',
      LDAP_AUTH_URL: `ldap://127.0.0.1:${await closedPort()}`,
      DATABASE_URL: `sqlite:${join(dir, 'p.sqlite')}`,
    });
    expect(loaded).toBe(false);
    // The probe itself works: a development start, which runs the embedded directory, has it loaded.
    expect(await ldapjsLoaded({ DATABASE_URL: `sqlite:${join(dir, 'd.sqlite')}` })).toBe(true);
  });

  it('starts when the directory cannot be reached, warns once, answers logins 503 and /health 503', async () => {
    const [port, ldapPort] = [await closedPort(), await closedPort()];
    const { child, output } = await run(
      {
        PORT: String(port),
        LDAP_AUTH_URL: `ldap://127.0.0.1:${ldapPort}`,
        JWT_SECRET: 'a-long-enough-secret-for-tests',
        DATABASE_URL: `sqlite:${join(dir, 'u.sqlite')}`,
        NO_COLOR: '1',
      },
      // Both lines, in either order: the probe runs in the background as the app starts.
      /^(?=[\s\S]*Listening on)(?=[\s\S]*cannot be reached at start-up)/,
    );
    let later = '';
    const collect = (chunk: Buffer) => (later += chunk.toString());
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    try {
      const base = `http://127.0.0.1:${port}`;
      const login = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
      });
      expect(login.status).toBe(503);
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(503);
      const body = await health.text();
      expect(JSON.parse(body)).toMatchObject({ status: 'error', error: { directory: { status: 'down' } } });
      expect(body).not.toContain(String(ldapPort));
    } finally {
      const exited = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    // Once, by the library (not again by the demo, nor by the health check), with the URL tried and why.
    const warnings = `${output}${later}`.split('\n').filter((line) => /at start-up|does not answer/.test(line));
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `WARN \\[LdapHealthIndicator\\] The directory cannot be reached at start-up: ldap://127\\.0\\.0\\.1:${ldapPort}: .*ECONNREFUSED.*; logins fail \\(503\\) until it answers`,
        ),
      ),
    ]);
  });

  // Issue 20: a wrong sync password was reported as "cannot be reached", and /health as 503.
  it('names the service account, not an outage, when only its password is wrong; logins and /health work', async () => {
    const port = await closedPort();
    const { child, output } = await run(
      {
        PORT: String(port),
        ...directoryEnv('openldap'),
        ...serviceAccountEnv('openldap'),
        LDAP_SYNC_USER_PASSWORD: 'Not-the-password1',
        JWT_SECRET: 'a-long-enough-secret-for-tests',
        DATABASE_URL: `sqlite:${join(dir, 's.sqlite')}`,
        NO_COLOR: '1',
      },
      /^(?=[\s\S]*Listening on)(?=[\s\S]*service account could not bind)/,
    );
    try {
      expect(output).toMatch(
        /WARN \[LdapHealthIndicator\] The directory answers the health probe, but the service account could not bind \(LDAP_SYNC_USER_USERNAME \/ LDAP_SYNC_USER_PASSWORD\): wrong username or password; logins work, the full sync fails/,
      );
      expect(output).not.toMatch(/cannot be reached/);
      expect(output).not.toContain('Not-the-password1');
      const base = `http://127.0.0.1:${port}`;
      const alice = fixtureUser('alice');
      const login = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: alice.password }),
      });
      expect(login.status).toBe(200);
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({
        status: 'ok',
        details: { directory: { status: 'up', serviceAccount: 'refused: invalidCredentials (49)' } },
      });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('refuses the embedded directory when NODE_ENV=production', async () => {
    const { output, code } = await run({
      NODE_ENV: 'production',
      JWT_SECRET: 'a-long-enough-production-secret',
      DATABASE_URL: `sqlite:${join(dir, 'b.sqlite')}`,
    });
    expect(code).toBe(1);
    expect(output).toContain('LDAP_AUTH_URL is required when NODE_ENV=production');
  });

  it('requires JWT_SECRET when NODE_ENV=production', async () => {
    const { output, code } = await run({
      NODE_ENV: 'production',
      LDAP_AUTH_URL: 'ldap://127.0.0.1:1',
      DATABASE_URL: `sqlite:${join(dir, 'c.sqlite')}`,
    });
    expect(code).toBe(1);
    expect(output).toContain('JWT_SECRET is required when NODE_ENV=production');
  });

  it('without LDAP_AUTH_URL, serves logins from the embedded directory, with a loud warning', async () => {
    const port = await closedPort();
    const { child, output } = await run(
      { PORT: String(port), DATABASE_URL: `sqlite:${join(dir, 'demo.sqlite')}` },
      /Listening on/,
    );
    try {
      expect(output).toMatch(/EMBEDDED DEVELOPMENT DIRECTORY/);
      const base = `http://127.0.0.1:${port}`;
      const res = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { accessToken: string; user: { username: string } };
      expect(body.user.username).toBe('alice');
      const me = await fetch(`${base}/auth/me`, { headers: { Authorization: `Bearer ${body.accessToken}` } });
      expect(me.status).toBe(200);
      const bad = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'nope' }),
      });
      expect(bad.status).toBe(401);
      expect((await fetch(`${base}/health`)).status).toBe(200);
    } finally {
      // Nest runs the shutdown hooks (the embedded directory stops), then ends the process with the signal.
      const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
      child.kill('SIGTERM');
      expect(String(await exited)).toMatch(/^(0|SIGTERM)$/);
    }
  });
});
