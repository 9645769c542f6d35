import type { ServerState } from '../directory/ldap-connections.js';
import type { DirectoryFacts } from './ldap-admin.service.js';
import { badge, checkTable } from './check-view.js';
import { html, type SafeHtml } from './html.js';

const row = (key: string, value: SafeHtml | string) =>
  html`<tr>
    <td class="k">${key}</td>
    <td>${value}</td>
  </tr>`;

/** Each URL of LDAP_AUTH_URL: in use, standby, or failed (skipped until a probe sees it answer). */
function failover(servers: ServerState): SafeHtml {
  return html`${servers.urls.map(({ url, suspect }) => {
    const state = suspect
      ? badge('fail', 'failed')
      : url === servers.preferred
        ? badge('ok', 'in use')
        : badge('skip', 'standby');
    return html`<div>${state} <code>${url}</code></div>`;
  })}`;
}

/** The steps that say how each URL is reached: DNS, TCP, StartTLS, TLS and the certificate. */
function transport(facts: DirectoryFacts): SafeHtml {
  const tls = facts.check.steps.filter((s) => /^url\d+\.(tls|starttls)$/.test(s.id));
  if (!tls.length) return html`${badge('warn', 'none')} plain LDAP: passwords cross the network readable`;
  return html`${tls.map((s) => html`<div>${badge(s.status)} ${s.summary}${s.details.filter((d) => /expires|subject|issuer/.test(d)).map((d) => html`<div class="mono muted">${d}</div>`)}</div>`)}`;
}

function latencies(facts: DirectoryFacts): SafeHtml {
  if (!facts.latencies.length) return html`<p class="muted">No LDAP request in this process yet.</p>`;
  const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`;
  return html`<table>
      <tr>
        <th>Operation</th>
        <th>Requests</th>
        <th>Failed</th>
        <th>Median</th>
        <th>p95</th>
        <th>Max</th>
        <th>Latest (UTC)</th>
      </tr>
      ${facts.latencies.map(
        (l) =>
          html`<tr>
            <td>${l.operation}</td>
            <td>${l.count}</td>
            <td>${l.failed}</td>
            <td class="nowrap">${ms(l.medianMs)}</td>
            <td class="nowrap">${ms(l.p95Ms)}</td>
            <td class="nowrap">${ms(l.maxMs)}</td>
            <td class="nowrap">${new Date(l.lastAt).toISOString().slice(11, 19)}</td>
          </tr>`,
      )}
    </table>
    <p class="muted">
      The latest ${facts.latencies.reduce((n, l) => n + l.count, 0)} requests of this process (the Prometheus histogram
      ldap_auth_ldap_operation_duration_seconds has them all).
    </p>`;
}

/** The directory: health, kind, URL in use and failover, TLS and certificate, naming context, latencies, checks. */
export function directorySection(facts: DirectoryFacts): SafeHtml {
  const { check, health, servers } = facts;
  const server = check.server ?? (servers.latest && { url: servers.latest.url, ...servers.latest.server });
  const kind = !server
    ? 'unknown (no server answered)'
    : server.activeDirectory
      ? 'Active Directory (or Samba AD)'
      : 'LDAP directory (OpenLDAP or another RFC 4512 server)';
  const healthText = html`${badge(health.up ? 'up' : 'down')}${health.serviceAccount ? html` service account: ${health.serviceAccount}` : ''}`;
  return html`<section id="directory">
    <h2>Directory</h2>
    <table>
      ${row('Health', healthText)} ${row('Server kind', kind)}
      ${row('URL in use', html`<code>${server?.url ?? servers.preferred}</code>`)} ${row('Failover', failover(servers))}
      ${row('TLS', transport(facts))}
      ${row('Naming contexts', html`${(server?.namingContexts ?? []).map((dn) => html`<div><code>${dn}</code></div>`)}`)}
      ${row('Search base', html`<code>${facts.searchBase}</code>`)} ${row('Login mode', facts.loginMode)}
    </table>
    <h3>Recent LDAP operations</h3>
    ${latencies(facts)}
    <details>
      <summary>Every check (the steps of <code>npm run ldap:check</code>)</summary>
      ${checkTable(check)}
    </details>
  </section>`;
}
