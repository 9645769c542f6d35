/**
 * `npm run users:link -- --by username|email [--dry-run] [--json]`: links app users that predate LDAP (no
 * `ldap_uuid`, so a login never takes them over) to their directory entries, with the sync's service account,
 * in a standalone Nest application context configured by the same environment variables as the app.
 *
 * Exit codes: 0 succeeded (conflicts, if any, are listed: those rows were left alone), 1 failed (or could not
 * start), 2 aborted (the directory could not be read whole), 3 skipped (a full sync holds the lock), 64 wrong
 * arguments. With --json, stdout holds exactly one JSON object (the report) and everything else goes to stderr.
 */
import 'reflect-metadata';
import { type LinkBy, LdapUserLinkService, type UserLinkReport } from '@nest-ldap-auth/ldap-auth';
import { createCommandContext } from './cli/command-context.js';

const LINK_EXIT_CODES: Record<UserLinkReport['status'] | 'usage', number> = {
  succeeded: 0,
  failed: 1,
  aborted: 2,
  skipped: 3,
  usage: 64,
};

const USAGE = `usage: npm run users:link -- --by username|email [--dry-run] [--json]
  --by       what an app user and a directory entry must share: the username (as usernameKey compares
             names, linked only when equal exactly) or the email (ASCII case folded)
  --dry-run  list the links and the conflicts, write nothing
  --json     print the report as one JSON object on stdout`;

interface Arguments {
  by?: LinkBy;
  dryRun: boolean;
  json: boolean;
  help: boolean;
  errors: string[];
}

function parseArguments(argv: string[]): Arguments {
  const args: Arguments = { dryRun: false, json: false, help: false, errors: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--dry-run') args.dryRun = true;
    else if (arg === '--json') args.json = true;
    else if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === '--by' || arg.startsWith('--by=')) {
      const value = arg === '--by' ? argv[++i] : arg.slice('--by='.length);
      if (value === 'username' || value === 'email') args.by = value;
      else args.errors.push(`--by takes username or email, not ${JSON.stringify(value ?? '')}`);
    } else args.errors.push(`unknown argument: ${arg}`);
  }
  if (!args.by && !args.help && !args.errors.length) args.errors.push('--by username|email is required');
  return args;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArguments(argv);
  if (args.errors.length || args.help || !args.by) {
    process.stderr.write(`${args.errors.map((e) => `${e}\n`).join('')}${USAGE}\n`);
    return args.errors.length ? LINK_EXIT_CODES.usage : 0;
  }
  const app = await createCommandContext();
  try {
    const report = await app.get(LdapUserLinkService).run({ by: args.by, dryRun: args.dryRun });
    process.stdout.write(args.json ? `${JSON.stringify(report)}\n` : humanReport(report));
    return LINK_EXIT_CODES[report.status];
  } finally {
    await app.close();
  }
}

function humanReport(r: UserLinkReport): string {
  const name = (username: string, id: number) => `user ${id} ${JSON.stringify(username)}`;
  const lines = [
    `LDAP user link by ${r.by} ${r.status}${r.dryRun ? ' (dry run: nothing written)' : ''} in ${(r.durationMs / 1000).toFixed(2)} s`,
    ...(r.reason ? [`  reason: ${r.reason}`] : []),
    `  directory entries   ${r.entriesRead}`,
    `  unlinked app users  ${r.localUsers}`,
    `  ${r.dryRun ? 'links proposed' : 'linked        '}      ${r.links.length}`,
    `  conflicts           ${r.conflicts.length}`,
    ...r.links.map((l) => `  ${r.dryRun ? 'would link' : 'linked'} ${name(l.username, l.userId)} -> ${l.dn}`),
    ...r.conflicts.map((c) => `  conflict (${c.kind}) ${name(c.username, c.userId)}: ${c.reason}`),
    ...r.notes.slice(0, 20).map((n) => `  note: ${n}`),
  ];
  return `${lines.join('\n')}\n`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\nusers:link failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(LINK_EXIT_CODES.failed);
  },
);
