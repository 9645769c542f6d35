import type { SyncChange, SyncChangeValues, SyncChanges } from '../model/sync-changes.js';
import type { SyncReport, SyncRunRecord } from '../model/sync-report.js';
import type { SyncOverview } from './ldap-admin.service.js';
import { badge } from './check-view.js';
import { html, type SafeHtml } from './html.js';

const when = (date: Date | string | null) => (date ? new Date(date).toISOString().replace('T', ' ').slice(0, 19) : '');

/** A form that POSTs to `action` with the CSRF token, as one button. */
export function postButton(action: string, csrf: string, label: string): SafeHtml {
  return html`<form class="inline" method="post" action="${action}">
    <input type="hidden" name="_csrf" value="${csrf}" /><button type="submit">${label}</button>
  </form>`;
}

function schedule(s: SyncOverview['schedule']): SafeHtml {
  const full = s.enabled ? html`<code>${s.cron}</code> (LDAP_SYNC_CRON)` : html`off (LDAP_SYNC_ENABLED=false)`;
  const delta = s.deltaInterval
    ? `every ${s.deltaInterval} s (LDAP_SYNC_DELTA_INTERVAL)`
    : 'off (LDAP_SYNC_DELTA_INTERVAL=0)';
  return html`<table>
    <tr>
      <td class="k">Full sync</td>
      <td>${full}</td>
    </tr>
    <tr>
      <td class="k">Delta sync</td>
      <td>${delta}</td>
    </tr>
  </table>`;
}

function countsText(changes: SyncChanges | null | undefined): string {
  if (!changes) return '';
  const parts = Object.entries(changes.counts).map(([kind, n]) => `${n} ${kind.replace(/_/g, ' ')}`);
  return parts.length ? parts.join(', ') : 'no change';
}

function runRow(run: SyncRunRecord, base: string): SafeHtml {
  const report = run.report;
  const mode = report?.mode ?? '';
  return html`<tr>
    <td><a href="${base}/runs/${run.id}">#${run.id}</a></td>
    <td class="nowrap">${when(run.startedAt)}</td>
    <td>${mode}${run.dryRun ? html` ${badge('dry', 'dry run')}` : ''}</td>
    <td>${badge(run.status)}</td>
    <td>${report ? `${(report.durationMs / 1000).toFixed(1)} s` : ''}</td>
    <td>
      ${countsText(run.changes ?? report?.changes)}${report?.reason ? html`<div class="muted">${report.reason}</div>` : ''}
    </td>
  </tr>`;
}

/** The schedule, the latest runs (full and delta, dry runs too) and the preview button. */
export function syncSection(overview: SyncOverview, base: string, csrf: string): SafeHtml {
  const runs = overview.runs.length
    ? html`<table>
        <tr>
          <th>Run</th>
          <th>Started (UTC)</th>
          <th>Mode</th>
          <th>Status</th>
          <th>Took</th>
          <th>Changes</th>
        </tr>
        ${overview.runs.map((r) => runRow(r, base))}
      </table>`
    : html`<p class="muted">No sync has run yet.</p>`;
  return html`<section id="sync">
    <h2>Sync</h2>
    ${schedule(overview.schedule)}
    <h3>Latest runs${overview.running ? html` ${badge('running', 'a run is going on')}` : ''}</h3>
    ${runs}
    <h3>Preview</h3>
    <p class="muted">
      A full dry run: reads the directory, shows what a sync would change, writes nothing but its own record.
    </p>
    ${postButton(`${base}/preview`, csrf, 'Preview the next sync')}
  </section>`;
}

function values(v: SyncChangeValues | undefined): SafeHtml {
  if (!v) return html``;
  return html`${Object.entries(v).map(([k, value]) => html`<div><span class="muted">${k}</span> <code>${value === null ? '(none)' : String(value)}</code></div>`)}`;
}

function changeRow(c: SyncChange): SafeHtml {
  const who = c.user
    ? html`user <code>${c.user.username}</code>`
    : c.group
      ? html`group <code>${c.group.name}</code> <span class="muted mono">${c.group.dn}</span>`
      : '';
  const group = c.user && c.group ? html`<div>group <code>${c.group.name}</code></div>` : '';
  return html`<tr>
    <td>${c.kind.replace(/_/g, ' ')}</td>
    <td>${who}${group}${c.reason ? html`<div class="muted">${c.reason}</div>` : ''}</td>
    <td>${values(c.before)}</td>
    <td>${values(c.after)}</td>
  </tr>`;
}

/** A run's change list (bounded: what is beyond the cap is counted). */
export function changeList(changes: SyncChanges | null | undefined): SafeHtml {
  if (!changes)
    return html`<p class="muted">
      No change list: the run made no plan (skipped, or stopped before it), or predates change records.
    </p>`;
  if (!changes.total) return html`<p>No change${changes.applied ? '' : ' would be made'}.</p>`;
  const omitted = changes.omitted ? html`<p class="muted">${changes.omitted} more counted but not listed.</p>` : '';
  return html`<p>
      ${changes.applied ? 'Written' : 'Not written (dry run or stopped before writing)'}: ${countsText(changes)}.
    </p>
    <table>
      <tr>
        <th>Change</th>
        <th>Of</th>
        <th>Before</th>
        <th>After</th>
      </tr>
      ${changes.records.map(changeRow)}
    </table>
    ${omitted}`;
}

/** One run: its report and its change list. */
export function runSection(run: SyncRunRecord): SafeHtml {
  const r = run.report;
  return html`<section>
    <h2>Sync run #${run.id} ${badge(run.status)}${run.dryRun ? html` ${badge('dry', 'dry run')}` : ''}</h2>
    <table>
      <tr>
        <td class="k">Started (UTC)</td>
        <td class="nowrap">${when(run.startedAt)}</td>
      </tr>
      <tr>
        <td class="k">Finished (UTC)</td>
        <td>${when(run.finishedAt)}</td>
      </tr>
      ${
        r
          ? html`<tr>
                <td class="k">Mode</td>
                <td>${r.mode}${r.modeReason ? ` (${r.modeReason})` : ''}</td>
              </tr>
              <tr>
                <td class="k">Users seen</td>
                <td>${r.usersSeen}</td>
              </tr>`
          : ''
      }
      ${
        r?.reason || run.error
          ? html`<tr>
              <td class="k">Reason</td>
              <td>${r?.reason ?? run.error}</td>
            </tr>`
          : ''
      }
    </table>
    <h3>Changes</h3>
    ${changeList(run.changes ?? r?.changes)}
  </section>`;
}

/** The plan of a preview (dry run). */
export function previewSection(report: SyncReport, base: string): SafeHtml {
  const link = report.runId ? html` (recorded as <a href="${base}/runs/${report.runId}">run #${report.runId}</a>)` : '';
  return html`<section id="preview">
    <h2>Preview: what the next full sync would change ${badge(report.status)}</h2>
    <p>
      ${report.usersSeen} users seen in ${(report.durationMs / 1000).toFixed(1)}
      s${link}.${report.reason ? html` <span class="hint">${report.reason}</span>` : ''}
    </p>
    ${changeList(report.changes)}
  </section>`;
}
