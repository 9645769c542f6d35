/**
 * Full-sync benchmark: the floors a directory sync is judged against, measured in the same run against a
 * slapd of its own (100,000 users, 200 groups, 300,000 memberships by default, then the 10,000-user variant),
 * and the library's sync (LdapSyncService) through the plug in sync-library.ts once it is wired. Run with
 * `npm run bench:sync` (see bench/README.md); `-- --json` prints one JSON object on stdout (the progress goes
 * to stderr). Loopback and the local PostgreSQL only; everything it starts or creates is removed at the end,
 * also on error or Ctrl-C.
 */
import 'reflect-metadata';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { cleanUpOnExit } from './cleanups.js';
import { cpuSeconds, cpuShare, cpuSnapshot, type CpuSeconds } from './cpu.js';
import { appTemplates, verify, type AppDatabaseKind, type AppTemplates, type Verification } from './sync-app.js';
import {
  PostgresFloors,
  copyPayload,
  ldapsearchDump,
  readInChild,
  runNode,
  sqliteOneTransaction,
  type DumpResult,
  type WriteResult,
} from './sync-baselines.js';
import {
  changesLdif,
  defaultShape,
  expectedState,
  groupSizes,
  planChanges,
  type Dataset,
  type ExpectedState,
} from './sync-dataset.js';
import { slapdVersion } from '../test/support/slapd-process.js';
import { createScratchDatabase, postgresVersion } from './postgres.js';
import { ldapmodify, startBenchDirectory, type BenchDirectory, type SeedInfo } from './sync-directory.js';
import type { LibraryChildOutcome } from './sync-library-child.js';
import type { LibrarySyncKind, LibrarySyncScenario } from './sync-library.js';
import type { ReadChildResult, ReadMode } from './sync-read-child.js';
import { deltaSection, failed as failed_, type DeltaSection } from './sync-delta.js';
import { deltaNotes, deltaTable, deltaTargets } from './sync-delta-report.js';
import { fmt, range, round, secs, stats, table, type Stats } from './sync-report.js';

const USAGE = `npm run bench:sync -- [options]
  --users N[,N…]       directory sizes, each a run of its own [100000,10000]
  --runs N             timed runs of the floors (ldapsearch, ldapts, COPY, reads, SQLite) [3]
  --context-runs N     runs of the write variants shown for context (COPY into keyed tables, INSERTs) [1]
  --library-runs N     runs of each library-sync scenario [same as --runs]
  --reference-runs N   runs of each reference-sync scenario [1]
  --changes F          share of users changed before the "changed" resync [0.01]
  --per-row-sample N   rows of the one-INSERT-per-row variant, extrapolated [10000]
  --sqlite-max-users N library sync on SQLite too, up to this size [10000]
  --cache              keep the slapadd database between runs (under ${os.tmpdir()}); --fresh rebuilds it
  --no-library         no library-sync runs
  --no-reference       no hand-written reference sync runs (sync-reference.ts)
  --no-delta           no delta section (sync-delta.ts; it needs the library)
  --max-message-mb N   raise the library's 16 MiB limit on one LDAP message (sync-limits.ts) to N MiB
  --no-search-time-limit  the library's searches ask for no server time limit (ldapts's default: 10 s)
  --delta-runs N       full resyncs and 100-change deltas of the delta section [same as --runs]
  --json               one JSON object on stdout; progress on stderr`;

