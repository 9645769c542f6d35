import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** Longest account name kept readable in a key; a longer one is digested (one name, one digest). */
export const MAX_ACCOUNT_KEY_LENGTH = 64;
/** Longer input is digested as it is, without folding. */
const MAX_FOLDED_INPUT_LENGTH = 1024;

/** A short, fixed-length digest: keys stay small whatever the client sends. */
function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/**
 * The client part of a throttle key: an IPv4 address as it is, an IPv6 address as its /64 prefix (one
 * subscriber usually holds a whole /64, so counting per address would give them 2^64 buckets), and an
 * IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) as the IPv4 address.
 */
export function clientKeyOf(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const address = ip.replace(/%.*$/, ''); // zone index (fe80::1%eth0)
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return `other:${digest(ip)}`;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (checked by the caller), `::` and dotted tails expanded. */
function ipv6Groups(address: string): number[] {
  const parse = (part: string): number[] => {
    if (!part) return [];
    return part.split(':').flatMap((piece) => {
      if (!piece.includes('.')) return [parseInt(piece, 16)];
      const [a, b, c, d] = piece.split('.').map(Number);
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const [head, tail] = address.split('::');
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * Folds what the user typed the way directories compare names (caseIgnoreMatch after RFC 4518 string
 * preparation), or more: invisible characters dropped, runs of spaces made one, NFKC (full-width letters bind
 * as the same uid on OpenLDAP), case folded (upper then lower, so `ß` and `SS` meet). Folding too much only
 * merges buckets; folding too little would give an attacker fresh buckets for one account.
 */
export function foldUsername(input: string): string {
  return input
    .normalize('NFKC')
    .replace(/[\p{Cc}\p{Cf}\u034f\u180b-\u180d\ufe00-\ufe0f\ufffc]/gu, (c) => (/\s/.test(c) ? ' ' : ''))
    .replace(/\s+/gu, ' ')
    .trim()
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC');
}

/**
 * The account part of a throttle key: the folded name reduced by the app's username formatter to the bare
 * lookup name, so `EXAMPLE\alice`, `alice@example.test`, ` ALICE ` and `ａｌｉｃｅ` share one bucket.
 * A name the formatter refuses (another domain) still counts, under a digest; so does an over-long one.
 */
export function accountKeyOf(username: unknown, toLookupName: (input: string) => string): string {
  if (typeof username !== 'string') return '';
  const trimmed = username.trim(); // before the length check: padding must not make a fresh bucket
  // No account is this long (the login refuses it); skip the folding work an attacker could make costly.
  if (trimmed.length > MAX_FOLDED_INPUT_LENGTH) return `#${digest(trimmed)}`;
  const folded = foldUsername(trimmed);
  let name: string;
  try {
    name = foldUsername(toLookupName(folded));
  } catch {
    return `!${digest(folded)}`;
  }
  return name.length > MAX_ACCOUNT_KEY_LENGTH ? `#${digest(name)}` : name;
}

/** `<client>|<account>`: the client part never contains `|`, so two different pairs never give one key. */
export function loginThrottleKey(
  ip: string | undefined,
  username: unknown,
  toLookupName: (input: string) => string,
): string {
  return loginThrottleKeys(ip, username, toLookupName).pair;
}

/** The key of one login attempt in each counter (see login-throttle.limits.ts). */
export interface LoginThrottleKeys {
  /** This client and this account. */
  pair: string;
  /** This client (IPv4 address, IPv6 /64), any account. */
  client: string;
  /** This account, any client. */
  account: string;
}

export function loginThrottleKeys(
  ip: string | undefined,
  username: unknown,
  toLookupName: (input: string) => string,
): LoginThrottleKeys {
  const client = clientKeyOf(ip);
  const account = accountKeyOf(username, toLookupName);
  return { pair: `${client}|${account}`, client, account };
}
