/**
 * The delta section of the sync benchmark (sync.bench.ts; alone: sync-delta.bench.ts), on the bench's slapd
 * (syncprov loaded) and a PostgreSQL app database filled as if every user had logged in. Every library run is
 * in a child process (sync-delta-child.ts); the floors are measured in the same run:
 *   - the full unchanged resync (the reference) and the nothing-changed deltas, in one warm process;
 *   - the 100 changes (sync-delta-changes.ts) against `ldapsearch -E sync=ro/<cookie>` from the same cookies,
 *     each run in a fresh process on a fresh copy of the database: its time, and its peak RSS above the idle app;
 *   - the deprovisioning delay (deletion → the token check refuses the user), deltas every 5 s, then with pushes.
 * A step that fails is recorded as failed and the section goes on with what does not need it.
 */
import { fileURLToPath } from 'node:url';
import { appTemplates } from './sync-app.js';
import { runNode } from './sync-baselines.js';
import { deltaChangesLdif, storedCookies, syncSearchFloor, userPicker } from './sync-delta-changes.js';
import type { DeltaChildDirectory, DeltaChildJob, DeltaChildResult, RunReport } from './sync-delta-child.js';
import { userDn, username, type Dataset } from './sync-dataset.js';
import { ldapmodify, type BenchDirectory } from './sync-directory.js';
import { createScratchDatabase, type ScratchDatabase } from './postgres.js';
import { round, stats, type Stats } from './sync-report.js';

const CHILD = fileURLToPath(new URL('./sync-delta-child.js', import.meta.url));
const CHILD_TIMEOUT_MS = 40 * 60_000;
export const DEPROVISION_INTERVAL_S = 5;
/** With pushes the scheduled delta is the safety net only: once a minute, so that the push is what is timed. */
const PUSH_SAFETY_INTERVAL_S = 60;

export interface DeltaOptions {
  /** Full unchanged resyncs and 100-change deltas (each in a fresh process on a fresh copy). */
  runs: number;
  nothingRuns: number;
  /** Users the full sync's changes touched: none of the delta's changes may pick them. */
  avoid: Set<number>;
  deprovisionUsers: number;
  log: (line: string) => void;
}

type Step<T> = T | { failed: string };
export const failed = <T>(s: Step<T> | undefined): s is { failed: string } =>
  typeof s === 'object' && s !== null && 'failed' in s;

export interface DeltaSection {
  users: number;
  warm?: Step<{
    firstFullSeconds: number;
    full: Stats;
    firstDeltaSeconds: number;
    firstDeltaMode: string;
    nothing: Stats;
    nothingReport: RunReport;
    peakRssMb: number;
  }>;
  changesSeconds?: Step<number>;
  /** The 100-change delta in a fresh process without the warm-up dry run (one run, for context). */
  coldSeconds?: number;
  floor?: Step<{ seconds: Stats; usersSeconds: Stats; users: number; groups: number }>;
  changed?: Step<{
    seconds: Stats;
    report: RunReport;
    idleRssMb: Stats;
    peakRssMb: Stats;
    aboveIdleMb: Stats;
    /** Runs that failed (the others counted). */
    failures: string[];
  }>;
  deprovision: { interval?: Step<Stats>; push?: Step<Stats> };
}

