import type { CheckReport } from '../check/check-report.js';
import { checkTable } from './check-view.js';
import { html, type SafeHtml } from './html.js';

/** The "test a user" form: a name, an optional password (never echoed back), the CSRF token. */
export function userTestForm(base: string, csrf: string, name = ''): SafeHtml {
  return html`<form class="inline" method="post" action="${base}/test-user" autocomplete="off">
      <input type="hidden" name="_csrf" value="${csrf}" />
      <label>Username <input type="text" name="username" value="${name}" required /></label>
      <label>Password <input type="password" name="password" placeholder="optional" /></label>
      <button type="submit">Test</button>
    </form>
    <p class="muted">
      Runs the user steps of <code>npm run ldap:check --user</code>. Without a password the service account looks the
      entry up and the bind is not tried. Nothing is written.
    </p>`;
}

export function userTestSection(base: string, csrf: string): SafeHtml {
  return html`<section id="test-user">
    <h2>Test a user</h2>
    ${userTestForm(base, csrf)}
  </section>`;
}

/** The decision and every reason: the verdict, the entry and its mapped fields, the groups, each step. */
export function userTestResult(report: CheckReport, base: string, csrf: string): SafeHtml {
  const user = report.user;
  const verdict =
    user?.mayLogIn === true
      ? html`<div class="verdict ok">May log in</div>`
      : user?.mayLogIn === false
        ? html`<div class="verdict fail">May NOT log in: ${user.refusal}</div>`
        : html`<div class="verdict fail">
            Refused: ${report.steps.find((s) => s.status === 'fail')?.summary ?? 'the check did not get that far'}
          </div>`;
  const fields: Array<[string, string | null | undefined]> = user?.dn
    ? [
        ['Entry', user.dn],
        ['Username', user.username],
        ['Email', user.email],
        ['First name', user.firstName],
        ['Last name', user.lastName],
        ['Stable id', user.uuid],
      ]
    : [];
  const entry = fields.length
    ? html`<h3>Entry found and mapped fields</h3>
        <table>
          ${fields.map(
            ([k, v]) =>
              html`<tr>
                <td class="k">${k}</td>
                <td><code>${v ?? '(none)'}</code></td>
              </tr>`,
          )}
        </table>`
    : '';
  const groups = user?.groups?.length
    ? html`<h3>Listed groups (LDAP_SYNCED_GROUPS, LDAP_LOGIN_GROUP)</h3>
        <table>
          <tr>
            <th>Group</th>
            <th>Member</th>
          </tr>
          ${user.groups.map(
            (g) =>
              html`<tr>
                <td><code>${g.dn}</code>${g.exists ? '' : html` <span class="hint">(does not exist)</span>`}</td>
                <td>${g.member ? `yes (${g.how})` : 'no'}</td>
              </tr>`,
          )}
        </table>`
    : '';
  return html`<section id="test-user">
    <h2>Test a user: <code>${user?.name ?? ''}</code></h2>
    ${verdict}${entry}${groups}
    <h3>Every step</h3>
    ${checkTable(report)}
    <h3>Test another</h3>
    ${userTestForm(base, csrf)}
  </section>`;
}
