/**
 * `npm run sync -- [--delta] [--dry-run] [--json] [--force]`: one LDAP reconciliation now (full, or a delta), in a standalone Nest
 * application context (no HTTP server), configured by the same environment variables as the app.
 *
 * Exit codes: 0 succeeded, 1 failed (or could not start), 2 aborted by a safety rule before writing anything,
 * 3 skipped (another run holds the lock), 64 wrong arguments. With --json, stdout holds exactly one JSON
 * object (the report) and everything else goes to stderr.
 */
import 'reflect-metadata';
import { LdapSyncService, type ReadProgress, type SyncOutcome, type SyncReport } from '@nest-ldap-auth/ldap-auth';
import { createCommandContext } from './cli/command-context.js';

const SYNC_EXIT_CODES: Record<SyncOutcome | 'usage', number> = {
  succeeded: 0,
  failed: 1,
  aborted: 2,
  skipped: 3,
  usage: 64,
};

const USAGE = `usage: npm run sync -- [--delta] [--dry-run] [--json] [--force]
  --delta    read what changed since the last delta (a full read when that cannot be known: the report says why)
  --dry-run  compute the report, write nothing (but the run's ldap_sync_runs row)
  --json     print the report as one JSON object on stdout
  --force    go past LDAP_SYNC_MAX_REMOVALS`;

async function main(argv: string[]): Promise<number> {
  const flags = new Set(argv);
  const known = new Set(['--delta', '--dry-run', '--json', '--force', '--help', '-h']);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length || flags.has('--help') || flags.has('-h')) {
    process.stderr.write(`${unknown.length ? `unknown argument: ${unknown.join(' ')}\n` : ''}${USAGE}\n`);
    return unknown.length ? SYNC_EXIT_CODES.usage : 0;
  }
  const json = flags.has('--json');
  const app = await createCommandContext();
  try {
    const progress = process.stderr.isTTY ? progressLine() : undefined;
    const report = await app.get(LdapSyncService).run({
      dryRun: flags.has('--dry-run'),
      delta: flags.has('--delta'),
      force: flags.has('--force'),
      onProgress: progress?.update,
    });
    progress?.done();
    if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else process.stdout.write(humanReport(report));
    return SYNC_EXIT_CODES[report.status];
  } finally {
    await app.close();
  }
}

/** One line on the terminal, rewritten as pages arrive. */
function progressLine(): { update: (p: ReadProgress) => void; done: () => void } {
  let last = 0;
  return {
    update: (p) => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      process.stderr.write(`\rreading ${p.phase}: ${p.entriesRead} entries, ${p.pages} pages `);
    },
    done: () => process.stderr.write('\r\x1b[K'),
  };
}

function humanReport(r: SyncReport): string {
  const lines = [
    `LDAP ${r.mode === 'delta' ? 'delta ' : ''}sync ${r.status}${r.dryRun ? ' (dry run: nothing written)' : ''} in ${(r.durationMs / 1000).toFixed(2)} s`,
    ...(r.modeReason ? [`  read in full: ${r.modeReason}`] : []),
    ...(r.reason ? [`  reason: ${r.reason}`] : []),
    `  users seen          ${r.usersSeen}`,
    `  users updated       ${r.usersUpdated}`,
    `  users removed       ${r.usersRemoved}`,
    `  users deactivated   ${r.usersDeactivated}`,
    `  users reactivated   ${r.usersReactivated}`,
    `  groups created      ${r.groupsCreated}`,
    `  memberships added   ${r.membershipsAdded}`,
    `  memberships removed ${r.membershipsRemoved}`,
    `  removals ${r.removals} (limit ${r.maxRemovals}, LDAP_SYNC_MAX_REMOVALS)`,
    `  membership removals ${r.membershipRemovals} (limit ${r.maxMembershipRemovals}, LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS)`,
    ...r.notes.slice(0, 20).map((n) => `  note: ${n}`),
  ];
  return `${lines.join('\n')}\n`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\nSync failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(SYNC_EXIT_CODES.failed);
  },
);
