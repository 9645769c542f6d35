import { describe, expect, it } from '@jest/globals';
import { RecentOperations } from './recent-operations.js';

describe('RecentOperations', () => {
  it('keeps the newest operations only, oldest first', () => {
    const ring = new RecentOperations(3);
    for (let i = 1; i <= 5; i++) ring.add({ operation: 'bind', outcome: 'success', seconds: i / 1000, at: i });
    expect(ring.list().map((o) => o.at)).toEqual([3, 4, 5]);
  });

  it('gives each operation its count, failures, median, 95th percentile and maximum', () => {
    const ring = new RecentOperations(100);
    for (let i = 1; i <= 20; i++) ring.add({ operation: 'search', outcome: 'success', seconds: i / 1000, at: i });
    ring.add({ operation: 'bind', outcome: 'refused', seconds: 0.002, at: 30 });
    expect(ring.latencies()).toEqual([
      { operation: 'search', count: 20, failed: 0, medianMs: 10, p95Ms: 19, maxMs: 20, lastAt: 20 },
      { operation: 'bind', count: 1, failed: 1, medianMs: 2, p95Ms: 2, maxMs: 2, lastAt: 30 },
    ]);
  });
});