interface Options {
  users: number[];
  runs: number;
  contextRuns: number;
  libraryRuns: number;
  referenceRuns: number;
  changes: number;
  perRowSample: number;
  sqliteMaxUsers: number;
  cache: boolean;
  fresh: boolean;
  library: boolean;
  reference: boolean;
  delta: boolean;
  deltaRuns: number;
  /** The library's limit on one LDAP message, raised for the run (MiB), or undefined: the library's own. */
  maxMessageMb?: number;
  /** The library's searches sent without ldapts's default 10 s time limit (sync-limits.ts). */
  noSearchTimeLimit: boolean;
  json: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '100000,10000' },
      runs: { type: 'string', default: '3' },
      'context-runs': { type: 'string', default: '1' },
      'library-runs': { type: 'string' },
      'reference-runs': { type: 'string', default: '1' },
      changes: { type: 'string', default: '0.01' },
      'per-row-sample': { type: 'string', default: '10000' },
      'sqlite-max-users': { type: 'string', default: '10000' },
      cache: { type: 'boolean', default: false },
      fresh: { type: 'boolean', default: false },
      'no-library': { type: 'boolean', default: false },
      'no-reference': { type: 'boolean', default: false },
      'no-delta': { type: 'boolean', default: false },
      'delta-runs': { type: 'string' },
      'max-message-mb': { type: 'string' },
      'no-search-time-limit': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const whole = (name: string, value: string, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name}: expected a whole number ≥ ${min}, got "${value}"\n${USAGE}`);
    return n;
  };
  const runs = whole('runs', values.runs, 1);
  const changes = Number(values.changes);
  if (!(changes > 0 && changes < 0.1))
    throw new Error(`--changes: expected a share between 0 and 0.1, got "${values.changes}"`);
  return {
    users: values.users.split(',').map((u) => whole('users', u.replace(/_/g, ''), 1000)),
    runs,
    contextRuns: whole('context-runs', values['context-runs'], 1),
    libraryRuns: values['library-runs'] === undefined ? runs : whole('library-runs', values['library-runs'], 1),
    referenceRuns: whole('reference-runs', values['reference-runs'], 1),
    changes,
    perRowSample: whole('per-row-sample', values['per-row-sample'], 100),
    sqliteMaxUsers: whole('sqlite-max-users', values['sqlite-max-users'], 0),
    cache: values.cache || values.fresh,
    fresh: values.fresh,
    library: !values['no-library'],
    reference: !values['no-reference'],
    delta: !values['no-delta'],
    deltaRuns: values['delta-runs'] === undefined ? runs : whole('delta-runs', values['delta-runs'], 1),
    maxMessageMb:
      values['max-message-mb'] === undefined ? undefined : whole('max-message-mb', values['max-message-mb'], 1),
    noSearchTimeLimit: values['no-search-time-limit'],
    json: values.json,
  };
}

const OPTIONS = options();
/** Progress and the table: stdout normally, stderr with --json (stdout then carries only the JSON). */
const say = (line = ''): void => {
  (OPTIONS.json ? process.stderr : process.stdout).write(`${line}\n`);
};

/** This file runs compiled, from dist/bench/bench/ (see bench/tsconfig.build.json). */
const RESULTS_FILE = fileURLToPath(new URL('../../../bench/results/sync-latest.json', import.meta.url));
const SYNC_CHILD = fileURLToPath(new URL('./sync-library-child.js', import.meta.url));
/** A library sync still running after this long is killed and marked failed. */
const LIBRARY_TIMEOUT_MS = 15 * 60_000;
/** Other processes using this much of a core while the machine should be idle make the run suspect. */
const BUSY_MACHINE_PERCENT = 20;

type Section = 'LDAP read' | 'PostgreSQL write' | 'PostgreSQL read' | 'SQLite write';

interface Measurement {
  key: string;
  section: Section;
  label: string;
  /** Absent when the baseline failed (see `failed`). */
  seconds?: Stats;
  /** Why this baseline failed: reported as failed, the bench goes on without it. */
  failed?: string;
  /** Entries read or rows written/read. */
  rows: number;
  /** member values (group reads). */
  values?: number;
  /** Peak RSS of the process that did the work (child processes only). */
  peakRssMb?: Stats;
  /** Key of the floor this row is compared with; a floor names itself. */
  floor: string;
  ratioToFloor?: number;
  phases?: Record<string, Stats>;
  /** Sampled variants: the sampled rate applied to every row. */
  extrapolatedSeconds?: Stats;
  sampledRows?: number;
  note?: string;
  /** Core-seconds per run (medians): the whole machine, and slapd's share. */
  cpu?: { machine: Stats | null; slapd: Stats | null };
}

type Implementation = 'library' | 'reference';

const IMPLEMENTATION_NAMES: Record<Implementation, string> = {
  library: 'library (LdapSyncService)',
  reference: 'hand-written reference',
};

interface SyncRun {
  run: number;
  ok: boolean;
  syncSeconds?: number;
  bootSeconds?: number;
  peakRssMb?: number;
  rssAfterBootMb?: number;
  verification?: Verification;
  error?: string;
  report?: unknown;
  cpu?: CpuSeconds;
  /**
   * The ldapsearch dump (users + groups) timed just before this run, for a resync: the machine's speed drifts
   * over minutes, and a floor taken seconds before is the fairest one to divide by.
   */
  pairedDumpSeconds?: number;
}

interface SyncScenarioResult {
  implementation: Implementation;
  database: AppDatabaseKind;
  kind: LibrarySyncKind;
  runs: SyncRun[];
  seconds?: Stats;
  peakRssMb?: Stats;
  /** Sum of the floors' medians this scenario is compared with, and their keys. */
  floorSeconds: number;
  floorKeys: string[];
  ratioToFloor?: number;
  /** Median over runs of (this run ÷ the dump timed just before it), resyncs only. */
  pairedDumpRatio?: number;
  /** The same with the COPY floor's median added to each run's dump (PostgreSQL). */
  pairedDumpCopyRatio?: number;
  /** Medians of the runs' CPU, core-seconds: the sync's process, slapd, PostgreSQL, the whole machine. */
  cpu?: { own: number; slapd: number | null; postgres: number | null; machine: number | null };
}

interface SyncSection {
  /** Per implementation: 'not-wired' until sync-library.ts is; 'failed' if a run failed or a check did not pass. */
  status: Partial<Record<Implementation, 'ok' | 'not-wired' | 'failed' | 'skipped'>>;
  messages: string[];
  /** Library migrations + pre-created users, per database. */
  prepareSeconds: Partial<Record<AppDatabaseKind, number>>;
  changes?: {
    renames: number;
    removals: number;
    moves: number;
    applySeconds: number;
  };
  scenarios: SyncScenarioResult[];
}

interface SizeResult {
  shape: Dataset['shape'];
  largestGroups: number[];
  seeding: SeedInfo;
  /**
   * Other processes' CPU over 1 s while this bench did nothing (slapd up), % of a core: before the floors,
   * between the LDAP and database floors, and before the full syncs. The highest is `idleOthersPercent`.
   */
  idleOthersSamples: Array<number | null>;
  idleOthersPercent: number | null;
  measurements: Measurement[];
  sync: SyncSection;
  seconds: number;
  /** The delta section (library only), or why it could not run. */
  delta?: DeltaSection | { failed: string };
  /** The issue's targets, against this run's floors. */
  targets: Target[];
}

async function main(): Promise<void> {
  const started = performance.now();
  const { cleanups, cleanUp } = cleanUpOnExit();

  const machine = {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    slapd: await slapdVersion(),
    postgres: await postgresVersion(),
  };
  say(
    `sync benchmark: ${OPTIONS.users.map(fmt).join(' and ')} users; runs: ${OPTIONS.runs} per floor, ` +
      `${OPTIONS.contextRuns} per context variant` +
      (OPTIONS.library ? `, ${OPTIONS.libraryRuns} per library-sync scenario` : '') +
      (OPTIONS.reference ? `, ${OPTIONS.referenceRuns} per reference-sync scenario` : ''),
  );
  say(`node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, ${machine.slapd}, ${machine.postgres}`);
  if (OPTIONS.maxMessageMb !== undefined) {
    // The children (library syncs, reads, deltas) inherit it: see sync-limits.ts.
    process.env.BENCH_MAX_MESSAGE_BYTES = String(OPTIONS.maxMessageMb * 1024 * 1024);
    say(`NOTE: the library's limit on one LDAP message raised to ${OPTIONS.maxMessageMb} MiB (default 16 MiB)`);
  }
  if (OPTIONS.noSearchTimeLimit) {
    process.env.BENCH_NO_SEARCH_TIME_LIMIT = '1';
    say("NOTE: the library's searches sent with no time limit (ldapts's default asks the server for 10 s)");
  }

  const sizes: SizeResult[] = [];
  let failed = false;
  let libraryWired = true;
  try {
    for (const users of OPTIONS.users) {
      const result = await benchSize(users, cleanups, libraryWired);
      sizes.push(result);
      if (result.sync.status.library === 'not-wired') libraryWired = false;
      if (Object.values(result.sync.status).includes('failed')) failed = true;
      const d = result.delta;
      if (d && (failed_(d) || failed_(d.warm) || failed_(d.changed))) failed = true;
      say(`\n${report(result)}\n`);
    }
  } finally {
    await cleanUp();
  }

  const totalSeconds = (performance.now() - started) / 1000;
  const data = {
    benchmark: 'sync',
    date: new Date().toISOString(),
    ...machine,
    options: OPTIONS,
    totalSeconds: round(totalSeconds, 1),
    sizes,
  };
  await writeResults(data);
  const busiest = Math.max(0, ...sizes.map((s) => s.idleOthersPercent ?? 0));
  say(
    `${failed ? 'SYNC PROBLEMS: see the marks above' : 'done'} — results in bench/results/sync-latest.json; ` +
      `total ${totalSeconds.toFixed(1)} s`,
  );
  if (busiest >= BUSY_MACHINE_PERCENT) {
    say(
      `WARNING: other processes used ${busiest}% of a core while this bench was idle: the numbers are low and noisy.`,
    );
  }
  if (OPTIONS.json) process.stdout.write(`${JSON.stringify(data)}\n`);
  if (failed) process.exitCode = 1;
}

