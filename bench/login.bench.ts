/**
 * Login throughput against a real slapd with 10,000 users, each at several concurrencies, in three sections:
 * - the LDAP path: hand-written ldapts (a connection per login, and pooled), passport-ldapauth, the library's
 *   LdapDirectory;
 * - the library's whole login (LdapLoginService) on SQLite and PostgreSQL, first logins and returning ones;
 * - HTTP end to end: `POST /auth/login` on the demo app and on a passport-ldapauth Nest app (bench/passport-app.ts),
 *   each in a child process, on SQLite and PostgreSQL, first logins and returning ones.
 * Run with `npm run bench` (see bench/README.md). Loopback only; everything it starts is stopped at the end,
 * also on error or Ctrl-C.
 */
import 'reflect-metadata';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { startSlapd, type SlapdHandle } from '../test/support/slapd.js';
import { slapdVersion } from '../test/support/slapd-process.js';
import { cleanUpOnExit } from './cleanups.js';
import { mulberry32 } from './random.js';
import { cpuShare, cpuSnapshot, type CpuShare } from './cpu.js';
import { benchGroupDns, benchUsers, seedGroups, seedUsers, withoutDiskSync, type BenchUser } from './seed.js';
import {
  ourDirectory,
  ourFullLogin,
  passportLdapauth,
  rawLdapts,
  rawLdaptsPooled,
  type LoginImplementation,
  type Outcome,
} from './logins.js';
import { BENCH_ORGANISATION_ID, demoApp, passportApp } from './http-apps.js';
import { createLoginBenchDatabase } from './postgres.js';
import { createTestDatabase } from '../test/support/databases.js';
import { measureMetricsCost, type MetricsCostResult } from './metrics-cost.js';

/** Fixed by default so runs compare; the environment overrides them for experiments. */
const CONFIG = {
  users: envInt('BENCH_USERS', 10_000),
  loginsPerCell: envInt('BENCH_LOGINS', 6_000),
  /** Logins before each cell's clock starts (JIT, pools, slapd caches); not counted. */
  warmup: envInt('BENCH_WARMUP', 100),
  concurrencies: envList('BENCH_CONCURRENCY', [1, 8, 32]),
  /** A cell still running after this long stops early (and is marked): the run stays bounded. */
  cellDeadlineMs: envInt('BENCH_CELL_DEADLINE_MS', 10_000),
  /** Extra rows: raw pooled ldapts and LdapDirectory with these pool sizes (the library's default is 8). */
  extraPoolSizes: envList('BENCH_POOL_SIZES', [32]),
  /**
   * Logins per cell of the full-login and HTTP sections (each database, first and returning). Long enough for
   * the JIT and the app's caches to settle: at 600 per HTTP cell (under a second at c=8) the HTTP rows came
   * out 25–35 % lower than at 6,000. First logins need (logins + warm-up) × concurrencies users.
   */
  fullLoginsPerCell: envInt('BENCH_FULL_LOGINS', 3_000),
  httpLoginsPerCell: envInt('BENCH_HTTP_LOGINS', 3_000),
  /** Groups in the directory; every user is in two, and the apps mirror all of them. */
  groups: envInt('BENCH_GROUPS', 4),
  /** Sections to run: ldap, full, http, metrics. */
  sections: (process.env.BENCH_SECTIONS ?? 'ldap,full,http,metrics').split(',').filter(Boolean),
  /** The metrics' cost: rounds of (metrics on, metrics off) cells, and logins per cell, at c=8. */
  metricsRounds: envInt('BENCH_METRICS_ROUNDS', 8),
  metricsLoginsPerCell: envInt('BENCH_METRICS_LOGINS', 800),
  /** Databases of the full-login and HTTP sections. */
  databases: (process.env.BENCH_DATABASES ?? 'sqlite,postgres,mariadb').split(',').filter(Boolean),
  seed: envInt('BENCH_SEED', 20_240_601),
};

const METRICS_TITLE =
  "The metrics' cost (HTTP demo app, SQLite, returning logins: METRICS_ENABLED=true and false, alternating cells)";
