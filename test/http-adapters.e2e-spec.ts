/**
 * The demo as `npm start` runs it (dist/main.js, the embedded development directory, SQLite), on each of Nest's
 * HTTP adapters (HTTP_ADAPTER): the login, the token, the login route's body rules, the throttle and the admin
 * page's sign-in answer the same on Express and on Fastify. Child processes: Fastify's middleware engine cannot
 * load inside Jest on Node 20, and `npm start` is what users run anyway.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LOGIN_BODY_LIMIT_BYTES } from '../src/config/login-body.js';
import { postChunked, startDemoProcess, type DemoProcess } from './support/demo-process.js';

const ADMINS = 'cn=admins,ou=groups,dc=example,dc=com';
const GENERIC_401 = { statusCode: 401, message: 'Invalid username or password', error: 'Unauthorized' };
const NOT_AN_OBJECT = 'the body must be a JSON object, such as {"username":"…","password":"…"}';
const TOO_LARGE = 'the body is larger than the 16 KB (16384 bytes) POST /auth/login accepts';
const NOT_JSON = 'POST /auth/login takes a JSON body: send Content-Type: application/json';

/** A JSON login body of exactly `bytes` bytes. */
function loginBodyOf(bytes: number): string {
  const empty = JSON.stringify({ username: '', password: 'x' });
  return JSON.stringify({ username: 'a'.repeat(bytes - empty.length), password: 'x' });
}

describe.each(['express', 'fastify'])('the demo on %s', (adapter) => {
  let demo: DemoProcess;
  let base: string;

  beforeAll(async () => {
    demo = await startDemoProcess({ HTTP_ADAPTER: adapter, LOGIN_THROTTLE_LIMIT: '3', LDAP_ADMIN_GROUP: ADMINS });
    base = demo.url;
  });
  afterAll(async () => {
    await demo?.stop();
  });

  const login = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

  it('logs a user in, accepts the token at /auth/me, and refuses wrong and empty passwords alike', async () => {
    const res = await login({ username: 'alice', password: 'alice-password' });
    expect(res.status).toBe(200);
    const { accessToken, user } = (await res.json()) as {
      accessToken: string;
      user: { id: number; groups: unknown[] };
    };
    expect(user).toMatchObject({ username: 'alice' });
    const me = await fetch(`${base}/auth/me`, { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual(user);
    expect((await fetch(`${base}/auth/me`)).status).toBe(401);
    const wrong = await login({ username: 'bob', password: 'not-bobs' });
    expect([wrong.status, await json(wrong)]).toEqual([401, GENERIC_401]);
    const empty = await login({ username: 'bob', password: '' });
    expect([empty.status, await json(empty)]).toEqual([401, GENERIC_401]);
  });

  it('answers the login route’s body rules with the same statuses and words', async () => {
    // Four of each: with a throttle of 3, none of them may count as a failed login.
    for (let i = 0; i < 4; i++) {
      const form = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'username=carol&password=x',
      });
      expect([form.status, (await json(form)).message]).toEqual([415, NOT_JSON]);
      expect((await login('{"username":"carol"}', { 'Content-Type': 'text/plain' })).status).toBe(415);
      const notObject = await login('null');
      expect([notObject.status, (await json(notObject)).message]).toEqual([400, NOT_AN_OBJECT]);
      const broken = await login('{"username":');
      expect([broken.status, (await json(broken)).message]).toEqual([400, 'the body is not valid JSON']);
      const large = await login(loginBodyOf(LOGIN_BODY_LIMIT_BYTES + 1));
      expect([large.status, (await json(large)).message]).toEqual([413, TOO_LARGE]);
    }
    const chunked = await postChunked(demo.port, loginBodyOf(LOGIN_BODY_LIMIT_BYTES + 100));
    expect([chunked.status, chunked.body.message]).toEqual([413, TOO_LARGE]);
    const gzip = await login('{}', { 'Content-Encoding': 'gzip' });
    expect(gzip.status).toBe(415);
    expect((await login({ username: 'carol', password: 'carol-password' })).status).toBe(200);
  });

  it('throttles failed logins with 429 and Retry-After', async () => {
    for (let i = 0; i < 3; i++) expect((await login({ username: 'dave', password: `wrong-${i}` })).status).toBe(401);
    const refused = await login({ username: 'dave', password: 'dave-password' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('signs an admin in through the form and shows the admin page', async () => {
    const form = await fetch(`${base}/admin/login`);
    expect(form.status).toBe(200);
    expect(form.headers.get('content-type')).toMatch(/^text\/html/);
    const nonce = cookiesOf(form);
    const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
    expect(token).toBeDefined();
    const signIn = (csrf: string) =>
      fetch(`${base}/admin/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: nonce },
        body: new URLSearchParams({ _csrf: csrf, username: 'alice', password: 'alice-password' }).toString(),
      });
    expect((await signIn('not-the-token')).status).toBe(403);
    const signedIn = await signIn(token!);
    expect([signedIn.status, signedIn.headers.get('location')]).toEqual([303, '/admin/ldap']);
    const page = await fetch(`${base}/admin/ldap`, { headers: { Cookie: cookiesOf(signedIn) } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain('LDAP admin');
    const anonymous = await fetch(`${base}/admin/ldap`, { redirect: 'manual' });
    expect([anonymous.status, anonymous.headers.get('location')]).toEqual([303, '/admin/login']);
  });
});

/** The cookies a response sets, as a Cookie header. */
function cookiesOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';', 1)[0])
    .join('; ');
}
