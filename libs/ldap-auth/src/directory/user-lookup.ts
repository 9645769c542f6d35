import { AndFilter, EqualityFilter, type Filter, NoSuchObjectError, type SearchOptions } from 'ldapts';
import { escapeFilterValue } from '../model/ldap-escape.js';
import { type DirectoryUser, toDirectoryUser } from '../model/directory-user.js';
import { AD_UUID_ATTRIBUTE } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { DirectoryError, InvalidCredentialsError } from '../errors/ldap-auth.errors.js';
import type { LdapConnection } from './ldap-connections.js';
import { AD_SID_ATTRIBUTE, personCategoryFilters, searchControls, stableIdAttribute } from './active-directory.js';
import { countsPrimaryGroups, GID_ATTRIBUTE } from './posix-groups.js';

/** The options a user lookup reads. */
export type UserLookupOptions = Pick<
  ResolvedLdapAuthOptions,
  'server' | 'objectClass' | 'userFields' | 'groupMembership'
>;

/** The user's entry by bare login name: exactly one entry, or an InvalidCredentialsError. */
export async function findUser(
  connection: LdapConnection,
  options: UserLookupOptions,
  lookupName: string,
): Promise<DirectoryUser> {
  const search: SearchOptions = {
    scope: 'sub',
    filter: userFilter(connection, options, lookupName),
    attributes: userAttributes(connection, options),
    explicitBufferAttributes: [AD_UUID_ATTRIBUTE, AD_SID_ATTRIBUTE],
    // Two are enough to know the name is ambiguous.
    sizeLimit: 2,
  };
  let entries;
  try {
    ({ searchEntries: entries } = await connection.client.search(
      options.server.searchBase,
      search,
      searchControls(connection.server),
    ));
  } catch (error) {
    if (error instanceof NoSuchObjectError) {
      throw new DirectoryError(
        `the search base "${options.server.searchBase}" does not exist (LDAP_AUTH_SEARCH_BASE)`,
        { cause: error },
      );
    }
    throw error;
  }
  if (entries.length !== 1) {
    throw new InvalidCredentialsError(
      entries.length === 0 ? 'no entry matches the username' : 'more than one entry matches the username',
      entries.length === 0 ? 'unknown_user' : 'ambiguous_username',
    );
  }
  const activeDirectory = connection.server.activeDirectory;
  const user = toDirectoryUser(entries[0], options.userFields, { activeDirectory, lookupName });
  if (!user) {
    throw new InvalidCredentialsError(
      `the entry ${entries[0].dn} has no ${options.userFields.username} or no ${stableIdAttribute(connection.server.activeDirectory)}`,
    );
  }
  return user;
}

function userFilter(connection: LdapConnection, options: UserLookupOptions, lookupName: string): Filter | string {
  const { searchFilter } = options.server;
  // A function replacer: a string one would read `$&`, `$'`... in the name as patterns.
  if (searchFilter) return searchFilter.replaceAll('{{username}}', () => escapeFilterValue(lookupName));
  return new AndFilter({
    filters: [
      new EqualityFilter({ attribute: 'objectClass', value: options.objectClass }),
      new EqualityFilter({ attribute: options.userFields.username, value: lookupName }),
      ...personCategoryFilters(options.objectClass, connection.server),
    ],
  });
}

function userAttributes(connection: LdapConnection, options: UserLookupOptions): string[] {
  const { userFields, server } = options;
  const ad = connection.server.activeDirectory;
  const names = [
    userFields.username,
    userFields.email,
    userFields.firstName,
    userFields.lastName,
    ...server.searchAttributes,
    stableIdAttribute(ad),
    'memberOf',
    ...(ad ? [AD_SID_ATTRIBUTE, 'sAMAccountName'] : []),
    // The primary group, for listed posixGroups (see posix-groups.ts).
    ...(countsPrimaryGroups(options.groupMembership, ad) ? [GID_ATTRIBUTE] : []),
  ];
  return [...new Set(names.filter((n): n is string => !!n))];
}
