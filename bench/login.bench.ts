/**
 * Login throughput against a real slapd with 10,000 users: a hand-written ldapts baseline, passport-ldapauth,
 * the library's LdapDirectory, and the library's whole login (LdapLoginService + SQLite), each at several
 * concurrencies. Run with `npm run bench` (see bench/README.md). Loopback only; everything it starts is
 * stopped at the end, also on error or Ctrl-C.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as prettier from 'prettier';
import { startSlapd, type SlapdHandle } from '../test/support/slapd.js';
import { cpuShare, cpuSnapshot, type CpuShare } from './cpu.js';
import { benchUsers, seedUsers, withoutDiskSync, type BenchUser } from './seed.js';
import {
  ourDirectory,
  ourFullLogin,
  passportLdapauth,
  rawLdapts,
  type LoginImplementation,
  type Outcome,
} from './logins.js';

/** Fixed by default so runs compare; the environment overrides them for experiments. */
const CONFIG = {
  users: envInt('BENCH_USERS', 10_000),
  loginsPerCell: envInt('BENCH_LOGINS', 2_000),
  /** Logins before each cell's clock starts (JIT, pools, slapd caches); not counted. */
  warmup: envInt('BENCH_WARMUP', 100),
  concurrencies: envList('BENCH_CONCURRENCY', [1, 8, 32]),
  /** A cell still running after this long stops early (and is marked): the run stays bounded. */
  cellDeadlineMs: envInt('BENCH_CELL_DEADLINE_MS', 10_000),
  /** Extra rows: LdapDirectory with these pool sizes (the default is 8). */
  extraPoolSizes: envList('BENCH_POOL_SIZES', [32]),
  seed: envInt('BENCH_SEED', 20_240_601),
};

/** Other processes using this much of a core during a cell make the run suspect (it says so). */
const BUSY_MACHINE_PERCENT = 20;

/** This file runs compiled, from dist/bench/bench/ (see bench/tsconfig.build.json). */
const RESULTS_FILE = fileURLToPath(new URL('../../../bench/results/latest.json', import.meta.url));

interface CellResult {
  implementation: string;
  concurrency: number;
  attempted: number;
  succeeded: number;
  failed: number;
  firstFailure?: string;
  seconds: number;
  loginsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Stopped at the deadline before all logins ran. */
  truncated: boolean;
  /** CPU use while the timed logins ran, in % of one core. */
  cpu: CpuShare;
}

interface ImplementationResult {
  key: string;
  name: string;
  /** A wrong password must come back as a refusal (not a success, not an error). */
  wrongPasswordRefused: boolean;
  wrongPasswordOutcome: string;
  cells: CellResult[];
}

