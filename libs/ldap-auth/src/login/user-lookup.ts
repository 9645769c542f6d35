import type { LoginMode } from '../interfaces/ldap-auth-options.interface.js';
import type { UsernameFormatter } from '../formatting/username-formatter.js';
import type { GroupSync } from '../group-mirroring/group-sync.js';
import type { DirectorySession, LdapDirectory } from '../directory/ldap-directory.js';
import type { DirectoryUser } from '../model/directory-user.js';
import { normalizeDn } from '../model/dn.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';

/**
 * How a login finds and binds a user, shared by the login and `ldap:check` so that the check tells what a
 * login would do, not what a copy of it does.
 */

/** The names a login uses: search mode looks the entry up, bind mode binds with the formatted name. */
export type LoginNames =
  { mode: 'search'; lookupName: string } | { mode: 'bind'; lookupName: string; bindName: string };

/** Formats a checked name (see checkLoginInput); the formatter throws InvalidCredentialsError on a name it refuses. */
export function loginNames(formatter: UsernameFormatter, mode: LoginMode, name: string): LoginNames {
  const lookupName = formatter.toLookupName(name);
  return mode === 'bind' ? { mode, lookupName, bindName: formatter.toBindName(lookupName) } : { mode, lookupName };
}

/** Normalised DNs of the groups a login reads membership of: the group sync's, and the login group. */
export function loginGroupDns(groupSync: GroupSync, loginGroup: string | undefined): string[] {
  const dns = new Set(groupSync.managedGroupDns());
  if (loginGroup) dns.add(normalizeDn(loginGroup));
  return [...dns];
}

/** Where a lookup is: the service account's search, the user's bind, the read of the user's own entry. */
export type LookupStage = 'search' | 'bind' | 'entry';

export interface LookupHooks {
  /** Called as each stage starts; at `bind` in search mode with the entry found. */
  onStage?: (stage: LookupStage, found?: DirectoryUser) => void;
  /** Search mode found no single entry for the name (called before that error is thrown on). */
  onUnknownName?: () => Promise<void>;
}

/**
 * Finds the user's entry and binds as the user, then runs `then` on the user's session. Search mode: the
 * service account finds the entry and the user binds as its DN. Bind mode: the user binds with the formatted
 * name, and findUser on that session also checks that the entry is the identity that bound.
 */
export async function bindAndFindUser<T>(
  directory: LdapDirectory,
  names: LoginNames,
  password: string,
  then: (session: DirectorySession, user: DirectoryUser) => Promise<T>,
  hooks: LookupHooks = {},
): Promise<T> {
  if (names.mode === 'search') {
    hooks.onStage?.('search');
    let user: DirectoryUser;
    try {
      user = await directory.withServiceSession((session) => session.findUser(names.lookupName));
    } catch (error) {
      if (error instanceof InvalidCredentialsError) await hooks.onUnknownName?.();
      throw error;
    }
    hooks.onStage?.('bind', user);
    return directory.withUserSession(user.dn, password, (session) => then(session, user));
  }
  hooks.onStage?.('bind');
  return directory.withUserSession(names.bindName, password, async (session) => {
    hooks.onStage?.('entry');
    return then(session, await session.findUser(names.lookupName));
  });
}
