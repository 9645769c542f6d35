import type { AppConfig } from '../config/app.config.js';
import type { LoginThrottleKeys } from './login-throttle.key.js';

/**
 * The three failure counters every login attempt is checked against (pure planning, no I/O):
 * - `pair`: one client and one account (`LOGIN_THROTTLE_LIMIT` per `LOGIN_THROTTLE_TTL`), the usual limit;
 * - `client`: one client over every account (`LOGIN_THROTTLE_CLIENT_LIMIT` per `LOGIN_THROTTLE_TTL`), which
 *   also bounds the keys one client can add to the two other counters: a flood fills its own share only;
 * - `account`: one account over every client (`LOGIN_THROTTLE_ACCOUNT_LIMIT` per `LOGIN_THROTTLE_ACCOUNT_TTL`),
 *   slow, so a guess spread over many addresses is stopped too.
 */
export type CounterName = keyof LoginThrottleKeys;

export const COUNTER_NAMES: readonly CounterName[] = ['pair', 'client', 'account'];

export interface CounterSpec {
  name: CounterName;
  /** Failures allowed in one window. */
  limit: number;
  durationSeconds: number;
  /** The counter's keys are `<keyPrefix>:<key>`; the three prefixes never give one key to two counters. */
  keyPrefix: string;
  /** The variable to raise when this counter refuses too much (named in warnings). */
  variable: string;
}

type ThrottleConfig = Pick<
  AppConfig,
  | 'loginThrottleLimit'
  | 'loginThrottleTtlSeconds'
  | 'loginThrottleClientLimit'
  | 'loginThrottleAccountLimit'
  | 'loginThrottleAccountTtlSeconds'
  | 'loginThrottleKeyPrefix'
>;

export function counterSpecs(config: ThrottleConfig): Record<CounterName, CounterSpec> {
  const prefix = config.loginThrottleKeyPrefix;
  return {
    // The pair keeps the bare prefix: its keys (`<client>|<account>`) are the ones earlier versions wrote.
    pair: {
      name: 'pair',
      limit: config.loginThrottleLimit,
      durationSeconds: config.loginThrottleTtlSeconds,
      keyPrefix: prefix,
      variable: 'LOGIN_THROTTLE_LIMIT',
    },
    // `<prefix>:client:<client>` and `<prefix>:account:<account>`: a pair key always holds `|` right after the
    // client part, which is never `client` or `account`, so no pair key looks like one of these.
    client: {
      name: 'client',
      limit: config.loginThrottleClientLimit,
      durationSeconds: config.loginThrottleTtlSeconds,
      keyPrefix: `${prefix}:client`,
      variable: 'LOGIN_THROTTLE_CLIENT_LIMIT',
    },
    account: {
      name: 'account',
      limit: config.loginThrottleAccountLimit,
      durationSeconds: config.loginThrottleAccountTtlSeconds,
      keyPrefix: `${prefix}:account`,
      variable: 'LOGIN_THROTTLE_ACCOUNT_LIMIT',
    },
  };
}

/** One counter as an attempt finds it. */
export interface CounterState {
  /** Failures recorded in the current window (0 when none or expired). */
  failures: number;
  /** Until the window ends. */
  msBeforeReset: number;
  /** Other attempts for the same key still waiting for their outcome (in this process). */
  inFlight: number;
  limit: number;
}

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Seconds to wait when only attempts in flight fill a counter: they end within a directory timeout. */
const IN_FLIGHT_RETRY_SECONDS = 1;

/**
 * Refused when, on any counter, the failures plus the attempts in flight reach the limit (an attempt in flight
 * may still fail: counting it keeps a burst of parallel guesses within the limit). Retry-After is the longest
 * wait among the counters that refuse.
 */
export function decide(states: readonly CounterState[]): ThrottleDecision {
  let wait = 0;
  for (const state of states) {
    if (state.failures + state.inFlight < state.limit) continue;
    const seconds = state.failures >= state.limit ? Math.ceil(state.msBeforeReset / 1000) : IN_FLIGHT_RETRY_SECONDS;
    wait = Math.max(wait, seconds, 1);
  }
  return wait ? { allowed: false, retryAfterSeconds: wait } : { allowed: true };
}
