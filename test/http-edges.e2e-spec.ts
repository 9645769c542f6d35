import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { LOGIN_BODY_LIMIT_BYTES } from '../src/config/login-body.js';
import { postChunked, startDemoProcess, type DemoProcess } from './support/demo-process.js';
import { openLdapEnv } from './support/env.js';
import { fixtureUser } from './support/fixtures.js';
import { testServers } from './support/servers.js';
import { startRecordingProxy, type RecordingProxy } from './support/tcp-proxy.js';
import { testApps } from './support/test-app.js';

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
  let demo: DemoProcess;

  beforeAll(async () => {
    demo = await startDemoProcess({ LOGIN_THROTTLE_LIMIT: '3' });
  });
  afterAll(async () => {
    await demo?.stop();
  });

  it('answers 413 to a chunked body over the limit, and reads one under it', async () => {
    const over = await postChunked(demo.port, loginBodyOf(LOGIN_BODY_LIMIT_BYTES + 100));
    expect(over.status).toBe(413);
    expect(over.body.message).toMatch(TOO_LARGE);
    const under = await postChunked(demo.port, JSON.stringify({ username: 'alice', password: 'alice-password' }));
    expect(under.status).toBe(200);
  });

  it('answers 415, 400 and 413 as the module does, without counting an attempt', async () => {
    const base = `${demo.url}/auth/login`;
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
