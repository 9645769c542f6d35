import { describe, expect, it } from '@jest/globals';
import { canonicalGid, countsPrimaryGroups } from './posix-groups.js';

describe('POSIX primary groups', () => {
  it('count with memberUid and in auto, never with member, uniqueMember, memberOf nor on AD', () => {
    expect(countsPrimaryGroups('memberUid', false)).toBe(true);
    expect(countsPrimaryGroups('auto', false)).toBe(true);
    for (const source of ['member', 'uniqueMember', 'memberOf'] as const) {
      expect(countsPrimaryGroups(source, false)).toBe(false);
    }
    expect(countsPrimaryGroups('auto', true)).toBe(false);
    expect(countsPrimaryGroups('memberUid', true)).toBe(false);
  });

  it('compare gidNumbers as integers; a value that is no integer matches nothing', () => {
    expect(canonicalGid('5000')).toBe('5000');
    expect(canonicalGid('005000')).toBe('5000');
    expect(canonicalGid('0')).toBe('0');
    expect(canonicalGid('000')).toBe('0');
    expect(canonicalGid('-12')).toBe('-12');
    for (const bad of ['', ' ', 'staff', '50 00', '5e3', '*', null, undefined])
      expect(canonicalGid(bad)).toBeUndefined();
  });
});
