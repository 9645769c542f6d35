import { describe, expect, it } from '@jest/globals';
import { formatGeneralizedTime, parseGeneralizedTime } from './generalized-time.js';

describe('GeneralizedTime', () => {
  it('reads the forms servers write', () => {
    const t = Date.UTC(2024, 0, 31, 23, 59, 58);
    expect(parseGeneralizedTime('20240131235958Z')).toBe(t);
    expect(parseGeneralizedTime('20240131235958.0Z')).toBe(t);
    expect(parseGeneralizedTime('20240131235958.5Z')).toBe(t + 500);
    expect(parseGeneralizedTime('20240201015958+0200')).toBe(t);
    expect(parseGeneralizedTime('202401312359Z')).toBe(t - 58_000);
  });

  it('refuses what is not one', () => {
    expect(parseGeneralizedTime('yesterday')).toBeUndefined();
    expect(parseGeneralizedTime('20240131235958')).toBeUndefined();
  });

  it('writes whole seconds in UTC, and reads back what it wrote', () => {
    const t = Date.UTC(2024, 1, 29, 7, 5, 3, 999);
    expect(formatGeneralizedTime(t)).toBe('20240229070503Z');
    expect(parseGeneralizedTime(formatGeneralizedTime(t))).toBe(t - 999);
  });
});