async function benchSize(
  users: number,
  cleanups: Array<() => Promise<void>>,
  libraryWired: boolean,
): Promise<SizeResult> {
  const started = performance.now();
  const shape = defaultShape(users);
  const largestGroups = groupSizes(shape).slice(0, shape.bigGroupShares.length);
  say(
    `\n== ${fmt(users)} users, ${shape.groups} groups, ${fmt(shape.memberships)} memberships ` +
      `(largest groups ${largestGroups.map(fmt).join(' / ')}) ==`,
  );
  const { data, directory, seed } = await startBenchDirectory(shape, {
    cache: OPTIONS.cache,
    fresh: OPTIONS.fresh,
    log: say,
  });
  const stopDirectory = (): Promise<void> => directory.stop();
  cleanups.push(stopDirectory);
  say(
    `seeded ${fmt(seed.entries)} entries with slapadd in ${secs(seed.seedSeconds)}` +
      (seed.cached ? ` (cached, ${seed.seededAt}; copied in ${secs(seed.copySeconds)})` : '') +
      `, ${fmt(seed.dataBytes / 1024 / 1024)} MB; dataset generated in ${secs(seed.generateSeconds)}; ` +
      `slapd up in ${secs(seed.startSeconds)} on ${directory.url}`,
  );

  const idle: Array<number | null> = [];
  const sampleIdle = async (): Promise<void> => {
    const others = await idleLoad(directory.pid);
    idle.push(others);
    if (others !== null) say(`  (other processes while this bench idles: ${others}% of a core)`);
  };
  const measurements: Measurement[] = [];
  await sampleIdle();
  await ldapFloors(directory, data, measurements);
  await sampleIdle();
  await databaseFloors(data, measurements, cleanups);
  await sampleIdle();

  const sync = await syncRuns(directory, data, measurements, cleanups, libraryWired);
  const delta = await deltaRuns(directory, data, sync, cleanups);

  cleanups.splice(cleanups.indexOf(stopDirectory), 1);
  await directory.stop();
  const result: SizeResult = {
    shape,
    largestGroups,
    seeding: seed,
    idleOthersSamples: idle,
    idleOthersPercent: idle.some((x) => x !== null) ? Math.max(...idle.map((x) => x ?? 0)) : null,
    measurements,
    sync,
    delta,
    seconds: round((performance.now() - started) / 1000, 1),
    targets: [],
  };
  result.targets = targets(result);
  return result;
}

// ---- floors ----

