/**
 * The LDAP admin page (/admin/ldap) in a real headless Chromium (Debian's chromium, driven by playwright-core),
 * against slapd and Samba AD: an admin signs in through the form and sees the directory and the last sync's
 * changes; a user outside LDAP_ADMIN_GROUP gets 403; a POST without the CSRF token is refused; a directory
 * value holding markup renders as text and runs nothing; "test a user" explains a refusal by the login group;
 * all of it with JavaScript off too. SAVE_SCREENSHOTS=1 saves docs/images/admin-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { LdapSyncService } from '@nest-ldap-auth/ldap-auth';
import { postLogin } from './support/app.js';
import { DIRECTORY_KINDS, directoryEnv, directoryInfo, groupDnOf, serviceAccountEnv } from './support/env.js';
import { createGroup, createUser, deleteGroup, deleteUser, setAttributes } from './support/directory-admin.js';
import { fixtureUser } from './support/fixtures.js';
import { testApps } from './support/test-app.js';

const IMAGES = fileURLToPath(new URL('../docs/images/', import.meta.url));
const SAVE = process.env.SAVE_SCREENSHOTS === '1';
const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(2)</script>';
const XSS_USER = { username: 'admin-xss', password: 'Xss-pass1', givenName: IMG, sn: 'Plain', mail: 'xss@example.com' };
const LOGIN_GROUP = 'admin-page-login';

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** A fresh browser context (its own cookies) whose pages fail the test if any dialog opens. */
async function newContext(
  javaScriptEnabled = true,
): Promise<{ context: BrowserContext; page: Page; dialogs: string[] }> {
  const context = await browser.newContext({ javaScriptEnabled, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return { context, page, dialogs };
}

/** Signs in through the form; the response of the page it lands on. */
async function signIn(page: Page, base: string, username: string, password: string) {
  await page.goto(`${base}/admin/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  const [response] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  return response;
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SAVE) return;
  mkdirSync(IMAGES, { recursive: true });
  await page.screenshot({ path: `${IMAGES}admin-${name}.png`, fullPage: true });
}

describe.each(DIRECTORY_KINDS)('the admin page on %s', (kind) => {
  const apps = testApps();
  const info = directoryInfo(kind);
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    await deleteUser(info, XSS_USER.username).catch(() => undefined);
    await deleteGroup(info, LOGIN_GROUP).catch(() => undefined);
    await createUser(info, XSS_USER);
    await createGroup(info, LOGIN_GROUP, ['alice', 'bob', XSS_USER.username]);
    app = await apps.start('sqlite', {
      ...directoryEnv(kind),
      ...serviceAccountEnv(kind),
      LDAP_AUTH_FORMAT_SEARCH_FILTERS: 'login_group_search_filter',
      LDAP_LOGIN_GROUP: groupDnOf(kind, LOGIN_GROUP),
      LDAP_ADMIN_GROUP: groupDnOf(kind, 'admins'),
      LDAP_SYNC_DELTA_INTERVAL: '0',
    });
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    // The user logs in once (the app creates its row), then the directory changes a field: the sync records it.
    expect((await postLogin(app, XSS_USER.username, XSS_USER.password)).status).toBe(200);
    await setAttributes(info, XSS_USER.username, { sn: SCRIPT });
    expect((await app.get(LdapSyncService).run()).status).toBe('succeeded');
  });

  afterAll(async () => {
    await deleteGroup(info, LOGIN_GROUP).catch(() => undefined);
    await deleteUser(info, XSS_USER.username).catch(() => undefined);
  });

  it('lets an admin sign in through the form and shows the directory and the last sync’s changes, markup as text', async () => {
    const { context, page, dialogs } = await newContext();
    try {
      const landed = await signIn(page, base, 'alice', fixtureUser('alice').password);
      expect(landed?.status()).toBe(200);
      expect(new URL(page.url()).pathname).toBe('/admin/ldap');
      const headers = landed!.headers();
      expect(headers['content-security-policy']).toMatch(
        /default-src 'none'.*form-action 'self'.*frame-ancestors 'none'/,
      );
      expect(headers['x-content-type-options']).toBe('nosniff');
      const cookie = (await context.cookies()).find((c) => c.name === 'ldap_admin');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

      // The inline style sheet applied (the CSP allows it by its hash).
      expect(await page.evaluate('getComputedStyle(document.querySelector("header")).backgroundColor')).toBe(
        'rgb(31, 58, 95)',
      );
      const directory = page.locator('#directory');
      await expect(directory.textContent()).resolves.toContain(
        kind === 'ad' ? 'Active Directory (or Samba AD)' : 'LDAP directory (OpenLDAP',
      );
      const text = (await directory.textContent()) ?? '';
      expect(text).toContain(directoryEnv(kind).LDAP_AUTH_URL);
      expect(text).toContain('in use');
      expect(text.toLowerCase()).toContain(info.baseDn.toLowerCase());
      expect(text).toMatch(/search\s/); // the latencies table lists the searches the sync made
      await screenshot(page, `overview-${kind}`);

      await page.click('#sync table a'); // the newest run
      const run = (await page.locator('main').textContent()) ?? '';
      expect(run).toContain('user fields changed');
      expect(run).toContain(SCRIPT);
      await screenshot(page, `run-${kind}`);

      await page.goto(`${base}/admin/ldap`);
      await page.fill('#test-user input[name=username]', XSS_USER.username);
      await Promise.all([page.waitForNavigation(), page.click('#test-user button')]);
      const tested = (await page.locator('#test-user').textContent()) ?? '';
      expect(tested).toContain('May log in');
      expect(tested).toContain(IMG);
      expect(await page.locator('main img, main script').count()).toBe(0);
      expect(dialogs).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('explains a refusal by the login group in "test a user"', async () => {
    const { context, page } = await newContext();
    try {
      await signIn(page, base, 'alice', fixtureUser('alice').password);
      await page.fill('#test-user input[name=username]', 'eve');
      await Promise.all([page.waitForNavigation(), page.click('#test-user button')]);
      const text = (await page.locator('#test-user').textContent()) ?? '';
      expect(text).toContain(`May NOT log in: not a member of the login group ${groupDnOf(kind, LOGIN_GROUP)}`);
      expect(text).toContain('Entry found and mapped fields');
      await screenshot(page, `test-user-${kind}`);
    } finally {
      await context.close();
    }
  });

  if (kind !== 'openldap') return;

  it('answers 403 to a user outside LDAP_ADMIN_GROUP', async () => {
    const { context, page } = await newContext();
    try {
      const landed = await signIn(page, base, 'bob', fixtureUser('bob').password);
      expect(landed?.status()).toBe(403);
    } finally {
      await context.close();
    }
  });

  it('refuses a POST without the CSRF token, and runs the preview with it', async () => {
    const { context, page } = await newContext();
    try {
      await signIn(page, base, 'alice', fixtureUser('alice').password);
      const bare = await context.request.post(`${base}/admin/ldap/preview`, { form: { other: 'x' } });
      expect(bare.status()).toBe(403);
      const wrong = await context.request.post(`${base}/admin/ldap/test-user`, {
        form: { _csrf: 'x', username: 'eve' },
      });
      expect(wrong.status()).toBe(403);
      await Promise.all([page.waitForNavigation(), page.click('#sync button')]);
      const text = (await page.locator('#preview').textContent()) ?? '';
      expect(text).toContain('what the next full sync would change');
      expect(text).toMatch(/No change would be made|Not written/);
      await screenshot(page, 'preview');
    } finally {
      await context.close();
    }
  });

  it('works with JavaScript off: sign in, the page, "test a user"', async () => {
    const { context, page } = await newContext(false);
    try {
      expect((await signIn(page, base, 'alice', fixtureUser('alice').password))?.status()).toBe(200);
      await page.fill('#test-user input[name=username]', 'eve');
      await Promise.all([page.waitForNavigation(), page.click('#test-user button')]);
      expect(await page.locator('#test-user').textContent()).toContain('May NOT log in');
    } finally {
      await context.close();
    }
  });

  it('signs out from the button in the header: the session ends, the page asks to sign in again', async () => {
    const { context, page } = await newContext(false);
    try {
      await signIn(page, base, 'alice', fixtureUser('alice').password);
      await page.goto(`${base}/admin/ldap/runs/1`);
      expect(await page.locator('#sign-out button').textContent()).toBe('Sign out');
      await Promise.all([page.waitForNavigation(), page.click('#sign-out button')]);
      expect(new URL(page.url()).pathname).toBe('/admin/login');
      await page.goto(`${base}/admin/ldap`);
      expect(new URL(page.url()).pathname).toBe('/admin/login');
    } finally {
      await context.close();
    }
  });

  it('sends a browser without a session to the login form, and is off (404) without LDAP_ADMIN_GROUP', async () => {
    const { context, page } = await newContext();
    try {
      await page.goto(`${base}/admin/ldap`);
      expect(new URL(page.url()).pathname).toBe('/admin/login');
      const off = await apps.start('sqlite', { ...directoryEnv(kind), ...serviceAccountEnv(kind) });
      await off.listen(0, '127.0.0.1');
      const offBase = (await off.getUrl()).replace('[::1]', '127.0.0.1');
      expect((await page.goto(`${offBase}/admin/ldap`))?.status()).toBe(404);
      expect((await page.goto(`${offBase}/admin/login`))?.status()).toBe(404);
    } finally {
      await context.close();
    }
  });
});
