import type { CheckReport, CheckStep } from '../check/check-report.js';
import { html, type SafeHtml } from './html.js';

/** A status as a coloured label (the class names are the statuses: ok, warn, fail, skip, up, down...). */
export function badge(status: string, text: string = status): SafeHtml {
  return html`<span class="badge ${status.replace(/[^a-z]/g, '')}">${text}</span>`;
}

/** One step of a check: status, title, summary, then its details and hint. */
export function checkStepRow(step: CheckStep): SafeHtml {
  const details = step.details.length
    ? html`<ul class="details">
        ${step.details.map((d) => html`<li class="mono">${d}</li>`)}
      </ul>`
    : '';
  const hint = step.hint && step.status !== 'ok' ? html`<div class="hint">→ ${step.hint}</div>` : '';
  return html`<tr>
    <td>${badge(step.status)}</td>
    <td>${step.title}</td>
    <td>${step.summary}${details}${hint}</td>
  </tr>`;
}

/** The steps of a check report as a table, with the counts above it. */
export function checkTable(report: CheckReport, steps: readonly CheckStep[] = report.steps): SafeHtml {
  const { ok, warn, fail, skip } = report.counts;
  return html`<p class="muted">${ok} ok, ${warn} warnings, ${fail} failed, ${skip} skipped (${report.durationMs} ms)</p>
    <table>
      <tr>
        <th>Status</th>
        <th>Step</th>
        <th>Result</th>
      </tr>
      ${steps.map(checkStepRow)}
    </table>`;
}
