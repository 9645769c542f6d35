import { describe, expect, it } from '@jest/globals';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { BoundedRateLimiterMemory } from './bounded-rate-limiter-memory.js';

describe('BoundedRateLimiterMemory', () => {
  it('at the cap leaves new keys out, never refusing them, and keeps counting the keys it holds', async () => {
    let full = 0;
    const limiter = new BoundedRateLimiterMemory({ points: 2, duration: 60 }, 3, { onFull: () => full++ });
    for (const key of ['a', 'b', 'c']) await limiter.penalty(key);
    expect(limiter.size).toBe(3);
    for (let i = 0; i < 5; i++) {
      const res = await limiter.penalty('d');
      expect([res.consumedPoints, res.remainingPoints]).toEqual([0, 2]);
      await expect(limiter.consume('e')).resolves.toBeInstanceOf(RateLimiterRes);
    }
    expect(full).toBe(10);
    expect(limiter.size).toBe(3);
    expect(await limiter.get('d')).toBeNull();
    expect((await limiter.penalty('a')).consumedPoints).toBe(2);
    await expect(limiter.consume('a')).rejects.toBeInstanceOf(RateLimiterRes); // over its own limit
  });

  it('never evicts: the keys it holds keep their counts whatever is added at the cap', async () => {
    const limiter = new BoundedRateLimiterMemory({ points: 10, duration: 60 }, 2);
    for (let i = 0; i < 4; i++) await limiter.penalty('attacked');
    await limiter.penalty('other');
    for (let i = 0; i < 1_000; i++) await limiter.penalty(`flood-${i}`);
    expect((await limiter.get('attacked'))?.consumedPoints).toBe(4);
    expect(limiter.dump().storage.map((record) => record.key)).toEqual(['attacked', 'other']);
  });

  it('admits new keys again once windows expire', async () => {
    const limiter = new BoundedRateLimiterMemory({ points: 1, duration: 0.05 }, 1);
    await limiter.penalty('a');
    await limiter.penalty('b');
    expect(await limiter.get('b')).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(limiter.size).toBe(0);
    await limiter.penalty('b');
    expect((await limiter.get('b'))?.consumedPoints).toBe(1);
  });

  it('reports every use to the hook (with Redis, a use means Redis just failed)', async () => {
    let uses = 0;
    const limiter = new BoundedRateLimiterMemory({ points: 1, duration: 60 }, 5, { onUse: () => uses++ });
    await limiter.get('a');
    await limiter.penalty('a');
    await limiter.consume('b');
    expect(uses).toBe(3);
  });
});
