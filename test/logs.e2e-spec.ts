import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestApp, logsOf, postLogin } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { directoryEnv, openLdapEnv } from './support/env.js';
import { fixtureUser } from './support/fixtures.js';
import { freePort, testServers } from './support/servers.js';
import { closedPort } from './support/tcp-proxy.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'main.js');

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sqlite');
});
afterAll(async () => {
  await db?.drop();
});

describe('log lines of the login path', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('logs a directory outage once, not three lines per failed login', async () => {
    app = await createTestApp({
      ...directoryEnv('openldap'),
      LDAP_AUTH_URL: `ldap://127.0.0.1:${await closedPort()}`,
      DATABASE_URL: db.url,
    });
    const before = logsOf(app).length;
    for (let i = 0; i < 20; i++) await postLogin(app, `user-${i}`, 'secret').expect(503);
    const lines = logsOf(app).slice(before);
    expect(lines.length).toBeGreaterThanOrEqual(1); // the outage is logged...
    expect(lines.length).toBeLessThanOrEqual(3); // ...once, not per login
    expect(lines.join('\n')).toMatch(/Login failed for "user-0"/);
  });

  it('logs "reachable again" once when a login succeeds after the outage', async () => {
    const port = await closedPort();
    app = await createTestApp({
      ...directoryEnv('openldap'),
      LDAP_AUTH_URL: `ldap://127.0.0.1:${port}`,
      DATABASE_URL: db.url,
    });
    for (let i = 0; i < 5; i++) await postLogin(app, 'alice', 'secret').expect(503);
    // The directory comes back on that port: a forwarder to the harness's slapd.
    const slapdPort = Number(new URL(testServers().slapd.url).port);
    const forwarder = net.createServer((socket) => {
      const upstream = net.connect(slapdPort, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => forwarder.listen(port, '127.0.0.1', resolve));
    try {
      for (let i = 0; i < 3; i++) await postLogin(app, 'alice', fixtureUser('alice').password).expect(200);
      const back = logsOf(app).filter((line) => line.includes('reachable again'));
      expect(back).toEqual([
        expect.stringMatching(/is reachable again/), // the server (LdapDirectory)
        expect.stringMatching(/^LOG \[LdapLoginService\] The directory is reachable again: logins succeed/),
      ]);
    } finally {
      await app.close();
      app = undefined;
      await new Promise((resolve) => forwarder.close(resolve));
    }
  });

  it('logs a successful login at debug level, not as an info line', async () => {
    app = await createTestApp({ ...directoryEnv('openldap'), DATABASE_URL: db.url });
    await postLogin(app, 'alice', fixtureUser('alice').password).expect(200);
    const loginLines = logsOf(app).filter((line) => line.includes('Login: "alice"'));
    expect(loginLines).toEqual([expect.stringMatching(/^DEBUG /)]);
  });
});

describe('the demo writing its log to a pipe', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(MAIN)) {
      const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
    }
    dir = mkdtempSync(join(tmpdir(), 'ldap-logs-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts dist/main.js with stdout and stderr on pipes, logs one user in and out of a closed directory. */
  async function runDemo(env: Record<string, string>): Promise<string> {
    const port = await freePort();
    const childEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...openLdapEnv(testServers().slapd),
      DATABASE_URL: `sqlite:${join(dir, `${port}.sqlite`)}`,
      JWT_SECRET: 'e2e-secret-e2e-secret-e2e-secret',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    };
    const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    try {
      const deadline = Date.now() + 30_000;
      while (!/Listening on/.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the demo did not start:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const login = (password: string) =>
        fetch(`http://127.0.0.1:${port}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password }),
        });
      expect((await login(fixtureUser('alice').password)).status).toBe(200);
      expect((await login('wrong')).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
      await closed;
    }
    return output;
  }

  it('writes no colour codes', async () => {
    const output = await runDemo({ LOG_LEVEL: 'debug' });
    expect(output).toMatch(/Login refused for "alice"/);
    expect(output).toMatch(/Login: "alice"/);
    expect(output).not.toContain('\u001b[');
  });

  it('writes one JSON object a line with LOG_FORMAT=json', async () => {
    const output = await runDemo({ LOG_FORMAT: 'json' });
    const lines = output.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(3);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toContainEqual(expect.objectContaining({ level: 'warn', context: 'LdapLoginService' }));
    expect(output).not.toContain('\u001b[');
  });
});
