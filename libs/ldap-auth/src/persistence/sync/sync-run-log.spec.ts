import { describe, expect, it } from '@jest/globals';
import { reportWithin } from './sync-run-log.js';

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
