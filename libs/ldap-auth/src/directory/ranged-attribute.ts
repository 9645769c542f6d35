import type { Entry } from '../model/directory-user.js';
import { allValues } from '../model/directory-user.js';

/** One chunk of an attribute read with AD's ranged retrieval (`member;range=0-1499`, ..., `member;range=3000-*`). */
export interface AttributeRange {
  low: number;
  /** The last index, or `*` for the last chunk. */
  high: string;
  values: string[];
}

/**
 * The chunk of `attribute` that starts at `low` on this entry; undefined when the attribute is not ranged.
 * Asked for `member;range=1500-*`, AD answers that name with no values AND `member;range=1500-2999` with them:
 * the range that starts at `low` and holds values wins. Throws on a range it cannot read.
 */
export function rangedValues(entry: Entry, attribute: string, low: number): AttributeRange | undefined {
  const prefix = `${attribute.toLowerCase()};range=`;
  const ranges = Object.keys(entry)
    .filter((k) => k.toLowerCase().startsWith(prefix))
    .map((key) => {
      const match = /^(\d+)-(\d+|\*)$/.exec(key.slice(prefix.length));
      if (!match) throw new Error(`cannot read the range in "${key}" on ${entry.dn}`);
      return { low: Number(match[1]), high: match[2], values: allValues(entry, key) ?? [] };
    });
  const atLow = ranges.filter((r) => r.low === low);
  return atLow.find((r) => r.values.length) ?? atLow[0] ?? ranges.find((r) => r.values.length) ?? ranges[0];
}
