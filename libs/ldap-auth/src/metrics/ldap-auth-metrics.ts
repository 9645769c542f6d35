import {
  type Counter,
  type Histogram,
  type MeterProvider,
  metrics,
  type ObservableGauge,
  type ObservableResult,
  ValueType,
} from '@opentelemetry/api';
import { type LdapOperation, type LdapOperationOutcome, recentLdapOperations } from './recent-operations.js';

/**
 * Every instrument the library records, defined here and nowhere else. They go through `@opentelemetry/api`
 * only: until the app registers a MeterProvider (`metrics.setGlobalMeterProvider`, as the demo's src/metrics/
 * does) every call below is a no-op. Names are the Prometheus names a Prometheus exporter prints (it appends
 * `_total` to counters); no label carries a user name, a DN or an address.
 */
export const LDAP_AUTH_METER = '@nest-ldap-auth/ldap-auth';

/** `success`; `failure`: refused (reason: the LoginFailureCode); `error`: could not decide (directory, database). */
export type LoginOutcome = 'success' | 'failure' | 'error';

export type { LdapOperation, LdapOperationOutcome };

/** A connection pool's size at a scrape, by the state of its connections or requests. */
export interface PoolStats {
  inUse: number;
  idle: number;
  waiting: number;
}

/** `full` today; the delta sync passes `delta`. */
export type SyncMode = 'full' | 'delta';

/** LDAP answers take milliseconds to seconds: buckets in seconds (the SDK's default ones are for milliseconds). */
const OPERATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SYNC_BUCKETS = [0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

class Instruments {
  readonly logins: Counter;
  readonly operationDuration: Histogram;
  readonly throttleRefusals: Counter;
  readonly syncRuns: Counter;
  readonly syncDuration: Histogram;
  readonly syncChanges: Counter;
  readonly pool: ObservableGauge;
  readonly lastSyncSuccess: ObservableGauge;

  constructor(provider: MeterProvider) {
    const meter = provider.getMeter(LDAP_AUTH_METER);
    const int = { valueType: ValueType.INT };
    this.logins = meter.createCounter('ldap_auth_logins', {
      ...int,
      description: 'Logins by outcome (success, failure, error) and reason (the refusal code)',
    });
    this.operationDuration = meter.createHistogram('ldap_auth_ldap_operation_duration_seconds', {
      unit: 's',
      description: 'LDAP requests (bind, search, compare, extended) by outcome (success, refused, error)',
      advice: { explicitBucketBoundaries: OPERATION_BUCKETS },
    });
    this.throttleRefusals = meter.createCounter('ldap_auth_login_throttle_refusals', {
      ...int,
      description: 'Login attempts refused by the login throttle before any LDAP traffic',
    });
    this.syncRuns = meter.createCounter('ldap_auth_sync_runs', {
      ...int,
      description: 'Sync runs (dry runs not counted) by mode and status',
    });
    this.syncDuration = meter.createHistogram('ldap_auth_sync_run_duration_seconds', {
      unit: 's',
      description: 'Sync run durations (dry runs not counted) by mode and status',
      advice: { explicitBucketBoundaries: SYNC_BUCKETS },
    });
    this.syncChanges = meter.createCounter('ldap_auth_sync_changes', {
      ...int,
      description: 'Changes written by sync runs, by mode and kind',
    });
    this.pool = meter.createObservableGauge('ldap_auth_pool_connections', {
      ...int,
      description: 'LDAP pool connections in use and idle, and requests waiting for one, by pool (login, service)',
    });
    this.lastSyncSuccess = meter.createObservableGauge('ldap_auth_sync_last_success_timestamp_seconds', {
      unit: 's',
      description: 'When the last sync run that succeeded (not a dry run) finished, Unix time, from ldap_sync_runs',
    });
    this.pool.addCallback((result) => observePools(result));
    this.lastSyncSuccess.addCallback((result) => observeLastSyncSuccess(result));
  }
}

/** Pools to report at each collection, by name (module-level: instruments rebuilt for a new provider see them). */
const pools = new Map<object, { name: string; stats: () => PoolStats }>();
/** Reads when the last successful sync finished (the run log, in the database); one source at a time. */
let lastSyncSuccessSource: (() => Promise<Date | undefined>) | undefined;

function observePools(result: ObservableResult): void {
  for (const { name, stats } of pools.values()) {
    const { inUse, idle, waiting } = stats();
    result.observe(inUse, { pool: name, state: 'in_use' });
    result.observe(idle, { pool: name, state: 'idle' });
    result.observe(waiting, { pool: name, state: 'waiting' });
  }
}

async function observeLastSyncSuccess(result: ObservableResult): Promise<void> {
  const finished = await lastSyncSuccessSource?.();
  if (finished) result.observe(finished.getTime() / 1000);
}

let current: { provider: MeterProvider; instruments: Instruments } | undefined;

/**
 * The instruments on the global MeterProvider as it is now. The API gives no proxy for metrics (a meter taken
 * before the app registers its provider stays a no-op), so they are made again when the provider changes.
 */
function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (current?.provider !== provider) current = { provider, instruments: new Instruments(provider) };
  return current.instruments;
}

/** The library's measurements, for the few places that know the facts (and `recordThrottleRefusal` for apps). */
export const ldapAuthMetrics = {
  /**
   * Binds the instruments to the global MeterProvider now. Recording does it too, but the gauges (pools, last
   * sync) record nothing themselves: an app that registers its provider after the module started calls this.
   */
  attach(): void {
    instruments();
  },

  login(outcome: LoginOutcome, reason?: string): void {
    instruments().logins.add(1, reason === undefined ? { outcome } : { outcome, reason });
  },

  ldapOperation(operation: LdapOperation, outcome: LdapOperationOutcome, seconds: number): void {
    instruments().operationDuration.record(seconds, { operation, outcome });
    recentLdapOperations.add({ operation, outcome, seconds, at: Date.now() });
  },

  /** For the app's login throttle (the library has none): a login attempt refused before it reached LDAP. */
  recordThrottleRefusal(): void {
    instruments().throttleRefusals.add(1);
  },

  /** A sync run that ended (dry runs are not recorded); `changes` by kind, for runs that wrote them. */
  syncRun(mode: SyncMode, status: string, seconds: number, changes: Readonly<Record<string, number>> = {}): void {
    const i = instruments();
    i.syncRuns.add(1, { mode, status });
    i.syncDuration.record(seconds, { mode, status });
    for (const [kind, count] of Object.entries(changes)) if (count > 0) i.syncChanges.add(count, { mode, kind });
  },

  /** Reports a pool's state at every collection until the returned function is called. */
  observePool(name: string, stats: () => PoolStats): () => void {
    const key = {};
    pools.set(key, { name, stats });
    instruments();
    return () => void pools.delete(key);
  },

  /** Where the last successful sync's end is read at every collection, until the returned function is called. */
  observeLastSyncSuccess(read: () => Promise<Date | undefined>): () => void {
    lastSyncSuccessSource = read;
    instruments();
    return () => {
      if (lastSyncSuccessSource === read) lastSyncSuccessSource = undefined;
    };
  },
};
