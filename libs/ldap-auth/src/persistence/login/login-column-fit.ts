import * as limits from '../../entities/column-limits.js';
import { InvalidCredentialsError } from '../../errors/ldap-auth.errors.js';
import type { GroupToJoin } from '../../group-mirroring/group-sync.js';
import type { DirectoryUser } from '../../model/directory-user.js';
import { emailFault, fitGroupName, fitPersonName, groupDnFault, userDnFault, usernameFault } from '../column-fit.js';

/**
 * What the column rules (../column-fit.ts, the sync's too) mean for a login, before anything is written, so
 * every database behaves the same: PostgreSQL would fail the statement (a 500), SQLite would store anything.
 * An identifier that does not fit refuses the login; an email that does not fit is dropped; names are cut; a
 * group whose DN does not fit is not mirrored, which only withholds a membership. Messages say how long and
 * what the limit is, never the whole value. Pure: warnings are returned for the caller to log.
 */

/** The entry's columns as a login stores them. */
export interface FittedEntry {
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  ldapDn: string;
}

/** The entry's columns as stored, and what was changed on the way. Throws when its DN cannot be stored. */
export function fitEntryToColumns(entry: DirectoryUser): { fields: FittedEntry; warnings: string[] } {
  const dnFault = userDnFault(entry.dn);
  if (dnFault === 'nul') {
    throw new InvalidCredentialsError(
      `the entry's DN contains a NUL character, which users.ldap_dn cannot hold: ${preview(entry.dn)}`,
      'value_has_nul',
    );
  }
  if (dnFault) {
    throw new InvalidCredentialsError(
      `the entry's DN is ${limits.codePointLength(entry.dn)} characters long, more than users.ldap_dn holds (${limits.DN_MAX_LENGTH}): ${preview(entry.dn)}`,
      'value_too_long',
    );
  }
  const warnings: string[] = [];
  const user = `User ${JSON.stringify(entry.username)}`;
  let email = entry.email;
  const mailFault = email === null ? undefined : emailFault(email);
  if (email !== null && mailFault === 'nul') {
    warnings.push(`${user}: the email contains a NUL character; stored as null: ${preview(email)}`);
    email = null;
  } else if (email !== null && mailFault) {
    warnings.push(
      `${user}: the email is ${limits.codePointLength(email)} characters long, more than users.email holds (${limits.EMAIL_MAX_LENGTH}); stored as null: ${preview(email)}`,
    );
    email = null;
  }
  const name = (column: string, value: string | null): string | null => {
    if (value === null) return null;
    const fitted = fitPersonName(value);
    if (fitted.hadNul) warnings.push(`${user}: ${column} contains a NUL character; stored without it`);
    if (fitted.cutFrom !== undefined) {
      warnings.push(
        `${user}: ${column} is ${fitted.cutFrom} characters long, more than users.${column} holds (${limits.PERSON_NAME_MAX_LENGTH}); stored cut`,
      );
    }
    return fitted.value;
  };
  return {
    fields: {
      email,
      firstName: name('first_name', entry.firstName),
      lastName: name('last_name', entry.lastName),
      ldapDn: entry.dn,
    },
    warnings,
  };
}

/** The name to store, checked as the entry's DN is (its key too: users.username_key). Throws when it does not fit. */
export function checkUsernameFits(entry: DirectoryUser, username: string): void {
  const fault = usernameFault(username);
  if (fault === 'nul') {
    throw new InvalidCredentialsError(
      `the entry's username contains a NUL character, which users.username cannot hold: ${preview(username)}`,
      'value_has_nul',
    );
  }
  if (fault === 'too-long') {
    throw new InvalidCredentialsError(
      `the entry's username is ${limits.codePointLength(username)} characters long, more than users.username holds (${limits.USERNAME_MAX_LENGTH}): ${preview(username)}`,
      'value_too_long',
    );
  }
  if (fault === 'key-too-long') {
    throw new InvalidCredentialsError(
      `the entry's username ${preview(username)} (${entry.dn}) folds to a key longer than users.username_key holds`,
      'value_too_long',
    );
  }
}

/** A group to join as stored, or undefined when its DN does not fit (then `warning` says why). */
export function fitGroupToJoin(group: GroupToJoin): { group?: GroupToJoin; warning?: string } {
  const dnFault = groupDnFault(group.ldapDn);
  if (dnFault === 'nul') {
    return { warning: `Group not mirrored: its DN contains a NUL character: ${preview(group.ldapDn)}` };
  }
  if (dnFault) {
    const length = limits.codePointLength(group.ldapDn);
    const bytes = Buffer.byteLength(group.ldapDn, 'utf8');
    return {
      warning: `Group not mirrored: its DN is ${length} characters (${bytes} bytes of UTF-8) long, more than groups.ldap_dn holds (${limits.DN_MAX_LENGTH} characters, ${limits.GROUP_DN_MAX_BYTES} bytes): ${preview(group.ldapDn)}`,
    };
  }
  const name = fitGroupName(group.name);
  if (name.value === group.name) return { group };
  return {
    group: { ...group, name: name.value },
    warning:
      name.cutFrom === undefined
        ? undefined
        : `Group ${preview(group.ldapDn)}: its name is ${name.cutFrom} characters long, more than groups.name holds (${limits.GROUP_NAME_MAX_LENGTH}); stored cut`,
  };
}

/** The start of an over-long value, for logs. */
function preview(value: string): string {
  return JSON.stringify(`${Array.from(value).slice(0, 40).join('')}…`);
}
