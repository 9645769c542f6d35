/**
 * Runs runLibrarySync (sync-library.ts) once, in a process of its own, so the peak RSS measured here is the
 * sync's (Node, Nest, TypeORM, the library and what the sync holds), not the harness's. sync.bench.ts starts
 * it as `node sync-library-child.js <scenario.json> <result.json> [library|reference]` and reads a
 * LibraryChildOutcome from result.json (also when the sync throws). `reference` runs the hand-written sync
 * of sync-reference.ts instead, under the same contract.
 *
 * (Types only may be imported from here: importing the module runs a sync.)
 */
import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import path from 'node:path';
import { runLibrarySync, type LibrarySyncResult, type LibrarySyncScenario } from './sync-library.js';
import { runReferenceSync } from './sync-reference.js';
import { applyBenchReadLimits } from './sync-limits.js';

export type LibraryChildOutcome =
  | { ok: true; result: LibrarySyncResult; peakRssMb: number; rssStartMb: number }
  | { ok: false; notWired: boolean; error: string; peakRssMb: number; rssStartMb: number };

async function main(): Promise<void> {
  applyBenchReadLimits();
  const [scenarioFile, resultFile, implementation = 'library'] = process.argv.slice(2);
  if (!scenarioFile || !resultFile || !['library', 'reference'].includes(implementation)) {
    throw new Error('usage: sync-library-child.js <scenario.json> <result.json> [library|reference]');
  }
  const run = implementation === 'reference' ? runReferenceSync : runLibrarySync;
  const scenario = JSON.parse(await readFile(scenarioFile, 'utf8')) as LibrarySyncScenario;
  const rssStartMb = mb(process.memoryUsage().rss);
  let outcome: LibraryChildOutcome;
  try {
    const result = await profiled(`${implementation}-${scenario.kind}-${scenario.database.kind}`, () => run(scenario));
    outcome = { ok: true, result, peakRssMb: peakRssMb(), rssStartMb };
  } catch (error) {
    outcome = {
      ok: false,
      notWired: false,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      peakRssMb: peakRssMb(),
      rssStartMb,
    };
  }
  await writeFile(resultFile, JSON.stringify(outcome));
}

/**
 * With SYNC_CPU_PROFILE=<dir>, a V8 CPU profile of the run (open it in Chrome DevTools or speedscope): where
 * the sync's time goes. --cpu-prof cannot be given through NODE_OPTIONS, so the inspector API does it.
 */
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.SYNC_CPU_PROFILE;
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    await writeFile(path.join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/** getrusage's maxrss, in kilobytes on Linux. */
function peakRssMb(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

main().then(
  // Pools or timers the sync left open must not keep the process (and the bench) waiting.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
