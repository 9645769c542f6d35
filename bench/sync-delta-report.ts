/** The delta section's table and its targets (issue 18), against the floors of the same run. */
import { DEPROVISION_INTERVAL_S, failed, type DeltaSection } from './sync-delta.js';
import { fmt, range, secs, table } from './sync-report.js';
import type { Stats } from './sync-report.js';

export interface DeltaTarget {
  target: string;
  measured: string;
  met: boolean;
}

const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`;
const times = (a: number, b: number): string => `${(a / b).toFixed(a / b < 0.01 ? 4 : 3)}×`;
const msRange = (s: Stats): string =>
  s.samples.length < 2 ? '–' : `${(s.min * 1000).toFixed(0)}–${(s.max * 1000).toFixed(0)} ms`;

export function deltaTable(d: DeltaSection): string {
  const rows: string[][] = [
    [`Delta sync, ${fmt(d.users)} users, PostgreSQL`, 'median', 'min–max', '× full resync', '× floor', 'peak RSS'],
  ];
  // One cell: a line of its own, which does not widen the columns.
  const failedRow = (label: string, reason: string) => rows.push([`${label}: failed: ${reason}`]);
  const w = d.warm;
  if (failed(w)) failedRow('  full resync and nothing-changed deltas', w.failed);
  else if (w) {
    rows.push([
      '  full unchanged resync (reference; one process, peak RSS of all its runs)',
      secs(w.full.median),
      range(w.full),
      '1×',
      '',
      `${fmt(w.peakRssMb)} MB`,
    ]);
    rows.push([
      `  first delta (no cursor yet: read whole, mode ${w.firstDeltaMode})`,
      secs(w.firstDeltaSeconds),
      '',
      times(w.firstDeltaSeconds, w.full.median),
      '',
      '',
    ]);
    rows.push([
      '  delta, nothing changed (same process)',
      ms(w.nothing.median),
      msRange(w.nothing),
      times(w.nothing.median, w.full.median),
      '',
      '',
    ]);
  }
  const f = d.floor;
  if (failed(f)) failedRow('  ldapsearch -E sync=ro/<cookie> (floor)', f.failed);
  else if (f) {
    rows.push([
      `  ldapsearch -E sync=ro/<cookie>: ${f.users} users + ${f.groups} groups (floor)`,
      ms(f.seconds.median),
      msRange(f.seconds),
      '',
      '1×',
      '',
    ]);
  }
  const c = d.changed;
  if (failed(c)) failedRow('  delta, 100 changes', c.failed);
  else if (c) {
    const full = !failed(w) && w ? times(c.seconds.median, w.full.median) : '';
    const floor = !failed(f) && f ? times(c.seconds.median, f.seconds.median) : '';
    rows.push([
      '  delta, 100 changes (after a dry run of it)',
      ms(c.seconds.median),
      msRange(c.seconds),
      full,
      floor,
      '',
    ]);
    if (d.coldSeconds !== undefined && !failed(w) && w && !failed(f) && f) {
      const cold = d.coldSeconds;
      rows.push([
        '  the same, cold (first run of a fresh process)',
        ms(cold),
        '',
        times(cold, w.full.median),
        times(cold, f.seconds.median),
        '',
      ]);
    }
    rows.push([
      '  its memory: peak RSS above the idle app (every run)',
      `${c.aboveIdleMb.median.toFixed(1)} MB`,
      c.aboveIdleMb.samples.length > 1 ? `${c.aboveIdleMb.min.toFixed(1)}–${c.aboveIdleMb.max.toFixed(1)} MB` : '–',
      '',
      '',
      `${fmt(c.peakRssMb.max)} MB`,
    ]);
  }
  for (const [key, label] of [
    ['interval', `deltas every ${DEPROVISION_INTERVAL_S} s`],
    ['push', 'pushes on (LDAP_SYNC_PUSH)'],
  ] as const) {
    const p = d.deprovision[key];
    if (failed(p)) failedRow(`  deprovisioning delay, ${label}`, p.failed);
    else if (p) {
      rows.push([
        `  deprovisioning delay (deleted → refused), ${label}`,
        `${fmt(p.median)} ms`,
        `${fmt(p.min)}–${fmt(p.max)} ms`,
        '',
        '',
        '',
      ]);
    }
  }
  return table(rows);
}

export function deltaNotes(d: DeltaSection): string[] {
  const notes = [
    'Delta: the reference and the nothing-changed deltas in one process, as a running app does them; each ' +
      '100-change delta in a fresh process on a fresh copy of the synced database (10 deletes, 10 moves to ' +
      'another OU, 30 mail changes, 50 membership changes), after a dry run of the same delta (it reads and ' +
      'plans, writes nothing: code compiled, connections open, as in an app that ran deltas before); floor: ldapsearch -E sync=ro from the cookies the ' +
      'library stored, the changed users then the changed groups (every member value); memory: peak RSS during ' +
      'the delta minus RSS of the same process just before it, idle (garbage collected); deprovisioning: a synced user deleted ' +
      "with ldapdelete, then the library's token check (LdapLoginService.findActiveUser, as GET /auth/me) polled " +
      'every 10 ms until it refuses; deletions spread over the interval.',
  ];
  if (!failed(d.changed) && d.changed?.failures.length) {
    notes.push(`Delta: ${d.changed.failures.length} of the 100-change runs FAILED: ${d.changed.failures.join('; ')}`);
  }
  const r = !failed(d.changed) ? d.changed?.report : undefined;
  if (r) {
    notes.push(
      `Delta, 100 changes: mode ${r.mode}, ${r.usersRemoved} users removed, ${r.usersUpdated} updated, ` +
        `${r.membershipsAdded} memberships added, ${r.membershipsRemoved} removed.`,
    );
  }
  return notes;
}

/** The targets, at 100,000 users and more. */
export function deltaTargets(d: DeltaSection): DeltaTarget[] {
  const out: DeltaTarget[] = [];
  if (d.users < 100_000) return out;
  const w = !failed(d.warm) ? d.warm : undefined;
  const f = !failed(d.floor) ? d.floor : undefined;
  const c = !failed(d.changed) ? d.changed : undefined;
  if (w) {
    const n = w.nothing.median;
    out.push({
      target: 'delta, nothing changed ≤ 50 ms and ≤ 0.05× the full resync',
      measured: `${ms(n)}, ${times(n, w.full.median)}`,
      met: n <= 0.05 && n <= 0.05 * w.full.median,
    });
  }
  if (c && w && f) {
    const s = c.seconds.median;
    out.push({
      target: 'delta, 100 changes ≤ 0.1× the full resync and ≤ 2× its ldapsearch floor',
      measured: `${times(s, w.full.median)}, ${times(s, f.seconds.median)}`,
      met: s <= 0.1 * w.full.median && s <= 2 * f.seconds.median,
    });
  }
  if (c) {
    const above = c.aboveIdleMb.max;
    out.push({
      target: 'memory of a delta run ≤ 64 MB above idle',
      measured: `${above.toFixed(1)} MB`,
      met: above <= 64,
    });
  }
  const push = d.deprovision.push;
  if (push && !failed(push)) {
    out.push({
      target: 'deprovisioning delay with pushes ≤ 2 s',
      measured: `${fmt(push.max)} ms (max)`,
      met: push.max <= 2000,
    });
  }
  return out;
}
