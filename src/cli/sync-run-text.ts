import type { SyncChange, SyncChanges, SyncChangeValues, SyncRunRecord } from '@nest-ldap-auth/ldap-auth';

/** `npm run sync -- --show <id>` without --json: the run, then every change it recorded, one per line. */
export function runText(run: SyncRunRecord): string {
  const took = run.finishedAt
    ? ` in ${((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000).toFixed(2)} s`
    : '';
  const lines = [
    `sync run ${run.id}: ${run.status}${run.dryRun ? ' (dry run)' : ''}, started ${run.startedAt.toISOString()}${took}`,
    ...(run.report?.reason ? [`  reason: ${run.report.reason}`] : []),
    ...changesText(run.changes, Infinity),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The change list: a summary by kind, then at most `max` changes. Values are JSON-quoted, so a name with
 * spaces, quotes or control characters reads unambiguously on one line.
 */
export function changesText(changes: SyncChanges | null | undefined, max: number): string[] {
  if (!changes) return ['  changes: none recorded (no plan was made, or the run predates the change list)'];
  const verb = changes.applied ? 'changes' : 'changes planned, not written';
  const counts = Object.entries(changes.counts)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
  const lines = [`  ${verb}: ${changes.total}${counts ? ` (${counts})` : ''}`];
  const shown = changes.records.slice(0, max);
  lines.push(...shown.map((change) => `    ${changeText(change)}`));
  const notShown = changes.records.length - shown.length;
  if (notShown > 0) lines.push(`    … ${notShown} more listed by --show`);
  if (changes.omitted > 0) lines.push(`    … ${changes.omitted} more counted but not listed (the list is capped)`);
  return lines;
}

function changeText(change: SyncChange): string {
  const who = change.user ? `user ${change.user.id} ${JSON.stringify(change.user.username)}` : '';
  const group = change.group ? `group ${JSON.stringify(change.group.name)} (${change.group.dn})` : '';
  const subject =
    change.kind === 'membership_added'
      ? `${who} joins ${group}`
      : change.kind === 'membership_removed'
        ? `${who} leaves ${group}`
        : [who, group].filter(Boolean).join(' ');
  const reason = change.reason ? ` (${change.reason})` : '';
  const values = valuesText(change.before, change.after);
  return `${change.kind.padEnd(20)} ${subject}${reason}${values ? `: ${values}` : ''}`;
}

function valuesText(before: SyncChangeValues | undefined, after: SyncChangeValues | undefined): string {
  const columns = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  return columns
    .map((column) => {
      const from = before && column in before ? JSON.stringify(before[column]) : undefined;
      const to = after && column in after ? JSON.stringify(after[column]) : undefined;
      if (from === undefined) return `${column} ${to}`;
      if (to === undefined) return `${column} was ${from}`;
      return `${column} ${from} → ${to}`;
    })
    .join(', ');
}
