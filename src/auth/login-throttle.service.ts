import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { redactUrl } from '@nest-ldap-auth/ldap-auth';
import { appConfig } from '../config/app.config.js';
import { BoundedRateLimiterMemory } from './bounded-rate-limiter-memory.js';

/** A Redis command that takes longer than this counts as an outage (the fallback limiter answers). */
const REDIS_COMMAND_TIMEOUT_MS = 500;
const REDIS_CONNECT_TIMEOUT_MS = 2_000;

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * The login attempt counters (rate-limiter-flexible), one fixed window per key.
 *
 * - Without `LOGIN_THROTTLE_REDIS_URL`: in this process's memory, at most `LOGIN_THROTTLE_MAX_KEYS` keys; at
 *   the cap, new keys are refused (429) until windows expire, keys already held count as usual.
 * - With it: in Redis, shared by every replica. While Redis cannot be reached (or answers slower than
 *   500 ms), each process falls back to its own bounded memory limiter with the same limits: logins go on,
 *   still throttled, though per process rather than across replicas (fail-open to a weaker limit, never to
 *   none; failing closed would make Redis able to stop every login).
 */
@Injectable()
export class LoginThrottleService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(LoginThrottleService.name);
  private readonly memory: BoundedRateLimiterMemory;
  private readonly limiter: RateLimiterAbstract;
  private readonly redis?: Redis;
  private redisDown = false;
  private lastRedisWarning = 0;
  private lastFullWarning = 0;

  constructor(@Inject(appConfig.KEY) private readonly config: ConfigType<typeof appConfig>) {
    const limits = { points: config.loginThrottleLimit, duration: config.loginThrottleTtlSeconds };
    const redisUrl = config.loginThrottleRedisUrl;
    this.memory = new BoundedRateLimiterMemory(
      { ...limits, keyPrefix: config.loginThrottleKeyPrefix },
      config.loginThrottleMaxKeys,
      {
        onFull: () => this.warnFull(),
        // With Redis, this limiter only counts when a Redis command has just failed or timed out.
        onConsume: redisUrl ? () => this.markRedisDown('a command failed or timed out') : undefined,
      },
    );
    if (!redisUrl) {
      this.limiter = this.memory;
      return;
    }
    this.redis = new Redis(redisUrl, {
      // Fail fast while disconnected (the fallback answers) instead of queueing logins behind a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    this.redis.on('error', (error: Error) => this.markRedisDown(error.message));
    this.redis.on('ready', () => {
      if (this.redisDown) this.logger.log('Redis is back: login throttle counters are shared again');
      this.redisDown = false;
    });
    this.limiter = new RateLimiterRedis({
      ...limits,
      keyPrefix: config.loginThrottleKeyPrefix,
      storeClient: this.redis,
      rejectIfRedisNotReady: true,
      insuranceLimiter: this.memory,
    });
  }

  /** Waits (briefly) for Redis, so the first logins after start-up are counted where every replica sees them. */
  async onModuleInit(): Promise<void> {
    const redis = this.redis;
    if (!redis || redis.status === 'ready') return;
    const ready = await new Promise<boolean>((resolve) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        redis.off('ready', onReady);
        resolve(false);
      }, REDIS_CONNECT_TIMEOUT_MS);
      redis.once('ready', onReady);
    });
    if (!ready) this.markRedisDown('not ready at start-up');
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }

  /** Counts one attempt for the key. */
  async consume(key: string): Promise<ThrottleDecision> {
    try {
      await this.limiter.consume(key);
      return { allowed: true };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
      }
      throw rejection;
    }
  }

  /** Keys held in this process's memory (the store, or the Redis fallback); for monitoring and tests. */
  memoryKeyCount(): number {
    return this.memory.size;
  }

  /** The keys held in this process's memory, without the prefix. */
  memoryKeys(): string[] {
    return this.memory.dump().storage.map((record) => String(record.key));
  }

  /** Warns at most once per window while Redis stays unusable. */
  private markRedisDown(reason: string): void {
    const now = Date.now();
    if (this.redisDown && now - this.lastRedisWarning < this.config.loginThrottleTtlSeconds * 1000) return;
    this.redisDown = true;
    this.lastRedisWarning = now;
    this.logger.warn(
      `Redis at ${redactUrl(this.config.loginThrottleRedisUrl ?? '')} cannot be used (${reason}): login attempts are ` +
        'counted in this process only until it is back',
    );
  }

  private warnFull(): void {
    const now = Date.now();
    if (now - this.lastFullWarning < this.config.loginThrottleTtlSeconds * 1000) return;
    this.lastFullWarning = now;
    this.logger.warn(
      `Login throttle memory holds ${this.config.loginThrottleMaxKeys} keys (LOGIN_THROTTLE_MAX_KEYS): ` +
        'attempts for new client/account pairs get 429 until windows expire',
    );
  }
}