export async function deltaSection(
  directory: BenchDirectory,
  data: Dataset,
  options: DeltaOptions,
  cleanups: Array<() => Promise<void>>,
): Promise<DeltaSection> {
  const { log } = options;
  const section: DeltaSection = { users: data.shape.users, deprovision: {} };
  const templates = await appTemplates('postgres', data);
  const dispose = () => templates.dispose();
  cleanups.push(dispose);
  const databases: Array<{ drop(): Promise<void> }> = [];
  const release = async (db: { drop(): Promise<void> }) => {
    databases.splice(databases.indexOf(db), 1);
    await db.drop();
  };
  const dropAll = async () => {
    for (const db of databases.splice(0)) await db.drop();
  };
  cleanups.push(dropAll);
  try {
    const base = await templates.fresh();
    databases.push(base);
    const job = (databaseUrl: string) => ({
      directory: childDirectory(directory),
      databaseUrl,
      syncedGroups: data.groups.map((g) => g.dn),
    });
    log('  delta: first full sync, full unchanged resyncs and nothing-changed deltas (one process)');
    const warm = await attempt(() =>
      inChild({ ...job(base.url), kind: 'warm', fullRuns: options.runs, nothingRuns: options.nothingRuns }),
    );
    if (failed(warm)) {
      section.warm = warm;
      return section;
    }
    if (warm.kind !== 'warm') throw new Error('unexpected child result');
    section.warm = {
      firstFullSeconds: round(warm.firstFullSeconds, 4),
      full: stats(warm.fullSeconds),
      firstDeltaSeconds: round(warm.firstDeltaSeconds, 4),
      firstDeltaMode: warm.firstDeltaMode,
      nothing: stats(warm.nothingSeconds),
      nothingReport: warm.nothingReport,
      peakRssMb: warm.peakRssMb,
    };
    // The synced database, its cursor stored: every 100-change run starts from a copy of it.
    const synced = await createScratchDatabase('delta_base', baseName(base.url));
    databases.push(synced);
    await release(base);

    const pick = userPicker(data, options.avoid);
    const cookies = await storedCookies(synced.url);
    section.changesSeconds = await attempt(() => ldapmodify(directory, deltaChangesLdif(data, pick)));
    if (failed(section.changesSeconds)) return section;
    log(`  delta: 100 changes applied in ${section.changesSeconds.toFixed(2)} s; ldapsearch -E sync=ro floors`);
    section.floor = await attempt(async () => {
      const runs = [];
      for (let r = 0; r < options.runs; r++) runs.push(await syncSearchFloor(directory, cookies));
      return {
        seconds: stats(runs.map((x) => x.seconds)),
        usersSeconds: stats(runs.map((x) => x.usersSeconds)),
        users: runs[0].users,
        groups: runs[0].groups,
      };
    });

    const changedRuns: Array<Extract<DeltaChildResult, { kind: 'changed' }>> = [];
    const failures: string[] = [];
    let last: ScratchDatabase | undefined;
    let cold: Extract<DeltaChildResult, { kind: 'changed' }> | undefined;
    // Run 0: cold (nothing compiled, no connection open yet), for context; then the warmed-up runs.
    for (let r = 0; r <= options.runs; r++) {
      const copy = await createScratchDatabase('delta_run', synced.name);
      databases.push(copy);
      const result = await attempt(() => inChild({ ...job(copy.url), kind: 'changed', warmUp: r > 0 }));
      const label = r === 0 ? 'cold run' : `run ${r}`;
      if (failed(result) || result.kind !== 'changed') {
        failures.push(failed(result) ? result.failed : 'unexpected result');
        log(`  delta, 100 changes, ${label}: FAILED: ${failures.at(-1)}`);
      } else {
        if (r === 0) cold = result;
        else changedRuns.push(result);
        log(`  delta, 100 changes, ${label}: ${describe(result)}`);
      }
      if (last) await release(last);
      last = copy;
    }
    if (cold) section.coldSeconds = round(cold.seconds, 4);
    // Memory: every run, the cold one too (its first compilations count against the same limit).
    const all = cold ? [cold, ...changedRuns] : changedRuns;
    section.changed = changedRuns.length
      ? {
          seconds: stats(changedRuns.map((x) => x.seconds)),
          report: changedRuns[0].report,
          idleRssMb: stats(all.map((x) => x.idleRssMb)),
          peakRssMb: stats(all.map((x) => x.peakRssMb)),
          aboveIdleMb: stats(all.map((x) => x.peakRssMb - x.idleRssMb)),
          failures,
        }
      : { failed: failures.join('; ') };
    if (!last || failed(section.changed)) return section;

    // The last copy has synced the 100 changes: the deprovisioning runs start from it.
    for (const push of [false, true]) {
      const users = Array.from({ length: options.deprovisionUsers }, () => username(pick()));
      log(`  deprovisioning delay, ${push ? 'pushes on' : `deltas every ${DEPROVISION_INTERVAL_S} s`}`);
      const result = await attempt(() =>
        inChild({
          ...job(last.url),
          kind: 'deprovision',
          deltaInterval: push ? PUSH_SAFETY_INTERVAL_S : DEPROVISION_INTERVAL_S,
          push,
          users: users.map((name) => ({ username: name, dn: userDn(name) })),
        }),
      );
      const delays = failed(result) ? result : result.kind === 'deprovision' ? stats(result.delaysMs) : undefined;
      section.deprovision[push ? 'push' : 'interval'] = delays;
      if (!failed(delays) && delays) log(`    delays ${delays.samples.join(', ')} ms`);
    }
    return section;
  } finally {
    cleanups.splice(cleanups.indexOf(dropAll), 1);
    await dropAll();
    cleanups.splice(cleanups.indexOf(dispose), 1);
    await dispose();
  }
}

function describe(r: Extract<DeltaChildResult, { kind: 'changed' }>): string {
  const c = r.report;
  return (
    `${(r.seconds * 1000).toFixed(0)} ms (mode ${c.mode}: ${c.usersRemoved} removed, ${c.usersUpdated} updated, ` +
    `memberships +${c.membershipsAdded} −${c.membershipsRemoved}); RSS idle ${r.idleRssMb} MB, peak ${r.peakRssMb} MB`
  );
}

async function attempt<T>(fn: () => Promise<T>): Promise<Step<T>> {
  try {
    return await fn();
  } catch (error) {
    return { failed: (error instanceof Error ? error.message : String(error)).split('\n').slice(0, 3).join(' | ') };
  }
}

async function inChild(job: DeltaChildJob): Promise<DeltaChildResult> {
  const { stdout, stderr, code } = await runNode(['--expose-gc', CHILD, JSON.stringify(job)], CHILD_TIMEOUT_MS);
  const line = stdout.trim().split('\n').at(-1);
  if (code !== 0 || !line?.startsWith('{')) {
    // The error's message, not its stack.
    const said = stderr.split('\n').filter((l) => l.trim() && !/^\s+at /.test(l));
    throw new Error(`delta child (${job.kind}) exited with ${code}: ${said.slice(-3).join(' | ')}`);
  }
  return JSON.parse(line) as DeltaChildResult;
}

function childDirectory(d: BenchDirectory): DeltaChildDirectory {
  const { url, peopleDn, groupsDn, serviceDn, servicePassword, adminDn, adminPassword } = d;
  return { url, peopleDn, groupsDn, serviceDn, servicePassword, adminDn, adminPassword };
}

const baseName = (url: string): string => new URL(url).pathname.slice(1);