/** The issue's target is at c=8. */
const METRICS_CONCURRENCY = 8;
/** The metrics may take at most this share of the logins/s (issue 21). */
const METRICS_MAX_COST_PERCENT = 3;

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
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Stopped at the deadline before all logins ran. */
  truncated: boolean;
  /** CPU use while the timed logins ran, in % of one core. */
  cpu: CpuShare;
  /**
   * CPU milliseconds per successful login: this process, slapd, the app's process (HTTP only), PostgreSQL's
   * processes (rows on PostgreSQL only).
   */
  cpuMsPerLogin: { bench: number; slapd: number | null; app: number | null; postgres: number | null };
}

type Section = 'ldap' | 'full' | 'http';
/** random: any of the users (the LDAP path keeps no state); first: each user's first login; returning: again. */
type Mode = 'random' | 'first' | 'returning';

interface Suite {
  section: Section;
  modes: Mode[];
  make: () => Promise<LoginImplementation> | LoginImplementation;
}

const SECTION_TITLES: Record<string, string> = {
  ldap: 'LDAP path (bind as the user, read the entry)',
  full: 'Full login in this process (LDAP, groups, database)',
  http: 'HTTP end to end (POST /auth/login in an app process: LDAP, database, JWT)',
};

interface ImplementationResult {
  key: string;
  name: string;
  section: Section;
  mode: Mode;
  /** A wrong password must come back as a refusal (not a success, not an error). */
  wrongPasswordRefused: boolean;
  wrongPasswordOutcome: string;
  cells: CellResult[];
}

