/**
 * What the metrics cost a login: the demo app twice in the same run, `METRICS_ENABLED=true` (the OpenTelemetry
 * SDK behind `GET /metrics` records every login, LDAP request and pool state) and `false` (the library's
 * instruments are no-ops), returning logins over HTTP on SQLite at one concurrency. The two run in alternating
 * cells, round after round (on/off, then off/on), so a machine that gets busier or quieter during the run
 * weighs on both alike; the ratio of each round and their spread are reported, not one pair of numbers.
 */
import http from 'node:http';
import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { ldapAuthMetrics } from '../libs/ldap-auth/src/index.js';
import type { BenchUser } from './seed.js';
import type { LoginImplementation } from './logins.js';

export interface MetricsCostRound {
  on: number;
  off: number;
  /** on ÷ off. */
  ratio: number;
  /** CPU milliseconds per login of the app's process (less sensitive to a busy machine than logins/s). */
  cpuMsOn: number | null;
  cpuMsOff: number | null;
}

export interface MetricsCostResult {
  concurrency: number;
  loginsPerCell: number;
  rounds: MetricsCostRound[];
  /** Of the rounds' ratios. */
  median: number;
  min: number;
  max: number;
  /** (1 − median) in %: the logins/s the metrics take away. */
  costPercent: number;
  /** Median over the rounds of the app's CPU ms per login, with metrics and without. */
  cpuMsOn: number | null;
  cpuMsOff: number | null;
  /** ldap_auth_logins_total{outcome="success"} on the app with metrics, after the rounds (checks they record). */
  countedLogins: number;
  /** Logins that app answered 200 in all (warm-up included), which that count must equal. */
  successfulLogins: number;
  /**
   * What recording one login costs in this process, µs: the login counter and three LDAP operations (a bind,
   * two searches) on the SDK the demo registers, and on the API's no-op. Steady where logins/s are not.
   */
  recordingMicroseconds: { sdk: number; noop: number };
}

export interface MetricsCostSetup {
  /** Starts the demo app with METRICS_ENABLED as given, on a fresh SQLite database. */
  start: (enabled: boolean) => Promise<LoginImplementation>;
  /** One timed cell (warm-up included in `picks`): the login benchmark's own runCell. */
  cell: (
    impl: LoginImplementation,
    picks: BenchUser[],
  ) => Promise<{ loginsPerSecond: number; succeeded: number; cpuMsPerLogin: { app: number | null } }>;
  users: BenchUser[];
  random: () => number;
  concurrency: number;
  rounds: number;
  loginsPerCell: number;
  warmup: number;
  /** Closes what `start` started (also registered by the caller for Ctrl-C). */
  onStarted: (impl: LoginImplementation) => void;
}

export async function measureMetricsCost(setup: MetricsCostSetup): Promise<MetricsCostResult> {
  const { users, random, concurrency, rounds, loginsPerCell, warmup } = setup;
  const on = await setup.start(true);
  setup.onStarted(on);
  const off = await setup.start(false);
  setup.onStarted(off);
  // The same users log in first on both (rows, groups, memberships written), then only return.
  const returning = users.slice(0, Math.min(users.length, 1_000));
  let successfulOn = 0;
  for (const app of [on, off]) {
    const first = await setup.cell(app, returning);
    if (app === on) successfulOn += first.succeeded + warmup;
  }
  const picks = () =>
    Array.from({ length: warmup + loginsPerCell }, () => returning[Math.floor(random() * returning.length)]);
  const result: MetricsCostRound[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [on, off] : [off, on];
    const cells = new Map<unknown, { loginsPerSecond: number; cpuMsPerLogin: { app: number | null } }>();
    for (const app of order) {
      const cell = await setup.cell(app, picks());
      cells.set(app, cell);
      if (app === on) successfulOn += cell.succeeded + warmup;
    }
    const [a, b] = [cells.get(on), cells.get(off)];
    const row: MetricsCostRound = {
      on: a?.loginsPerSecond ?? 0,
      off: b?.loginsPerSecond ?? 0,
      ratio: round3((a?.loginsPerSecond ?? 0) / (b?.loginsPerSecond ?? 1)),
      cpuMsOn: a?.cpuMsPerLogin.app ?? null,
      cpuMsOff: b?.cpuMsPerLogin.app ?? null,
    };
    result.push(row);
    console.log(
      `  metrics on ${String(row.on).padStart(6)} logins/s, off ${String(row.off).padStart(6)} logins/s: ` +
        `on ÷ off ${row.ratio.toFixed(3)}; app CPU ms/login ${row.cpuMsOn ?? '?'} / ${row.cpuMsOff ?? '?'} ` +
        `(round ${round + 1} of ${rounds}, c=${concurrency})`,
    );
  }
  const countedLogins = await countedSuccesses(on.port ?? 0);
  const recordingMicroseconds = { noop: recordingCost(), sdk: withSdk(recordingCost) };
  const ratios = result.map((r) => r.ratio).sort((x, y) => x - y);
  const median = medianOf(ratios) ?? 0;
  return {
    cpuMsOn: medianOf(result.flatMap((r) => (r.cpuMsOn === null ? [] : [r.cpuMsOn]))),
    cpuMsOff: medianOf(result.flatMap((r) => (r.cpuMsOff === null ? [] : [r.cpuMsOff]))),
    concurrency,
    loginsPerCell,
    rounds: result,
    median: round3(median),
    min: ratios[0],
    max: ratios.at(-1) ?? 0,
    costPercent: round3((1 - median) * 100),
    countedLogins,
    successfulLogins: successfulOn,
    recordingMicroseconds,
  };
}

/** µs per login of the library's recording calls for one returning login, best of three runs of 200,000. */
function recordingCost(): number {
  const login = () => {
    ldapAuthMetrics.ldapOperation('bind', 'success', 0.001);
    ldapAuthMetrics.ldapOperation('search', 'success', 0.001);
    ldapAuthMetrics.ldapOperation('search', 'success', 0.002);
    ldapAuthMetrics.login('success');
  };
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    for (let i = 0; i < 200_000; i++) login();
    best = Math.min(best, ((performance.now() - t0) * 1000) / 200_000);
  }
  return round3(best);
}

/** `fn` with the demo's SDK setup registered globally in this process, then unregistered. */
function withSdk<T>(fn: () => T): T {
  const provider = new MeterProvider({ readers: [new PrometheusExporter({ preventServerStart: true })] });
  metrics.setGlobalMeterProvider(provider);
  try {
    return fn();
  } finally {
    metrics.disable();
    void provider.shutdown();
  }
}

/** ldap_auth_logins_total{outcome="success"} from the app's GET /metrics. */
function countedSuccesses(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('error', reject);
        response.on('end', () => {
          const line = /^ldap_auth_logins_total\{outcome="success"\} (\d+)$/m.exec(text);
          resolve(line ? Number(line[1]) : 0);
        });
      })
      .on('error', reject);
  });
}

const round3 = (n: number): number => Number(n.toFixed(3));

function medianOf(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length / 2;
  return round3(sorted.length % 2 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2);
}
