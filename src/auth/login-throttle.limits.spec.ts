import { describe, expect, it } from '@jest/globals';
import { counterSpecs, decide, type CounterState } from './login-throttle.limits.js';

const state = (failures: number, limit: number, extra: Partial<CounterState> = {}): CounterState => ({
  failures,
  limit,
  msBeforeReset: 30_000,
  inFlight: 0,
  ...extra,
});

describe('decide', () => {
  it('allows while every counter is under its limit', () => {
    expect(decide([state(9, 10), state(99, 100), state(0, 50)])).toEqual({ allowed: true });
    expect(decide([])).toEqual({ allowed: true });
  });

  it('refuses when any counter reaches its limit, waiting for the latest reset among those that refuse', () => {
    expect(decide([state(10, 10, { msBeforeReset: 12_300 }), state(1, 100)])).toEqual({
      allowed: false,
      retryAfterSeconds: 13,
    });
    expect(
      decide([state(10, 10, { msBeforeReset: 5_000 }), state(1, 100), state(50, 50, { msBeforeReset: 600_000 })]),
    ).toEqual({ allowed: false, retryAfterSeconds: 600 });
  });

  it('counts attempts in flight, so parallel guesses stay within the limit (retry in a second)', () => {
    expect(decide([state(7, 10, { inFlight: 2 })])).toEqual({ allowed: true });
    expect(decide([state(7, 10, { inFlight: 3 })])).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('never answers a Retry-After under 1 second', () => {
    expect(decide([state(10, 10, { msBeforeReset: 1 })])).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });
});

describe('counterSpecs', () => {
  it('takes each counter from its variables, under key prefixes that cannot overlap', () => {
    const specs = counterSpecs({
      loginThrottleLimit: 10,
      loginThrottleTtlSeconds: 60,
      loginThrottleClientLimit: 100,
      loginThrottleAccountLimit: 50,
      loginThrottleAccountTtlSeconds: 900,
      loginThrottleKeyPrefix: 'lt',
    });
    expect(specs.pair).toMatchObject({ limit: 10, durationSeconds: 60, keyPrefix: 'lt' });
    expect(specs.client).toMatchObject({ limit: 100, durationSeconds: 60, keyPrefix: 'lt:client' });
    expect(specs.account).toMatchObject({ limit: 50, durationSeconds: 900, keyPrefix: 'lt:account' });
  });
});