async function main(): Promise<void> {
  const started = performance.now();
  const { cleanups, cleanUp } = cleanUpOnExit();

  try {
    console.log(
      `login benchmark: ${fmt(CONFIG.users)} users, ${fmt(CONFIG.loginsPerCell)} / ${fmt(CONFIG.fullLoginsPerCell)} / ` +
        `${fmt(CONFIG.httpLoginsPerCell)} logins per cell (LDAP / full / HTTP) ` +
        `(+${CONFIG.warmup} warm-up), concurrency ${CONFIG.concurrencies.join(' / ')}`,
    );
    console.log(
      `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${await slapdVersion()}`,
    );

    let t = performance.now();
    // loglevel 0: slapd's per-operation log (its default, `stats`) made slapd the ceiling of the fast rows.
    const slapd: SlapdHandle = await startSlapd({ logLevel: 0 });
    cleanups.push(() => slapd.stop());
    console.log(`slapd up on ${slapd.url} in ${secs(performance.now() - t)} (loglevel 0)`);

    const users = benchUsers(CONFIG.users);
    t = performance.now();
    let addSeconds = 0;
    const noSync = await withoutDiskSync(slapd, async () => {
      const t0 = performance.now();
      await seedUsers(slapd, users);
      addSeconds = (performance.now() - t0) / 1000;
      await seedGroups(slapd, users, CONFIG.groups);
    });
    const seedSeconds = (performance.now() - t) / 1000;
    console.log(
      `seeded ${fmt(users.length)} users in ${seedSeconds.toFixed(1)} s, two slapd restarts included ` +
        `(adds ${addSeconds.toFixed(1)} s, ${fmt(users.length / addSeconds)}/s: ldapts add on 4 admin connections × 8 in flight` +
        `${noSync ? ', slapd with dbnosync while seeding' : ''}; then ${CONFIG.groups} groups, each user in two)\n`,
    );

    const groupDns = benchGroupDns(slapd, CONFIG.groups);
    const random = mulberry32(CONFIG.seed);
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'ldap-login-bench-'));
    cleanups.push(() => rm(tmp, { recursive: true, force: true }));
    /** A fresh database per implementation that records logins: its first logins are really first. */
    const database = async (kind: string, key: string) => {
      if (kind === 'sqlite')
        return { url: `sqlite:${path.join(tmp, `${key}.sqlite`)}`, label: 'SQLite', key: 'sqlite' };
      if (kind === 'mariadb') {
        const scratch = await createTestDatabase('mariadb');
        cleanups.push(() => scratch.drop());
        return { url: scratch.url, label: 'MariaDB', key: 'mariadb' };
      }
      if (kind !== 'postgres') throw new Error(`BENCH_DATABASES: sqlite, postgres or mariadb, not "${kind}"`);
      const scratch = await createLoginBenchDatabase(key.replace(/\W/g, '_'));
      cleanups.push(() => scratch.drop());
      return { url: scratch.url, label: 'PostgreSQL', key: 'postgres' };
    };
    const poolSizes = [8, ...CONFIG.extraPoolSizes];
    const suites: Suite[] = [];
    if (CONFIG.sections.includes('ldap')) {
      suites.push({ section: 'ldap', modes: ['random'], make: () => rawLdapts(slapd) });
      for (const size of poolSizes)
        suites.push({ section: 'ldap', modes: ['random'], make: () => rawLdaptsPooled(slapd, size) });
      suites.push({ section: 'ldap', modes: ['random'], make: () => passportLdapauth(slapd) });
      suites.push({ section: 'ldap', modes: ['random'], make: () => ourDirectory(slapd) });
      for (const size of CONFIG.extraPoolSizes)
        suites.push({ section: 'ldap', modes: ['random'], make: () => ourDirectory(slapd, size) });
    }
    if (CONFIG.sections.includes('full')) {
      for (const kind of CONFIG.databases) {
        suites.push({
          section: 'full',
          modes: ['first', 'returning'],
          make: async () => ourFullLogin(slapd, await database(kind, `full_${kind}`), groupDns, BENCH_ORGANISATION_ID),
        });
      }
    }
    if (CONFIG.sections.includes('http')) {
      for (const kind of CONFIG.databases) {
        // The demo on both of Nest's HTTP adapters (HTTP_ADAPTER), and the passport-ldapauth app (Express).
        for (const { app, label, key, env } of [
          { app: demoApp, label: 'demo app (library, Express)', key: 'demo', env: {} },
          { app: demoApp, label: 'demo app (library, Fastify)', key: 'demo-fastify', env: { HTTP_ADAPTER: 'fastify' } },
          { app: passportApp, label: 'passport-ldapauth app + TypeORM save()', key: 'passport', env: {} },
        ]) {
          suites.push({
            section: 'http',
            modes: ['first', 'returning'],
            make: async () => {
              const db = await database(kind, `http_${key}_${kind}`);
              return app(`HTTP ${label}, ${db.label}`, `http-${key}-${db.key}`, {
                slapd,
                databaseUrl: db.url,
                dir: tmp,
                groupDns,
                poolSize: 8,
                env,
              });
            },
          });
        }
      }
    }

    const results: ImplementationResult[] = [];
    let section = '';
    for (const suite of suites) {
      if (suite.section !== section) {
        section = suite.section;
        console.log(`${SECTION_TITLES[section]}`);
      }
      const impl = await suite.make();
      const closeImpl = (): Promise<void> => impl.close();
      cleanups.push(closeImpl);
      const wrong = await outcomeOf(impl.login(users[0].username, 'not-the-password'));
      // First logins walk through the users in a shuffled order of their own; returning ones draw from those.
      const fresh = shuffled(users, random);
      const loggedIn: BenchUser[] = [];
      const perCell = {
        ldap: CONFIG.loginsPerCell,
        full: CONFIG.fullLoginsPerCell,
        http: CONFIG.httpLoginsPerCell,
      }[suite.section];
      for (const mode of suite.modes) {
        await impl.profileSoFar?.();
        const result: ImplementationResult = {
          key: mode === 'random' ? impl.key : `${impl.key}-${mode}`,
          name: mode === 'random' ? impl.name : `${impl.name}, ${mode === 'first' ? 'first logins' : 'returning'}`,
          section: suite.section,
          mode,
          wrongPasswordRefused: wrong === 'refused',
          wrongPasswordOutcome: wrong,
          cells: [],
        };
        for (const concurrency of CONFIG.concurrencies) {
          const count = CONFIG.warmup + perCell;
          let picks: BenchUser[];
          if (mode === 'first') {
            if (fresh.length < count) {
              throw new Error(`not enough users for first logins: raise BENCH_USERS or lower BENCH_LOGINS`);
            }
            picks = fresh.splice(0, count);
          } else {
            const from = mode === 'returning' ? loggedIn : users;
            picks = Array.from({ length: count }, () => from[Math.floor(random() * from.length)]);
          }
          const cell = await runCell(impl, concurrency, picks, slapd.pid);
          // A cut cell did not log everyone in: only the users it reached are returning ones.
          if (mode === 'first') loggedIn.push(...picks.slice(0, CONFIG.warmup + cell.attempted));
          result.cells.push(cell);
          console.log(
            `  ${result.name.padEnd(62)} c=${String(concurrency).padEnd(3)} ${fmt(cell.loginsPerSecond).padStart(7)} logins/s` +
              `  p50 ${cell.latencyMs.p50.toFixed(2)} ms  p99 ${cell.latencyMs.p99.toFixed(2)} ms` +
              `  CPU bench ${cell.cpu.bench}% slapd ${cell.cpu.slapd ?? '?'}%` +
              (cell.cpu.app === null ? '' : ` app ${cell.cpu.app}%`) +
              (impl.postgres ? ` ${impl.postgres} ${cell.cpu.postgres ?? '?'}%` : '') +
              ` others ${cell.cpu.others ?? '?'}%` +
              (cell.failed ? `  FAILED ${cell.failed} (${cell.firstFailure})` : '') +
              (cell.truncated ? `  stopped at the deadline after ${cell.attempted}` : ''),
          );
        }
        if (!result.wrongPasswordRefused) console.log(`  ${impl.name}: WRONG PASSWORD NOT REFUSED (${wrong})`);
        results.push(result);
      }
      cleanups.splice(cleanups.indexOf(closeImpl), 1);
      await impl.close();
    }

    let metricsCost: MetricsCostResult | undefined;
    if (CONFIG.sections.includes('metrics')) {
      console.log(METRICS_TITLE);
      metricsCost = await measureMetricsCost({
        start: async (enabled) => {
          const db = await database('sqlite', `metrics_${enabled ? 'on' : 'off'}`);
          return demoApp(`HTTP demo app, metrics ${enabled ? 'on' : 'off'}`, `metrics-${enabled ? 'on' : 'off'}`, {
            slapd,
            databaseUrl: db.url,
            dir: tmp,
            groupDns,
            poolSize: 8,
            env: { METRICS_ENABLED: String(enabled) },
          });
        },
        onStarted: (impl) => cleanups.push(() => impl.close()),
        cell: (impl, picks) => runCell(impl, METRICS_CONCURRENCY, picks, slapd.pid),
        users: shuffled(users, random),
        random,
        concurrency: METRICS_CONCURRENCY,
        rounds: CONFIG.metricsRounds,
        loginsPerCell: CONFIG.metricsLoginsPerCell,
        warmup: CONFIG.warmup,
      });
    }

    const totalSeconds = (performance.now() - started) / 1000;
    console.log(`\n${report(results, metricsCost)}`);
    await writeResults(results, { seconds: seedSeconds, addSeconds, dbnosync: noSync }, totalSeconds, metricsCost);
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
  const before = cpuSnapshot(slapdPid, impl.pid, impl.postgres);
  const t0 = performance.now();
  await drive(timed, true, t0 + CONFIG.cellDeadlineMs);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuShare(before, cpuSnapshot(slapdPid, impl.pid, impl.postgres));
  const succeeded = latencies.length - failed;
  const msPerLogin = (percent: number | null): number | null =>
    percent === null || succeeded === 0 ? null : round(((percent / 100) * seconds * 1000) / succeeded, 3);
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
    latencyMs: {
      p50: round(pct(0.5), 3),
      p95: round(pct(0.95), 3),
      p99: round(pct(0.99), 3),
      max: round(sorted.at(-1) ?? 0, 3),
    },
    truncated: latencies.length < timed.length,
    cpu,
    cpuMsPerLogin: {
      bench: msPerLogin(cpu.bench) ?? 0,
      slapd: msPerLogin(cpu.slapd),
      app: msPerLogin(cpu.app),
      postgres: impl.postgres ? msPerLogin(cpu.postgres) : null,
    },
  };
}

