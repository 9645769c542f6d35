import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { adminPage, LDAP_ADMIN_HEADERS } from './admin-layout.js';
import { html } from './html.js';

describe('adminPage', () => {
  it('has one style sheet, the one the CSP allows by its hash, and no script', () => {
    const page = adminPage('LDAP <admin>', html`<p>body</p>`);
    const styles = [...page.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]).digest('base64');
    expect(LDAP_ADMIN_HEADERS['Content-Security-Policy']).toContain(`style-src 'sha256-${hash}'`);
    expect(page).not.toMatch(/<script|style="/);
    expect(page).toContain('<title>LDAP &lt;admin&gt;</title>');
  });

  it("has a sign-out button posting the session's CSRF token when the app gives its route, none otherwise", () => {
    const page = adminPage('LDAP', html`<p>body</p>`, undefined, { action: '/admin/logout', csrf: 'a"b' });
    expect(page).toMatch(/<form method="post" action="\/admin\/logout" id="sign-out">/);
    expect(page).toContain('<input type="hidden" name="_csrf" value="a&quot;b" />');
    expect(adminPage('LDAP', html`<p>body</p>`)).not.toContain('sign-out');
  });
});
