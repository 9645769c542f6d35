import { describe, expect, it } from '@jest/globals';
import { changesWithin, reportWithin } from './sync-run-log.js';
import type { SyncChanges } from '../../model/sync-changes.js';

describe('reportWithin (a sync report in MySQL TEXT)', () => {
  it('keeps a report that fits as it is', () => {
    const report = { status: 'succeeded', notes: ['one', 'two'] };
    expect(reportWithin(report, 65_535)).toBe(JSON.stringify(report));
  });

  it('leaves notes out until the JSON fits, and says how many', () => {
    const notes = Array.from({ length: 2_000 }, (_, i) => `cn=user-${i},ou=people,dc=example,dc=com: DN too long ✓`);
    const text = reportWithin({ status: 'succeeded', usersSeen: 2_000, notes }, 65_535);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(65_535);
    const parsed = JSON.parse(text) as { status: string; usersSeen: number; notes: string[] };
    expect(parsed).toMatchObject({ status: 'succeeded', usersSeen: 2_000 });
    const kept = parsed.notes.length - 1;
    expect(kept).toBeGreaterThan(0);
    expect(parsed.notes.slice(0, kept)).toEqual(notes.slice(0, kept));
    expect(parsed.notes[kept]).toBe(`${2_000 - kept} more note(s) not stored: MySQL's TEXT column holds 64 KB`);
  });
});

describe('changesWithin (a change list in MySQL TEXT)', () => {
  const changes = (count: number): SyncChanges => ({
    applied: true,
    total: count + 500,
    counts: { user_renamed: count + 500 },
    records: Array.from({ length: count }, (_, i) => ({
      kind: 'user_renamed' as const,
      user: { id: i + 1, username: `user-${i}-ünïcödé` },
      before: { username: `user-${i}-ünïcödé` },
      after: { username: `renamed-${i}-ünïcödé` },
    })),
    omitted: 500,
  });

  it('keeps a list that fits as it is', () => {
    expect(changesWithin(changes(10), 65_535)).toBe(JSON.stringify(changes(10)));
  });

  it('leaves the last records out until the JSON fits, counting them as omitted', () => {
    const full = changes(1_000);
    const text = changesWithin(full, 65_535);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(65_535);
    const stored = JSON.parse(text) as SyncChanges;
    expect(stored.records.length).toBeGreaterThan(100);
    expect(stored.records.length).toBeLessThan(1_000);
    expect(stored.records).toEqual(full.records.slice(0, stored.records.length));
    expect(stored.omitted).toBe(1_500 - stored.records.length);
    expect({ total: stored.total, counts: stored.counts }).toEqual({ total: 1_500, counts: full.counts });
  });
});
