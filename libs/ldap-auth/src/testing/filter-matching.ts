/**
 * Search filter evaluation. ldapjs filters' own `matches()` compares values case-sensitively, so
 * the directory evaluates them itself, with the matching rules slapd and AD apply: case-ignore
 * strings, DN-valued attributes compared as DNs, integers as numbers, AD's in-chain and bitwise rules.
 */
import { fold, text, tryNormaliseDn } from './dn.js';
import type { EntryStore, StoredEntry } from './entry-store.js';
import type { FilterNode } from './ldapjs-runtime.js';

const MATCHING_RULE_IN_CHAIN = '1.2.840.113556.1.4.1941';
const MATCHING_RULE_BIT_AND = '1.2.840.113556.1.4.803';
const MATCHING_RULE_BIT_OR = '1.2.840.113556.1.4.804';
const INTEGER = /^-?\d+$/;

/** Attributes holding DNs: equality on them compares normalised DNs, like slapd's distinguishedNameMatch. */
const DN_VALUED = new Set([
  'member',
  'uniquemember',
  'memberof',
  'owner',
  'manager',
  'secretary',
  'seealso',
  'roleoccupant',
  'distinguishedname',
  'entrydn',
]);

export function matches(store: EntryStore, entry: StoredEntry, filter: FilterNode): boolean {
  const attribute = filter.attribute ?? '';
  const values = (): string[] => store.values(entry, attribute) ?? [];
  switch (filter.type) {
    case 'AndFilter':
      return filter.clauses.every((clause) => matches(store, entry, clause));
    case 'OrFilter':
      return filter.clauses.some((clause) => matches(store, entry, clause));
    case 'NotFilter': {
      const inner = filter.clauses[0];
      return inner !== undefined && !matches(store, entry, inner);
    }
    case 'PresenceFilter':
      return values().length > 0;
    case 'EqualityFilter':
    case 'ApproximateFilter': {
      const assertion = assertionValue(filter.value);
      return values().some((value) => valuesEqual(attribute, value, assertion));
    }
    case 'SubstringFilter':
      return values().some((value) => substringMatches(value, filter));
    case 'GreaterThanEqualsFilter':
    case 'LessThanEqualsFilter': {
      const assertion = assertionValue(filter.value);
      const sign = filter.type === 'GreaterThanEqualsFilter' ? 1 : -1;
      return values().some((value) => compareOrdered(value, assertion) * sign >= 0);
    }
    case 'ExtensibleFilter':
      return matchesExtensible(store, entry, filter);
    default:
      return false;
  }
}

/** Equality as compare and filters see it: DNs as DNs, everything else case-ignore. */
export function valuesEqual(attribute: string, stored: string, assertion: string): boolean {
  if (DN_VALUED.has(attribute.toLowerCase())) {
    const left = tryNormaliseDn(stored);
    const right = tryNormaliseDn(assertion);
    if (left !== undefined && right !== undefined) return left === right;
  }
  return fold(stored) === fold(assertion);
}

/**
 * Recovers the value a client sent from ldapjs's escaped form (see FilterNode). `\hh` escapes are
 * bytes of UTF-8. ldapjs copies the bytes of 4-byte characters (emoji) one character per byte,
 * so such runs are put back together too. Substring parts are escaped twice by ldapjs; that
 * reverses the same way, as its second pass leaves `\hh` escapes alone. What cannot be told
 * apart is a value holding a literal backslash followed by two hex digits: it reads as an escape.
 */
function assertionValue(value: unknown): string {
  const escaped = text(value);
  const parts: Buffer[] = [];
  let last = 0;
  for (const match of escaped.matchAll(/\\([0-9a-fA-F]{2})/g)) {
    parts.push(Buffer.from(escaped.slice(last, match.index), 'utf8'), Buffer.of(Number.parseInt(match[1] ?? '', 16)));
    last = match.index + match[0].length;
  }
  parts.push(Buffer.from(escaped.slice(last), 'utf8'));
  return Buffer.concat(parts)
    .toString('utf8')
    .replace(/[\u00f0-\u00f4][\u0080-\u00bf]{3}/g, (bytes) => Buffer.from(bytes, 'latin1').toString('utf8'));
}

