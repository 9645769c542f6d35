import { AndFilter, EqualityFilter, type Filter } from 'ldapts';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';

/**
 * POSIX primary groups (RFC 2307): a user whose `gidNumber` is a posixGroup's `gidNumber` is in that group, as
 * Unix reads it, though the group's memberUid need not list them. Login and full sync both count it.
 */
export const GID_ATTRIBUTE = 'gidNumber';

/**
 * Whether a listed posixGroup counts its primary-group users: with LDAP_GROUP_MEMBERSHIP=memberUid, and in auto
 * (where a posixGroup has no other members the library reads); never on AD (its primaryGroupID is another thing).
 */
export function countsPrimaryGroups(
  groupMembership: ResolvedLdapAuthOptions['groupMembership'],
  activeDirectory: boolean,
): boolean {
  return !activeDirectory && (groupMembership === 'memberUid' || groupMembership === 'auto');
}

/** The posixGroups whose gidNumber is `gid`. */
export function primaryGroupFilter(gid: string): Filter {
  return new AndFilter({
    filters: [
      new EqualityFilter({ attribute: 'objectClass', value: 'posixGroup' }),
      new EqualityFilter({ attribute: GID_ATTRIBUTE, value: gid }),
    ],
  });
}

/** A gidNumber compared as the server's integerMatch would (leading zeros dropped); undefined: no integer. */
export function canonicalGid(value: string | null | undefined): string | undefined {
  const match = /^\s*(-?)0*(\d+)\s*$/.exec(value ?? '');
  if (!match) return undefined;
  return match[2] === '0' ? '0' : `${match[1]}${match[2]}`;
}
