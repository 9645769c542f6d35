import { describe, expect, it } from '@jest/globals';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { BoundedRateLimiterMemory } from './bounded-rate-limiter-memory.js';

describe('BoundedRateLimiterMemory', () => {
  it('refuses new keys at the cap and keeps counting the keys it holds', async () => {
    let full = 0;
    const limiter = new BoundedRateLimiterMemory({ points: 2, duration: 60 }, 3, { onFull: () => full++ });
    for (const key of ['a', 'b', 'c']) await limiter.consume(key);
    expect(limiter.size).toBe(3);
    const refused = await limiter.consume('d').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimiterRes);
    expect((refused as RateLimiterRes).msBeforeNext).toBe(60_000);
    expect(full).toBe(1);
    expect(limiter.size).toBe(3);
    await expect(limiter.consume('a')).resolves.toBeInstanceOf(RateLimiterRes);
    await expect(limiter.consume('a')).rejects.toBeInstanceOf(RateLimiterRes); // over its own limit
  });

  it('admits new keys again once windows expire', async () => {
    const limiter = new BoundedRateLimiterMemory({ points: 1, duration: 0.05 }, 1);
    await limiter.consume('a');
    await expect(limiter.consume('b')).rejects.toBeInstanceOf(RateLimiterRes);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(limiter.size).toBe(0);
    await expect(limiter.consume('b')).resolves.toBeInstanceOf(RateLimiterRes);
  });
});
