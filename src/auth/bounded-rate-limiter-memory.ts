import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

type MemoryLimiterOptions = ConstructorParameters<typeof RateLimiterMemory>[0];

interface MemoryStorageInternals {
  _memoryStorage?: { _storage?: unknown };
}

/**
 * `RateLimiterMemory` with a cap on the number of keys: it drops expired keys on its own, but within one
 * window it keeps one per key it is given, so keys from many clients would grow it without end.
 * At the cap a key it already holds counts as usual, and a new key is not stored: its points are not counted
 * (the limiter answers as for a fresh key, never refuses) until windows expire. Never evicting, so nothing
 * can reset the count of a key under attack; never refusing, so a full cap is no outage.
 */
export class BoundedRateLimiterMemory extends RateLimiterMemory {
  private readonly storage: Map<string, unknown>;

  constructor(
    options: MemoryLimiterOptions,
    readonly maxKeys: number,
    private readonly hooks: {
      /** A new key was not counted because the cap is reached. */
      onFull?: () => void;
      /** Any use (as an insurance limiter: the main store just failed). */
      onUse?: () => void;
    } = {},
  ) {
    super(options);
    // The key count is only visible inside the library; fail at start-up, not silently, if that moves.
    const storage = (this as unknown as MemoryStorageInternals)._memoryStorage?._storage;
    if (!(storage instanceof Map)) {
      throw new Error(
        'rate-limiter-flexible: RateLimiterMemory no longer keeps a Map; update BoundedRateLimiterMemory',
      );
    }
    this.storage = storage as Map<string, unknown>;
  }

  /** Keys held now (windows not yet expired). */
  get size(): number {
    return this.storage.size;
  }

  override get(key: string | number, options?: { [key: string]: unknown }): Promise<RateLimiterRes | null> {
    this.hooks.onUse?.();
    return super.get(key, options);
  }

  override consume(
    key: string | number,
    pointsToConsume = 1,
    options?: { [key: string]: unknown },
  ): Promise<RateLimiterRes> {
    this.hooks.onUse?.();
    if (this.refusesNew(key)) return Promise.resolve(this.uncounted());
    return super.consume(key, pointsToConsume, options);
  }

  override penalty(key: string | number, points = 1, options?: { [key: string]: unknown }): Promise<RateLimiterRes> {
    this.hooks.onUse?.();
    if (this.refusesNew(key)) return Promise.resolve(this.uncounted());
    return super.penalty(key, points, options);
  }

  /** At the cap and not held: the key is left out (and the caller told once per call). */
  private refusesNew(key: string | number): boolean {
    if (this.storage.size < this.maxKeys || this.storage.has(this.getKey(key))) return false;
    this.hooks.onFull?.();
    return true;
  }

  /** What a fresh key would look like: nothing consumed, every point left. */
  private uncounted(): RateLimiterRes {
    return new RateLimiterRes(this.points, 0, 0, false);
  }
}