async function ldapFloors(directory: BenchDirectory, data: Dataset, out: Measurement[]): Promise<void> {
  const expected = { users: data.shape.users, groups: data.groups.length, values: data.membershipCount };
  const check = (what: string, got: DumpResult | ReadChildResult, entries: number, values?: number): void => {
    if (got.entries !== entries || (values !== undefined && got.values !== values)) {
      throw new Error(
        `${what} read ${got.entries} entries / ${got.values} values, expected ${entries}${values === undefined ? '' : ` / ${values}`}`,
      );
    }
  };
  say('LDAP floors: ldapsearch paged dumps, then ldapts reads in child processes (peak RSS)');
  const usersDump: number[] = [];
  const groupsDump: number[] = [];
  const dumpCpu: CpuSeconds[] = [];
  const dumpFailed = await failure(async () => {
    // Untimed: slapd's caches and the page cache warm, as they are on a server that has been up.
    await ldapsearchDump(directory, 'users');
    await ldapsearchDump(directory, 'groups');
    for (let r = 0; r < OPTIONS.runs; r++) {
      const before = cpuSnapshot(directory.pid);
      const u = await ldapsearchDump(directory, 'users');
      check('ldapsearch users', u, expected.users);
      const g = await ldapsearchDump(directory, 'groups');
      check('ldapsearch groups', g, expected.groups, expected.values);
      dumpCpu.push(cpuSeconds(before, cpuSnapshot(directory.pid)));
      usersDump.push(u.seconds);
      groupsDump.push(g.seconds);
    }
  });
  if (dumpFailed) say(`  ldapsearch dumps FAILED: ${dumpFailed}`);
  const dumps: Measurement[] = [
    {
      key: 'ldapsearch-users',
      section: 'LDAP read',
      label: 'ldapsearch paged dump: users (floor)',
      seconds: dumpFailed ? undefined : stats(usersDump),
      rows: expected.users,
      floor: 'ldapsearch-users',
    },
    {
      key: 'ldapsearch-groups',
      section: 'LDAP read',
      label: "ldapsearch paged dump: groups' member (floor)",
      seconds: dumpFailed ? undefined : stats(groupsDump),
      rows: expected.groups,
      values: expected.values,
      floor: 'ldapsearch-groups',
    },
    {
      key: 'ldapsearch-all',
      section: 'LDAP read',
      label: 'ldapsearch users + groups (LDAP floor)',
      seconds: dumpFailed ? undefined : stats(usersDump.map((u, i) => u + groupsDump[i])),
      cpu: { machine: statsOf(dumpCpu.map((c) => c.machine)), slapd: statsOf(dumpCpu.map((c) => c.slapd)) },
      rows: expected.users + expected.groups,
      values: expected.values,
      floor: 'ldapsearch-all',
    },
  ];
  out.push(...dumps.map((m) => (dumpFailed ? { ...m, seconds: undefined, cpu: undefined, failed: dumpFailed } : m)));

  const modes: Array<{ mode: ReadMode; label: string; floor: string; entries: number; values?: number }> = [
    { mode: 'paged', label: 'ldapts searchPaginated: users', floor: 'ldapsearch-users', entries: expected.users },
    { mode: 'flat', label: 'ldapts search(), no paging: users', floor: 'ldapsearch-users', entries: expected.users },
    {
      mode: 'groups',
      label: "ldapts searchPaginated: groups' member",
      floor: 'ldapsearch-groups',
      entries: expected.groups,
      values: expected.values,
    },
    {
      mode: 'snapshot',
      label: 'ldapts paged, kept as a snapshot (Maps)',
      floor: 'ldapsearch-all',
      entries: expected.users + expected.groups,
      values: expected.values,
    },
    {
      mode: 'library',
      label: "the library's reader alone (its snapshot)",
      floor: 'ldapsearch-all',
      entries: expected.users + expected.groups,
      values: expected.values,
    },
  ];
  const samples = new Map<ReadMode, ReadChildResult[]>(modes.map((m) => [m.mode, []]));
  const failures = new Map<ReadMode, string>();
  for (let r = 0; r < OPTIONS.runs; r++) {
    for (const m of modes) {
      if (failures.has(m.mode)) continue;
      const problem = await failure(async () => {
        const result = await readInChild(
          directory,
          m.mode,
          m.mode === 'library' ? data.groups.map((g) => g.dn) : undefined,
        );
        check(m.mode === 'library' ? 'library reader' : `ldapts ${m.mode}`, result, m.entries, m.values);
        if ((m.mode === 'snapshot' || m.mode === 'library') && result.kept?.memberships !== expected.values) {
          throw new Error(`snapshot kept ${result.kept?.memberships} memberships, expected ${expected.values}`);
        }
        samples.get(m.mode)!.push(result);
      });
      if (problem) {
        failures.set(m.mode, problem);
        say(`  ${m.label} FAILED: ${problem}`);
      }
    }
  }
  for (const m of modes) {
    const results = samples.get(m.mode)!;
    const problem = failures.get(m.mode);
    out.push({
      key: m.mode === 'library' ? 'library-reader' : `ldapts-${m.mode}`,
      section: 'LDAP read',
      label: m.label,
      seconds: problem ? undefined : stats(results.map((x) => x.seconds)),
      failed: problem,
      rows: m.entries,
      values: m.values,
      peakRssMb: problem ? undefined : stats(results.map((x) => x.peakRssMb)),
      floor: m.floor,
    });
  }
  let idle: ReadChildResult | undefined;
  const idleFailed = await failure(async () => void (idle = await readInChild(directory, 'idle')));
  out.push({
    key: 'ldapts-idle',
    section: 'LDAP read',
    label: 'ldapts connect + bind only (RSS base)',
    seconds: idle && stats([idle.seconds]),
    failed: idleFailed,
    rows: 0,
    peakRssMb: idle && stats([idle.peakRssMb]),
    floor: 'ldapts-idle',
    note: 'Node + ldapts with nothing read: subtract from the peaks above for what the reads hold',
  });
  addRatios(out);
}

async function databaseFloors(data: Dataset, out: Measurement[], cleanups: Array<() => Promise<void>>): Promise<void> {
  say(
    `database floors: PostgreSQL (scratch database) and SQLite (temp file), ${fmt(data.shape.users + data.groups.length + data.membershipCount)} rows`,
  );
  const scratch = await createScratchDatabase('floors');
  const dropScratch = (): Promise<void> => scratch.drop();
  cleanups.push(dropScratch);
  const floors = await PostgresFloors.connect(scratch.url, data);
  const closeFloors = (): Promise<void> => floors.close();
  cleanups.push(closeFloors);
  const payload = copyPayload(data);
  const runs = {
    copy: [] as WriteResult[],
    read: [] as WriteResult[],
    keyed: [] as WriteResult[],
    batched: [] as WriteResult[],
    perRow: [] as WriteResult[],
    sqlite: [] as WriteResult[],
  };
  const failures = new Map<keyof typeof runs, string>();
  /** One run of a baseline; after a failure, that baseline is reported as failed and not run again. */
  const once = async (name: keyof typeof runs, fn: () => Promise<WriteResult>): Promise<void> => {
    if (failures.has(name)) return;
    const problem = await failure(async () => void runs[name].push(await fn()));
    if (problem) {
      failures.set(name, problem);
      say(`  ${name} FAILED: ${problem}`);
    }
  };
  for (let r = 0; r < Math.max(OPTIONS.runs, OPTIONS.contextRuns); r++) {
    if (r < OPTIONS.runs) {
      await once('copy', () => floors.copyThenKeys(payload));
      await once('read', () => floors.readBack());
      await once('sqlite', () => sqliteOneTransaction(data));
    }
    if (r < OPTIONS.contextRuns) {
      await once('keyed', () => floors.copyIntoKeyedTables(payload));
      await once('batched', () => floors.batchedInserts(1000));
      await once('perRow', () => floors.rowByRowInserts(OPTIONS.perRowSample));
    }
  }
  cleanups.splice(cleanups.indexOf(closeFloors), 1);
  await floors.close();
  cleanups.splice(cleanups.indexOf(dropScratch), 1);
  await scratch.drop();

  const failedIn = (list: WriteResult[]) => [...failures].find(([name]) => runs[name] === list)?.[1];
  const seconds = (list: WriteResult[]): Stats | undefined =>
    failedIn(list) ? undefined : stats(list.map((x) => x.seconds));
  const phases = (list: WriteResult[]): Record<string, Stats> | undefined =>
    failedIn(list)
      ? undefined
      : Object.fromEntries(Object.keys(list[0].phases ?? {}).map((k) => [k, stats(list.map((x) => x.phases![k]))]));
  const rows = data.shape.users + data.groups.length + data.membershipCount;
  const measured: Measurement[] = [
    {
      key: 'pg-copy',
      section: 'PostgreSQL write',
      label: 'COPY into new tables, then keys (floor)',
      seconds: seconds(runs.copy),
      rows,
      phases: phases(runs.copy),
      floor: 'pg-copy',
    },
    {
      key: 'pg-copy-keyed',
      section: 'PostgreSQL write',
      label: 'COPY into tables with their keys',
      seconds: seconds(runs.keyed),
      rows,
      floor: 'pg-copy',
    },
    {
      key: 'pg-insert-1000',
      section: 'PostgreSQL write',
      label: 'INSERT, 1,000 rows per statement',
      seconds: seconds(runs.batched),
      rows,
      floor: 'pg-copy',
    },
    {
      key: 'pg-insert-per-row',
      section: 'PostgreSQL write',
      label: `INSERT, one per row (${fmt(OPTIONS.perRowSample)} rows, extrapolated)`,
      seconds: seconds(runs.perRow),
      extrapolatedSeconds: failedIn(runs.perRow) ? undefined : stats(runs.perRow.map((x) => x.extrapolatedSeconds!)),
      sampledRows: runs.perRow[0]?.sampledRows,
      rows,
      floor: 'pg-copy',
      note: 'seconds: the sample; extrapolatedSeconds: every row at the sampled rate',
    },
    {
      key: 'pg-read',
      section: 'PostgreSQL read',
      label: 'SELECT users, groups, memberships (floor)',
      seconds: seconds(runs.read),
      rows: runs.read[0]?.rows ?? 0,
      floor: 'pg-read',
    },
    {
      key: 'sqlite-write',
      section: 'SQLite write',
      label: 'prepared INSERTs in one transaction, then indexes (floor)',
      seconds: seconds(runs.sqlite),
      rows,
      phases: phases(runs.sqlite),
      floor: 'sqlite-write',
    },
  ];
  const lists: Record<string, WriteResult[]> = {
    'pg-copy': runs.copy,
    'pg-copy-keyed': runs.keyed,
    'pg-insert-1000': runs.batched,
    'pg-insert-per-row': runs.perRow,
    'pg-read': runs.read,
    'sqlite-write': runs.sqlite,
  };
  out.push(...measured.map((m) => ({ ...m, failed: failedIn(lists[m.key]) })));
  addRatios(out);
}