async function main(): Promise<void> {
  const started = performance.now();
  const cleanups: Array<() => Promise<void>> = [];
  const cleanUp = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((e: unknown) => console.error(e));
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    console.log(
      `login benchmark: ${fmt(CONFIG.users)} users, ${fmt(CONFIG.loginsPerCell)} logins per cell ` +
        `(+${CONFIG.warmup} warm-up), concurrency ${CONFIG.concurrencies.join(' / ')}`,
    );
    console.log(
      `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${await slapdVersion()}`,
    );

    let t = performance.now();
    const slapd: SlapdHandle = await startSlapd();
    cleanups.push(() => slapd.stop());
    console.log(`slapd up on ${slapd.url} in ${secs(performance.now() - t)}`);

    const users = benchUsers(CONFIG.users);
    t = performance.now();
    let addSeconds = 0;
    const noSync = await withoutDiskSync(slapd, async () => {
      const t0 = performance.now();
      await seedUsers(slapd, users);
      addSeconds = (performance.now() - t0) / 1000;
    });
    const seedSeconds = (performance.now() - t) / 1000;
    console.log(
      `seeded ${fmt(users.length)} users in ${seedSeconds.toFixed(1)} s, two slapd restarts included ` +
        `(adds ${addSeconds.toFixed(1)} s, ${fmt(users.length / addSeconds)}/s: ldapts add on 4 admin connections × 8 in flight` +
        `${noSync ? ', slapd with dbnosync while seeding' : ''})\n`,
    );

    const factories: Array<() => Promise<LoginImplementation> | LoginImplementation> = [
      () => rawLdapts(slapd),
      () => passportLdapauth(slapd),
      () => ourDirectory(slapd),
      ...CONFIG.extraPoolSizes.map((size) => () => ourDirectory(slapd, size)),
      () => ourFullLogin(slapd),
    ];
    const random = mulberry32(CONFIG.seed);
    const results: ImplementationResult[] = [];
    for (const factory of factories) {
      const impl = await factory();
      const closeImpl = (): Promise<void> => impl.close();
      cleanups.push(closeImpl);
      const wrong = await outcomeOf(impl.login(users[0].username, 'not-the-password'));
      const result: ImplementationResult = {
        key: impl.key,
        name: impl.name,
        wrongPasswordRefused: wrong === 'refused',
        wrongPasswordOutcome: wrong,
        cells: [],
      };
      for (const concurrency of CONFIG.concurrencies) {
        const picks = Array.from(
          { length: CONFIG.warmup + CONFIG.loginsPerCell },
          () => users[Math.floor(random() * users.length)],
        );
        const cell = await runCell(impl, concurrency, picks, slapd.pid);
        result.cells.push(cell);
        console.log(
          `  ${impl.name.padEnd(46)} c=${String(concurrency).padEnd(3)} ${fmt(cell.loginsPerSecond).padStart(7)} logins/s` +
            `  p50 ${cell.latencyMs.p50.toFixed(2)} ms  p99 ${cell.latencyMs.p99.toFixed(2)} ms` +
            `  CPU bench ${cell.cpu.bench}% slapd ${cell.cpu.slapd ?? '?'}% others ${cell.cpu.others ?? '?'}%` +
            (cell.failed ? `  FAILED ${cell.failed} (${cell.firstFailure})` : '') +
            (cell.truncated ? `  stopped at the deadline after ${cell.attempted}` : ''),
        );
      }
      if (!result.wrongPasswordRefused) console.log(`  ${impl.name}: WRONG PASSWORD NOT REFUSED (${wrong})`);
      results.push(result);
      cleanups.splice(cleanups.indexOf(closeImpl), 1);
      await impl.close();
    }

    const totalSeconds = (performance.now() - started) / 1000;
    console.log(`\n${report(results)}`);
    await writeResults(results, { seconds: seedSeconds, addSeconds, dbnosync: noSync }, totalSeconds);
    const ok = results.every((r) => r.wrongPasswordRefused && r.cells.every((c) => c.failed === 0));
    console.log(
      `\n${ok ? 'all logins succeeded; every wrong password was refused' : 'CORRECTNESS PROBLEMS: see the marks above'}` +
        ` — results in bench/results/latest.json; total ${totalSeconds.toFixed(1)} s`,
    );
    const busiest = Math.max(...results.flatMap((r) => r.cells.map((c) => c.cpu.others ?? 0)));
    if (busiest >= BUSY_MACHINE_PERCENT) {
      console.log(
        `WARNING: other processes used up to ${busiest}% of a core during a cell (see "others" above): ` +
          'this machine was busy, the numbers are low and noisy.',
      );
    }
    if (!ok) process.exitCode = 1;
  } finally {
    await cleanUp();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Runs warm-up then the timed logins, `concurrency` at a time, each user from `picks` in turn. */
async function runCell(
  impl: LoginImplementation,
  concurrency: number,
  picks: BenchUser[],
  slapdPid: number,
): Promise<CellResult> {
  const warm = picks.slice(0, CONFIG.warmup);
  const timed = picks.slice(CONFIG.warmup);
  let failed = 0;
  let firstFailure: string | undefined;
  const latencies: number[] = [];

  const drive = async (list: BenchUser[], record: boolean, deadline: number): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < list.length && performance.now() < deadline) {
        const { username, password } = list[next++];
        const t0 = performance.now();
        const outcome = await outcomeOf(impl.login(username, password));
        if (!record) continue;
        latencies.push(performance.now() - t0);
        if (outcome !== 'ok') {
          failed++;
          firstFailure ??= `${username}: ${outcome}`;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };

  await drive(warm, false, performance.now() + CONFIG.cellDeadlineMs);
  const before = cpuSnapshot(slapdPid);
  const t0 = performance.now();
  await drive(timed, true, t0 + CONFIG.cellDeadlineMs);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuShare(before, cpuSnapshot(slapdPid));
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return {
    implementation: impl.key,
    concurrency,
    attempted: latencies.length,
    succeeded: latencies.length - failed,
    failed,
    firstFailure,
    seconds: round(seconds, 3),
    loginsPerSecond: Math.round((latencies.length - failed) / seconds),
    latencyMs: { p50: round(pct(0.5), 3), p99: round(pct(0.99), 3), max: round(sorted.at(-1) ?? 0, 3) },
    truncated: latencies.length < timed.length,
    cpu,
  };
}

async function outcomeOf(login: Promise<Outcome>): Promise<string> {
  try {
    return await login;
  } catch (error) {
    return `error: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function report(results: ImplementationResult[]): string {
  const cs = CONFIG.concurrencies;
  const rows: string[][] = [['logins/s', ...cs.map((c) => `c=${c}`), 'wrong password']];
  for (const r of results) {
    rows.push([
      r.name,
      ...r.cells.map((c) => fmt(c.loginsPerSecond) + (c.failed ? ` ✗${c.failed}` : '') + (c.truncated ? ' (cut)' : '')),
      r.wrongPasswordRefused ? 'refused' : `✗ ${r.wrongPasswordOutcome}`,
    ]);
  }
  const raw = results.find((r) => r.key === 'raw-ldapts');
  const passport = results.find((r) => r.key === 'passport-ldapauth');
  const ratioRows: string[][] = [['ratio (same run)', ...cs.map((c) => `c=${c}`)]];
  for (const ours of results.filter((r) => r.key.startsWith('ours'))) {
    for (const [label, base] of [
      ['raw ldapts', raw],
      ['passport-ldapauth', passport],
    ] as const) {
      if (!base) continue;
      ratioRows.push([
        `${ours.name.replace('ours: ', '')} ÷ ${label}`,
        ...ours.cells.map((c, i) => {
          const baseline = base.cells[i]?.loginsPerSecond;
          return baseline ? `${(c.loginsPerSecond / baseline).toFixed(2)}×` : '–';
        }),
      ]);
    }
  }
  const latencyRows: string[][] = [['latency p50 / p99 (ms)', ...cs.map((c) => `c=${c}`)]];
  for (const r of results) {
    latencyRows.push([r.name, ...r.cells.map((c) => `${c.latencyMs.p50.toFixed(1)} / ${c.latencyMs.p99.toFixed(1)}`)]);
  }
  return [table(rows), table(ratioRows), table(latencyRows)].join('\n\n');
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => [...(row[i] ?? '')].length)));
  const line = (row: string[]): string =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

async function writeResults(
  results: ImplementationResult[],
  seeding: { seconds: number; addSeconds: number; dbnosync: boolean },
  totalSeconds: number,
): Promise<void> {
  const data = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    slapd: await slapdVersion(),
    config: CONFIG,
    seeding: {
      users: CONFIG.users,
      seconds: round(seeding.seconds, 2),
      addSeconds: round(seeding.addSeconds, 2),
      addsPerSecond: Math.round(CONFIG.users / seeding.addSeconds),
      method: 'ldapts add, 4 admin connections × 8 in flight',
      dbnosync: seeding.dbnosync,
    },
    totalSeconds: round(totalSeconds, 1),
    implementations: results,
  };
  // Written the way Prettier formats it, so `prettier --check bench` passes with results present.
  const options = (await prettier.resolveConfig(RESULTS_FILE)) ?? {};
  const text = await prettier.format(JSON.stringify(data), { ...options, filepath: RESULTS_FILE });
  await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
  await writeFile(RESULTS_FILE, text);
}

async function slapdVersion(): Promise<string> {
  // Prints its version on stderr and exits 0.
  const output = await promisify(execFile)('/usr/sbin/slapd', ['-VV']).then(
    ({ stdout, stderr }) => stdout + stderr,
    () => '',
  );
  return /slapd\s+[\d.]+/.exec(output)?.[0] ?? 'slapd (unknown version)';
}

/** A small seeded PRNG, so every run draws the same users. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function envInt(name: string, fallback: number): number {
  const value = process.env[name];
  if (!value) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: expected a whole number, got "${value}"`);
  return n;
}

function envList(name: string, fallback: number[]): number[] {
  const value = process.env[name];
  if (value === undefined) return fallback;
  return value
    .split(',')
    .filter((v) => v.trim())
    .map((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected whole numbers, got "${value}"`);
      return n;
    });
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const round = (n: number, digits: number): number => Number(n.toFixed(digits));

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
