/**
 * DN parsing and normalisation. Entries are keyed by the normalised form, so a DN written in any
 * case, spacing or escaping finds the same entry, as on slapd and AD.
 */
import { RESULT, LdapResultError } from './ldap-protocol.js';
import { ldapjs, type ParsedDn } from './ldapjs-runtime.js';

export interface DnInfo {
  /** RFC 4514 string form with the spelling kept (UTF-8 left unescaped, like slapd returns it). */
  dn: string;
  /** Lower-case names, case-folded values, sorted multi-valued RDNs, hex-escaped specials. */
  ndn: string;
  parentNdn: string;
  /** The naming (first) RDN's attribute values, name as written. */
  naming: Array<{ name: string; value: string }>;
  /** Every attribute value of the DN, lower-case names (for `:dn:` extensible matches). */
  avas: Array<{ name: string; value: string }>;
}

/** A DN that cannot be parsed: invalidDNSyntax (34) over LDAP, a plain error to addEntry and friends. */
export class DnSyntaxError extends LdapResultError {
  constructor(message: string) {
    super(RESULT.invalidDnSyntax, message);
  }
}

/** Case-ignore matching: Unicode NFC, surrounding and repeated white space ignored, lower case. */
export function fold(value: string): string {
  return value.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** A request field as text: ldapjs hands over strings, Buffers or numbers depending on the field. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

export function parseDn(dn: string): DnInfo {
  let parsed: ParsedDn;
  try {
    parsed = ldapjs.DN.fromString(dn);
  } catch {
    throw new DnSyntaxError(`invalid DN "${dn}"`);
  }
  return describeDn(parsed);
}

/** Request DNs arrive as strings or as ldapjs DN objects, depending on the operation. */
export function toDnInfo(value: unknown): DnInfo {
  if (typeof value === 'object' && value !== null && 'rdnAt' in value) return describeDn(value as ParsedDn);
  return parseDn(text(value));
}

export function parentOf(ndn: string): string {
  const comma = ndn.indexOf(',');
  return comma === -1 ? '' : ndn.slice(comma + 1);
}

/** `ndn` is `ancestor` or lies below it (normalised DNs). */
export function isWithin(ndn: string, ancestor: string): boolean {
  return ndn === ancestor || ndn.endsWith(`,${ancestor}`);
}

export function tryNormaliseDn(dn: string): string | undefined {
  try {
    return parseDn(dn).ndn;
  } catch {
    return undefined;
  }
}

function describeDn(parsed: ParsedDn): DnInfo {
  const pretty: string[] = [];
  const normal: string[] = [];
  const naming: DnInfo['naming'] = [];
  const avas: DnInfo['avas'] = [];
  for (let i = 0; i < parsed.length; i += 1) {
    const rdn = parsed.rdnAt(i);
    const prettyParts: string[] = [];
    const normalParts: string[] = [];
    for (const name of rdn.keys()) {
      const value = rdn.getValue(name);
      if (typeof value !== 'string') throw new DnSyntaxError('hex-encoded (#...) DN values are not supported');
      prettyParts.push(`${name}=${escapeDnValue(value)}`);
      normalParts.push(`${name.toLowerCase()}=${hexEscape(fold(value))}`);
      avas.push({ name: name.toLowerCase(), value });
      if (i === 0) naming.push({ name, value });
    }
    pretty.push(prettyParts.join('+'));
    normal.push(normalParts.sort().join('+'));
  }
  return { dn: pretty.join(','), ndn: normal.join(','), parentNdn: normal.slice(1).join(','), naming, avas };
}

/** RFC 4514 escaping for the returned DN form; UTF-8 stays as it is. */
function escapeDnValue(value: string): string {
  const chars = [...value];
  return chars
    .map((char, index) => {
      if ('\\"+,;<>'.includes(char)) return `\\${char}`;
      if (char === '\0') return '\\00';
      if ((char === ' ' || char === '#') && index === 0) return `\\${char}`;
      if (char === ' ' && index === chars.length - 1) return '\\ ';
      return char;
    })
    .join('');
}

/** In the normalised form separators never appear inside values, so suffix tests are safe. */
function hexEscape(value: string): string {
  return value.replace(/[\\"+,;<>=#\0]/g, (char) => `\\${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
