/**
 * (Types only may be imported from here: importing the module runs a job.)
 *
 * The delta section's library runs (sync-delta.ts), each job in a process of its own so that what it measures
 * of memory is its own: `node --expose-gc sync-delta-child.js '<DeltaChildJob as JSON>'`, one JSON line on
 * stdout (a DeltaChildResult). Jobs:
 * - warm: the first full sync, the full unchanged resyncs (the reference), the first delta (it stores the
 *   cursor) and the nothing-changed deltas, all in this one process, as a long-running app runs them.
 * - changed: one delta in a fresh process: RSS once the app is up and idle, then the peak during the delta.
 *   With warmUp, a dry run of the same delta first (it reads and plans, writes nothing, keeps the cursor): the
 *   code paths compiled and the connections open, as in an app that has run deltas before.
 * - deprovision: the app with scheduled deltas (and pushes if asked); each listed user is deleted from the
 *   directory in turn and the library's token check (LdapLoginService.findActiveUser, what GET /auth/me asks)
 *   polled until it refuses the user.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ConsoleLogger, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { LdapLoginService, LdapSyncService, type SyncReport } from '../libs/ldap-auth/src/index.js';
import { applyBenchReadLimits } from './sync-limits.js';
import { syncBenchModule } from './sync-bench-module.js';

export interface DeltaChildDirectory {
  url: string;
  peopleDn: string;
  groupsDn: string;
  serviceDn: string;
  servicePassword: string;
  adminDn: string;
  adminPassword: string;
}

export type DeltaChildJob = {
  directory: DeltaChildDirectory;
  databaseUrl: string;
  syncedGroups: string[];
} & (
  | { kind: 'warm'; fullRuns: number; nothingRuns: number }
  | { kind: 'changed'; warmUp: boolean }
  | { kind: 'deprovision'; deltaInterval: number; push: boolean; users: Array<{ username: string; dn: string }> }
);

/** Slim reports: the counts that say what a run did. */
export type RunReport = Pick<
  SyncReport,
  'status' | 'mode' | 'usersRemoved' | 'usersUpdated' | 'membershipsAdded' | 'membershipsRemoved' | 'reason'
>;

export type DeltaChildResult =
  | {
      kind: 'warm';
      firstFullSeconds: number;
      fullSeconds: number[];
      firstDeltaSeconds: number;
      firstDeltaMode: string;
      nothingSeconds: number[];
      nothingReport: RunReport;
      peakRssMb: number;
    }
  | { kind: 'changed'; seconds: number; report: RunReport; idleRssMb: number; peakRssMb: number }
  | { kind: 'deprovision'; delaysMs: number[]; peakRssMb: number };

const run = promisify(execFile);

async function main(): Promise<void> {
  applyBenchReadLimits();
  const job = JSON.parse(process.argv[2]) as DeltaChildJob;
  const deprovision = job.kind === 'deprovision' ? job : undefined;
  const logs: string[] = [];
  const app = await NestFactory.createApplicationContext(
    benchModule(job, deprovision?.deltaInterval ?? 0, deprovision?.push ?? false),
    { logger: new KeptLogger(logs) },
  );
  try {
    const result = await runJob(job, app.get(LdapSyncService), app, logs);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await app.close();
  }
}

async function runJob(
  job: DeltaChildJob,
  sync: LdapSyncService,
  app: INestApplicationContext,
  logs: string[],
): Promise<DeltaChildResult> {
  const timed = async (delta: boolean): Promise<{ seconds: number; report: RunReport }> => {
    const t = performance.now();
    const report = await sync.run({ delta });
    const seconds = (performance.now() - t) / 1000;
    if (report.status !== 'succeeded') throw new Error(`sync ${report.status}: ${report.reason}`);
    return { seconds, report: slim(report) };
  };
  if (job.kind === 'warm') {
    const firstFullSeconds = (await timed(false)).seconds;
    const fullSeconds = [];
    for (let i = 0; i < job.fullRuns; i++) fullSeconds.push((await timed(false)).seconds);
    const first = await timed(true);
    const nothing = [];
    for (let i = 0; i < job.nothingRuns; i++) nothing.push(await timed(true));
    return {
      kind: 'warm',
      firstFullSeconds,
      fullSeconds,
      firstDeltaSeconds: first.seconds,
      firstDeltaMode: first.report.mode,
      nothingSeconds: nothing.map((n) => n.seconds),
      nothingReport: nothing.at(-1)!.report,
      peakRssMb: maxRssMb(),
    };
  }
  if (job.kind === 'changed') {
    if (job.warmUp) {
      const dry = await sync.run({ delta: true, dryRun: true });
      if (dry.status !== 'succeeded') throw new Error(`dry run ${dry.status}: ${dry.reason}`);
    }
    // Idle: the app up, its pools open, garbage collected, as it waits between two scheduled deltas.
    global.gc?.();
    await sleep(500);
    global.gc?.();
    const idle = process.memoryUsage().rss;
    const maxBefore = process.resourceUsage().maxRSS * 1024;
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
    const profiling = await startProfile();
    const changed = await timed(true);
    await profiling?.stop();
    clearInterval(sampler);
    const maxAfter = process.resourceUsage().maxRSS * 1024;
    // getrusage's high-water mark moved during the run: that is the run's peak, samples can miss it.
    peak = Math.max(peak, process.memoryUsage().rss, maxAfter > maxBefore ? maxAfter : 0);
    return { kind: 'changed', ...changed, idleRssMb: mb(idle), peakRssMb: mb(peak) };
  }
  return { kind: 'deprovision', delaysMs: await deprovision(job, app, logs), peakRssMb: maxRssMb() };
}

