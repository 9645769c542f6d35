/**
 * The sync benchmark's delta section alone (`npm run bench:delta -- [--users N] [--runs N] [--json]`): see
 * sync-delta.ts. `npm run bench:sync` runs the same section after its full syncs.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { cleanUpOnExit } from './cleanups.js';
import { deltaSection, failed } from './sync-delta.js';
import { deltaNotes, deltaTable, deltaTargets } from './sync-delta-report.js';
import { defaultShape } from './sync-dataset.js';
import { startBenchDirectory } from './sync-directory.js';
import { table } from './sync-report.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '100000' },
      runs: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  });
  const users = Number(values.users.replace(/_/g, ''));
  const runs = Number(values.runs);
  const say = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);
  say(`delta bench: ${users} users, 200 groups, ${users * 3} memberships`);
  // sync-limits.ts: set in the environment, they reach the child processes.
  if (process.env.BENCH_MAX_MESSAGE_BYTES) {
    say(`NOTE: the library's limit on one LDAP message raised to ${process.env.BENCH_MAX_MESSAGE_BYTES} bytes`);
  }
  if (process.env.BENCH_NO_SEARCH_TIME_LIMIT === '1') {
    say("NOTE: the library's searches sent with no time limit (ldapts's default asks the server for 10 s)");
  }
  const { cleanups, cleanUp } = cleanUpOnExit();
  try {
    const { data, directory } = await startBenchDirectory(defaultShape(users), { cache: true, log: say });
    cleanups.push(() => directory.stop());
    const section = await deltaSection(
      directory,
      data,
      { runs, nothingRuns: 5, avoid: new Set(), deprovisionUsers: 3, log: say },
      cleanups,
    );
    const targets = deltaTargets(section);
    say(`\n${deltaTable(section)}\n${deltaNotes(section).join('\n')}\n`);
    if (targets.length) {
      say(table([['target', 'measured', 'met'], ...targets.map((t) => [t.target, t.measured, t.met ? 'yes' : 'NO'])]));
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ delta: section, targets })}\n`);
    if (failed(section.warm) || failed(section.changed)) process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}

main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
