/**
 * Active Directory's quirks, in one place for the login, the sync's reader and the check: what differs on an
 * AD server (told from its root DSE, see server-info.ts) and how each is handled.
 */
import { Control, EqualityFilter, ExtensibleFilter, AndFilter, type Filter } from 'ldapts';
import { allValues, guidToString, type Entry } from '../model/directory-user.js';
import {
  AD_DOMAIN_SCOPE_CONTROL,
  AD_MATCHING_RULE_IN_CHAIN,
  AD_UUID_ATTRIBUTE,
  OPENLDAP_UUID_ATTRIBUTE,
} from '../ldap-auth.constants.js';
import type { ServerInfo } from './server-info.js';

/** AD's security identifier attribute (binary): the bound-identity check finds it in the user's token. */
export const AD_SID_ATTRIBUTE = 'objectSid';
/** userAccountControl's ACCOUNTDISABLE bit. */
const UAC_ACCOUNT_DISABLE = 0x2;

/** Controls for a subtree search on this server. */
export function searchControls(server: ServerInfo | undefined): Control[] | undefined {
  // Without it a subtree search from an AD domain root also returns referrals to other partitions.
  return server?.activeDirectory ? [new Control(AD_DOMAIN_SCOPE_CONTROL, { critical: false })] : undefined;
}

/** What a user filter adds on this server for `objectClass` (LDAP_USER_OBJECT_CLASS). */
export function personCategoryFilters(objectClass: string, server: ServerInfo | undefined): Filter[] {
  // On AD computer accounts are of class user too, and any domain user may create some.
  return server?.activeDirectory && objectClass.toLowerCase() === 'user'
    ? [new EqualityFilter({ attribute: 'objectCategory', value: 'person' })]
    : [];
}

/** Every user entry, as the sync reads them: objectClass, and objectCategory=person where AD needs it. */
export function userEntriesFilter(objectClass: string, server: ServerInfo | undefined): Filter {
  const filters = [
    new EqualityFilter({ attribute: 'objectClass', value: objectClass }),
    ...personCategoryFilters(objectClass, server),
  ];
  return filters.length === 1 ? filters[0] : new AndFilter({ filters });
}

/** The attribute that holds an entry's stable id on an AD server or not (a writable objectGUID elsewhere proves nothing). */
export function stableIdAttribute(activeDirectory: boolean): string {
  return activeDirectory ? AD_UUID_ATTRIBUTE : OPENLDAP_UUID_ATTRIBUTE;
}

/** An objectGUID value as read (16 bytes) in the text form AD shows; undefined when it is not one. */
export function objectGuidText(value: Entry[string] | undefined): string | undefined {
  const bytes = Array.isArray(value) ? value[0] : value;
  return Buffer.isBuffer(bytes) && bytes.length === 16 ? guidToString(bytes) : undefined;
}

/** Whether a userAccountControl value has the account disabled. */
export function isAccountDisabled(userAccountControl: string | null | undefined): boolean {
  return (Number(userAccountControl ?? 0) & UAC_ACCOUNT_DISABLE) !== 0;
}

/** Matches an entry that is in `groupDn` through any depth of nesting (AD resolves the chain itself). */
export function memberOfInChainFilter(groupDn: string): Filter {
  return new ExtensibleFilter({ matchType: 'memberOf', rule: AD_MATCHING_RULE_IN_CHAIN, value: groupDn });
}

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

/** A ranged read whose next chunk did not start where the last one ended: the values would be incomplete. */
export class BrokenRangeError extends Error {
  constructor(
    readonly attribute: string,
    readonly from: number,
  ) {
    super(`ranged retrieval of ${attribute} did not continue at ${from}`);
    this.name = this.constructor.name;
  }
}

/**
 * Every value of `attribute` on `entry`, chunk by chunk, following AD's ranged retrieval: `readFrom(n)` reads
 * the entry again asking for `attribute;range=n-*`. A plain attribute is one chunk (not copied: a group of a
 * few hundred thousand members must not be spread into a call). Throws BrokenRangeError when a chunk does not
 * continue the last; a caller that stops iterating reads no further.
 */
export async function* rangedValueChunks(
  entry: Entry,
  attribute: string,
  readFrom: (from: number) => Promise<Entry | undefined>,
): AsyncGenerator<string[]> {
  const first = rangedValues(entry, attribute, 0);
  if (!first) {
    yield allValues(entry, attribute) ?? [];
    return;
  }
  yield first.values;
  let high = first.high;
  while (high !== '*') {
    const from = Number(high) + 1;
    const read = await readFrom(from);
    const next = read ? rangedValues(read, attribute, from) : undefined;
    if (!next || next.low !== from) throw new BrokenRangeError(attribute, from);
    yield next.values;
    high = next.high;
  }
}
