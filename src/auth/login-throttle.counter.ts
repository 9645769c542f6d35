import type { Redis } from 'ioredis';
import { RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { BoundedRateLimiterMemory } from './bounded-rate-limiter-memory.js';
import type { CounterSpec, CounterState } from './login-throttle.limits.js';

/**
 * One failure counter (rate-limiter-flexible, one fixed window per key): in this process's bounded memory, or
 * in Redis with that memory as the fallback. Failures only are recorded; the attempts between their check and
 * their outcome are held here, per process, so parallel guesses count before they fail.
 */
export class ThrottleCounter {
  readonly memory: BoundedRateLimiterMemory;
  private readonly limiter: RateLimiterAbstract;
  private readonly inFlight = new Map<string, number>();

  constructor(
    readonly spec: CounterSpec,
    maxKeys: number,
    hooks: { onFull: () => void; onMemoryUse?: () => void },
    redis?: Redis,
  ) {
    const options = { points: spec.limit, duration: spec.durationSeconds, keyPrefix: spec.keyPrefix };
    this.memory = new BoundedRateLimiterMemory(options, maxKeys, { onFull: hooks.onFull, onUse: hooks.onMemoryUse });
    this.limiter = redis
      ? new RateLimiterRedis({
          ...options,
          storeClient: redis,
          rejectIfRedisNotReady: true,
          insuranceLimiter: this.memory,
        })
      : this.memory;
  }

  /**
   * Holds one attempt in flight for the key, then reads its failures. The other attempts in flight are taken
   * before the read: one that ends during it has recorded its failure first (see `end`), so none is missed.
   */
  async begin(key: string): Promise<CounterState> {
    const inFlight = this.inFlight.get(key) ?? 0;
    this.inFlight.set(key, inFlight + 1);
    try {
      const res = await this.limiter.get(key);
      const live = res !== null && res.msBeforeNext > 0;
      return {
        failures: live ? res.consumedPoints : 0,
        msBeforeReset: live ? res.msBeforeNext : 0,
        inFlight,
        limit: this.spec.limit,
      };
    } catch (error) {
      this.release(key);
      throw error;
    }
  }

  /** Records the attempt's failure, if it failed, then lets it go. */
  async end(key: string, failed: boolean): Promise<void> {
    try {
      if (failed) await this.limiter.penalty(key);
    } finally {
      this.release(key);
    }
  }

  release(key: string): void {
    const left = (this.inFlight.get(key) ?? 1) - 1;
    if (left > 0) this.inFlight.set(key, left);
    else this.inFlight.delete(key);
  }

  /** Keys held in this process's memory (the store, or the Redis fallback), without the prefix. */
  memoryKeys(): string[] {
    return this.memory.dump().storage.map((record) => String(record.key));
  }
}