/** `(attr:rule:=value)`, including AD's in-chain and bitwise rules. */
function matchesExtensible(store: EntryStore, entry: StoredEntry, filter: FilterNode): boolean {
  const rule = (filter.matchingRule ?? '').toLowerCase();
  const attribute = filter.attribute ?? '';
  const assertion = assertionValue(filter.value);

  if (rule === MATCHING_RULE_IN_CHAIN) {
    const target = tryNormaliseDn(assertion);
    return attribute !== '' && target !== undefined && chainReaches(store, entry, attribute, target);
  }
  const test = extensibleTest(rule, attribute, assertion);
  if (!test) return false;

  const candidates: Array<[string, string]> = [];
  if (attribute !== '') {
    for (const value of store.values(entry, attribute) ?? []) candidates.push([attribute, value]);
  } else {
    for (const [lower, { values }] of entry.attributes) {
      if (lower !== 'userpassword') for (const value of values) candidates.push([lower, value]);
    }
  }
  if (filter.dnAttributes) {
    for (const ava of entry.avas) {
      if (attribute === '' || ava.name === attribute.toLowerCase()) candidates.push([ava.name, ava.value]);
    }
  }
  return candidates.some(([name, value]) => test(name, value));
}

/** Follows `attribute` DN links from the entry (memberOf upwards, member downwards) to `target`. */
function chainReaches(store: EntryStore, entry: StoredEntry, attribute: string, target: string): boolean {
  const seen = new Set([entry.ndn]);
  let frontier = [entry];
  while (frontier.length > 0) {
    const next: StoredEntry[] = [];
    for (const current of frontier) {
      for (const value of store.values(current, attribute) ?? []) {
        const ndn = tryNormaliseDn(value);
        if (ndn === undefined || seen.has(ndn)) continue;
        if (ndn === target) return true;
        seen.add(ndn);
        const linked = store.get(ndn);
        if (linked) next.push(linked);
      }
    }
    frontier = next;
  }
  return false;
}

function substringMatches(stored: string, filter: FilterNode): boolean {
  const value = fold(stored);
  let position = 0;
  if (filter.initial) {
    const initial = fold(assertionValue(filter.initial));
    if (!value.startsWith(initial)) return false;
    position = initial.length;
  }
  for (const part of filter.any ?? []) {
    const any = fold(assertionValue(part));
    const index = value.indexOf(any, position);
    if (index === -1) return false;
    position = index + any.length;
  }
  if (filter.final) {
    const final = fold(assertionValue(filter.final));
    return value.length - final.length >= position && value.endsWith(final);
  }
  return true;
}

function compareOrdered(stored: string, assertion: string): number {
  if (INTEGER.test(stored.trim()) && INTEGER.test(assertion.trim())) {
    const left = BigInt(stored.trim());
    const right = BigInt(assertion.trim());
    return left === right ? 0 : left > right ? 1 : -1;
  }
  const left = fold(stored);
  const right = fold(assertion);
  return left === right ? 0 : left > right ? 1 : -1;
}

function extensibleTest(
  rule: string,
  attribute: string,
  assertion: string,
): ((name: string, value: string) => boolean) | undefined {
  switch (rule) {
    case '':
      return (name, value) => valuesEqual(attribute || name, value, assertion);
    case '2.5.13.2':
    case 'caseignorematch':
      return (_name, value) => fold(value) === fold(assertion);
    case '2.5.13.5':
    case 'caseexactmatch':
      return (_name, value) => value.normalize('NFC') === assertion.normalize('NFC');
    case '2.5.13.1':
    case 'distinguishednamematch':
      return (_name, value) =>
        tryNormaliseDn(value) !== undefined && tryNormaliseDn(value) === tryNormaliseDn(assertion);
    case MATCHING_RULE_BIT_AND:
    case MATCHING_RULE_BIT_OR: {
      if (!INTEGER.test(assertion.trim())) return undefined;
      const mask = BigInt(assertion.trim());
      return (_name, value) => {
        if (!INTEGER.test(value.trim())) return false;
        const bits = BigInt(value.trim()) & mask;
        return rule === MATCHING_RULE_BIT_AND ? bits === mask : bits !== 0n;
      };
    }
    default:
      return undefined;
  }
}
