/**
 * Escaping with no I/O (RFC 4515 filters, RFC 4514 DN values): every value that reaches a filter string or a
 * DN goes through here. Strings are walked by code point, never by UTF-16 unit, so a character outside the BMP
 * is one character (and never becomes U+FFFD). Reading and comparing DNs is in dn.ts.
 */

/**
 * Escapes a value for an LDAP filter string (RFC 4515): `*`, `(`, `)`, `\` and NUL become `\XX`. `$` too
 * (any character may be escaped): the result is then also safe as a `String.replace` replacement, where
 * `$&`, `` $` `` and `$'` would otherwise copy parts of the filter into it.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0$]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Escapes an attribute value for a DN (RFC 4514): the special characters, NUL, a leading `#` or space and a
 * trailing space. Positions count code points, so an astral last character is never mistaken for two.
 */
export function escapeDnValue(value: string): string {
  const chars = Array.from(value);
  const last = chars.length - 1;
  return chars
    .map((c, i) => {
      if (c === '\0') return '\\00';
      if ('\\"+,;<>='.includes(c)) return `\\${c}`;
      if ((i === 0 && (c === ' ' || c === '#')) || (i === last && c === ' ')) return `\\${c}`;
      return c;
    })
    .join('');
}
