/**
 * Sizes of the text columns, in characters (code points: PostgreSQL and MySQL count `varchar(n)` that way;
 * SQLite does not enforce them at all). The entities declare these and LdapLoginStore checks directory values
 * against them before writing, so every database refuses, truncates or drops the same values. Migrations
 * write their own numbers: a migration describes the schema of its day and must not move when these do.
 */

/** `users.username`: a longer directory username refuses the login. */
export const USERNAME_MAX_LENGTH = 255;
/** `users.email`: a longer address is stored as null (a cut address would be someone else's). */
export const EMAIL_MAX_LENGTH = 255;
/** `users.first_name`, `users.last_name`: longer names are stored cut. */
export const PERSON_NAME_MAX_LENGTH = 255;
/**
 * `users.ldap_dn`, `groups.ldap_dn`. Deep trees and long RDNs go past 1,024; a longer user DN refuses the
 * login, a longer group DN is not mirrored.
 */
export const DN_MAX_LENGTH = 2048;
/**
 * `groups.ldap_dn` is in the unique index `(organisation_id, ldap_dn)`, and a PostgreSQL b-tree entry holds at
 * most 2,704 bytes with its headers: 2,048 characters of non-ASCII text can be 8 KB. Group DNs are also held
 * to this many bytes of UTF-8.
 */
export const GROUP_DN_MAX_BYTES = 2600;
/** `groups.name`, `organisations.name`: a longer directory group name is stored cut. */
export const GROUP_NAME_MAX_LENGTH = 255;
export const ORGANISATION_NAME_MAX_LENGTH = 255;
/** `users.ldap_uuid`: entryUUID and objectGUID are 36 characters. */
export const LDAP_UUID_MAX_LENGTH = 64;
/** `ldap_sync_runs.status`. */
export const SYNC_RUN_STATUS_MAX_LENGTH = 32;

/**
 * U+0000 (NUL). PostgreSQL's text types cannot hold it (the statement fails), SQLite and MySQL can; a directory
 * may store it (slapd accepts it in `sn` or `mail`). Values that carry one are treated the same on every
 * database: an identifier refuses the login (the sync leaves the row's own), an email is dropped, a name loses
 * the character.
 */
export function hasNul(value: string): boolean {
  return value.includes('\0');
}

export function withoutNul(value: string): string {
  return value.replaceAll('\0', '');
}

/** Length in code points, as the columns count it. */
export function codePointLength(value: string): number {
  let length = 0;
  for (const _ of value) length++;
  return length;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * The longest start of the value within `max` code points that does not split a character from its accents.
 * Logins and the sync both cut with this: cut differently, each would undo the other's value on every run.
 */
export function cut(value: string, max: number): string {
  // No more UTF-16 units than the limit: no more code points either (the sync passes 200,000 names here).
  if (value.length <= max) return value;
  let out = '';
  let length = 0;
  for (const { segment } of graphemes.segment(value)) {
    const size = codePointLength(segment);
    if (length + size > max) break;
    out += segment;
    length += size;
  }
  // One grapheme longer than the column (a pile of combining marks): cut it by code point.
  return out || Array.from(value).slice(0, max).join('');
}
