import type { LdapUserFieldMap } from '../interfaces/ldap-auth-options.interface.js';
import { usernameKey } from './username-key.js';

/** An entry as an LDAP client returns it (ldapts' shape): binary attributes as Buffers. */
export interface Entry {
  dn: string;
  [attribute: string]: Buffer | Buffer[] | string[] | string;
}

/** A group as the directory names it. */
export interface DirectoryGroup {
  /** The DN as the server wrote it. */
  dn: string;
  /** Its `cn` (or the value of its first RDN when it has none). */
  name: string;
}

/** A user's entry as read from the directory, reduced to what the app needs. */
export interface DirectoryUser {
  dn: string;
  /** Stable id: entryUUID (OpenLDAP) or objectGUID (AD) in its usual text form, lower-case. */
  uuid: string;
  /**
   * Taken from the entry, not from what was typed (directories match names case-insensitively): of a
   * multi-valued username attribute, the value that matched the login (for directory lookups).
   */
  username: string;
  /** Every value of the username attribute, in the directory's order: the app stores one (see storedUsername). */
  usernames: string[];
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  /** The entry came from an Active Directory server (decided from the server's root DSE). */
  isActiveDirectory: boolean;
  /** DNs from the entry's `memberOf`, as the server wrote them; undefined when the entry has none. */
  memberOf?: string[];
  /** Every attribute that was read, for apps that map more fields. */
  attributes: Entry;
}

/** objectGUID bytes → the GUID text AD shows (first three fields little-endian). */
export function guidToString(bytes: Buffer): string {
  if (bytes.length !== 16) throw new Error(`objectGUID has ${bytes.length} bytes, expected 16`);
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = [...bytes.subarray(from, to)];
    return (reverse ? part.reverse() : part).map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  return [hex(0, 4, true), hex(4, 6, true), hex(6, 8, true), hex(8, 10, false), hex(10, 16, false)].join('-');
}

export function firstValue(entry: Entry, attribute: string | undefined): string | null {
  if (!attribute) return null;
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (!key) return null;
  const value = entry[key];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return null;
  return Buffer.isBuffer(first) ? first.toString('utf8') : first;
}

export function allValues(entry: Entry, attribute: string): string[] | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (!key) return undefined;
  const value = entry[key];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

/** How to read an entry: depends on the kind of server, never on what the entry itself claims. */
export interface EntryContext {
  /** The server is Active Directory: the stable id is objectGUID; elsewhere entryUUID (a writable objectGUID proves nothing). */
  activeDirectory: boolean;
  /** The name the user logged in with: of a multi-valued username attribute, the value that matched is kept. */
  lookupName?: string;
}

/** Builds a DirectoryUser from an entry; undefined if the entry has no stable id or no username. */
export function toDirectoryUser(
  entry: Entry,
  fields: LdapUserFieldMap,
  context: EntryContext,
): DirectoryUser | undefined {
  let uuid: string | undefined;
  if (context.activeDirectory) {
    const guidKey = Object.keys(entry).find((k) => k.toLowerCase() === 'objectguid');
    const guid = guidKey ? entry[guidKey] : undefined;
    const guidBytes = Array.isArray(guid) ? guid[0] : guid;
    if (Buffer.isBuffer(guidBytes) && guidBytes.length === 16) uuid = guidToString(guidBytes);
  } else {
    uuid = firstValue(entry, 'entryUUID')?.toLowerCase();
  }
  const usernames = allValues(entry, fields.username) ?? [];
  const username = matchingValue(usernames, context.lookupName);
  if (!uuid || !username) return undefined;
  return {
    dn: entry.dn,
    uuid,
    username,
    usernames,
    email: firstValue(entry, fields.email),
    firstName: firstValue(entry, fields.firstName),
    lastName: firstValue(entry, fields.lastName),
    isActiveDirectory: context.activeDirectory,
    memberOf: allValues(entry, 'memberOf'),
    attributes: entry,
  };
}

/** The value that is the same name as `wanted` (see usernameKey), else the first value. */
function matchingValue(values: string[], wanted: string | undefined): string | null {
  if (!values.length) return null;
  if (wanted === undefined) return values[0];
  const key = usernameKey(wanted);
  return values.find((v) => usernameKey(v) === key) ?? values[0];
}