function addRatios(measurements: Measurement[]): void {
  for (const m of measurements) {
    const floor = measurements.find((f) => f.key === m.floor)?.seconds;
    const value = m.extrapolatedSeconds?.median ?? m.seconds?.median;
    if (!floor || value === undefined) continue;
    m.ratioToFloor = round(value / floor.median, 2);
  }
}

/** Runs `fn`; the reason it failed (first lines), or undefined when it did not. */
async function failure(fn: () => Promise<void>): Promise<string | undefined> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return text.split('\n').slice(0, 3).join(' | ').slice(0, 300);
  }
}

/** Stats of values measured everywhere, or null (off Linux). */
function statsOf(values: Array<number | null>): Stats | null {
  return values.every((v): v is number => v !== null) && values.length ? stats(values) : null;
}

/** Other processes' share of a core over one second while this bench does nothing (null off Linux). */
async function idleLoad(slapdPid: number): Promise<number | null> {
  const before = cpuSnapshot(slapdPid);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return cpuShare(before, cpuSnapshot(slapdPid)).others;
}

// ---- the delta section (sync-delta.ts) ----

/** The library's deltas, after the full syncs (which changed 1 % of the users: the delta's changes avoid them). */
async function deltaRuns(
  directory: BenchDirectory,
  data: Dataset,
  sync: SyncSection,
  cleanups: Array<() => Promise<void>>,
): Promise<SizeResult['delta']> {
  if (!OPTIONS.delta || sync.status.library !== 'ok') return undefined;
  say(`delta sync (library): ${OPTIONS.deltaRuns} runs`);
  const avoid = new Set<number>();
  if (sync.changes) {
    const changes = planChanges(data, OPTIONS.changes);
    for (const i of [...changes.renames, ...changes.removals, ...changes.moves.map((m) => m.user)]) avoid.add(i);
  }
  try {
    return await deltaSection(
      directory,
      data,
      { runs: OPTIONS.deltaRuns, nothingRuns: 5, avoid, deprovisionUsers: 3, log: say },
      cleanups,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    say(`delta section FAILED: ${message}`);
    return { failed: message.split('\n')[0] };
  }
}

// ---- the full syncs: the library's, and the hand-written reference ----

async function syncRuns(
  directory: BenchDirectory,
  data: Dataset,
  floors: Measurement[],
  cleanups: Array<() => Promise<void>>,
  libraryWired: boolean,
): Promise<SyncSection> {
  const section: SyncSection = { status: {}, messages: [], prepareSeconds: {}, scenarios: [] };
  const implementations: Implementation[] = [];
  if (!OPTIONS.library) section.status.library = 'skipped';
  else if (!libraryWired) section.status.library = 'not-wired';
  else implementations.push('library');
  if (OPTIONS.reference) implementations.push('reference');
  else section.status.reference = 'skipped';
  if (implementations.length === 0) return section;
  say(`full syncs (${implementations.map((i) => IMPLEMENTATION_NAMES[i]).join(', ')}): first, unchanged, changed`);

  const databases: AppDatabaseKind[] = ['postgres'];
  if (data.shape.users <= OPTIONS.sqliteMaxUsers) databases.push('sqlite');
  // A failed floor: NaN, and the ratios to it are not reported.
  const floorMedian = (key: string): number => floors.find((m) => m.key === key)?.seconds?.median ?? NaN;
  const floorKeys = (database: AppDatabaseKind, kind: LibrarySyncKind): string[] => {
    if (kind === 'first') return ['ldapsearch-all', database === 'postgres' ? 'pg-copy' : 'sqlite-write'];
    return database === 'postgres' ? ['ldapsearch-all', 'pg-read'] : ['ldapsearch-all'];
  };
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'ldap-sync-bench-library-'));
  const removeWorkDir = (): Promise<void> => rm(workDir, { recursive: true, force: true });
  cleanups.push(removeWorkDir);
  const templates = new Map<AppDatabaseKind, AppTemplates>();
  const active = new Set(implementations);

  /** Runs one scenario (--library-runs / --reference-runs times); false when the implementation cannot go on. */
  const scenario = async (
    implementation: Implementation,
    database: AppDatabaseKind,
    kind: LibrarySyncKind,
    expected: ExpectedState,
  ): Promise<boolean> => {
    const template = templates.get(database)!;
    const keys = floorKeys(database, kind);
    const result: SyncScenarioResult = {
      implementation,
      database,
      kind,
      runs: [],
      floorKeys: keys,
      floorSeconds: round(
        keys.reduce((sum, k) => sum + floorMedian(k), 0),
        4,
      ),
    };
    const runs = implementation === 'library' ? OPTIONS.libraryRuns : OPTIONS.referenceRuns;
    for (let run = 1; run <= runs; run++) {
      const db = kind === 'first' ? await template.fresh() : await template.synced(implementation);
      let kept = false;
      try {
        const input: LibrarySyncScenario = {
          kind,
          run,
          directory: {
            url: directory.url,
            baseDn: directory.baseDn,
            peopleDn: directory.peopleDn,
            groupsDn: directory.groupsDn,
            serviceDn: directory.serviceDn,
            servicePassword: directory.servicePassword,
            pid: directory.pid,
          },
          database: { kind: database, url: db.url },
          organisationId: 1,
          syncedGroups: data.groups.map((g) => g.dn),
          directoryCounts: { users: expected.users, groups: expected.groups, memberships: expected.memberships },
        };
        // Resyncs: the floor once more, just before the run (see SyncRun.pairedDumpSeconds).
        const pairedDump =
          kind === 'first'
            ? undefined
            : (await ldapsearchDump(directory, 'users')).seconds + (await ldapsearchDump(directory, 'groups')).seconds;
        const outcome = await runSyncChild(workDir, input, implementation);
        if (!outcome.ok && outcome.notWired) {
          section.status[implementation] = 'not-wired';
          say(`  ${IMPLEMENTATION_NAMES[implementation]}: not wired yet (bench/sync-library.ts)`);
          return false;
        }
        const entry: SyncRun = { run, ok: outcome.ok, peakRssMb: outcome.peakRssMb, pairedDumpSeconds: pairedDump };
        if (outcome.ok) {
          Object.assign(entry, {
            syncSeconds: outcome.result.syncSeconds,
            bootSeconds: outcome.result.bootSeconds,
            rssAfterBootMb: outcome.result.rssAfterBootMb,
            report: outcome.result.report,
            cpu: outcome.result.cpu,
          });
          entry.verification = await verify(db, expected);
          entry.ok = entry.verification.ok;
        } else {
          entry.error = outcome.error;
        }
        result.runs.push(entry);
        say(
          `  ${IMPLEMENTATION_NAMES[implementation]}, ${kind} sync, ${database}, run ${run}: ` +
            (outcome.ok
              ? `${secs(outcome.result.syncSeconds)} (boot ${secs(outcome.result.bootSeconds)}), ` +
                `peak RSS ${fmt(outcome.peakRssMb)} MB, ` +
                (entry.verification!.ok
                  ? 'tables as expected'
                  : `TABLES WRONG: ${entry.verification!.problems.join('; ')}`)
              : `FAILED: ${outcome.error.split('\n')[0]}`),
        );
        if (!outcome.ok) break;
        // The first synced database is the starting point of this implementation's resyncs.
        if (kind === 'first' && run === 1) {
          template.keepAsSynced(implementation, db);
          kept = true;
        }
      } finally {
        if (!kept) await db.drop();
      }
    }
    section.scenarios.push(result);
    const good = result.runs.filter((r) => r.syncSeconds !== undefined);
    if (good.length) {
      result.seconds = stats(good.map((r) => r.syncSeconds!));
      result.peakRssMb = stats(good.map((r) => r.peakRssMb!));
      result.ratioToFloor = round(result.seconds.median / result.floorSeconds, 2);
      const paired = good.filter((r) => r.pairedDumpSeconds).map((r) => r.syncSeconds! / r.pairedDumpSeconds!);
      if (paired.length) result.pairedDumpRatio = round(stats(paired).median, 2);
      const copyFloor = database === 'postgres' ? floorMedian('pg-copy') : undefined;
      const pairedCopy = good
        .filter((r) => r.pairedDumpSeconds && copyFloor)
        .map((r) => r.syncSeconds! / (r.pairedDumpSeconds! + copyFloor!));
      if (pairedCopy.length) result.pairedDumpCopyRatio = round(stats(pairedCopy).median, 2);
      const cpus = good.map((r) => r.cpu).filter((c): c is CpuSeconds => c !== undefined);
      if (cpus.length) {
        const median = (values: Array<number | null>) => statsOf(values)?.median ?? null;
        result.cpu = {
          own: median(cpus.map((c) => c.own))!,
          slapd: median(cpus.map((c) => c.slapd)),
          postgres: median(cpus.map((c) => c.postgres)),
          machine: median(cpus.map((c) => c.machine)),
        };
      }
    }
    if (result.runs.some((r) => !r.ok)) section.status[implementation] = 'failed';
    section.status[implementation] ??= 'ok';
    // Without a synced database there is nothing to resync.
    return !(kind === 'first' && !result.runs[0]?.syncSeconds);
  };

  try {
    for (const database of databases) {
      const template = await appTemplates(database, data);
      templates.set(database, template);
      section.prepareSeconds[database] = round(template.prepareSeconds, 2);
      say(
        `  app database (${database}): library migrations + ${fmt(data.shape.users)} pre-created users in ${secs(template.prepareSeconds)}`,
      );
      for (const implementation of implementations) {
        if (!active.has(implementation)) continue;
        const ok =
          (await scenario(implementation, database, 'first', expectedState(data))) &&
          (await scenario(implementation, database, 'unchanged', expectedState(data)));
        if (!ok) active.delete(implementation);
      }
    }
    if (active.size) {
      const changes = planChanges(data, OPTIONS.changes);
      const applySeconds = await ldapmodify(directory, changesLdif(data, changes));
      section.changes = {
        renames: changes.renames.length,
        removals: changes.removals.length,
        moves: changes.moves.length,
        applySeconds: round(applySeconds, 2),
      };
      say(
        `  directory changed with ldapmodify in ${secs(applySeconds)}: ` +
          `${changes.renames.length} renames, ${changes.removals.length} removals, ${changes.moves.length} membership moves`,
      );
      for (const database of databases) {
        for (const implementation of active) {
          await scenario(implementation, database, 'changed', expectedState(data, changes));
        }
      }
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    section.messages.push(message);
    for (const implementation of active) section.status[implementation] = 'failed';
    say(`full sync runs FAILED: ${message}`);
  } finally {
    for (const template of templates.values()) await template.dispose().catch((e: unknown) => console.error(e));
    cleanups.splice(cleanups.indexOf(removeWorkDir), 1);
    await removeWorkDir();
  }
  return section;
}

