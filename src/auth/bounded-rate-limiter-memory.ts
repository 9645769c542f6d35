import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

type MemoryLimiterOptions = ConstructorParameters<typeof RateLimiterMemory>[0];

interface MemoryStorageInternals {
  _memoryStorage?: { _storage?: unknown };
}

/**
 * `RateLimiterMemory` with a cap on the number of keys: it drops expired keys on its own, but within one
 * window it keeps one per key it is given, so a flood of distinct usernames would grow it without end.
 * At the cap a key it already holds counts as usual, and a new key is refused as if over its limit (the
 * caller answers 429). Refusing rather than evicting: eviction would let a flood reset the counter of the
 * account under attack.
 */
export class BoundedRateLimiterMemory extends RateLimiterMemory {
  private readonly storage: Map<string, unknown>;

  constructor(
    options: MemoryLimiterOptions,
    readonly maxKeys: number,
    private readonly hooks: {
      /** A new key was refused because the cap is reached. */
      onFull?: () => void;
      /** Any attempt is counted here (as an insurance limiter: the main store just failed). */
      onConsume?: () => void;
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

  override async consume(
    key: string | number,
    pointsToConsume?: number,
    options?: { [key: string]: unknown },
  ): Promise<RateLimiterRes> {
    this.hooks.onConsume?.();
    if (this.storage.size >= this.maxKeys && !this.storage.has(this.getKey(key))) {
      this.hooks.onFull?.();
      // rate-limiter-flexible's contract: a refusal rejects with RateLimiterRes (its insurance wrapper relies on it).
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw new RateLimiterRes(0, this.duration * 1000, this.points + 1, false);
    }
    return super.consume(key, pointsToConsume, options);
  }
}
