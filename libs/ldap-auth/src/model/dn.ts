/**
 * DNs read and compared with no I/O (RFC 4514): parsing, the canonical form that decides whether two DNs name
 * one entry, and the parts the library takes from a DN. Strings are walked by code point, never by UTF-16 unit.
 */
import { escapeDnValue } from './ldap-escape.js';

export interface ParsedRdn {
  /** Attribute type, lower-cased. */
  type: string;
  /** Unescaped value. */
  value: string;
}

/** Attribute types: a name (`cn`, `sAMAccountName`) or a numeric OID (`2.5.4.3`). */
const ATTRIBUTE_TYPE = /^(?:[a-z][a-z0-9-]*|\d+(?:\.\d+)*)$/i;
const HEX_DIGIT = /^[0-9a-fA-F]$/;
/** Fatal: escaped bytes that are not UTF-8 are an error, not U+FFFD (two such values would compare equal). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Splits a DN into RDNs (each a list of type/value pairs, for multi-valued RDNs) and unescapes values,
 * including `\XX` hex pairs that spell UTF-8 (`\C3\A9`, `\F0\9F\98\80`). Throws on syntax it cannot read.
 */
export function parseDn(dn: string): ParsedRdn[][] {
  const chars = Array.from(dn);
  if (chars.some(isLoneSurrogate)) throw new Error(`invalid DN "${dn}": unpaired surrogate`);
  const rdns: ParsedRdn[][] = [];
  let current: ParsedRdn[] = [];
  let i = 0;
  const n = chars.length;
  const skipSpaces = () => {
    while (i < n && chars[i] === ' ') i++;
  };
  skipSpaces();
  if (i === n) return [];
  while (i < n) {
    skipSpaces();
    const eq = chars.indexOf('=', i);
    if (eq < 0) throw new Error(`invalid DN "${dn}": missing "="`);
    const type = chars.slice(i, eq).join('').trim().toLowerCase();
    if (!type) throw new Error(`invalid DN "${dn}": empty attribute type`);
    if (!ATTRIBUTE_TYPE.test(type)) throw new Error(`invalid DN "${dn}": "${type}" is not an attribute type`);
    i = eq + 1;
    skipSpaces();
    const bytes: number[] = [];
    let trailingSpaces = 0;
    let ended: string | undefined;
    while (i < n) {
      const c = chars[i];
      if (c === '\\') {
        if (i + 2 < n && HEX_DIGIT.test(chars[i + 1]) && HEX_DIGIT.test(chars[i + 2])) {
          bytes.push(parseInt(chars[i + 1] + chars[i + 2], 16));
          i += 3;
        } else if (i + 1 < n) {
          bytes.push(...Buffer.from(chars[i + 1], 'utf8'));
          i += 2;
        } else {
          throw new Error(`invalid DN "${dn}": dangling escape`);
        }
        trailingSpaces = 0;
        continue;
      }
      if (c === ',' || c === '+' || c === ';') {
        ended = c;
        i++;
        break;
      }
      bytes.push(...Buffer.from(c, 'utf8'));
      trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0;
      i++;
    }
    let value: string;
    try {
      value = UTF8.decode(Uint8Array.from(bytes.slice(0, bytes.length - trailingSpaces)));
    } catch {
      throw new Error(`invalid DN "${dn}": escaped bytes of the "${type}" value are not UTF-8`);
    }
    current.push({ type, value });
    if (ended !== '+') {
      rdns.push(current);
      current = [];
    }
  }
  if (current.length) rdns.push(current);
  return rdns;
}

function isLoneSurrogate(c: string): boolean {
  const unit = c.charCodeAt(0);
  return c.length === 1 && unit >= 0xd800 && unit <= 0xdfff;
}

/**
 * Folds a DN value for comparison: ASCII letters to lower case, nothing else. Directories compare names with
 * rules of their own (slapd treats `ａdmins` as `admins` but `ᴬdmins` as another name; AD has its own
 * tables), and any folding wider than the server's lets an entry someone may create pass for a listed group.
 * So two values that differ beyond ASCII case are different here; where the server would call them equal,
 * the caller asks the server (see `listed-groups.ts`) instead of guessing. Fails closed by design.
 */
export function foldDnValue(value: string): string {
  return value.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** RDNs `type=value` of letters, digits, `.`, `_`, `-` and inner spaces: their normal form is just lower case. */
const PLAIN_RDN = '[A-Za-z][A-Za-z0-9-]*=[A-Za-z0-9._-](?:[A-Za-z0-9._ -]*[A-Za-z0-9._-])?';
const PLAIN_DN = new RegExp(`^${PLAIN_RDN}(?:,${PLAIN_RDN})*$`);

/**
 * A canonical form for comparing and storing DNs: RFC 4514 syntax normalised (types lower-cased, values
 * unescaped and re-escaped one way, multi-valued RDNs sorted, no spaces around separators) and values folded
 * by {@link foldDnValue} (ASCII case only). Two DNs with one canonical form name the same entry on every
 * server; the converse does not hold, and such pairs are treated as different names (fail closed).
 */
export function normalizeDn(dn: string): string {
  // Most DNs are plain ASCII with nothing to unescape or fold but case: the sync normalises 100,000s.
  if (PLAIN_DN.test(dn)) return dn.toLowerCase();
  return canonicalDn(dn, foldDnValue);
}

/** `dn` parsed and written back one way, each value folded by `fold`, multi-valued RDNs sorted. */
export function canonicalDn(dn: string, fold: (value: string) => string): string {
  return parseDn(dn)
    .map((rdn) =>
      rdn
        .map(({ type, value }) => `${type}=${escapeDnValue(fold(value))}`)
        .sort()
        .join('+'),
    )
    .join(',');
}

/** Like {@link normalizeDn} but returns undefined for text that is not a DN. */
export function tryNormalizeDn(dn: string): string | undefined {
  try {
    const normalized = normalizeDn(dn);
    return normalized || undefined;
  } catch {
    return undefined;
  }
}

/** The DN one level up (`ou=people,dc=example,dc=com` → `dc=example,dc=com`), '' at the top. */
export function parentDn(dn: string): string {
  const rdns = parseDn(dn);
  return rdns
    .slice(1)
    .map((rdn) => rdn.map(({ type, value }) => `${type}=${escapeDnValue(value)}`).join('+'))
    .join(',');
}

/** The unescaped value of the first RDN (`cn=Ops\+Admin,ou=groups` → `Ops+Admin`). */
export function firstRdnValue(dn: string): string {
  const [first] = parseDn(dn);
  if (!first?.length) throw new Error(`invalid DN "${dn}": no RDN`);
  return first[0].value;
}

/** Whether the text looks like a DN rather than a plain name (`uid=alice,ou=people`). */
export function looksLikeDn(text: string): boolean {
  return /^\s*[a-zA-Z][\w-]*\s*=/.test(text) && tryNormalizeDn(text) !== undefined;
}