async function outcomeOf(login: Promise<Outcome>): Promise<string> {
  try {
    return await login;
  } catch (error) {
    return `error: ${error instanceof Error ? error.message : String(error)}`;
  }
}

interface Ratio {
  label: string;
  section: Section;
  /** ours ÷ baseline per concurrency (null where either is missing). */
  values: Array<number | null>;
}

/** Ours against the baselines measured in the same run, per concurrency. */
function ratios(results: ImplementationResult[]): Ratio[] {
  const byKey = new Map(results.map((r) => [r.key, r]));
  const out: Ratio[] = [];
  const add = (section: Section, label: string, ours?: ImplementationResult, base?: ImplementationResult): void => {
    if (!ours || !base) return;
    out.push({
      label,
      section,
      values: ours.cells.map((c, i) => {
        const b = base.cells[i]?.loginsPerSecond;
        return b ? round(c.loginsPerSecond / b, 2) : null;
      }),
    });
  };
  for (const size of [8, ...CONFIG.extraPoolSizes]) {
    const ours = byKey.get(size === 8 ? 'ours-directory' : `ours-directory-pool${size}`);
    add(
      'ldap',
      `LdapDirectory (pool ${size}) ÷ raw ldapts pooled (${size})`,
      ours,
      byKey.get(`raw-ldapts-pool${size}`),
    );
    add('ldap', `LdapDirectory (pool ${size}) ÷ raw ldapts, connection per login`, ours, byKey.get('raw-ldapts'));
    add('ldap', `LdapDirectory (pool ${size}) ÷ passport-ldapauth`, ours, byKey.get('passport-ldapauth'));
  }
  for (const r of results.filter((x) => x.section === 'full')) {
    add('full', `${r.name.replace('ours: ', '')} ÷ LdapDirectory (pool 8)`, r, byKey.get('ours-directory'));
  }
  for (const r of results.filter((x) => x.key.startsWith('http-demo-'))) {
    const dbAndMode = r.key.replace(/^http-demo-(fastify-)?/, '');
    add('http', `${r.name.replace('HTTP ', '')} ÷ passport app`, r, byKey.get(`http-passport-${dbAndMode}`));
    if (dbAndMode.endsWith('-returning')) {
      const inProcess = byKey.get(`ours-full-login-${dbAndMode}`);
      add('http', `${r.name.replace('HTTP ', '')} ÷ in-process full login`, r, inProcess);
    }
  }
  return out;
}

