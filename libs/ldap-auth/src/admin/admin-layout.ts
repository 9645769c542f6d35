import { createHash } from 'node:crypto';
import { html, SafeHtml } from './html.js';

/** The page's only style sheet, inline (no external asset); allowed by its hash in the CSP, nothing else is. */
const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;background:#f4f6f8}
header{background:#1f3a5f;color:#fff;padding:12px 24px;display:flex;align-items:baseline;gap:16px}
header h1{font-size:18px;margin:0;font-weight:600}
header a{color:#cfe0f5;text-decoration:none}
header form{margin-left:auto}
header button{border-color:#cfe0f5}
main{max-width:1180px;margin:0 auto;padding:16px 24px 48px}
section{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:14px 18px;margin:16px 0}
h2{font-size:16px;margin:0 0 10px}
h3{font-size:14px;margin:14px 0 6px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid #edf0f3}
th{font-weight:600;color:#52606d;background:#f8fafc}
td.k{width:220px;color:#52606d}
code,.mono{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
ul.details{margin:4px 0 0;padding-left:18px;color:#52606d}
.badge{display:inline-block;min-width:44px;text-align:center;padding:1px 6px;border-radius:10px;font-size:12px;font-weight:600}
.ok,.succeeded,.up{background:#e3f6e8;color:#17663a}
.warn,.skipped,.running{background:#fff4d6;color:#8a5a00}
.fail,.failed,.aborted,.down,.interrupted{background:#fde2e1;color:#a61b1b}
.skip,.dry{background:#eceff3;color:#52606d}
.hint{color:#8a5a00}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.grid section{margin:0 0 16px}
.nowrap{white-space:nowrap}
form.inline{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
input[type=text],input[type=password]{padding:6px 8px;border:1px solid #b9c4d0;border-radius:4px;min-width:200px}
button{padding:6px 14px;border:1px solid #1f3a5f;background:#1f3a5f;color:#fff;border-radius:4px;cursor:pointer}
.verdict{font-size:15px;font-weight:600;padding:8px 12px;border-radius:4px;margin:8px 0}
.muted{color:#7b8794}
.error{background:#fde2e1;color:#a61b1b;padding:8px 12px;border-radius:4px}
section.login{max-width:420px;margin:48px auto}
section.login input{width:100%}
details summary{cursor:pointer;margin-top:12px;color:#1f3a5f}
@media (max-width:900px){.grid{grid-template-columns:1fr}}
`;

const STYLE_HASH = createHash('sha256').update(CSS).digest('base64');
/** Built outside the `html` templates: Prettier reformats those, and one changed space would void the hash. */
const STYLE = new SafeHtml(`<style>${CSS}</style>`);

/**
 * Headers of every admin response: a CSP that allows only the inline style above (no script at all, forms to
 * this origin only, no framing), no MIME sniffing, no caching of pages that show directory data, no referrer.
 */
export const LDAP_ADMIN_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/** The header's sign-out button: a POST to the app's sign-out route with the session's CSRF token. */
export interface AdminSignOut {
  action: string;
  csrf: string;
}

/** A whole page: title, a header linking back to `home` (and a sign-out button), the body. */
export function adminPage(title: string, body: SafeHtml, home?: string, signOut?: AdminSignOut): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        ${STYLE}
      </head>
      <body>
        <header>
          <h1>${title}</h1>
          ${home ? html`<a href="${home}">Overview</a>` : ''}
          ${
            signOut
              ? html`<form method="post" action="${signOut.action}" id="sign-out">
                  <input type="hidden" name="_csrf" value="${signOut.csrf}" /><button type="submit">Sign out</button>
                </form>`
              : ''
          }
        </header>
        <main>${body}</main>
      </body>
    </html> `.markup;
}
