/**
 * `npm run sync -- [--delta] [--dry-run] [--json] [--force]`: one LDAP reconciliation now (full, or a delta), in a standalone Nest
 * application context (no HTTP server), configured by the same environment variables as the app.
 * `npm run sync -- --show <run id> [--json]`: a recorded run and every change it made (or planned).
 *
 * Exit codes: 0 succeeded, 1 failed (or could not start, or --show found no such run), 2 aborted by a safety
 * rule before writing anything, 3 skipped (another run holds the lock), 64 wrong arguments. With --json,
 * stdout holds exactly one JSON object (the report with its `changes`, or the run) and everything else goes
 * to stderr.
 */
import 'reflect-metadata';
import {
  LdapSyncHistory,
  LdapSyncService,
  type ReadProgress,
  type SyncOutcome,
  type SyncReport,
} from '@nest-ldap-auth/ldap-auth';
import { createCommandContext } from './cli/command-context.js';
import { changesText, runText } from './cli/sync-run-text.js';

/** Changes a run's own report prints (all of them: --show). */
const CHANGES_SHOWN = 20;

const SYNC_EXIT_CODES: Record<SyncOutcome | 'usage', number> = {
  succeeded: 0,
  failed: 1,
  aborted: 2,
  skipped: 3,
  usage: 64,
};

const USAGE = `usage: npm run sync -- [--delta] [--dry-run] [--json] [--force]
       npm run sync -- --show <run id> [--json]
  --delta          read what changed since the last delta (a full read when that cannot be known: the
                   report says why)
  --dry-run        compute the report, write nothing (but the run's ldap_sync_runs row, with its plan)
  --json           print the report (or the run) as one JSON object on stdout
  --force          go past LDAP_SYNC_MAX_REMOVALS
  --show <run id>  print a recorded run and every change it made or planned (the id: ldap_sync_runs.id,
                   the report's runId)`;

async function main(argv: string[]): Promise<number> {
  const showAt = argv.indexOf('--show');
  const showId = showAt === -1 ? undefined : argv[showAt + 1];
  const args = showAt === -1 ? argv : argv.filter((_, i) => i !== showAt && i !== showAt + 1);
  const flags = new Set(args);
  const known = new Set(showAt === -1 ? ['--delta', '--dry-run', '--json', '--force', '--help', '-h'] : ['--json']);
  const problems = args.filter((a) => !known.has(a)).map((a) => `unknown argument: ${a}`);
  if (showAt !== -1 && !/^[1-9]\d{0,15}$/.test(showId ?? '')) {
    problems.push(`--show needs a run id (a whole number, ldap_sync_runs.id), got ${JSON.stringify(showId ?? '')}`);
  }
  if (problems.length || flags.has('--help') || flags.has('-h')) {
    process.stderr.write(`${problems.map((p) => `${p}\n`).join('')}${USAGE}\n`);
    return problems.length ? SYNC_EXIT_CODES.usage : 0;
  }
  const json = flags.has('--json');
  const app = await createCommandContext();
  try {
    if (showId !== undefined) {
      const run = await app.get(LdapSyncHistory).run(Number(showId));
      if (!run) {
        process.stderr.write(`no sync run with id ${showId} in ldap_sync_runs\n`);
        return SYNC_EXIT_CODES.failed;
      }
      process.stdout.write(json ? `${JSON.stringify(run)}\n` : runText(run));
      return 0;
    }
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
    ...(r.changes ? changesText(r.changes, CHANGES_SHOWN) : []),
    ...(r.runId !== undefined && r.changes?.total ? [`  every change: npm run sync -- --show ${r.runId}`] : []),
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