interface Target {
  target: string;
  measured: string;
  met: boolean | null;
}

/** The issue's targets (ratios in this run), each with what was measured. */
function targets(results: ImplementationResult[], metricsCost?: MetricsCostResult): Target[] {
  const byKey = new Map(results.map((r) => [r.key, r]));
  const at = (key: string, c: number): CellResult | undefined =>
    byKey.get(key)?.cells.find((cell) => cell.concurrency === c);
  const out: Target[] = [];
  const check = (
    target: string,
    value: number | undefined,
    ok: (v: number) => boolean | null,
    shown: (v: number) => string,
  ) =>
    out.push({
      target,
      measured: value === undefined || !Number.isFinite(value) ? 'not measured' : shown(value),
      met: value === undefined || !Number.isFinite(value) ? null : ok(value),
    });
  for (const size of [8, ...CONFIG.extraPoolSizes]) {
    const ours = size === 8 ? 'ours-directory' : `ours-directory-pool${size}`;
    const raw = `raw-ldapts-pool${size}`;
    const tput = (at(ours, 32)?.loginsPerSecond ?? NaN) / (at(raw, 32)?.loginsPerSecond ?? NaN);
    check(
      `LdapDirectory ≥ 0.85× raw pooled at c=32 (pool ${size})`,
      tput,
      (v) => v >= 0.85,
      (v) => `${v.toFixed(2)}×`,
    );
    const p50 = (at(ours, 1)?.latencyMs.p50 ?? NaN) / (at(raw, 1)?.latencyMs.p50 ?? NaN);
    check(
      `LdapDirectory p50 ≤ 1.2× raw pooled at c=1 (pool ${size})`,
      p50,
      (v) => v <= 1.2,
      (v) => `${v.toFixed(2)}×`,
    );
  }
  // Issue 22's targets on SQLite and PostgreSQL; MariaDB's figures are printed with no target (met: –).
  const ratio = (a: string, b: string) => (at(a, 8)?.loginsPerSecond ?? NaN) / (at(b, 8)?.loginsPerSecond ?? NaN);
  const shown = (v: number) => `${v.toFixed(2)}×`;
  const targetOn = (db: string, ok: (v: number) => boolean) => (db === 'mariadb' ? () => null : ok);
  for (const db of CONFIG.databases) {
    const minimum = db === 'postgres' ? 0.6 : 0.5;
    check(
      `full login, returning, ${db} ≥ ${minimum}× LdapDirectory at c=8`,
      ratio(`ours-full-login-${db}-returning`, 'ours-directory'),
      targetOn(db, (v) => v >= minimum),
      shown,
    );
    for (const [adapter, key] of [
      ['Express', 'demo'],
      ['Fastify', 'demo-fastify'],
    ]) {
      check(
        `HTTP returning (${adapter}) ≥ 0.5× in-process full login at c=8, ${db}`,
        ratio(`http-${key}-${db}-returning`, `ours-full-login-${db}-returning`),
        targetOn(db, (v) => v >= 0.5),
        shown,
      );
      check(
        `HTTP first logins (${adapter}) ≥ 2× passport app at c=8, ${db}`,
        ratio(`http-${key}-${db}-first`, `http-passport-${db}-first`),
        targetOn(db, (v) => v >= 2),
        shown,
      );
      check(
        `HTTP returning (${adapter}) ≥ 3× passport app at c=8, ${db}`,
        ratio(`http-${key}-${db}-returning`, `http-passport-${db}-returning`),
        targetOn(db, (v) => v >= 3),
        shown,
      );
    }
  }
  if (metricsCost) {
    const spread = `median of ${metricsCost.rounds.length} rounds; rounds ${metricsCost.min.toFixed(3)}–${metricsCost.max.toFixed(3)}×`;
    out.push({
      target: `metrics on ≥ ${(1 - METRICS_MAX_COST_PERCENT / 100).toFixed(2)}× metrics off at c=${metricsCost.concurrency} (HTTP, SQLite, returning)`,
      measured: `${metricsCost.median.toFixed(3)}× (${spread})`,
      met: metricsCost.costPercent <= METRICS_MAX_COST_PERCENT,
    });
  }
  return out;
}