let childCounter = 0;

async function runSyncChild(
  workDir: string,
  scenario: LibrarySyncScenario,
  implementation: Implementation,
): Promise<LibraryChildOutcome> {
  const id = ++childCounter;
  const scenarioFile = path.join(workDir, `scenario-${id}.json`);
  const resultFile = path.join(workDir, `result-${id}.json`);
  await writeFile(scenarioFile, JSON.stringify(scenario));
  const { code, stderr } = await runNode([SYNC_CHILD, scenarioFile, resultFile, implementation], LIBRARY_TIMEOUT_MS);
  try {
    return JSON.parse(await readFile(resultFile, 'utf8')) as LibraryChildOutcome;
  } catch {
    return {
      ok: false,
      notWired: false,
      error: `the sync process exited with ${code} and no result: ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
      peakRssMb: 0,
      rssStartMb: 0,
    };
  }
}

// ---- output ----

function report(size: SizeResult): string {
  const { shape } = size;
  const header = [
    `${fmt(shape.users)} users · ${shape.groups} groups · ${fmt(shape.memberships)} memberships`,
    'median',
    'min–max',
    'rows',
    '× floor',
    'peak RSS',
  ];
  const rows: string[][] = [header];
  const seeding = size.seeding;
  let section: Section | undefined;
  for (const m of size.measurements) {
    if (m.section !== section) {
      section = m.section;
      rows.push([section]);
    }
    if (m.failed || !m.seconds) {
      // One cell: a line of its own, which does not widen the columns.
      rows.push([`  ${m.label}: failed: ${m.failed ?? 'no result'}`]);
      continue;
    }
    const median = m.extrapolatedSeconds ? `${secs(m.extrapolatedSeconds.median)}*` : secs(m.seconds.median);
    const spread = m.extrapolatedSeconds ? range(m.extrapolatedSeconds) : range(m.seconds);
    rows.push([
      `  ${m.label}`,
      m.key === 'ldapts-idle' ? '' : median,
      m.key === 'ldapts-idle' ? '' : spread,
      m.values ? `${fmt(m.values)} val.` : m.rows ? fmt(m.rows) : '',
      m.key === 'ldapts-idle' ? '' : `${(m.ratioToFloor ?? 1).toFixed(2)}×`,
      m.peakRssMb ? `${fmt(m.peakRssMb.median)} MB` : '',
    ]);
  }
  rows.push(['Full sync (seconds of the sync itself; × floor: see below)']);
  const sync = size.sync;
  for (const implementation of ['library', 'reference'] as const) {
    const status = sync.status[implementation];
    if (status === 'not-wired') rows.push([`  ${implementation === 'library' ? 'library sync: not wired yet' : ''}`]);
    if (status === 'skipped') rows.push([`  ${IMPLEMENTATION_NAMES[implementation]}: skipped`]);
    for (const s of sync.scenarios.filter((x) => x.implementation === implementation)) {
      const failedRuns = s.runs.filter((r) => !r.ok).length;
      rows.push([
        `  ${IMPLEMENTATION_NAMES[implementation]}: ${s.kind}, ${s.database}${failedRuns ? ` ✗${failedRuns}` : ''}`,
        s.seconds ? secs(s.seconds.median) : 'failed',
        s.seconds ? range(s.seconds) : '',
        '',
        s.ratioToFloor !== undefined && Number.isFinite(s.ratioToFloor) ? `${s.ratioToFloor.toFixed(2)}×` : '',
        s.peakRssMb ? `${fmt(s.peakRssMb.median)} MB` : '',
      ]);
    }
  }
  for (const message of sync.messages) rows.push([`  ${message}`]);
  const notes = [
    `Seeding: ${fmt(seeding.entries)} entries, LDIF generated and loaded with slapadd in ${secs(seeding.seedSeconds)}` +
      (seeding.cached ? ` (cached from ${seeding.seededAt})` : '') +
      `; largest groups ${size.largestGroups.map(fmt).join(' / ')} members.`,
    `Medians (min–max) of ${OPTIONS.runs} runs for the floors and ldapts reads, ${OPTIONS.contextRuns} for COPY into ` +
      `keyed tables and the INSERTs; × floor = median ÷ the floor's median (the ldapsearch dump of the same entries, ` +
      `COPY then keys, or the section's floor).`,
    `* one INSERT per row: ${fmt(size.measurements.find((m) => m.key === 'pg-insert-per-row')?.sampledRows ?? 0)} rows ` +
      'timed, extrapolated to every row at that rate. Peak RSS: the child process that did the read (getrusage maxrss).',
    ...phaseNotes(size.measurements),
  ];
  if (OPTIONS.maxMessageMb !== undefined) {
    notes.push(
      `NOTE: the library's limit on one LDAP message was raised to ${OPTIONS.maxMessageMb} MiB for this run ` +
        '(--max-message-mb; its default, 16 MiB, refuses a group of about 380,000 members or more).',
    );
  }
  if (OPTIONS.noSearchTimeLimit) {
    notes.push(
      "NOTE: the library's searches were sent with no time limit (--no-search-time-limit; as it is, ldapts asks " +
        'for 10 s, and a first delta, one content-sync search of every entry, ends with timeLimitExceeded past it).',
    );
  }
  if (sync.scenarios.length) {
    notes.push(
      `Full syncs: ${OPTIONS.libraryRuns} runs each for the library, ${OPTIONS.referenceRuns} for the reference, each ` +
        'in its own process on a fresh copy of the database; ' +
        'boot (Nest context, connections) not counted. Floors: first = ldapsearch users + groups + COPY then keys ' +
        '(SQLite: its floor); resyncs = ldapsearch users + groups + the PostgreSQL read (SQLite: ldapsearch only).',
    );
    if (sync.changes) {
      notes.push(
        `Changed: ${sync.changes.renames} renames, ${sync.changes.removals} removals, ${sync.changes.moves} membership ` +
          `moves (users and their groups), applied with ldapmodify in ${secs(sync.changes.applySeconds)} before the ` +
          'changed runs.',
      );
    }
  }
  if (size.idleOthersPercent !== null && size.idleOthersPercent >= BUSY_MACHINE_PERCENT) {
    notes.push(
      `WARNING: other processes used up to ${size.idleOthersPercent}% of a core while this bench idled ` +
        `(samples ${size.idleOthersSamples.join(' / ')}): the machine was busy, the numbers are low and noisy.`,
    );
  }
  const delta = size.delta;
  const deltaLines = !delta
    ? []
    : failed_(delta)
      ? ['', `Delta sync: failed: ${delta.failed}`]
      : ['', deltaTable(delta), ...deltaNotes(delta)];
  const extra = [...deltaLines, '', ...cpuLines(size), '', ...targetLines(size)];
  return `${table(rows)}\n${notes.join('\n')}\n\n${extra.join('\n')}`;
}

/**
 * Where the CPU went, in core-seconds per run: the whole machine (every process, and time stolen by the
 * hypervisor), slapd, PostgreSQL and the sync's own process. The machine's cores bound the wall time from
 * below: a run that costs C core-seconds takes at least C ÷ cores seconds.
 */
function cpuLines(size: SizeResult): string[] {
  const cores = os.cpus().length;
  const lines = [
    `CPU per run, core-seconds (medians; ${cores} cores, so a run of C core-seconds takes ≥ C ÷ ${cores} s):`,
  ];
  const dump = size.measurements.find((m) => m.key === 'ldapsearch-all')?.cpu;
  if (dump?.machine) {
    lines.push(
      `  ldapsearch users + groups: machine ${dump.machine.median.toFixed(2)}` +
        (dump.slapd ? ` (slapd ${dump.slapd.median.toFixed(2)}, ldapsearch and the pipe's reader the rest)` : ''),
    );
  }
  for (const sc of size.sync.scenarios) {
    if (!sc.cpu) continue;
    const part = (name: string, v: number | null) => (v === null ? '' : `, ${name} ${v.toFixed(2)}`);
    lines.push(
      `  ${IMPLEMENTATION_NAMES[sc.implementation]}, ${sc.kind}, ${sc.database}: ` +
        (sc.cpu.machine === null ? '' : `machine ${sc.cpu.machine.toFixed(2)} (`) +
        `sync process ${sc.cpu.own.toFixed(2)}${part('slapd', sc.cpu.slapd)}${part('PostgreSQL', sc.cpu.postgres)}` +
        (sc.cpu.machine === null ? '' : ')'),
    );
  }
  return lines.length > 1 ? lines : [];
}

interface Target {
  target: string;
  measured: string;
  met: boolean;
}

/**
 * The targets, each against floors of this same run: the ratios to the dump and to COPY are set for a directory
 * of 100,000 users (at 10,000 the fixed costs of a run, a few connections and the run's record, weigh more), the
 * comparison of SQLite with PostgreSQL wherever both ran.
 */
function targets(size: SizeResult): Target[] {
  const out: Target[] = [];
  const large = size.shape.users >= 100_000;
  const floor = (key: string) => size.measurements.find((m) => m.key === key)?.seconds?.median;
  const scenario = (kind: LibrarySyncKind, database: AppDatabaseKind) =>
    size.sync.scenarios.find((x) => x.implementation === 'library' && x.kind === kind && x.database === database);
  const dump = floor('ldapsearch-all');
  const copy = floor('pg-copy');
  /** A ratio target: pushed when the ratio could be measured. */
  const ratio = (target: string, value: number | undefined, limit: number) => {
    if (large && value !== undefined && Number.isFinite(value)) {
      out.push({ target, measured: `${value.toFixed(2)}×`, met: value <= limit });
    }
  };
  const unchanged = scenario('unchanged', 'postgres');
  const changed = scenario('changed', 'postgres');
  const over = (seconds: number | undefined, floorSeconds: number | undefined) =>
    seconds !== undefined && floorSeconds ? seconds / floorSeconds : undefined;
  ratio('resync, no change ≤ 1.3× the dump alone', over(unchanged?.seconds?.median, dump), 1.3);
  ratio('  the same, each run ÷ a dump timed just before it', unchanged?.pairedDumpRatio, 1.3);
  ratio(
    'resync, 1 % changes ≤ 1.5× (the dump + COPY)',
    over(changed?.seconds?.median, dump && copy ? dump + copy : undefined),
    1.5,
  );
  ratio('  the same, each run ÷ (a dump timed just before it + COPY)', changed?.pairedDumpCopyRatio, 1.5);
  const peaks = size.sync.scenarios.filter((x) => x.implementation === 'library' && x.peakRssMb);
  if (large && peaks.length) {
    const peak = Math.max(...peaks.map((x) => x.peakRssMb!.max));
    out.push({ target: 'peak RSS of any library sync ≤ 512 MB', measured: `${fmt(peak)} MB`, met: peak <= 512 });
  }
  for (const kind of ['first', 'unchanged', 'changed'] as const) {
    const sqlite = scenario(kind, 'sqlite')?.seconds?.median;
    const postgres = scenario(kind, 'postgres')?.seconds?.median;
    if (sqlite === undefined || postgres === undefined) continue;
    const ratio = sqlite / postgres;
    out.push({ target: `SQLite ≤ 2× PostgreSQL, ${kind} sync`, measured: `${ratio.toFixed(2)}×`, met: ratio <= 2 });
  }
  if (size.delta && !failed_(size.delta)) out.push(...deltaTargets(size.delta));
  return out;
}

function targetLines(size: SizeResult): string[] {
  const list = size.targets;
  if (!list.length) return [];
  return table([
    [`target at ${fmt(size.shape.users)} users (same run, medians)`, 'measured', 'met'],
    ...list.map((t) => [t.target, t.measured, t.met ? 'yes' : 'NO']),
  ]).split('\n');
}

function phaseNotes(measurements: Measurement[]): string[] {
  return measurements
    .filter((m) => m.phases)
    .map(
      (m) =>
        `${m.label.replace(/ \(floor\)$/, '')}: ` +
        Object.entries(m.phases!)
          .map(([name, s]) => `${name} ${secs(s.median)}`)
          .join(' + '),
    );
}

async function writeResults(data: unknown): Promise<void> {
  // Written the way Prettier formats it, so `prettier --check bench` passes with results present.
  const options = (await prettier.resolveConfig(RESULTS_FILE)) ?? {};
  const text = await prettier.format(JSON.stringify(data), { ...options, filepath: RESULTS_FILE });
  await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
  await writeFile(RESULTS_FILE, text);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
