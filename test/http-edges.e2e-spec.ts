import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { LOGIN_BODY_LIMIT_BYTES } from '../src/config/login-body.js';
import { openLdapEnv } from './support/env.js';
import { fixtureUser } from './support/fixtures.js';
import { testServers } from './support/servers.js';
import { closedPort, startRecordingProxy, type RecordingProxy } from './support/tcp-proxy.js';
import { testApps } from './support/test-app.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'main.js');
const alice = fixtureUser('alice');
const NOT_AN_OBJECT = 'the body must be a JSON object, such as {"username":"…","password":"…"}';
const TOO_LARGE = /^the body is larger than the 16 KB \(16384 bytes\) POST \/auth\/login accepts$/;
const NOT_JSON = 'POST /auth/login takes a JSON body: send Content-Type: application/json';

/** A JSON login body of exactly `bytes` bytes. */
function loginBodyOf(bytes: number): string {
  const empty = JSON.stringify({ username: '', password: 'x' });
  return JSON.stringify({ username: 'a'.repeat(bytes - empty.length), password: 'x' });
}

describe('the login route refuses bodies it cannot use, before the throttle and the directory', () => {
  const apps = testApps();
  let proxy: RecordingProxy;
  let app: INestApplication;
  const post = () => request(app.getHttpServer()).post('/auth/login');

  beforeAll(async () => {
    const { slapd } = testServers();
    proxy = apps.closes(await startRecordingProxy(Number(new URL(slapd.url).port)));
    // A throttle of 3: refused bodies must not count as attempts.
    app = await apps.start('sqlite', {
      ...openLdapEnv(slapd),
      LDAP_AUTH_URL: proxy.url,
      LOGIN_THROTTLE_LIMIT: '3',
    });
  });

  it('answers 415 to a form or text body, without a login attempt', async () => {
    proxy.reset();
    for (let i = 0; i < 4; i++) {
      const form = await post().type('form').send({ username: 'alice', password: alice.password }).expect(415);
      expect(form.body.message).toBe(NOT_JSON);
      await post()
        .set('Content-Type', 'text/plain')
        .send(JSON.stringify({ username: 'alice', password: alice.password }))
        .expect(415);
    }
    await post().set('Content-Type', 'application/xml').send('<login/>').expect(415);
    expect(proxy.connections).toBe(0);
    // Eight refused bodies for alice, and her throttle (3) is untouched.
    await post().send({ username: 'alice', password: alice.password }).expect(200);
    await post()
      .set('Content-Type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ username: 'alice', password: alice.password }))
      .expect(200);
  });

  it('answers 400 to a JSON body that is not an object, or not JSON', async () => {
    proxy.reset();
    for (const body of ['null', '[]', '["alice","pw"]', '"alice"', '42', 'true']) {
      const res = await post().set('Content-Type', 'application/json').send(body).expect(400);
      expect([body, res.body.message]).toEqual([body, NOT_AN_OBJECT]);
    }
    const broken = await post().set('Content-Type', 'application/json').send('{"username":').expect(400);
    expect(broken.body.message).toBe('the body is not valid JSON');
    expect(proxy.connections).toBe(0);
  });

  it(`answers 413 to a body over ${LOGIN_BODY_LIMIT_BYTES} bytes, whatever its size`, async () => {
    proxy.reset();
    for (const bytes of [LOGIN_BODY_LIMIT_BYTES + 1, 50 * 1024, 200 * 1024, 2 * 1024 * 1024]) {
      const res = await post().set('Content-Type', 'application/json').send(loginBodyOf(bytes));
      expect([bytes, res.status]).toEqual([bytes, 413]);
      expect(res.body.message).toMatch(TOO_LARGE);
    }
    expect(proxy.connections).toBe(0);
    // At the limit the body is read (and the login refused as any other with a wrong password).
    const atLimit = await post().set('Content-Type', 'application/json').send(loginBodyOf(LOGIN_BODY_LIMIT_BYTES));
    expect(atLimit.status).not.toBe(413);
  });

  it('still answers a body-less login 400, as before', async () => {
    await post().expect(400);
  });
});

describe('the login route in the demo as `npm start` runs it (its own body parser)', () => {
  let dir: string;
  let child: ChildProcess;
  let port: number;

  beforeAll(async () => {
    if (!existsSync(MAIN)) {
      const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
    }
    dir = mkdtempSync(join(tmpdir(), 'ldap-http-edges-'));
    port = await closedPort();
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env)) if (key.startsWith('LDAP_') || key.startsWith('LOGIN_')) delete env[key];
    // The embedded development directory: no LDAP_AUTH_URL.
    Object.assign(env, {
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'development',
      JWT_SECRET: 'a-long-enough-secret-for-tests',
      DATABASE_URL: `sqlite:${join(dir, 'app.sqlite')}`,
      LOGIN_THROTTLE_LIMIT: '3',
    });
    child = spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/Listening on/.test(output)) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', () => reject(new Error(`the demo exited:\n${output}`)));
    });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** POST /auth/login with the body sent in chunks (Transfer-Encoding: chunked, no Content-Length). */
  function postChunked(contentType: string, body: string): Promise<{ status: number; body: { message?: string } }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/auth/login', headers: { 'Content-Type': contentType } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { message?: string } }));
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        // The server may close the connection while the rest of a refused body is still being sent.
        if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
      });
      for (let at = 0; at < body.length; at += 4096) req.write(body.slice(at, at + 4096));
      req.end();
    });
  }

  it('answers 413 to a chunked body over the limit, and reads one under it', async () => {
    const over = await postChunked('application/json', loginBodyOf(LOGIN_BODY_LIMIT_BYTES + 100));
    expect(over.status).toBe(413);
    expect(over.body.message).toMatch(TOO_LARGE);
    const under = await postChunked(
      'application/json',
      JSON.stringify({ username: 'alice', password: 'alice-password' }),
    );
    expect(under.status).toBe(200);
  });

  it('answers 415, 400 and 413 as the module does, without counting an attempt', async () => {
    const base = `http://127.0.0.1:${port}/auth/login`;
    const send = (contentType: string, body: string) =>
      fetch(base, { method: 'POST', headers: { 'Content-Type': contentType }, body });
    for (let i = 0; i < 4; i++) {
      expect((await send('application/x-www-form-urlencoded', 'username=bob&password=bob-password')).status).toBe(415);
      expect((await send('text/plain', '{"username":"bob","password":"bob-password"}')).status).toBe(415);
    }
    const nullBody = await send('application/json', 'null');
    expect(nullBody.status).toBe(400);
    expect(((await nullBody.json()) as { message: string }).message).toBe(NOT_AN_OBJECT);
    expect((await send('application/json', loginBodyOf(LOGIN_BODY_LIMIT_BYTES + 1))).status).toBe(413);
    expect((await send('application/json', '{"username":"bob","password":"bob-password"}')).status).toBe(200);
  });
});
