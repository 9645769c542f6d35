import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Redis } from 'ioredis';
import { redactUrl } from '@nest-ldap-auth/ldap-auth';
import { appConfig } from '../config/app.config.js';
import { ThrottleCounter, type RedisRoute } from './login-throttle.counter.js';
import type { LoginThrottleKeys } from './login-throttle.key.js';
import { COUNTER_NAMES, counterSpecs, decide, type CounterName, type CounterState } from './login-throttle.limits.js';
import { RedisAvailability } from './redis-availability.js';

/** A Redis command that takes longer than this counts as an outage (the memory counters take over). */
const REDIS_COMMAND_TIMEOUT_MS = 500;
const REDIS_CONNECT_TIMEOUT_MS = 2_000;

/** An attempt let through: its outcome goes back to `end`, exactly once. */
export interface ThrottledAttempt {
  readonly keys: LoginThrottleKeys;
}

export type ThrottleAdmission =
  { allowed: true; attempt: ThrottledAttempt } | { allowed: false; retryAfterSeconds: number };

/**
 * The failed-login counters (login-throttle.limits.ts): per client and account, per client, per account.
 *
 * - Without `LOGIN_THROTTLE_REDIS_URL`: in this process's memory, at most `LOGIN_THROTTLE_MAX_KEYS` keys per
 *   counter; at the cap a new key is not counted (logged) while the keys already held count as usual.
 * - With it: in Redis, shared by every replica. From the first command that fails (or takes over 500 ms),
 *   each process uses its own bounded memory counters with the same limits, at once, until a background PING
 *   finds Redis answering (redis-availability.ts): logins go on, still throttled, though per process rather
 *   than across replicas (fail-open to a weaker limit, never to none; failing closed would make Redis able
 *   to stop every login), and without waiting for a hung Redis.
 */
@Injectable()
export class LoginThrottleService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(LoginThrottleService.name);
  private readonly counters: Record<CounterName, ThrottleCounter>;
  private readonly redis?: Redis;
  private readonly redisAvailability?: RedisAvailability;
  private readonly lastFullWarning = new Map<CounterName, number>();

  constructor(@Inject(appConfig.KEY) private readonly config: ConfigType<typeof appConfig>) {
    const redisUrl = config.loginThrottleRedisUrl;
    if (redisUrl) {
      this.redis = new Redis(redisUrl, {
        // Fail fast while disconnected (the fallback answers) instead of queueing logins behind a reconnect.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
        connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
        retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      });
      const availability = new RedisAvailability(this.redis, this.logger, redactUrl(redisUrl));
      this.redisAvailability = availability;
      this.redis.on('error', (error: Error) => availability.markDown(error.message));
      this.redis.on('ready', () => void availability.probe());
    }
    const route: RedisRoute | undefined =
      this.redis && this.redisAvailability
        ? {
            client: this.redis,
            inUse: () => this.redisAvailability?.inUse ?? false,
            failed: (reason) => this.redisAvailability?.markDown(reason),
          }
        : undefined;
    const specs = counterSpecs(config);
    const counter = (name: CounterName) =>
      new ThrottleCounter(specs[name], config.loginThrottleMaxKeys, { onFull: () => this.warnFull(name) }, route);
    this.counters = { pair: counter('pair'), client: counter('client'), account: counter('account') };
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
    if (!ready) this.redisAvailability?.markDown('not ready at start-up');
  }

  onApplicationShutdown(): void {
    this.redisAvailability?.stop();
    this.redis?.disconnect();
  }

  /**
   * Checks an attempt against every counter (before any LDAP traffic) and holds it in flight. Let through, it
   * must be ended with its outcome (`end`); refused, nothing is counted.
   */
  async begin(keys: LoginThrottleKeys): Promise<ThrottleAdmission> {
    // Settled, not Promise.all: a counter read after another failed must still let its hold go.
    const reads = await Promise.allSettled(COUNTER_NAMES.map((name) => this.counters[name].begin(keys[name])));
    const releaseAll = () =>
      reads.forEach((read, i) => {
        if (read.status === 'fulfilled') this.counters[COUNTER_NAMES[i]].release(keys[COUNTER_NAMES[i]]);
      });
    const failure = reads.find((read) => read.status === 'rejected');
    if (failure) {
      releaseAll(); // the counter that could not be read released itself
      throw failure.reason;
    }
    const decision = decide(reads.map((read) => (read as PromiseFulfilledResult<CounterState>).value));
    if (decision.allowed) return { allowed: true, attempt: { keys } };
    releaseAll(); // refused: nothing counted, nothing held
    return decision;
  }

  /** The attempt's outcome: a failure counts on every counter, a success on none. */
  async end(attempt: ThrottledAttempt, failed: boolean): Promise<void> {
    const results = await Promise.allSettled(
      COUNTER_NAMES.map((name) => this.counters[name].end(attempt.keys[name], failed)),
    );
    for (const result of results) {
      if (result.status === 'rejected')
        this.logger.error(`A failed login could not be counted: ${String(result.reason)}`);
    }
  }

  /** Keys held in this process's memory (the store, or the Redis fallback), all counters or one; for tests. */
  memoryKeyCount(name?: CounterName): number {
    return (name ? [name] : COUNTER_NAMES).reduce((sum, n) => sum + this.counters[n].memory.size, 0);
  }

  /** The keys one counter holds in this process's memory, without its prefix. */
  memoryKeys(name: CounterName): string[] {
    return this.counters[name].memoryKeys();
  }

  private warnFull(name: CounterName): void {
    const now = Date.now();
    const spec = this.counters[name].spec;
    if (now - (this.lastFullWarning.get(name) ?? 0) < spec.durationSeconds * 1000) return;
    this.lastFullWarning.set(name, now);
    this.logger.warn(
      `Login throttle memory holds ${this.config.loginThrottleMaxKeys} keys (LOGIN_THROTTLE_MAX_KEYS) for its ` +
        `${name} counter (${spec.variable}): failures on new keys are not counted there until windows expire`,
    );
  }
}