/** Each round's pair of cells and ratio, and whether the app with metrics counted every login it served. */
function metricsTable(cost: MetricsCostResult): string {
  const ms = (v: number | null): string => (v === null ? '?' : v.toFixed(3));
  const rows = cost.rounds.map((r, i) => [
    `round ${i + 1} (${i % 2 === 0 ? 'on first' : 'off first'})`,
    fmt(r.on),
    fmt(r.off),
    `${r.ratio.toFixed(3)}×`,
    `${ms(r.cpuMsOn)} / ${ms(r.cpuMsOff)}`,
  ]);
  const counted =
    cost.countedLogins === cost.successfulLogins
      ? `ldap_auth_logins_total{outcome="success"} = ${fmt(cost.countedLogins)}, every login the app answered 200`
      : `ldap_auth_logins_total{outcome="success"} = ${fmt(cost.countedLogins)}, but the app answered 200 to ${fmt(cost.successfulLogins)}`;
  return [
    table([
      [`metrics' cost, logins/s at c=${cost.concurrency}`, 'on', 'off', 'on ÷ off', 'app CPU ms/login on / off'],
      ...rows,
      [
        'median (spread: min–max)',
        '',
        '',
        `${cost.median.toFixed(3)}× (${cost.min.toFixed(3)}–${cost.max.toFixed(3)})`,
        `${ms(cost.cpuMsOn)} / ${ms(cost.cpuMsOff)}`,
      ],
    ]),
    counted,
    `recording one login in-process (a login, a bind, two searches): ${cost.recordingMicroseconds.sdk} µs with the ` +
      `SDK, ${cost.recordingMicroseconds.noop} µs without` +
      (cost.cpuMsOff
        ? ` (${((cost.recordingMicroseconds.sdk / (cost.cpuMsOff * 1000)) * 100).toFixed(2)} % of the app's CPU per login)`
        : ''),
  ].join('\n');
}

