/**
 * Escaping and DN handling with no I/O (RFC 4515 filters, RFC 4514 DNs). Every value that reaches a
 * filter string or a DN goes through here.
 */

/** Escapes a value for an LDAP filter string (RFC 4515): `*`, `(`, `)`, `\` and NUL become `\XX`. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Escapes an attribute value for a DN (RFC 4514). */
export function escapeDnValue(value: string): string {
  const trailingSpace = value.length > 1 && value.endsWith(' ');
  const body = trailingSpace ? value.slice(0, -1) : value;
  let out = body.replace(/[\\"+,;<>=\0]/g, (c) => (c === '\0' ? '\\00' : `\\${c}`));
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  return trailingSpace ? `${out}\\ ` : out;
}

export interface ParsedRdn {
  /** Attribute type, lower-cased. */
  type: string;
  /** Unescaped value. */
  value: string;
}

/**
 * Splits a DN into RDNs (each a list of type/value pairs, for multi-valued RDNs) and unescapes values,
 * including `\XX` hex pairs that spell UTF-8. Throws on syntax it cannot read.
 */
export function parseDn(dn: string): ParsedRdn[][] {
  const rdns: ParsedRdn[][] = [];
  let current: ParsedRdn[] = [];
  let i = 0;
  const n = dn.length;
  const skipSpaces = () => {
    while (i < n && dn[i] === ' ') i++;
  };
  skipSpaces();
  if (i === n) return [];
  while (i < n) {
    skipSpaces();
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw new Error(`invalid DN "${dn}": missing "="`);
    const type = dn.slice(i, eq).trim().toLowerCase();
    if (!type) throw new Error(`invalid DN "${dn}": empty attribute type`);
    i = eq + 1;
    skipSpaces();
    const bytes: number[] = [];
    let trailingSpaces = 0;
    let ended: string | undefined;
    while (i < n) {
      const c = dn[i];
      if (c === '\\') {
        const next = dn.slice(i + 1, i + 3);
        if (/^[0-9a-fA-F]{2}$/.test(next)) {
          bytes.push(parseInt(next, 16));
          i += 3;
        } else if (i + 1 < n) {
          bytes.push(...Buffer.from(dn[i + 1], 'utf8'));
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
    const value = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)).toString('utf8');
    current.push({ type, value });
    if (ended !== '+') {
      rdns.push(current);
      current = [];
    }
  }
  if (current.length) rdns.push(current);
  return rdns;
}

/**
 * A canonical form for comparing and storing DNs: types and values lower-cased (directories compare DNs
 * case-insensitively), values re-escaped one way, no spaces around separators.
 */
export function normalizeDn(dn: string): string {
  return parseDn(dn)
    .map((rdn) =>
      rdn
        .map(({ type, value }) => `${type}=${escapeDnValue(value.toLowerCase())}`)
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
