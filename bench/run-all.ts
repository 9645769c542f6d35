/**
 * `npm run bench`: the login benchmark, then the sync benchmark, each in a process of its own (one slapd at a
 * time, nothing shared), their output shown as they run.
 *
 *   npm run bench -- [--json] [--only login|sync] [sync options…]
 *
 * `--json` prints one JSON object on stdout, `{ "login": …, "sync": … }`: every figure of both (their result
 * files, bench/results/latest.json and sync-latest.json); their progress goes to stderr. Other arguments go to
 * the sync benchmark (`--users 10000`, `--runs 1`, …); the login benchmark takes its knobs from BENCH_*
 * environment variables (bench/README.md). Exits non-zero when either benchmark did.
 */
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
/** This file runs compiled, from dist/bench/bench/ (see bench/tsconfig.build.json). */
const RESULTS = {
  login: here('../../../bench/results/latest.json'),
  sync: here('../../../bench/results/sync-latest.json'),
};
const SCRIPTS = { login: here('./login.bench.js'), sync: here('./sync.bench.js') };

type Bench = keyof typeof SCRIPTS;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const onlyAt = args.indexOf('--only');
  const only = onlyAt === -1 ? undefined : args[onlyAt + 1];
  if (only !== undefined && only !== 'login' && only !== 'sync') throw new Error('--only: login or sync');
  const syncArgs = args.filter((a, i) => a !== '--json' && i !== onlyAt && i !== onlyAt + 1);
  const benches: Bench[] = only ? [only] : ['login', 'sync'];

  const codes: Partial<Record<Bench, number | string>> = {};
  const results: Partial<Record<Bench, unknown>> = {};
  for (const bench of benches) {
    const started = Date.now();
    codes[bench] = await run(SCRIPTS[bench], bench === 'sync' ? syncArgs : [], json);
    results[bench] = await freshResults(RESULTS[bench], started);
  }
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ benchmark: 'all', date: new Date().toISOString(), exitCodes: codes, ...results })}\n`,
    );
  }
  if (Object.values(codes).some((code) => code !== 0)) process.exitCode = 1;
}

/** Runs a benchmark; with --json its stdout goes to our stderr, so our stdout carries only the JSON. */
function run(script: string, args: string[], json: boolean): Promise<number | string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', json ? process.stderr : 'inherit', 'inherit'],
    });
    // Ctrl-C reaches the children through the terminal; they clean up and exit, then so do we.
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
}

/** The benchmark's result file if it was written by this run, else null (a failed run leaves an older one). */
async function freshResults(file: string, since: number): Promise<unknown> {
  try {
    if ((await stat(file)).mtimeMs < since) return null;
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
