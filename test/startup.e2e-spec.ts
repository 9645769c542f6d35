import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LdapConfigurationError } from '@app/ldap-auth';
import { createTestApp } from './support/app.js';
import { closedPort } from './support/tcp-proxy.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'main.js');

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
      /LDAP_AUTH_CONNECT_TIMEOUT must be a number of seconds greater than 0 \(got "abc"\)/,
    ],
    [{ LDAP_AUTH_USER_FIELDS: 'username' }, /LDAP_AUTH_USER_FIELDS must be field=attribute pairs/],
    [
      { LDAP_AUTH_SYNC_USER_RELATIONS: 'custom_auth.ldap.sync_user_groups' },
      /needs LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID/,
    ],
    [{ DATABASE_URL: 'oracle://db' }, /DATABASE_URL: "oracle:\/\/db" is not supported/],
  ])('%p', async (env, message) => {
    const attempt = createTestApp({ LDAP_AUTH_URL: 'ldap://127.0.0.1:1', DATABASE_URL: 'sqlite::memory:', ...env });
    await expect(attempt).rejects.toThrow(LdapConfigurationError);
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

  /** Runs dist/main.js until it prints `until` or exits; returns its output and exit code. */
  function run(
    env: Record<string, string>,
    until?: RegExp,
  ): Promise<{ child: ChildProcess; output: string; code: number | null }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [MAIN], {
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
      child.on('exit', (code) => resolve({ child, output, code }));
    });
  }

  it('exits with status 1 and names the variable when one is wrong', async () => {
    const { output, code } = await run({
      LDAP_AUTH_URL: 'ldap://127.0.0.1:1',
      LDAP_AUTH_USE_TLS: 'perhaps',
      DATABASE_URL: `sqlite:${join(dir, 'a.sqlite')}`,
    });
    expect(code).toBe(1);
    expect(output).toContain('Start-up failed: Invalid LDAP configuration');
    expect(output).toContain('LDAP_AUTH_USE_TLS must be true, false, 1, 0, yes or no (got "perhaps")');
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
