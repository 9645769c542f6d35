import type { DirectoryGroup, DirectoryUser } from '../model/directory-user.js';

/** A group the user must be in after this login. */
export interface GroupToJoin {
  /** Normalised DN (see `normalizeDn`): the group's key in the app, with the organisation. */
  ldapDn: string;
  /** Name the group is created with when the app does not have it yet. */
  name: string;
}

/** What a login changes in the app's LDAP-managed groups. Applied by the store in the login's transaction. */
export interface GroupSyncPlan {
  organisationId: number;
  join: GroupToJoin[];
  /** Normalised DNs of groups the user must leave if they are in them. */
  leave: string[];
}

/**
 * Decides, at each login, which of the app's groups the user belongs to. An abstract class so it is its own
 * DI token: pass your own class as `groupSyncClass` to `LdapAuthModule.forRoot`.
 */
export abstract class GroupSync {
  /**
   * Normalised DNs of the directory groups this provider needs membership of. The directory is asked about
   * exactly these (with nesting when `nestedGroups` is on).
   */
  abstract managedGroupDns(): string[];

  /**
   * @param user the user's directory entry
   * @param memberOf the normalised DNs among {@link managedGroupDns} the user belongs to
   * @param groups the managed groups that exist in the directory, by normalised DN, with their names
   * @returns the changes to make, or null to change nothing
   */
  abstract plan(
    user: DirectoryUser,
    memberOf: ReadonlySet<string>,
    groups: ReadonlyMap<string, DirectoryGroup>,
  ): GroupSyncPlan | null;
}
