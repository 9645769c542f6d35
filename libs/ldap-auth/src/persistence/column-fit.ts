import {
  DN_MAX_LENGTH,
  EMAIL_MAX_LENGTH,
  GROUP_DN_MAX_BYTES,
  GROUP_NAME_MAX_LENGTH,
  PERSON_NAME_MAX_LENGTH,
  USERNAME_MAX_LENGTH,
  codePointLength,
  cut,
  hasNul,
  withoutNul,
} from '../entities/column-limits.js';
import { usernameKey, usernameKeyFits } from '../model/username-key.js';

/**
 * The rules that shape directory values for the columns (entities/column-limits.ts), pure and in one place:
 * logins and the full sync apply the same ones, so every database stores the same values and neither path
 * undoes what the other wrote. Each caller decides what a value that does not fit means for it (a login is
 * refused, the sync leaves the row's own value) and how it says so.
 */

/** Why a value cannot be stored whole: identifiers (usernames, DNs) and emails are never cut. */
export type ColumnFault = 'nul' | 'too-long' | 'key-too-long';

/** A name as stored: NUL characters taken out, then cut to the column on a letter boundary. */
export interface FittedName {
  value: string;
  /** It held a NUL character (see hasNul). */
  hadNul: boolean;
  /** Its length in code points when it was cut (after the NULs went); undefined when it fits. */
  cutFrom?: number;
}

/** Printable ASCII: a name of these folds to a key no longer than itself. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Longer than `max` code points. A string of at most `max` UTF-16 units never is: only longer ones are counted. */
export function longerThan(value: string, max: number): boolean {
  return value.length > max && codePointLength(value) > max;
}

/** `users.username` and its key `users.username_key`. */
export function usernameFault(name: string): ColumnFault | undefined {
  if (hasNul(name)) return 'nul';
  if (longerThan(name, USERNAME_MAX_LENGTH)) return 'too-long';
  if (!PRINTABLE_ASCII.test(name) && !usernameKeyFits(usernameKey(name))) return 'key-too-long';
  return undefined;
}

/** `users.ldap_dn`. */
export function userDnFault(dn: string): ColumnFault | undefined {
  if (hasNul(dn)) return 'nul';
  return longerThan(dn, DN_MAX_LENGTH) ? 'too-long' : undefined;
}

/** `users.email`: an address that does not fit is stored as null (a cut address would be someone else's). */
export function emailFault(email: string): ColumnFault | undefined {
  if (hasNul(email)) return 'nul';
  return longerThan(email, EMAIL_MAX_LENGTH) ? 'too-long' : undefined;
}

/**
 * `groups.ldap_dn`, in characters and, for its unique index, in bytes of UTF-8 (see GROUP_DN_MAX_BYTES): a
 * group whose DN does not fit is not mirrored.
 */
export function groupDnFault(dn: string): ColumnFault | undefined {
  if (hasNul(dn)) return 'nul';
  return longerThan(dn, DN_MAX_LENGTH) || Buffer.byteLength(dn, 'utf8') > GROUP_DN_MAX_BYTES ? 'too-long' : undefined;
}

/** `users.first_name`, `users.last_name`. */
export function fitPersonName(name: string): FittedName {
  return fitName(name, PERSON_NAME_MAX_LENGTH);
}

/** `groups.name`. */
export function fitGroupName(name: string): FittedName {
  return fitName(name, GROUP_NAME_MAX_LENGTH);
}

function fitName(name: string, max: number): FittedName {
  const hadNul = hasNul(name);
  const value = hadNul ? withoutNul(name) : name;
  if (!longerThan(value, max)) return { value, hadNul };
  return { value: cut(value, max), hadNul, cutFrom: codePointLength(value) };
}
