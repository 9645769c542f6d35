import type { Redis } from 'ioredis';
import { RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible';
import { BoundedRateLimiterMemory } from './bounded-rate-limiter-memory.js';
import type { CounterSpec, CounterState } from './login-throttle.limits.js';

/** Redis for a counter: the client, whether it is in use now, and where to report a failed command. */
export interface RedisRoute {
  readonly client: Redis;
  inUse(): boolean;
  failed(reason: string): void;
}

/**
 * One failure counter (rate-limiter-flexible, one fixed window per key): in this process's bounded memory, or
 * in Redis with that memory as the fallback. Failures only are recorded; the attempts between their check and
 * their outcome are held here, per process, so parallel guesses count before they fail.
 */
export class ThrottleCounter {
  readonly memory: BoundedRateLimiterMemory;
  private readonly redisLimiter?: RateLimiterRedis;
  private readonly inFlight = new Map<string, number>();

  constructor(
    readonly spec: CounterSpec,
    maxKeys: number,
    hooks: { onFull: () => void },
    private readonly redis?: RedisRoute,
  ) {
    const options = { points: spec.limit, duration: spec.durationSeconds, keyPrefix: spec.keyPrefix };
    this.memory = new BoundedRateLimiterMemory(options, maxKeys, { onFull: hooks.onFull });
    if (redis) {
      this.redisLimiter = new RateLimiterRedis({ ...options, storeClient: redis.client, rejectIfRedisNotReady: true });
    }
  }

  /**
   * In Redis while it is in use; in memory otherwise, and for the command that finds Redis failing, which
   * takes it out of use (so only that one waits for its timeout, not every login while Redis hangs).
   */
  private async run<T>(command: (limiter: RateLimiterRedis | BoundedRateLimiterMemory) => Promise<T>): Promise<T> {
    if (this.redisLimiter && this.redis?.inUse()) {
      try {
        return await command(this.redisLimiter);
      } catch (error) {
        this.redis.failed(error instanceof Error ? error.message : String(error));
      }
    }
    return command(this.memory);
  }

  /**
   * Holds one attempt in flight for the key, then reads its failures. The other attempts in flight are taken
   * before the read: one that ends during it has recorded its failure first (see `end`), so none is missed.
   */
  async begin(key: string): Promise<CounterState> {
    const inFlight = this.inFlight.get(key) ?? 0;
    this.inFlight.set(key, inFlight + 1);
    try {
      const res: RateLimiterRes | null = await this.run((limiter) => limiter.get(key));
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

  /**
   * Records the attempt's failure, if it failed, and lets it go. The hold is released as soon as the penalty is
   * sent, not when it is answered: a read sent after it on the same client comes after it, so the failure is
   * seen there, and counting it as in flight as well would refuse the next attempt one failure early.
   */
  async end(key: string, failed: boolean): Promise<void> {
    if (!failed) return this.release(key);
    let recorded: Promise<unknown>;
    try {
      recorded = this.run((limiter) => limiter.penalty(key));
    } finally {
      this.release(key);
    }
    await recorded;
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
