import { describe, expect, it } from '@jest/globals';
import { parseIdList } from './read-sync-state.js';

describe("parseIdList (a group's member ids as string_agg / group_concat write them)", () => {
  it('reads every id, in order, past 2^31', () => {
    expect(parseIdList('12,7,301,0,4294967296')).toEqual([12, 7, 301, 0, 4294967296]);
  });

  it('gives no ids for a group without members', () => {
    expect(parseIdList(null)).toEqual([]);
    expect(parseIdList('')).toEqual([]);
  });

  it('refuses anything that is not a list of ids, rather than guess', () => {
    expect(() => parseIdList('1, 2')).toThrow(/unexpected character in a list of ids: " "/);
    expect(() => parseIdList('1,-2')).toThrow(/"-"/);
  });
});