function report(results: ImplementationResult[], metricsCost?: MetricsCostResult): string {
  const cs = CONFIG.concurrencies;
  const parts: string[] = [];
  for (const section of ['ldap', 'full', 'http'] as const) {
    const rows = results.filter((r) => r.section === section);
    if (!rows.length) continue;
    const head = [`${SECTION_TITLES[section]}: logins/s`, ...cs.map((c) => `c=${c}`), 'wrong password'];
    parts.push(
      table([
        head,
        ...rows.map((r) => [
          r.name,
          ...r.cells.map(
            (c) => fmt(c.loginsPerSecond) + (c.failed ? ` ✗${c.failed}` : '') + (c.truncated ? ' (cut)' : ''),
          ),
          r.wrongPasswordRefused ? 'refused' : `✗ ${r.wrongPasswordOutcome}`,
        ]),
      ]),
    );
  }
  parts.push(
    table([
      ['ratio (same run)', ...cs.map((c) => `c=${c}`)],
      ...ratios(results).map((r) => [r.label, ...r.values.map((v) => (v === null ? '–' : `${v.toFixed(2)}×`))]),
    ]),
  );
  parts.push(
    table([
      ['latency p50 / p95 / p99 (ms)', ...cs.map((c) => `c=${c}`)],
      ...results.map((r) => [
        r.name,
        ...r.cells.map(
          (c) => `${c.latencyMs.p50.toFixed(1)} / ${c.latencyMs.p95.toFixed(1)} / ${c.latencyMs.p99.toFixed(1)}`,
        ),
      ]),
    ]),
  );
  const ms = (v: number | null): string => (v === null ? '?' : v.toFixed(2));
  parts.push(
    table([
      ['CPU ms per login: this process / slapd / app process / database server', ...cs.map((c) => `c=${c}`)],
      ...results.map((r) => [
        r.name,
        ...r.cells.map(
          (c) =>
            `${ms(c.cpuMsPerLogin.bench)} / ${ms(c.cpuMsPerLogin.slapd)}` +
            (c.cpuMsPerLogin.app === null ? '' : ` / ${ms(c.cpuMsPerLogin.app)}`) +
            (c.cpuMsPerLogin.postgres === null ? '' : ` / db ${ms(c.cpuMsPerLogin.postgres)}`),
        ),
      ]),
    ]),
  );
  if (!results.length) parts.splice(0);
  if (metricsCost) parts.push(metricsTable(metricsCost));
  parts.push(
    table([
      ['target', 'measured', 'met'],
      ...targets(results, metricsCost).map((t) => [t.target, t.measured, t.met === null ? '–' : t.met ? 'yes' : 'NO']),
    ]),
  );
  return parts.join('\n\n');
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
  metricsCost?: MetricsCostResult,
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
    ratios: ratios(results),
    metricsCost: metricsCost ?? null,
    targets: targets(results, metricsCost),
  };
  // Written the way Prettier formats it, so `prettier --check bench` passes with results present.
  const options = (await prettier.resolveConfig(RESULTS_FILE)) ?? {};
  const text = await prettier.format(JSON.stringify(data), { ...options, filepath: RESULTS_FILE });
  await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
  await writeFile(RESULTS_FILE, text);
}

/** A copy of `list` in a random order (Fisher–Yates on the seeded PRNG). */
function shuffled<T>(list: readonly T[], random: () => number): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
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
