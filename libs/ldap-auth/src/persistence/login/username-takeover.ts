import { InvalidCredentialsError } from '../../errors/ldap-auth.errors.js';
import type { DirectoryUser } from '../../model/directory-user.js';

/*
 * A login's username conflicts: which row may give its name to the entry logging in, and the refusal when
 * another may not.
 */

/** A `users` row as the login reads it. */
export interface StoredUser {
  id: number;
  username: string;
  usernameKey: string | null;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  ldapDn: string | null;
  ldapUuid: string | null;
  isActive: boolean;
  deactivatedBySync: boolean;
}

/** An LDAP user the sync deactivated: its name may be handed to the entry that has it now. */
export function isReleasedBySync(row: StoredUser): boolean {
  return row.ldapUuid !== null && !row.isActive && row.deactivatedBySync;
}

/**
 * A username held by another row is never taken over: a local user's, or an active LDAP user's whose entry
 * may be gone (the full sync removes or deactivates those, which frees the name).
 */
export function refuseUsernameTakeover(username: string, entry: DirectoryUser, holder: StoredUser): never {
  if (holder.ldapUuid === null) {
    throw new InvalidCredentialsError(
      `"${username}" is a local user of the app; a directory login never takes over a local user`,
      'username_taken',
    );
  }
  throw new InvalidCredentialsError(
    `"${username}" belongs to user ${holder.id}, whose directory entry (${holder.ldapUuid}) is not ${entry.dn}; the full sync removes stale users`,
    'username_taken',
  );
}