/**
 * BENCH_DELTA_PROFILE=<folder>: a CPU profile of each 100-change delta (`delta-<pid>.cpuprofile`, for
 * profile-summary.ts). It slows the run: the bench's figures of a profiled run are not the ones to report.
 */
async function startProfile(): Promise<{ stop(): Promise<void> } | undefined> {
  const folder = process.env.BENCH_DELTA_PROFILE;
  if (!folder) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, `delta-${process.pid}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** Delays from each deletion to the first refused token check, in ms. */
async function deprovision(
  job: Extract<DeltaChildJob, { kind: 'deprovision' }>,
  app: INestApplicationContext,
  logs: string[],
): Promise<number[]> {
  const logins = app.get(LdapLoginService);
  const db = app.get(DataSource);
  const deadline = Date.now() + 60_000;
  // Pushes: the stream must be open before the first deletion, or the scheduled delta would be measured.
  while (job.push && !logs.some((l) => l.includes('Watching the directory for changes'))) {
    if (Date.now() > deadline) throw new Error(`the push stream did not open: ${logs.slice(-5).join(' | ')}`);
    await sleep(50);
  }
  const delays: number[] = [];
  for (const [k, user] of job.users.entries()) {
    const [row] = await db.query<Array<{ id: number }>>('SELECT id FROM users WHERE username = $1', [user.username]);
    if (!row || !(await logins.findActiveUser(row.id))) throw new Error(`${user.username} is not active to start`);
    // Scheduled deltas: deletions at points spread over the interval, not always just after a delta. Pushes:
    // a second apart, each its own change.
    await sleep(job.push ? 1000 : ((k + 0.5) / job.users.length) * job.deltaInterval * 1000);
    await run('ldapdelete', [
      '-x',
      '-H',
      job.directory.url,
      '-D',
      job.directory.adminDn,
      '-w',
      job.directory.adminPassword,
      user.dn,
    ]);
    const deleted = performance.now();
    const limit = deleted + (job.deltaInterval + 60) * 1000;
    while (await logins.findActiveUser(row.id)) {
      if (performance.now() > limit) {
        const tail = logs.filter((l) => /sync|push|change/i.test(l)).slice(-5);
        throw new Error(`${user.username} still accepted after ${job.deltaInterval + 60} s: ${tail.join(' | ')}`);
      }
      await sleep(10);
    }
    delays.push(Math.round(performance.now() - deleted));
  }
  return delays;
}

function benchModule(job: DeltaChildJob, deltaInterval: number, push: boolean) {
  return syncBenchModule(job.databaseUrl, job.directory, job.syncedGroups, 1, { deltaInterval, push });
}

/** Keeps the lines (the push's "watching" among them); prints warnings and errors, on stderr: stdout is the result's. */
class KeptLogger extends ConsoleLogger {
  constructor(private readonly lines: string[]) {
    super();
  }
  override log(message: unknown, context?: string): void {
    this.lines.push(`LOG [${context ?? ''}] ${String(message)}`);
  }
  override debug(message: unknown, context?: string): void {
    this.lines.push(`DEBUG [${context ?? ''}] ${String(message)}`);
  }
  override verbose(): void {}
  override warn(message: unknown, context?: string): void {
    this.lines.push(`WARN [${context ?? ''}] ${String(message)}`);
    process.stderr.write(`WARN [${context ?? ''}] ${String(message)}\n`);
  }
}

function slim(r: SyncReport): RunReport {
  const { status, mode, usersRemoved, usersUpdated, membershipsAdded, membershipsRemoved, reason } = r;
  return { status, mode, usersRemoved, usersUpdated, membershipsAdded, membershipsRemoved, reason };
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
/** getrusage's maxrss (kilobytes on Linux). */
const maxRssMb = (): number => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;

main().then(
  // Pools or timers left open must not keep the process (and the bench) waiting.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
